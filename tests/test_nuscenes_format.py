import os.path as osp
import pickle

import numpy as np
from mmdet3d.registry import DATASETS, TRANSFORMS
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401
from afov_plugin.datasets import NUSCENES_LIDARSEG_MAPPING
from afov_plugin.datasets.transforms import project_points
from conftest import NUS_VERSION


def _devkit(root):
    from nuscenes import NuScenes
    return NuScenes(NUS_VERSION, root, verbose=False)


def test_devkit_loads_the_set_and_its_lidarseg(tiny_nuscenes):
    nusc = _devkit(tiny_nuscenes)
    assert len(nusc.scene) == 2 and len(nusc.sample) == 4
    from nuscenes.utils import splits
    assert {s['name'] for s in nusc.scene} <= set(splits.train + splits.val)
    sample = nusc.sample[0]
    assert set(sample['data']) == {'LIDAR_TOP', 'CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_BACK_RIGHT',
                                   'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_FRONT_LEFT'}
    sd = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
    from nuscenes.utils.data_classes import LidarPointCloud
    pc = LidarPointCloud.from_file(osp.join(tiny_nuscenes, sd['filename']))
    labels = np.fromfile(osp.join(tiny_nuscenes, nusc.get('lidarseg', sd['token'])['filename']),
                         dtype=np.uint8)
    assert labels.shape[0] == pc.points.shape[1] > 10000
    assert set(np.unique(labels)) <= set(range(32)) and 24 in labels  # driveable surface


def test_pairing_matches_devkit_point_to_image_mapping(tiny_nuscenes):
    nusc = _devkit(tiny_nuscenes)
    infos = pickle.load(open(osp.join(tiny_nuscenes, 'nuscenes_infos_train.pkl'), 'rb'))
    info = infos['data_list'][0]
    sample = nusc.get('sample', info['token'])
    xyz = np.fromfile(osp.join(tiny_nuscenes, 'samples/LIDAR_TOP',
                               info['lidar_points']['lidar_path']),
                      dtype=np.float32).reshape(-1, 5)[:, :3]
    total = 0
    for cam, cam_info in info['images'].items():
        ref, _, im = nusc.explorer.map_pointcloud_to_image(sample['data']['LIDAR_TOP'],
                                                           sample['data'][cam], min_dist=1.0)
        uv, depth = project_points(xyz, np.asarray([cam_info['lidar2img']]))
        uv, depth = uv[0], depth[0]
        w, h = im.size
        mask = (depth > 1.0) & (uv[:, 0] > 1) & (uv[:, 0] < w - 1) & (uv[:, 1] > 1) & \
            (uv[:, 1] < h - 1)
        assert mask.sum() == ref.shape[1]
        np.testing.assert_allclose(uv[mask], ref[:2].T, atol=1e-3)
        total += mask.sum()
    assert total > 0.3 * xyz.shape[0]


def test_pairing_transform_outputs(tiny_nuscenes):
    infos = pickle.load(open(osp.join(tiny_nuscenes, 'nuscenes_infos_train.pkl'), 'rb'))
    info = infos['data_list'][0]
    xyz = np.fromfile(osp.join(tiny_nuscenes, 'samples/LIDAR_TOP',
                               info['lidar_points']['lidar_path']),
                      dtype=np.float32).reshape(-1, 5)[:, :3]
    names = list(info['images'])
    lidar2img = np.stack([np.asarray(info['images'][c]['lidar2img']) for c in names])
    sizes = np.array([[info['images'][c]['height'], info['images'][c]['width']] for c in names])
    pairing = TRANSFORMS.build(dict(type='PointPixelPairing'))
    cam, pix, pixf = pairing.pair(xyz, lidar2img, sizes)
    paired = cam >= 0
    assert cam.dtype == np.int8 and pix.shape == (xyz.shape[0], 2)
    assert (pix[~paired] == -1).all() and 0.2 < paired.mean() < 0.9
    uv, depth = project_points(xyz, lidar2img)
    idx = np.flatnonzero(paired)
    np.testing.assert_allclose(pixf[idx], uv[cam[idx], idx], atol=1e-3)
    assert (depth[cam[idx], idx] > 1.0).all()
    assert (pix[idx, 0] < sizes[cam[idx], 1]).all() and (pix[idx, 1] < sizes[cam[idx], 0]).all()
    # 'last' rule: the highest camera index among those that see the point
    last = TRANSFORMS.build(dict(type='PointPixelPairing', multi_camera='last'))
    cam_last, _, _ = last.pair(xyz, lidar2img, sizes)
    assert ((cam_last >= 0) == paired).all() and (cam_last[paired] >= cam[paired]).all()


