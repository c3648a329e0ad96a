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

from afov_plugin.vocabulary import load_class_dictionary
from afov_plugin.teachers import TeacherCache
from conftest import NUS_VERSION, ROOT, SMALL, STAGE2, STAGE2_RUN_ITERS, run_tool


def _camera_projections(root, info):
    """The file's points projected into every camera of the info with numpy (not the
    package's pairing): xyz (N, 3), names, u, v, depth (C, N) and inside (C, N) = depth > 1 m
    and pixel in [0, width) x [0, height)."""
    import numpy as np
    pts = np.fromfile(osp.join(root, 'samples/LIDAR_TOP', info['lidar_points']['lidar_path']),
                      np.float32).reshape(-1, 5)
    xyz = pts[:, :3].astype(np.float64)
    names = list(info['images'])
    us, vs, ds, ins = [], [], [], []
    for c in names:
        m = np.asarray(info['images'][c]['lidar2img'], np.float64)
        h, w = info['images'][c]['height'], info['images'][c]['width']
        cam = xyz @ m[:3, :3].T + m[:3, 3]
        with np.errstate(divide='ignore', invalid='ignore'):
            u, v = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
        us.append(u), vs.append(v), ds.append(cam[:, 2])
        ins.append((cam[:, 2] > 1.0) & (u >= 0) & (u < w) & (v >= 0) & (v < h))
    return xyz, names, np.array(us), np.array(vs), np.array(ds), np.array(ins)


def _gt_labels(root, info):
    """Raw nuScenes-lidarseg ids mapped to the 16 classes (16 = ignore)."""
    import numpy as np
    from afov_plugin.datasets import NUSCENES_LIDARSEG_MAPPING
    raw = np.fromfile(osp.join(root, f'lidarseg/{NUS_VERSION}', info['pts_semantic_mask_path']),
                      np.uint8)
    return np.array([NUSCENES_LIDARSEG_MAPPING.get(int(r), 16) for r in raw])


def _hand_miou(pairs, num_classes=16, ignore=16):
    """mIoU (over classes in ground truth or prediction), accuracy and the number of
    evaluated points of (gt, pred) pairs, from a numpy confusion matrix."""
    import numpy as np
    hist = np.zeros((num_classes, num_classes + 1), np.int64)
    for gt, pred in pairs:
        keep = gt != ignore
        pred = np.where((pred >= 0) & (pred < num_classes), pred, num_classes)
        np.add.at(hist, (gt[keep], pred[keep]), 1)
    tp = np.diag(hist[:, :num_classes]).astype(float)
    union = hist.sum(1) + hist[:, :num_classes].sum(0) - tp
    iou = tp[union > 0] / union[union > 0]
    return float(iou.mean()), float(tp.sum() / max(hist.sum(), 1)), int(hist.sum())


def test_cache_run_killed_midway_then_resumed_verifies(tiny_nuscenes, tmp_path):
    cache_dir = str(tmp_path / 'killed_cache')
    cmd = [sys.executable, 'tools/cache_teacher.py', STAGE2, '--data-root', tiny_nuscenes,
           '--cache-dir', cache_dir, '--batch-size', '1']
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    for _ in range(2):  # kill it at two moments
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        entries = osp.join(cache_dir, 'entries')
        start = len(glob.glob(osp.join(entries, '**', '*.safetensors'), recursive=True))
        while time.time() < deadline and proc.poll() is None:
            done = glob.glob(osp.join(entries, '**', '*.safetensors'), recursive=True)
            if len(done) >= start + 2:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    written = len(glob.glob(osp.join(cache_dir, 'entries', '**', '*.safetensors'),
                            recursive=True))
    assert 0 < written < 24, written  # stopped part-way (2 scenes x 2 frames x 6 cameras)
    done = run_tool(cmd[1:])
    assert done.returncode == 0, done.stderr[-2000:]
    assert f'{written} already cached' in done.stdout
    verify = run_tool(cmd[1:] + ['--verify'])
    assert verify.returncode == 0, verify.stdout
    report = json.loads(verify.stdout[verify.stdout.index('{'):])
    assert report['entries'] == 24 and report['num_bad'] == 0 and report['num_missing'] == 0
    assert not glob.glob(osp.join(cache_dir, 'entries', '**', '.tmp_*'), recursive=True)


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


