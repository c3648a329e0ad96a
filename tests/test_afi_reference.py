"""AFI: the reference implementation's behaviour (``afi_reference``), the neighbourhood
agreement gate, and the batched torch FPS. What needs the reference's own code (its labels)
is measured, not tested: docs/afi.md, "Reproducing the reference"."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

import afov_plugin  # noqa: F401
from afov_plugin.post_processing import AFIPostProcessor, fibonacci_directions
from afov_plugin.post_processing.directions import EPS
from afov_plugin.post_processing.ground import ground_and_ego
from afov_plugin.post_processing.neighbours import (farthest_point_sample,
                                                    farthest_point_sample_batch)
from afov_plugin.engine import load_config

BASE = 'configs/_base_/post_processing/afi.py'
REFERENCE_CONFIG = ('configs/afov/afi/minkunet18-w16_stage2-afi-reference_simulated-san_'
                    'synthetic-nuscenes.py')
SMALL = dict(num_centres=[300, 100, 33, 11])


def _settings(repo_root, name, **over):
    cfg = dict(Config.fromfile(osp.join(repo_root, BASE))[name], num_classes=16, ignore_index=16)
    cfg.pop('type')
    cfg.update(over)
    return cfg


def _road_scan(n=6000, seed=0):
    """Flat road at z = −1.84 m out to 25 m (class 10) with a pole (class 14)."""
    g = torch.Generator().manual_seed(seed)
    r = torch.rand(n, generator=g).sqrt() * 25
    a = torch.rand(n, generator=g) * 2 * np.pi
    road = torch.stack([r * torch.cos(a), r * torch.sin(a),
                        torch.full((n, ), -1.84) + torch.randn(n, generator=g) * 0.01], 1)
    pole = torch.cat([torch.full((200, 2), 4.0) + torch.rand(200, 2, generator=g) * 0.2,
                      torch.rand(200, 1, generator=g) * 3 - 1.84], 1)
    xyz = torch.cat([road, pole])
    labels = torch.cat([torch.full((n, ), 10), torch.full((200, ), 14)]).long()
    return xyz, labels


def test_reference_settings_and_config(repo_root):
    ref = _settings(repo_root, 'afi_reference')
    demo = _settings(repo_root, 'afi_nuscenes')
    g = ref['ground']
    assert (g['r_min'], g['r_max'], g['z_max'], g['ego_radius'], g['inlier_dist']) == (
        2.0, 5.0, -1.4, 2.0, 0.1)
    assert (g['fit'], g['min_samples'], g['iterations']) == ('lstsq', 10, 20)
    assert g['inliers'] == 'window'
    assert g['zero_inliers'] and not g['keep_flat_labels'] and not g['refit']
    assert ref['unreached'] == 'interpolate' and ref['coincident_weight'] == 0.0
    for key in ('num_centres', 'k', 'num_directions', 'gamma', 'self_weight', 'decoder_k',
                'skip_weights', 'num_classes', 'ignore_index'):
        assert ref[key] == demo[key], key
    # the demo settings use none of the reference-only options: today's behaviour
    for key in ('lattice', 'fps_start', 'centre_in_knn', 'bin_features', 'extents',
                'coincident_weight', 'unreached', 'keep_agreeing'):
        assert key not in demo, key
    assert 'inliers' not in demo['ground'] and 'fit' not in demo['ground']
    cfg = load_config(osp.join(repo_root, REFERENCE_CONFIG))
    post = dict(cfg.model.test_cfg.postprocess)
    assert post['type'] == 'AFIPostProcessor' and post['ground'] == ref['ground']
    AFIPostProcessor(**{k: v for k, v in post.items() if k != 'type'})


def test_reference_lattice_has_its_poles_on_y():
    d = fibonacci_directions(20, lattice='endpoint').double()
    assert torch.allclose(d.norm(dim=1), torch.ones(20, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(d[0], torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), atol=1e-7)
    assert torch.allclose(d[-1, 1], torch.tensor(-1.0, dtype=torch.float64))
    i = torch.arange(20, dtype=torch.float64)
    assert torch.allclose(d[:, 1], 1 - 2 * i / 19, atol=1e-7)
    with pytest.raises(ValueError, match='lattice'):
        fibonacci_directions(20, lattice='spiral')


def test_window_inliers_only_inside_the_window(repo_root):
    """``inliers='window'``: only the window's points (2 m < r < 5 m, z < −1.4 m) near the
    plane are zeroed and restricted, as the reference's ``round_ground_idx``; ``'plane'``
    takes the whole scan's plane."""
    xyz, labels = _road_scan()
    r = xyz[:, :2].norm(dim=1)
    window = (r > 2) & (r < 5) & (xyz[:, 2] < -1.4)
    got = {}
    for mode in ('window', 'plane'):
        cfg = _settings(repo_root, 'afi_reference', **SMALL)
        cfg['ground'] = dict(cfg['ground'], inliers=mode)
        afi = AFIPostProcessor(**cfg)
        got[mode], ego = ground_and_ego(xyz, afi.ground, torch.Generator().manual_seed(0))
        assert torch.equal(ego, r <= 2.0)
    road = labels == 10
    assert not got['window'][~window].any()
    assert got['window'][window & road].float().mean() > 0.99
    assert got['plane'][road & (r > 5)].float().mean() > 0.99      # beyond the window too
    assert torch.equal(got['plane'] & window, got['window'])
    # the pole's points in the window (up to 0.44 m above the road) are no inliers
    assert not got['window'][~road & (xyz[:, 2] > -1.84 + 0.1)].any()
    # refine zeroes the window inliers only: a far road point keeps its label's feature
    afi = AFIPostProcessor(**_settings(repo_root, 'afi_reference', **SMALL))
    out = afi.refine(xyz, labels)
    assert set(out[got['window']].unique().tolist()) <= {10, 11, 12, 13}
    assert (out[road & (r > 5)] == 10).float().mean() > 0.99


