"""The Robo3D corruptions as transforms: on a synthetic nuScenes scan whose file holds the true
ring of every point, each corruption checked against what it must do (the beams it drops by
the file's own rings, labels following the points by their coordinates, fractions by
counting, the snow law against its formula, Fresnel against the normal-incidence closed
form), severities ordered, repeatable per scan, and in a real test pipeline."""
import copy
import glob
import os.path as osp

import numpy as np
import pytest
from mmdet3d.registry import DATASETS, TRANSFORMS
from mmdet3d.structures import LiDARPoints
from mmdet3d.utils import register_all_modules
from mmengine.registry import init_default_scope

import afov_plugin  # noqa: F401
from afov_plugin.datasets.transforms.lidar_corruptions import (CORRUPTIONS, beam_index,
                                                               fresnel_transmission,
                                                               insert_corruption)
from afov_plugin.engine import load_config
from conftest import ROOT

register_all_modules(init_default_scope=False)
STAGE2 = 'configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py'


@pytest.fixture(scope='module')
def scan(tiny_nuscenes):
    path = sorted(glob.glob(osp.join(tiny_nuscenes, 'samples', 'LIDAR_TOP', '*.bin')))[0]
    raw = np.fromfile(path, np.float32).reshape(-1, 5)
    seg = glob.glob(osp.join(tiny_nuscenes, 'lidarseg', '*', '*.bin'))
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 17, raw.shape[0])  # 16 = ignore; class ids of the 16 classes
    labels[np.abs(raw[:, 2] + 1.8) < 0.3] = 10  # a ground class where the ground is
    return dict(path=path, raw=raw, labels=labels, seg=seg)


def _results(scan):
    return dict(points=LiDARPoints(scan['raw'][:, :4].copy(), points_dim=4),
                pts_semantic_mask=scan['labels'].copy(), lidar_path=scan['path'],
                eval_ann_info=dict(pts_semantic_mask=scan['labels'].copy()))


def _run(name, scan, severity=1, seed=0):
    step = TRANSFORMS.build(dict(type=CORRUPTIONS[name].__name__, severity=severity, seed=seed,
                                 sensor='nuscenes', ignore_index=16))
    out = step(_results(scan))
    pts = out['points'].tensor.numpy()
    assert out['pts_semantic_mask'].shape[0] == pts.shape[0]
    np.testing.assert_array_equal(out['eval_ann_info']['pts_semantic_mask'],
                                  out['pts_semantic_mask'])
    return pts, out['pts_semantic_mask']


def _by_coordinates(scan):
    return {tuple(p): lab for p, lab in zip(scan['raw'][:, :3].tolist(), scan['labels'])}


def test_ring_estimate_is_the_files_ring(scan):
    np.testing.assert_array_equal(beam_index(scan['raw'][:, :3], dict(
        elevation=(-30.67, 10.67), beams=32)), scan['raw'][:, 4].astype(int))


@pytest.mark.parametrize('severity,k', [(1, 8), (2, 16), (3, 24)])
def test_beam_missing_drops_k_whole_beams(scan, severity, k):
    pts, lab = _run('beam_missing', scan, severity)
    ring = scan['raw'][:, 4].astype(int)
    kept = {tuple(p) for p in pts[:, :3].tolist()}
    survived = np.array([tuple(p) in kept for p in scan['raw'][:, :3].tolist()])
    gone = set(np.unique(ring)) - set(np.unique(ring[survived]))
    assert len(gone) == k and all(2 <= b <= 28 for b in gone)
    assert all(survived[~np.isin(ring, list(gone))])  # nothing else is lost
    truth = _by_coordinates(scan)
    assert all(truth[tuple(p)] == y for p, y in zip(pts[:, :3].tolist(), lab))


def test_cross_sensor_keeps_fewer_beams_and_half_the_columns(scan):
    for severity, beams in ((1, 24), (2, 16), (3, 8)):
        pts, _ = _run('cross_sensor', scan, severity)
        ring = beam_index(pts[:, :3], dict(elevation=(-30.67, 10.67), beams=32))
        assert len(np.unique(ring)) <= beams
        full = scan['raw'][:, 4].astype(int)
        for b in np.unique(ring):
            assert abs((ring == b).sum() - (full == b).sum() / 2) <= 1


def test_motion_blur_statistics(scan):
    pts, lab = _run('motion_blur', scan, 3)
    d = pts[:, :3] - scan['raw'][:, :3]
    np.testing.assert_array_equal(lab, scan['labels'])
    residual = d - np.median(d, axis=0)
    assert residual[:, 0].std() == pytest.approx(0.1 * 0.30, rel=0.1)
    assert residual[:, 2].std() == pytest.approx(0.05 * 0.30, rel=0.1)
    assert np.abs(d).max() <= 6 * 0.30