def test_pairing_centre_rule_matches_brute_force(tiny_nuscenes):
    """The compiled single-pass kernel = a brute-force numpy evaluation of the documented rule
    (valid: depth > 1, pixel inside; several cameras: closest to the image centre)."""
    infos = pickle.load(open(osp.join(tiny_nuscenes, 'nuscenes_infos_train.pkl'), 'rb'))
    info = infos['data_list'][1]
    names = list(info['images'])
    lidar2img = np.stack([np.asarray(info['images'][c]['lidar2img']) for c in names])
    sizes = np.array([[info['images'][c]['height'], info['images'][c]['width']] for c in names])
    rng = np.random.default_rng(0)
    xyz = rng.uniform([-40, -40, -3], [40, 40, 5], (20000, 3)).astype(np.float32)
    xyz[:50] = np.nan  # NaN points pair with nothing
    cam, pix, pixf = TRANSFORMS.build(dict(type='PointPixelPairing')).pair(xyz, lidar2img, sizes)
    uv, depth = project_points(xyz, lidar2img)
    h, w = sizes[:, :1], sizes[:, 1:]
    valid = (depth > 1) & (uv[..., 0] >= 0) & (uv[..., 0] < w) & (uv[..., 1] >= 0) & \
        (uv[..., 1] < h)
    centre = np.stack([w[:, 0], h[:, 0]], -1)[:, None] / 2
    score = np.where(valid, (((uv - centre) / centre) ** 2).sum(-1), np.inf)
    expect = np.where(valid.any(0), score.argmin(0), -1)
    assert (valid.sum(0) > 1).sum() > 100  # overlaps between cameras are exercised
    np.testing.assert_array_equal(cam, expect)
    assert (cam[:50] == -1).all()
    idx = np.flatnonzero(cam >= 0)
    np.testing.assert_array_equal(pix[idx], np.floor(uv[cam[idx], idx]).astype(np.int32))


def test_point_regions_numbers_regions_across_cameras():
    from afov_plugin.datasets.transforms import point_regions
    map0 = np.array([[1, 2], [0, 2]])  # camera 0: regions 1, 2 (0 = none)
    map1 = np.array([[3, 1], [2, 0]])  # camera 2: three regions; camera 1 has none paired
    cam = np.array([0, 0, 0, 2, 2, 2, -1])
    pix = np.array([[0, 0], [1, 1], [0, 1], [0, 0], [1, 0], [1, 1], [-1, -1]])  # (u, v)
    got = point_regions(cam, pix, [map0, None, map1], [2, 4, 3])
    # camera 0's regions are 0, 1; camera 1's 2..5; camera 2's 6..8
    np.testing.assert_array_equal(got, [0, 1, -1, 8, 6, -1, -1])


def test_occlusion_test_removes_points_behind_a_box():
    from afov_plugin.datasets.transforms import PointPixelPairing
    # camera at the origin looking along +x (lidar frame = camera rig here), K simple
    k = np.array([[100.0, 0, 50], [0, 100.0, 50], [0, 0, 1]])
    cam_from_lidar = np.array([[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1.0]])
    lidar2img = np.eye(4)
    lidar2img[:3, :3] = k
    lidar2img = (lidar2img @ cam_from_lidar)[None]
    ys, zs = np.meshgrid(np.linspace(-0.5, 0.5, 21), np.linspace(-0.5, 0.5, 21))
    front = np.stack([np.full(ys.size, 5.0), ys.ravel(), zs.ravel()], 1)  # box face at 5 m
    behind = np.stack([np.full(ys.size, 10.0), 2 * ys.ravel(), 2 * zs.ravel()], 1)  # same rays
    aside = np.array([[10.0, 3.0, 0.0]])  # visible wall point next to the box
    xyz = np.concatenate([front, behind, aside])
    sizes = np.array([[100, 100]])
    no_test = PointPixelPairing(occlusion_test=False).pair(xyz, lidar2img, sizes)[0]
    with_test = PointPixelPairing(occlusion_test=True, occlusion_cell=4).pair(xyz, lidar2img,
                                                                              sizes)[0]
    n = front.shape[0]
    assert (no_test >= 0).all()
    assert (with_test[:n] == 0).all()  # the box face stays
    assert (with_test[n:2 * n] == -1).mean() > 0.95  # points hidden behind it go
    assert with_test[-1] == 0