def test_lstsq_ransac_uses_vertical_residuals(repo_root):
    """``fit='lstsq'``: z = a·x + b·y + c by least squares on 10-point samples, inliers by
    |z − ẑ| ≤ inlier_dist, as scikit-learn's RANSACRegressor in the reference."""
    g = torch.Generator().manual_seed(2)
    xy = torch.rand(600, 2, generator=g) * 6 - 3
    xy = xy[(xy.norm(dim=1) > 2.1) & (xy.norm(dim=1) < 4.9)]
    z = -1.84 + 0.02 * xy[:, 0]                                      # a slightly tilted road
    bumper = torch.zeros(xy.shape[0], dtype=torch.bool)
    bumper[::5] = True
    z = torch.where(bumper, z + 0.25, z)                             # 0.25 m above it
    xyz = torch.cat([xy, z[:, None]], 1)
    cfg = _settings(repo_root, 'afi_reference', **SMALL)
    inliers, _ = ground_and_ego(xyz, AFIPostProcessor(**cfg).ground,
                                torch.Generator().manual_seed(0))
    assert inliers[~bumper].all() and not inliers[bumper].any()


def test_unreached_points_are_interpolated_from_their_six_nearest_coarse_points(repo_root):
    """A point nothing reaches (zero input feature, no aligned coarse neighbour) takes the
    plain mean of its 6 nearest coarse points' features (``unreached='interpolate'``, the
    reference's 1e-8 terms), checked by brute force on the last decoder step; with
    ``'keep'`` it keeps its input label."""
    g = torch.Generator().manual_seed(4)
    blob = torch.randn(1500, 3, generator=g) * torch.tensor([3.0, 3.0, 1.0])
    labels = (blob[:, 0] > 0).long()
    labels[torch.rand(1500, generator=g) < 0.3] = 3                 # a third unlabelled
    cfg = dict(num_classes=3, ignore_index=3, **SMALL)
    afi = AFIPostProcessor(unreached='interpolate', coincident_weight=0.0, **cfg)
    x0 = torch.zeros(1500, 3)
    lab = labels < 3
    x0[lab, labels[lab]] = 1
    steps = []
    feat = afi.hierarchy.propagate(blob, x0, torch.Generator().manual_seed(afi.seed), steps)
    coarse, coarse_feat, fine = steps[-1]
    assert fine.xyz.shape[0] == 1500
    # brute force: 6 nearest coarse points, alignment Σ_d p_d·[|cos| > γ] per coarse point
    nbr = torch.cdist(fine.xyz.double(), coarse.xyz.double()).argsort(1)[:, :6]
    mixed = torch.zeros(1500, 3)
    w_total = torch.zeros(1500)
    for i in range(1500):
        for s in nbr[i].tolist():
            off = fine.xyz[i] - coarse.xyz[s]
            if off.norm() <= EPS:
                continue                                              # coincident: weight 0
            cos = (coarse.bin_unit[s] @ (off / off.norm())).abs()
            a = (coarse.bin_weight[s] * (cos > afi.gamma)).sum()
            w_total[i] += a
            mixed[i] += a * coarse_feat[s]
    lam = afi.skip_weights[-1]
    raw = mixed + lam * w_total.mean() * fine.feat
    empty = raw.sum(1) <= 0
    assert 20 < int(empty.sum()) < 1500                               # some are unreached
    want = torch.where(empty[:, None], coarse_feat[nbr].mean(1), raw)
    want = want / want.sum(1, keepdim=True).clamp_min(EPS)
    torch.testing.assert_close(feat, want, atol=1e-5, rtol=1e-4)
    out = afi.refine(blob, labels)
    assert torch.equal(out[empty], want[empty].argmax(1))
    assert (out < 3).all()                                             # every point reached
    # 'keep': points nothing reaches keep their input label (here: unlabelled)
    keep = AFIPostProcessor(coincident_weight=0.0, **cfg)
    kept = keep.refine(blob, labels)
    assert (kept == 3).any() and (kept[kept == 3] == labels[kept == 3]).all()