def test_stage2_trains_on_pseudo_labels_and_evaluates(stage2_run, cached_nuscenes, tmp_path):
    work, out = stage2_run
    import re
    losses = [float(v) for v in re.findall(r'Iter\(train\).*?loss: ([0-9.]+)', out)]
    assert len(losses) == STAGE2_RUN_ITERS == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3  # the loss goes down
    preds = str(tmp_path / 'preds')
    test = run_tool(['tools/test.py', STAGE2, osp.join(work, 'iter_12.pth'), '--data-root',
                     cached_nuscenes, '--work-dir', str(tmp_path / 'test'), '--show-dir',
                     str(tmp_path / 'pics'), '--save-preds', preds, '--cfg-options'] + SMALL)
    assert test.returncode == 0, (test.stdout + test.stderr)[-3000:]
    metrics = json.load(open(glob.glob(str(tmp_path / 'test' / '*' / '*.json'))[0]))
    # every metric recomputed from the saved predictions, the ground truth read from the
    # lidarseg files and the camera projection redone in numpy
    import pickle
    import numpy as np
    infos = pickle.load(open(osp.join(cached_nuscenes, 'nuscenes_infos_val.pkl'), 'rb'))
    by_name = {}
    for f in glob.glob(osp.join(preds, '*.npz')):
        with np.load(f) as z:
            by_name[osp.basename(str(z['lidar_path']))] = dict(z)
    assert len(by_name) == len(infos['data_list']) > 0
    both, seen, unseen = [], [], []
    for info in infos['data_list']:
        saved = by_name[info['lidar_points']['lidar_path']]
        xyz, _, _, _, _, inside = _camera_projections(cached_nuscenes, info)
        inside = inside.any(0)
        gt = _gt_labels(cached_nuscenes, info)
        np.testing.assert_allclose(saved['points'], xyz, atol=1e-5)   # same points, same order
        np.testing.assert_array_equal(saved['gt'], gt)
        np.testing.assert_array_equal(saved['cam'] >= 0, inside)
        pred = saved['pred'].astype(np.int64)
        both.append((gt, pred))
        seen.append((gt[inside], pred[inside]))
        unseen.append((gt[~inside], pred[~inside]))
    miou, acc, n = _hand_miou(both)
    miou_in, acc_in, n_in = _hand_miou(seen)
    miou_out, acc_out, _ = _hand_miou(unseen)
    assert 0 < n_in < n
    expected = dict(miou=miou, acc=acc, miou_in_view=miou_in, acc_in_view=acc_in,
                    miou_out_of_view=miou_out, acc_out_of_view=acc_out, in_view_ratio=n_in / n)
    for key, value in expected.items():
        assert abs(metrics[key] - value) < 1e-6, (key, metrics[key], value)
    pictures = sorted(os.listdir(tmp_path / 'pics'))
    assert any(p.endswith('_bev.png') for p in pictures)
    assert any(p.endswith('_CAM_FRONT.png') for p in pictures)


def test_pseudo_label_report_tool(cached_nuscenes, tmp_path):
    out = str(tmp_path / 'pl.json')
    proc = run_tool(['tools/pseudo_label_report.py', STAGE2, '--data-root', cached_nuscenes,
                     '--split', 'train', '--out', out])
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = json.load(open(out))
    # recomputed from the cache entries: points projected in numpy, the camera nearest the
    # image centre kept (ties: the first), its region at the pixel, the region's prompt -> class
    import pickle
    import numpy as np
    infos = pickle.load(open(osp.join(cached_nuscenes, 'nuscenes_infos_train.pkl'), 'rb'))
    cache = TeacherCache.open(osp.join(cached_nuscenes, 'teacher_cache/simulated-san'))
    prompt_class = load_class_dictionary('nuscenes').prompt_class
    points = labelled = valid = valid_labelled = correct = 0
    for info in infos['data_list']:
        xyz, names, u, v, _, inside = _camera_projections(cached_nuscenes, info)
        label = np.full(len(xyz), 16)
        best = np.full(len(xyz), np.inf)
        for c, name in enumerate(names):
            h, w = info['images'][name]['height'], info['images'][name]['width']
            score = ((u[c] - w / 2) / (w / 2)) ** 2 + ((v[c] - h / 2) / (h / 2)) ** 2
            take = inside[c] & (score < best)
            best[take] = score[take]
            stem = osp.splitext(info['images'][name]['img_path'])[0]
            entry = cache.read(f'samples__{name}__{stem}')
            region = entry.region_map[np.floor(v[c][take]).astype(int),
                                      np.floor(u[c][take]).astype(int)].astype(np.int64)
            cls = np.where(region > 0, prompt_class[entry.region_prompt[region - 1]], 16)
            label[take] = cls
        gt = _gt_labels(cached_nuscenes, info)
        points += len(xyz)
        labelled += int((label < 16).sum())
        valid += int((gt != 16).sum())
        valid_labelled += int(((label < 16) & (gt != 16)).sum())
        correct += int(((label == gt) & (gt != 16)).sum())
    assert 0 < labelled < points
    assert stats['points'] == points and stats['labelled_points'] == valid
    assert stats['coverage'] == round(100 * labelled / points, 2)
    assert stats['coverage_labelled'] == round(100 * valid_labelled / valid, 2)
    assert stats['accuracy'] == round(100 * correct / valid_labelled, 2)
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
    # in this process (the tools' own paths are tested above): the teacher pass of
    # tools/cache_teacher.py, then tools/pseudo_label_report.py's statistics per split
    from mmdet3d.registry import MODELS
    from mmengine.registry import init_default_scope
    from afov_plugin.engine import load_config
    from afov_plugin.evaluation.pseudo_label_report import split_pseudo_label_report
    from afov_plugin.teachers import config_images, run_teacher_pass
    init_default_scope('mmdet3d')
    cache_dir = str(tmp_path / profile)
    cfg = load_config(osp.join(ROOT, STAGE2), small_nuscenes,
                      {'teacher.profile': profile, 'teacher_cache_dir': cache_dir})
    teacher = MODELS.build(cfg.teacher)
    cache = TeacherCache.create(cache_dir, teacher, load_class_dictionary(cfg.dictionary))
    report = run_teacher_pass(teacher, cache, config_images(cfg), show_progress=False,
                              workers=0)
    assert report.images == report.written > 0 and not report.failures
    stats = [split_pseudo_label_report(cfg, split, show_progress=False)
             for split in ('train', 'val')]
    points = sum(s['points'] for s in stats)
    coverage = sum(s['coverage'] * s['points'] for s in stats) / points  # over all points
    labelled = [s['coverage_labelled'] * s['labelled_points'] for s in stats]
    accuracy = sum(s['accuracy'] * w for s, w in zip(stats, labelled)) / sum(labelled)
    cov_ref, acc_ref = TAB4[profile]
    assert abs(coverage - cov_ref) <= 7, (coverage, accuracy)
    assert abs(accuracy - acc_ref) <= 7, (coverage, accuracy)
