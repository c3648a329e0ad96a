"""One teacher setting per config: every pipeline, the cache tool and the reports read
``teacher`` / ``dictionary`` / ``teacher_cache_dir``; a cache of another teacher or of another
image scale is refused."""
import glob
import os.path as osp
import re
import shutil

import numpy as np
import pytest
from mmengine.config import Config
from mmdet3d.registry import DATASETS
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401
from afov_plugin.engine import apply_teacher_setting, set_data_root, teacher_cache_dir
from afov_plugin.teachers import CacheError, TeacherCache
from afov_plugin.teachers.base import TeacherOutput
from conftest import ROOT, STAGE2, run_tool

TMP = 'configs/afov/tmp/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes.py'
AFI = 'configs/afov/afi/minkunet18-w16_stage2-afi_simulated-san_synthetic-nuscenes.py'


def _cache_steps(cfg):
    return [step for name in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            if cfg.get(name) for step in cfg[name].dataset.pipeline
            if step.type == 'LoadTeacherCache']


@pytest.mark.parametrize('path', [STAGE2, TMP, AFI])
def test_every_pipeline_reads_the_one_setting_and_one_key_switches_it(path):
    register_all_modules(init_default_scope=True)
    cfg = apply_teacher_setting(Config.fromfile(osp.join(ROOT, path)))
    steps = _cache_steps(cfg)
    assert steps and all(
        (s.cache_dir, s.teacher, s.dictionary) ==
        ('teacher_cache/simulated-san', 'simulated-san', 'nuscenes') for s in steps)
    cfg = Config.fromfile(osp.join(ROOT, path))
    cfg.merge_from_dict({'teacher.profile': 'catseg'})
    set_data_root(cfg, '/data/x')
    apply_teacher_setting(cfg)
    assert all((s.cache_dir, s.teacher) == ('teacher_cache/simulated-catseg', 'simulated-catseg')
               for s in _cache_steps(cfg))
    assert teacher_cache_dir(cfg) == '/data/x/teacher_cache/simulated-catseg'


def test_feature_knowledge_is_one_key_with_its_own_cache():
    cfg = Config.fromfile(osp.join(ROOT, STAGE2))
    cfg.merge_from_dict({'teacher.feature_knowledge': 0.9})
    set_data_root(cfg, '/data/x')
    apply_teacher_setting(cfg)
    assert all((s.cache_dir, s.teacher) == ('teacher_cache/simulated-san-fk0.9',
                                            'simulated-san-fk0.9') for s in _cache_steps(cfg))
    assert teacher_cache_dir(cfg) == '/data/x/teacher_cache/simulated-san-fk0.9'


def test_a_pipeline_naming_its_own_cache_is_refused():
    cfg = Config.fromfile(osp.join(ROOT, STAGE2))
    cfg.train_dataloader.dataset.pipeline[2].cache_dir = 'teacher_cache/other'
    with pytest.raises(ValueError, match='set teacher_cache_dir instead'):
        apply_teacher_setting(cfg)


def test_no_pipeline_index_overrides_are_left():
    pattern = re.compile(r'pipeline\.\d|param_scheduler\.\d')
    files = glob.glob(osp.join(ROOT, 'tools', '*')) + [osp.join(ROOT, 'README.md')] + \
        glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    hits = [f'{osp.relpath(f, ROOT)}:{i + 1}' for f in files if osp.isfile(f)
            for i, line in enumerate(open(f, errors='replace')) if pattern.search(line)]
    assert hits == []


def _dataset(root, *options):
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(ROOT, STAGE2))
    set_data_root(cfg, root)
    for opt in options:
        cfg.merge_from_dict(opt)
    apply_teacher_setting(cfg)
    return DATASETS.build(cfg.train_dataloader.dataset)


def test_a_cache_of_another_teacher_is_refused(cached_nuscenes):
    ds = _dataset(cached_nuscenes, {'teacher.profile': 'catseg',
                                    'teacher_cache_dir': 'teacher_cache/simulated-san'})
    with pytest.raises(Exception, match='simulated-san'):
        ds[0]


def test_a_cache_of_another_image_scale_is_refused(cached_nuscenes, tmp_path):
    src = osp.join(cached_nuscenes, 'teacher_cache', 'simulated-san')
    dst = str(tmp_path / 'half_scale')
    shutil.copytree(src, dst)
    cache = TeacherCache.open(dst)
    for key in list(cache.keys()):  # every entry written at half the image's size
        out = cache.read(key)
        cache.write(key, TeacherOutput(out.region_map[::2, ::2].copy(), out.region_prompt,
                                       out.region_feat.astype(np.float32)))
    ds = _dataset(cached_nuscenes, {'teacher_cache_dir': dst})
    with pytest.raises(CacheError, match='another image scale') as err:
        ds[0]
    assert dst in str(err.value) and 'tools/cache_teacher.py' in str(err.value)
    assert _dataset(cached_nuscenes)[0]  # the cache at the right scale reads


def test_cache_tool_writes_where_training_reads(cached_nuscenes, tmp_path):
    """--cfg-options teacher.profile=X: the tool writes teacher_cache/simulated-X, which the
    training pipeline then reads without any other key."""
    proc = run_tool(['tools/cache_teacher.py', STAGE2, '--data-root', cached_nuscenes,
                     '--splits', 'val', '--cfg-options', 'teacher.profile=maskclip'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = osp.join(cached_nuscenes, 'teacher_cache', 'simulated-maskclip')
    assert TeacherCache.open(written).manifest['teacher']['name'] == 'simulated-maskclip'
    shutil.rmtree(written)