def test_reference_options_agree_between_code_paths(repo_root):
    """The compiled CPU kernels and the torch (CUDA) path give the same labels with the
    reference's options as well (occupied extents, coincident weight 0, ...)."""
    from afov_plugin.synthetic.afi_scenes import plane_wall_box_scene
    xyz, _, noisy = plane_wall_box_scene(n=5000, seed=3)
    noisy = noisy + 10                                  # the flat classes 10-12 of nuScenes
    cfg = _settings(repo_root, 'afi_reference', **SMALL)
    cfg['ground'] = dict(cfg['ground'], z_max=-1.0)
    a = AFIPostProcessor(**cfg).refine(xyz, noisy)
    b = AFIPostProcessor(backend='torch', **cfg).refine(xyz, noisy)
    assert torch.equal(a, b)
    assert (a != noisy).any()
    gated = dict(cfg, keep_agreeing=dict(k=4, min_share=0.25))
    assert torch.equal(AFIPostProcessor(**gated).refine(xyz, noisy),
                       AFIPostProcessor(backend='torch', **gated).refine(xyz, noisy))


def _swap_scene(seed=0):
    """Ground (0), a wall (1), a car-sized box (2) and a truck-sized box (3) on the ground,
    all labelled correctly except the points no camera sees (x < −6 m, behind the car):
    there the two vehicle classes are swapped and the ground is called class 4 (a
    region-wide confusion, as a 2D teacher never sees those points)."""
    g = torch.Generator().manual_seed(seed)
    ground = torch.cat([torch.rand(8000, 2, generator=g) * 40 - 20,
                        torch.full((8000, 1), -1.8)], 1)
    wall = torch.cat([torch.rand(3000, 1, generator=g) * 40 - 20, torch.full((3000, 1), 12.0),
                      torch.rand(3000, 1, generator=g) * 6 - 1.8], 1)
    boxes, cls = [], []
    free = (ground[:, 0] - -6).abs() > 0.75         # the edge of the cameras' view: a gap
    free &= ground[:, 1] < 11.0                     # and none at the foot of the wall
    for (x, y), c in (((5, 5), 2), ((-12, 4), 2), ((8, -6), 3), ((-17, -6), 3)):
        size = torch.tensor([4.0, 1.8, 1.5]) if c == 2 else torch.tensor([8.0, 2.5, 3.0])
        lo = torch.tensor([x, y, -1.5])
        boxes.append(torch.rand(600, 3, generator=g) * size + lo)
        cls += [c] * 600
        # no ground under a box (its footprint is hidden from the LiDAR)
        free &= ~((ground[:, :2] > lo[:2] - 0.5) & (ground[:, :2] < lo[:2] + size[:2] + 0.5)
                  ).all(1)
    ground = ground[free]
    xyz = torch.cat([ground, wall] + boxes)
    truth = torch.cat([torch.zeros(ground.shape[0]), torch.ones(3000),
                       torch.tensor(cls)]).long()
    out_of_view = xyz[:, 0] < -6
    pred = truth.clone()
    swap = torch.tensor([4, 1, 3, 2, 4])
    pred[out_of_view] = swap[truth[out_of_view]]
    return xyz, truth, pred, out_of_view


