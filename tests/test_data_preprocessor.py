import numpy as np
import torch
from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, PointData

import afov_plugin  # noqa: F401
from afov_plugin.models.data_preprocessors import subsample_voxels, unique_voxels
from afov_plugin.engine import load_config


def _clustered_points(n: int = 4000, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    xyz = rng.normal(0, 3.0, (n, 3))
    xyz[: n // 2] = np.round(xyz[: n // 2], 1)  # many points share voxels
    feats = rng.random((n, 1))
    return torch.from_numpy(np.concatenate([xyz, feats], 1)).float()


def _build(max_voxels=None, voxel_size=0.2):
    return MODELS.build(dict(
        type='AFOVMinkUNetDataPreprocessor', voxel=True, voxel_type='minkunet',
        batch_first=True, max_voxels=max_voxels,
        voxel_layer=dict(max_num_points=-1, point_cloud_range=[-100, -100, -20, 100, 100, 20],
                         voxel_size=[voxel_size] * 3, max_voxels=(-1, -1))))


def _sample(points: torch.Tensor) -> Det3DDataSample:
    s = Det3DDataSample()
    s.gt_pts_seg = PointData(pts_semantic_mask=torch.arange(points.shape[0]) % 7)
    return s


def test_same_voxels_and_first_point_features_as_mmdet3d():
    pts = _clustered_points()
    coords = torch.round(pts[:, :3] / 0.2).int()
    coords -= coords.min(0)[0]
    # mmdet3d's own numpy quantization (its CPU part; only its .cuda() calls are broken)
    ref_idx, ref_inv = Det3DDataPreprocessor.sparse_quantize(
        Det3DDataPreprocessor.__new__(Det3DDataPreprocessor),
        coords.numpy(), return_index=True, return_inverse=True)
    first, inverse = unique_voxels(coords)
    np.testing.assert_array_equal(first.numpy(), ref_idx)
    np.testing.assert_array_equal(inverse.numpy(), ref_inv.reshape(-1))

    pre = _build()
    pre.eval()
    sample = _sample(pts)
    out = pre.voxelize([pts], [sample])
    np.testing.assert_array_equal(out['voxels'].numpy(), pts[ref_idx].numpy())
    np.testing.assert_array_equal(out['coors'][:, 1:].numpy(), coords[ref_idx].numpy())
    assert (out['coors'][:, 0] == 0).all()
    np.testing.assert_array_equal(sample.gt_pts_seg.voxel_semantic_mask.numpy(),
                                  (torch.arange(pts.shape[0]) % 7)[ref_idx].numpy())


def test_point2voxel_map_is_right_when_max_voxels_subsamples():
    pts = _clustered_points(seed=1)
    pre = _build(max_voxels=500)
    pre.train()
    torch.manual_seed(0)
    sample = _sample(pts)
    out = pre.voxelize([pts], [sample])
    p2v = sample.point2voxel_map
    assert out['voxels'].shape[0] == 500 and p2v.shape == (pts.shape[0], )
    kept = p2v >= 0
    assert 0 < kept.sum() < pts.shape[0]
    coords = torch.round(pts[:, :3] / 0.2).int()
    coords -= coords.min(0)[0]
    # every kept point maps to the voxel that contains it
    np.testing.assert_array_equal(out['coors'][p2v[kept], 1:].numpy(), coords[kept].numpy())
    # every dropped point's voxel is really absent
    kept_keys = {tuple(c) for c in out['coors'][:, 1:].tolist()}
    assert not any(tuple(c) in kept_keys for c in coords[~kept].tolist())
    # every point's voxel contains it, for every point and axis, by brute force
    coors = out['coors'][:, 1:].numpy()
    xyz = pts[:, :3].numpy()
    grid_min = np.round(xyz / np.float32(0.2)).astype(int).min(0)
    assert (np.round(xyz / np.float32(0.2)).astype(int).max(0) - grid_min + 1 >= 16).all()
    for point, voxel in enumerate(p2v.tolist()):  # (wide scan: no min_grid_extent shift)
        if voxel >= 0:
            expected = np.round(xyz[point] / np.float32(0.2)).astype(int) - grid_min
            assert tuple(coors[voxel]) == tuple(expected), point
    # each voxel's label is the label of the first point (input order) of the points mapped
    # to it, and its feature is that point's: a python loop over the voxels
    point_labels = sample.gt_pts_seg.pts_semantic_mask.numpy()
    labels = sample.gt_pts_seg.voxel_semantic_mask.numpy()
    assert labels.shape == (500, )
    p2v_np = p2v.numpy()
    for voxel in range(500):
        members = [i for i in range(pts.shape[0]) if p2v_np[i] == voxel]
        assert members, f'voxel {voxel} holds no point'
        assert labels[voxel] == point_labels[members[0]], voxel
        np.testing.assert_array_equal(out['voxels'][voxel].numpy(), pts[members[0]].numpy())
    # the labels are not trivially constant: the check above can tell voxels apart
    assert len(set(labels.tolist())) == 7


def test_subsample_keeps_order_and_remaps():
    first = torch.tensor([0, 2, 5, 7])
    inverse = torch.tensor([0, 0, 1, 1, 1, 2, 2, 3])
    gen = torch.Generator().manual_seed(3)
    new_first, p2v = subsample_voxels(first, inverse, 2, generator=gen)
    assert new_first.shape == (2, ) and (new_first[1:] > new_first[:-1]).all()
    for point, voxel in enumerate(p2v.tolist()):
        if voxel >= 0:
            assert new_first[voxel] == first[inverse[point]]
        else:
            assert first[inverse[point]] not in new_first


def test_batch_of_two_and_empty_scan_error():
    pre = _build()
    pre.eval()
    a, b = _clustered_points(300, 2), _clustered_points(200, 3)
    sa, sb = _sample(a), _sample(b)
    out = pre.voxelize([a, b], [sa, sb])
    assert set(out['coors'][:, 0].tolist()) == {0, 1}
    assert (out['coors'][:, 0] == 1).sum() == sb.batch_idx.numel()
    assert sa.point2voxel_map.max() < (out['coors'][:, 0] == 0).sum()
    import pytest
    with pytest.raises(ValueError, match='empty point cloud'):
        pre.voxelize([torch.zeros(0, 4)], [_sample(torch.zeros(0, 4))])


def test_flat_scan_is_shifted_so_the_spconv_minkunet_runs(repo_root):
    """A scan less than 16 voxels high crashed mmdet3d's spconv MinkUNet (spatial shape =
    largest coordinate + 1, downsampled to 0); its grid is now shifted to end at voxel 15."""
    import copy
    import os.path as osp
    from mmdet3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    rng = np.random.default_rng(5)
    xyz = rng.uniform(-10, 10, (3000, 3))
    xyz[:, 2] = rng.uniform(-0.5, 0.5, 3000)  # 1 m high: 11 voxels of 0.1 m, 6 of 0.2 m
    pts = torch.from_numpy(np.concatenate([xyz, rng.random((3000, 1))], 1)).float()
    pre = _build()
    out = pre.voxelize([pts], [_sample(pts)])
    coors = out['coors'][:, 1:]
    plain = torch.round(pts[:, :3] / 0.2).int()
    plain -= plain.min(0)[0]
    assert plain[:, 2].max() + 1 < 16 and plain[:, :2].max(0)[0].min() + 1 >= 16
    first, _ = unique_voxels(plain)
    assert torch.equal(coors[:, :2], plain[first][:, :2])  # wide axes untouched
    shift = 16 - (int(plain[:, 2].max()) + 1)
    assert shift > 0 and torch.equal(coors[:, 2], plain[first][:, 2] + shift)  # ends at 15
    assert int(coors[:, 2].max()) == 15
    cfg = load_config(osp.join(
        repo_root, 'configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py'))
    model = MODELS.build(copy.deepcopy(cfg.model)).eval()
    assert model.data_preprocessor.min_grid_extent == 16
    data = model.data_preprocessor(dict(inputs=dict(points=[pts]), data_samples=[_sample(pts)]),
                                   training=False)
    with torch.no_grad():
        pred = model(**data, mode='predict')[0].pred_pts_seg.pts_semantic_mask
    assert pred.shape == (3000, ) and int(pred.min()) >= 0 and int(pred.max()) < 16
    pre_off = _build()
    pre_off.min_grid_extent = 1  # the previous behaviour: no shift, and the backbone refuses it
    data = pre_off(dict(inputs=dict(points=[pts]), data_samples=[_sample(pts)]), training=False)
    import pytest
    with pytest.raises(RuntimeError, match='spatial shape'):
        with torch.no_grad():
            model.backbone(data['inputs']['voxels']['voxels'], data['inputs']['voxels']['coors'])
