"""Version stamp of the synthetic world a set was generated with (``synthetic_world.json``).

A set written by an older generator lacks the stamp or holds an older ``world_version``; tools
that compare numbers across runs (``tools/demo.sh``, ``tools/teacher_sweep.py``) refuse it
instead of silently mixing worlds.

World versions: 1 (no stamp) before the ego car body; 2: the nuScenes LiDAR sees the
data-collection car (``world.EGO_PARTS``: ~30 % of the points are 'vehicle.ego', as in
nuScenes-lidarseg) and the streets are wider (road half-width 4.5-7 m instead of 3.5-5.5 m).
"""
import json
import os
from typing import Optional

from ..fileio import atomic_write_text

WORLD_VERSION = 2
WORLD_INFO_FILE = 'synthetic_world.json'


def write_world_info(root: str, **params) -> None:
    """Stamp ``root`` with :data:`WORLD_VERSION` and the generator's parameters."""
    info = dict(world_version=WORLD_VERSION, **params)
    atomic_write_text(os.path.join(root, WORLD_INFO_FILE), json.dumps(info, indent=1))


def world_version(root: str) -> Optional[int]:
    """The stamped world version of a set; 1 for a synthetic set without a stamp; None when
    ``root`` holds no set at all."""
    path = os.path.join(root, WORLD_INFO_FILE)
    if os.path.isfile(path):
        with open(path) as f:
            return int(json.load(f)['world_version'])
    return 1 if os.path.isdir(root) and os.listdir(root) else None


def outdated_world_message(root: str,
                           fix: str = 'set AFOV_DEMO_FRESH=1 to generate it again'
                           ) -> Optional[str]:
    """Why ``root`` cannot be reused (None: it can, or it does not exist yet); ``fix`` is the
    caller's way to regenerate it."""
    version = world_version(root)
    if version is None or version == WORLD_VERSION:
        return None
    return (f'{root} was generated with synthetic world version {version}, this code writes '
            f'version {WORLD_VERSION} (see afov_plugin/synthetic/world_info.py): move it away '
            f'or {fix}')