def _miou(pred, truth, classes=4):
    ious = [((pred == c) & (truth == c)).sum() / ((pred == c) | (truth == c)).sum()
            for c in range(classes)]
    return float(torch.stack(ious).mean())


def test_keep_agreeing_does_not_lower_miou_on_out_of_view_swaps():
    """Every error is a region-wide class swap among out-of-view points; every point's label,
    right or wrong, is shared by its neighbours. With the agreement gate AFI rewrites no
    label (hand-checkable: output = input, so the mIoU stays); without it, flat interaction
    smooths boundaries and the box labels and the mIoU drops."""
    xyz, truth, pred, oov = _swap_scene()
    before = _miou(pred, truth)
    assert (pred[~oov] == truth[~oov]).all() and (pred[oov] != truth[oov]).float().mean() > 0.7
    afi = AFIPostProcessor(num_classes=5, keep_agreeing=dict(k=4, min_share=0.25))
    share = afi.agreement(xyz, pred, torch.ones_like(pred, dtype=torch.bool), 4)
    assert (share >= 0.25).all()                  # every label has an agreeing neighbour
    out = afi.refine(xyz, pred)
    assert torch.equal(out, pred)
    assert _miou(out, truth) >= before
    plain = AFIPostProcessor(num_classes=5).refine(xyz, pred)
    assert (plain != pred).any()                  # today's AFI rewrites confirmed labels


def test_keep_agreeing_still_repairs_isolated_noise():
    from afov_plugin.synthetic.afi_scenes import plane_wall_box_scene
    xyz, truth, noisy = plane_wall_box_scene(n=4000)
    out = AFIPostProcessor(num_classes=3, keep_agreeing=dict(k=4, min_share=0.25)).refine(
        xyz, noisy)
    assert (noisy == truth).float().mean() < 0.83
    # with 3 classes a third of the noisy labels have a neighbour of the same wrong label by
    # chance, and stay (without the gate: 98 %; on 16-class scans the gate costs nothing)
    assert (out == truth).float().mean() > 0.9
    # the gate keeps exactly the labels one of the 4 nearest neighbours shares
    afi = AFIPostProcessor(num_classes=3, keep_agreeing=dict(k=4, min_share=0.25))
    share = afi.agreement(xyz, noisy, torch.ones_like(noisy, dtype=torch.bool), 4)
    nbr = torch.cdist(xyz, xyz).topk(5, largest=False).indices[:, 1:]
    brute = (noisy[nbr] == noisy[:, None]).float().mean(1)
    torch.testing.assert_close(share, brute)
    assert torch.equal(out[share >= 0.25], noisy[share >= 0.25])


