"""Teacher caching through tools/cache_teacher.py (kill and resume), then stage 2 through
tools/train.py and tools/test.py, on a tiny synthetic nuScenes set."""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

from afov_plugin.datasets.class_dictionary import load_class_dictionary
from afov_plugin.teachers import TeacherCache
from conftest import NUS_VERSION, ROOT, SMALL, STAGE2, run_tool


def test_cache_run_killed_midway_then_resumed_verifies(tiny_nuscenes, tmp_path):
    cache_dir = str(tmp_path / 'killed_cache')
    cmd = [sys.executable, 'tools/cache_teacher.py', STAGE2, '--data-root', tiny_nuscenes,
           '--cache-dir', cache_dir, '--batch-size', '1']
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    for _ in range(3):  # kill it at several moments
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        entries = osp.join(cache_dir, 'entries')
        start = len(os.listdir(entries)) if osp.isdir(entries) else 0
        while time.time() < deadline and proc.poll() is None:
            if osp.isdir(entries) and len(os.listdir(entries)) >= start + 2:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    written = len(glob.glob(osp.join(cache_dir, 'entries', '*.safetensors')))
    assert 0 < written < 24, written  # stopped part-way (2 scenes x 2 frames x 6 cameras)
    done = run_tool(cmd[1:])
    assert done.returncode == 0, done.stderr[-2000:]
    assert f'{written} already cached' in done.stdout
    verify = run_tool(cmd[1:] + ['--verify'])
    assert verify.returncode == 0, verify.stdout
    report = json.loads(verify.stdout[verify.stdout.index('{'):])
    assert report['entries'] == 24 and report['num_bad'] == 0 and report['num_missing'] == 0
    assert not glob.glob(osp.join(cache_dir, 'entries', '.tmp_*'))


def test_sharded_caching_writes_the_same_entries(cached_nuscenes, tmp_path):
    full = TeacherCache.open(osp.join(cached_nuscenes, 'teacher_cache/simulated-san'))
    sharded_dir = str(tmp_path / 'sharded')
    for i in range(2):
        proc = run_tool(['tools/cache_teacher.py', STAGE2, '--data-root', cached_nuscenes,
                         '--cache-dir', sharded_dir, '--shard', f'{i}/2'])
        assert proc.returncode == 0, proc.stderr[-2000:]
    sharded = TeacherCache.open(sharded_dir, load_class_dictionary('nuscenes'))
    assert list(sharded.keys()) == list(full.keys())
    import numpy as np
    for key in full.keys():  # same content and checksum (safetensors' header order may vary)
        a, b = full.read(key), sharded.read(key)
        np.testing.assert_array_equal(a.region_map, b.region_map)
        np.testing.assert_array_equal(a.region_prompt, b.region_prompt)
        np.testing.assert_array_equal(a.region_feat, b.region_feat)


def test_stage2_trains_on_pseudo_labels_and_evaluates(cached_nuscenes, tmp_path):
    work = str(tmp_path / 'stage2')
    proc = run_tool(['tools/train.py', STAGE2, '--data-root', cached_nuscenes, '--work-dir',
                     work, '--cfg-options', 'train_cfg.max_iters=12',
                     'train_cfg.val_interval=12', 'default_hooks.checkpoint.interval=12',
                     'optim_wrapper.optimizer.lr=0.01'] + SMALL)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    import re
    losses = [float(v) for v in re.findall(r'Iter\(train\).*?loss: ([0-9.]+)', out)]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3  # the loss goes down
    test = run_tool(['tools/test.py', STAGE2, osp.join(work, 'iter_12.pth'), '--data-root',
                     cached_nuscenes, '--work-dir', str(tmp_path / 'test'), '--show-dir',
                     str(tmp_path / 'pics'), '--cfg-options'] + SMALL)
    assert test.returncode == 0, (test.stdout + test.stderr)[-3000:]
    metrics = json.load(open(glob.glob(str(tmp_path / 'test' / '*' / '*.json'))[0]))
    for key in ('miou', 'miou_in_view', 'miou_out_of_view', 'in_view_ratio'):
        assert 0.0 <= metrics[key] <= 1.0
    pictures = sorted(os.listdir(tmp_path / 'pics'))
    assert any(p.endswith('_bev.png') for p in pictures)
    assert any(p.endswith('_CAM_FRONT.png') for p in pictures)


def test_pseudo_label_report_tool(cached_nuscenes, tmp_path):
    out = str(tmp_path / 'pl.json')
    proc = run_tool(['tools/pseudo_label_report.py', STAGE2, '--data-root', cached_nuscenes,
                     '--split', 'train', '--out', out])
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = json.load(open(out))
    assert 20 < stats['coverage'] < 90 and 50 < stats['accuracy'] <= 100
    assert stats['per_class']['car']['points'] > 0


# Paper Tab. 4 (coverage %, accuracy %) per simulated profile. The profiles are calibrated to
# +-3 points on the demo's set (README); this small set (5 scenes x 2 frames, 1/4-scale images)
# is noisier, so the test allows +-7. (Four scans were too few: their camera share alone, 53 %
# against the demo set's 59 %, moved FC-CLIP's coverage by 5 points.)
TAB4 = dict(san=(55.00, 80.38), fcclip=(45.95, 78.96), maskclip=(55.00, 50.18))


@pytest.fixture(scope='module')
def small_nuscenes(tmp_path_factory) -> str:
    from afov_plugin.converters import create_nuscenes_infos
    from afov_plugin.synthetic.nuscenes_writer import write_nuscenes
    root = str(tmp_path_factory.mktemp('nus_small'))
    write_nuscenes(root, num_scenes=5, frames=2, seed=3, image_scale=0.25, version=NUS_VERSION)
    create_nuscenes_infos(root, root, version=NUS_VERSION)
    return root


@pytest.mark.parametrize('profile', sorted(TAB4))
def test_simulated_teacher_statistics_in_band(small_nuscenes, tmp_path, profile):
    cache_dir = str(tmp_path / profile)
    proc = run_tool(['tools/cache_teacher.py', STAGE2, '--data-root', small_nuscenes,
                     '--cache-dir', cache_dir, '--cfg-options', f'teacher.profile={profile}'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = []
    for split in ('train', 'val'):
        out = str(tmp_path / f'{profile}_{split}.json')
        proc = run_tool(['tools/pseudo_label_report.py', STAGE2, '--data-root', small_nuscenes,
                         '--split', split, '--out', out, '--cfg-options',
                         f'teacher.profile={profile}', f'teacher_cache_dir={cache_dir}'])
        assert proc.returncode == 0, proc.stderr[-2000:]
        stats.append(json.load(open(out)))
    points = sum(s['points'] for s in stats)
    coverage = sum(s['coverage'] * s['points'] for s in stats) / points  # over all points
    labelled = [s['coverage_labelled'] * s['labelled_points'] for s in stats]
    accuracy = sum(s['accuracy'] * w for s, w in zip(stats, labelled)) / sum(labelled)
    cov_ref, acc_ref = TAB4[profile]
    assert abs(coverage - cov_ref) <= 7, (coverage, accuracy)
    assert abs(accuracy - acc_ref) <= 7, (coverage, accuracy)