def test_nuscenes_seg_dataset_loads_points_labels_and_cameras(tiny_nuscenes):
    register_all_modules(init_default_scope=True)
    ds = DATASETS.build(dict(
        type='NuScenesSegDataset', data_root=tiny_nuscenes + '/',
        ann_file='nuscenes_infos_train.pkl',
        data_prefix=dict(pts='samples/LIDAR_TOP', pts_semantic_mask=f'lidarseg/{NUS_VERSION}',
                         **{c: f'samples/{c}' for c in ['CAM_FRONT', 'CAM_FRONT_RIGHT',
                                                        'CAM_FRONT_LEFT', 'CAM_BACK',
                                                        'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']}),
        modality=dict(use_lidar=True, use_camera=True),
        pipeline=[
            dict(type='LoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
            dict(type='LoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
                 with_seg_3d=True, seg_3d_dtype='np.uint8'),
            dict(type='PointSegClassMapping'),
            dict(type='PointPixelPairing'),
        ]))
    assert len(ds) == 2
    item = ds[0]
    raw = np.fromfile(item['pts_semantic_mask_path'], dtype=np.uint8)
    lut = np.full(32, 16)
    for r, c in NUSCENES_LIDARSEG_MAPPING.items():
        lut[r] = c
    np.testing.assert_array_equal(item['pts_semantic_mask'], lut[raw])
    assert item['points'].shape[0] == raw.shape[0]
    assert all(osp.isfile(v['img_path']) for v in item['images'].values())
    assert item['pts_cam'].shape == (raw.shape[0], )


def test_scene_names_follow_the_real_splits_one_in_five_in_val():
    """The demo's 20 trainval scenes: 16 real train names + 4 real val names (every fifth);
    v1.0-mini: its own 8 + 2 names, and more scenes than it has is an error naming the fix."""
    import pytest
    from nuscenes.utils import splits

    from afov_plugin.synthetic.nuscenes_writer import scene_names
    names = scene_names('v1.0-trainval', 20)
    val = [i for i, (_, split) in enumerate(names) if split == 'val']
    assert val == [4, 9, 14, 19]
    assert [n for n, s in names if s == 'train'] == splits.train[:16]
    assert [n for n, s in names if s == 'val'] == splits.val[:4]
    mini = scene_names('v1.0-mini', 10)
    assert sorted(n for n, _ in mini) == sorted(splits.mini_train + splits.mini_val)
    with pytest.raises(ValueError, match='v1.0-trainval'):
        scene_names('v1.0-mini', 11)


def _inside_some_camera(xyz, lidar2img, sizes):
    """The pairing rule written out in numpy: camera depth > 1 m and pixel (u, v) inside
    [0, width) x [0, height) of at least one camera."""
    xyz = xyz.astype(np.float64)
    seen = np.zeros(len(xyz), bool)
    for m, (h, w) in zip(lidar2img, sizes):
        m = np.asarray(m, np.float64)
        cam = xyz @ m[:3, :3].T + m[:3, 3]
        depth = cam[:, 2]
        with np.errstate(divide='ignore', invalid='ignore'):
            u, v = cam[:, 0] / depth, cam[:, 1] / depth
        seen |= (depth > 1.0) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
    return seen


def test_scan_statistics_match_the_files_and_the_real_dataset(tiny_nuscenes):
    from afov_plugin.evaluation.dataset_statistics import nuscenes_reference, scan_statistics
    from nuscenes.utils.data_classes import LidarPointCloud
    ref = nuscenes_reference()
    assert ref['points_per_scan'] == 34720  # 1.19 billion points / 34,149 key frames
    assert abs(ref['category_share']['vehicle.ego'] - 28.43) < 0.01
    assert abs(sum(ref['class_share'].values()) - 100) < 0.05
    stats = scan_statistics(tiny_nuscenes, 'nuscenes_infos_train.pkl', show_progress=False)
    infos = pickle.load(open(osp.join(tiny_nuscenes, 'nuscenes_infos_train.pkl'), 'rb'))
    nusc = _devkit(tiny_nuscenes)  # points and labels through the devkit, not the infos
    names = nusc.lidarseg_idx2name_mapping
    sizes, seen, per_cat, per_cat_seen = [], 0, {}, {}
    for info in infos['data_list']:
        sd = nusc.get('sample_data', nusc.get('sample', info['token'])['data']['LIDAR_TOP'])
        xyz = LidarPointCloud.from_file(osp.join(tiny_nuscenes, sd['filename'])).points[:3].T
        labels = np.fromfile(osp.join(tiny_nuscenes, nusc.get('lidarseg', sd['token'])[
            'filename']), np.uint8)
        sizes.append(len(xyz))
        cams = list(info['images'])
        inside = _inside_some_camera(
            xyz, [info['images'][c]['lidar2img'] for c in cams],
            [(info['images'][c]['height'], info['images'][c]['width']) for c in cams])
        seen += int(inside.sum())
        for raw in np.unique(labels):
            per_cat[names[raw]] = per_cat.get(names[raw], 0) + int((labels == raw).sum())
            per_cat_seen[names[raw]] = per_cat_seen.get(names[raw], 0) + \
                int((inside & (labels == raw)).sum())
    assert 0 < seen < sum(sizes)
    assert stats['scans'] == len(sizes) and stats['points_per_scan'] == round(np.mean(sizes))
    assert stats['camera_share'] == round(100 * seen / sum(sizes), 2)
    assert stats['category_camera_share'] == {
        k: round(100 * per_cat_seen[k] / per_cat[k], 2) for k in per_cat}
    assert stats['category_share'] == {k: round(100 * v / sum(sizes), 2)
                                       for k, v in per_cat.items()}
    assert abs(sum(stats['category_share'].values()) - 100) < 0.05
    assert stats['category_camera_share']['vehicle.ego'] == 0  # the cameras never see it


def test_synthetic_world_statistics_are_close_to_real_nuscenes(tmp_path):
    """15 scans (5 scenes): the car's own points, the camera share and the most frequent
    classes as in nuScenes-lidarseg (28 % ego, 55 % in camera; road, manmade first)."""
    from afov_plugin.converters import create_nuscenes_infos
    from afov_plugin.evaluation.dataset_statistics import scan_statistics
    from afov_plugin.synthetic.nuscenes_writer import write_nuscenes
    root = str(tmp_path)
    write_nuscenes(root, num_scenes=5, frames=3, seed=5, image_scale=0.1, version=NUS_VERSION,
                   write_gt=False)
    create_nuscenes_infos(root, root, version=NUS_VERSION)
    parts = [scan_statistics(root, f'nuscenes_infos_{split}.pkl', show_progress=False)
             for split in ('train', 'val')]
    weights = np.array([p['scans'] * p['points_per_scan'] for p in parts], float)

    def mean(get):
        return float(np.dot([get(p) for p in parts], weights) / weights.sum())
    assert 28000 < mean(lambda p: p['points_per_scan']) < 36000
    assert 25 < mean(lambda p: p['category_share']['vehicle.ego']) < 35
    assert 50 < mean(lambda p: p['camera_share']) < 65
    classes = {k: mean(lambda p: p['class_share'][k]) for k in parts[0]['class_share']
               if k != 'ignore'}
    top = sorted(classes, key=classes.get, reverse=True)
    assert top[0] == 'driveable_surface' and 'manmade' in top[:3], top


def test_generated_set_is_stamped_with_its_world_version(tiny_nuscenes, tmp_path):
    from afov_plugin.synthetic.world_info import (WORLD_VERSION, outdated_world_message,
                                                  world_version)
    assert world_version(tiny_nuscenes) == WORLD_VERSION
    assert outdated_world_message(tiny_nuscenes) is None
    assert world_version(str(tmp_path / 'absent')) is None
    old = tmp_path / 'old_set'
    (old / 'v1.0-trainval').mkdir(parents=True)  # a set of the first world: no stamp
    assert world_version(str(old)) == 1
    message = outdated_world_message(str(old))
    assert str(old) in message and 'AFOV_DEMO_FRESH=1' in message