def test_crosstalk_and_incomplete_echo_by_counting(scan):
    n = scan['raw'].shape[0]
    pts, lab = _run('crosstalk', scan, 2)
    moved = np.any(pts[:, :3] != scan['raw'][:, :3], axis=1)
    assert moved.sum() == round(0.04 * n) and (lab[moved] == 16).all()
    np.testing.assert_array_equal(lab[~moved], scan['labels'][~moved])
    pts, lab = _run('incomplete_echo', scan, 3)
    for c in range(17):
        before, after = (scan['labels'] == c).sum(), (lab == c).sum()
        want = before - round(0.95 * before) if c in (1, 2, 3, 4, 5, 8, 9) else before
        assert after == want, c


def test_fog_returns_lie_on_their_rays_and_severity_orders(scan):
    lost = []
    for severity in (1, 2, 3):
        pts, lab = _run('fog', scan, severity, seed=5)
        fog = lab == 16
        orig = scan['raw'][:, :3]
        a, b = pts[:, :3], orig
        cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert np.allclose(cos, 1, atol=1e-5)  # every point stays on its ray
        assert (np.linalg.norm(a[fog & (scan['labels'] != 16)], axis=1) <= 10 + 1e-3).all()
        lost.append(int((fog & (scan['labels'] != 16)).sum()))
    assert lost[0] <= lost[1] <= lost[2] and lost[2] > 0


def test_wet_ground_drops_ground_only_and_fresnel():
    n1, n2 = 1.0003, 1.33
    assert fresnel_transmission(np.array([1.0]))[0] == pytest.approx(
        1 - ((n2 - n1) / (n2 + n1)) ** 2)
    assert fresnel_transmission(np.array([1e-4]))[0] < 0.01  # grazing: reflected away
    rng = np.random.default_rng(1)
    r = rng.uniform(3, 40, 5000)
    az = rng.uniform(-np.pi, np.pi, 5000)
    xyz = np.stack([r * np.cos(az), r * np.sin(az), np.full(5000, -1.8)], 1)
    other = rng.normal(0, 10, (1000, 3))
    pts = np.concatenate([xyz, other]).astype(np.float32)
    pts = np.concatenate([pts, np.full((6000, 1), 50, np.float32)], 1)
    labels = np.r_[np.full(5000, 10), np.full(1000, 3)]
    counts = []
    for severity in (1, 2, 3):
        step = TRANSFORMS.build(dict(type='WetGround', severity=severity, ignore_index=16))
        out = step(dict(points=LiDARPoints(pts.copy(), points_dim=4), pts_semantic_mask=labels))
        lab = out['pts_semantic_mask']
        assert (lab == 3).sum() == 1000  # not ground: untouched
        counts.append(int((lab == 10).sum()))
        kept = out['points'].tensor.numpy()[lab == 10]
        # the far (grazing) ground goes first
        assert np.linalg.norm(kept[:, :2], axis=1).mean() < r.mean()
    assert counts[0] >= counts[1] >= counts[2] and counts[2] < 0.9 * counts[0]


def test_snow_follows_its_law():
    n, r0 = 20000, 30.0
    rng = np.random.default_rng(2)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    pts = np.concatenate([d * r0, np.full((n, 1), 100.0)], 1).astype(np.float32)
    for severity, rate in ((1, 0.5), (3, 2.5)):
        step = TRANSFORMS.build(dict(type='Snow', severity=severity, ignore_index=16))
        out = step(dict(points=LiDARPoints(pts.copy(), points_dim=4),
                        pts_semantic_mask=np.zeros(n, np.int64)))
        hit = out['pts_semantic_mask'] == 16
        p = 1 - np.exp(-0.005 * rate * r0)
        assert abs(hit.mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
        rr = np.linalg.norm(out['points'].tensor.numpy()[hit, :3], axis=1)
        assert rr.min() >= 1.0 - 1e-3 and rr.max() < r0


def test_repeatable_per_scan_and_in_a_test_pipeline(scan, tiny_nuscenes):
    for name in CORRUPTIONS:
        a, la = _run(name, scan, 2, seed=3)
        b, lb = _run(name, scan, 2, seed=3)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    init_default_scope('mmdet3d')
    cfg = load_config(osp.join(ROOT, STAGE2), tiny_nuscenes)
    ds = copy.deepcopy(cfg.test_dataloader.dataset)
    clean = DATASETS.build(copy.deepcopy(ds))[0]
    ds.pipeline = insert_corruption(ds.pipeline, dict(type='BeamMissing', severity=3,
                                                      ignore_index=16))
    assert [t['type'] for t in ds.pipeline].index('BeamMissing') < \
        [t['type'] for t in ds.pipeline].index('PointPixelPairing')
    item = DATASETS.build(ds)[0]
    n = item['inputs']['points'].shape[0]
    assert n < clean['inputs']['points'].shape[0]
    assert item['data_samples'].eval_ann_info['pts_semantic_mask'].shape[0] == n
    assert item['data_samples'].gt_pts_seg.pts_cam.shape[0] == n
    with pytest.raises(ValueError, match='severity must be 1, 2 or 3'):
        TRANSFORMS.build(dict(type='Fog', severity=4))