def test_batched_torch_fps_matches_cpu_fps_per_scan():
    """One padded call for scans of different sizes picks, per scan, the indices the CPU
    (numba) FPS and the brute-force definition pick for the same start point."""
    g = torch.Generator().manual_seed(9)
    sizes, m = (700, 1500, 333, 1024), 120
    scans = [torch.rand(n, 3, generator=g) * torch.tensor([60.0, 40.0, 5.0]) for n in sizes]
    scans[1] = torch.cat([scans[1][:1400], scans[1][:100]])          # duplicated points
    starts = torch.tensor([0, 17, 332, 500])
    pad = torch.full((len(sizes), max(sizes), 3), 1e6)            # padding is far: never taken
    for b, s in enumerate(scans):
        pad[b, :s.shape[0]] = s
    out = farthest_point_sample_batch(pad, m, torch.tensor(sizes), starts)
    assert out.shape == (4, m)
    for b, s in enumerate(scans):
        cpu = farthest_point_sample(s, m, start=int(starts[b]))
        assert torch.equal(out[b], cpu), b
        assert torch.equal(farthest_point_sample(s, m, start=int(starts[b]), backend='torch'),
                           cpu)
        chosen = [int(starts[b])]
        mind = ((s - s[chosen[0]]) ** 2).sum(1)
        for _ in range(m - 1):
            chosen.append(int(mind.argmax()))
            mind = torch.minimum(mind, ((s - s[chosen[-1]]) ** 2).sum(1))
        assert out[b].tolist() == chosen
    # a scan with fewer points than m: its first n indices are all of its points
    small = farthest_point_sample_batch(pad[2:3, :400], 400, torch.tensor([333]))
    assert sorted(small[0, :333].tolist()) == list(range(333))


def test_fps_and_knn_never_call_mmcv_on_cpu(monkeypatch):
    from afov_plugin.post_processing import neighbours
    from afov_plugin.post_processing.neighbours import knn

    def boom(name):
        raise AssertionError(f'mmcv op {name} called for CPU tensors')
    monkeypatch.setattr(neighbours, '_mmcv_op', boom)
    xyz = torch.rand(500, 3)
    farthest_point_sample(xyz, 50)
    farthest_point_sample(xyz, 50, backend='torch')
    knn(xyz, xyz[:10], 5)
    knn(xyz, xyz[:10], 5, backend='torch')


def test_bad_reference_options_are_refused():
    with pytest.raises(ValueError, match='unreached'):
        AFIPostProcessor(num_classes=3, unreached='nearest')
    with pytest.raises(ValueError, match='ground.inliers'):
        AFIPostProcessor(num_classes=3, ground=dict(inliers='scan'))
    with pytest.raises(ValueError, match='ground.fit'):
        AFIPostProcessor(num_classes=3, ground=dict(fit='svd'))
    with pytest.raises(ValueError, match='bin_features'):
        AFIPostProcessor(num_classes=3, bin_features='max')


def test_torch_path_samples_the_first_stage_of_a_batch_in_one_call(monkeypatch):
    """``backend='torch'``: the first FPS stage of all scans of a batch is one padded call;
    the labels equal scan-by-scan refinement (and the CPU path's)."""
    from afov_plugin.post_processing import afi as afi_module
    from afov_plugin.synthetic.afi_scenes import plane_wall_box_scene
    calls = []
    batched = afi_module.farthest_point_sample_batch

    def counting(xyz, m, lengths=None, start=None):
        calls.append(xyz.shape[0])
        return batched(xyz, m, lengths, start)
    monkeypatch.setattr(afi_module, 'farthest_point_sample_batch', counting)
    scans = [plane_wall_box_scene(n=n, seed=n) for n in (1500, 4000, 2500)]
    torch_afi = AFIPostProcessor(num_classes=3, backend='torch', **SMALL)
    out = torch_afi([s[0] for s in scans], [s[2] for s in scans])
    assert calls == [3]
    cpu = AFIPostProcessor(num_classes=3, **SMALL)
    for o, (xyz, _, noisy) in zip(out, scans):
        assert torch.equal(o, torch_afi.refine(xyz, noisy))
        assert torch.equal(o, cpu.refine(xyz, noisy))
