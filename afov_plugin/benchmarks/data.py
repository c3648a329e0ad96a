"""What the suites read from ``--data-root`` (a synthetic nuScenes set and its teacher cache),
and the message naming the commands that write what is missing."""
import functools
import os.path as osp
import pickle
from typing import Dict, List, Optional, Tuple

# the repository holding the configs the suites build (afov_plugin's parent folder)
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STAGE2_CONFIG = 'configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py'
# what each suite reads from --data-root, in the order the commands below write it
NEEDS: Dict[str, Tuple[str, ...]] = dict(
    cache=('infos', 'teacher_cache'), pairing=('infos', 'teacher_cache'), synthetic=(),
    stage2=('infos', 'teacher_cache'), tmp=('infos', 'teacher_cache'), afi=('infos', ))


def repo_path(rel: str) -> str:
    """A path of the repository (configs/...), whatever the working directory."""
    return osp.join(REPO, rel)


@functools.lru_cache(maxsize=None)
def _stage2_cfg():
    from mmengine.config import Config
    return Config.fromfile(repo_path(STAGE2_CONFIG))


def teacher_cache_folder(root: str) -> str:
    """The teacher cache the stage-2 config reads under ``root`` (its teacher setting)."""
    from ..engine import teacher_cache_dir
    return teacher_cache_dir(_stage2_cfg(), data_root=root)


@functools.lru_cache(maxsize=None)
def teacher_cache_manifest() -> str:
    """The manifest of that cache, relative to the data root
    (``teacher_cache/<teacher name>/manifest.json``)."""
    from ..teachers import TeacherCache
    return TeacherCache.manifest_path(teacher_cache_folder(''))


def frame_info(root: str) -> dict:
    """The first frame of the val infos."""
    with open(osp.join(root, 'nuscenes_infos_val.pkl'), 'rb') as f:
        return pickle.load(f)['data_list'][0]


def missing_data_message(root: str, suites: List[str]) -> Optional[str]:
    """None when ``root`` holds what ``suites`` read, else what is missing and the commands
    that write it (those of tools/demo.sh steps 1-4, from the first missing step on)."""
    needed = {n for s in suites for n in NEEDS[s]}
    missing = []
    if 'infos' in needed and not all(osp.isfile(osp.join(root, f'nuscenes_infos_{s}.pkl'))
                                     for s in ('train', 'val')):
        missing.append('infos')
    if 'teacher_cache' in needed and not osp.isfile(osp.join(root, teacher_cache_manifest())):
        missing.append('teacher_cache')
    if not missing:
        return None
    users = ', '.join(s for s in suites if set(NEEDS[s]) & set(missing))
    steps = []
    if 'infos' in missing:
        what = (f'{root} does not exist' if not osp.isdir(root) else
                f'{root} has no nuscenes_infos_{{train,val}}.pkl')
        steps += [f'python tools/create_synthetic.py --format nuscenes --out {root} --scenes 20 '
                  '--frames 16 --image-scale 0.5',
                  f'python tools/create_data.py nuscenes --root-path {root} --out-dir {root}']
    else:
        what = f'{root} has no teacher cache {teacher_cache_manifest()}'
    if 'teacher_cache' in needed:
        steps.append(f'python tools/cache_teacher.py {STAGE2_CONFIG} --data-root {root}')
    no_data = ', '.join(s for s in NEEDS if not NEEDS[s])
    return (f'benchmark.py: {what} (read by suite(s) {users}). Create it with:\n  ' +
            '\n  '.join(steps) +
            f'\n(tools/demo.sh steps 1-4 write the same set to data/synthetic_nuscenes), pass '
            f'another --data-root, or run only suites that read no data: --only {no_data}')
