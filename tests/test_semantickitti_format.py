import os
import os.path as osp
import pickle

import cv2
import numpy as np
from mmengine.config import Config
from mmdet3d.registry import DATASETS
from mmdet3d.utils import register_all_modules

from afov_plugin.converters import read_calib
from afov_plugin.synthetic import KINDS


def test_layout_and_label_encoding(tiny_semantickitti):
    seqs = sorted(os.listdir(osp.join(tiny_semantickitti, 'sequences')))
    assert seqs == ['00', '08']  # last scene is the validation sequence
    seq = osp.join(tiny_semantickitti, 'sequences', '00')
    pts = np.fromfile(osp.join(seq, 'velodyne', '000000.bin'), dtype=np.float32).reshape(-1, 4)
    lab = np.fromfile(osp.join(seq, 'labels', '000000.label'), dtype=np.uint32)
    assert lab.shape[0] == pts.shape[0] > 1000
    sem = lab & 0xFFFF
    known = {k.kitti_id for k in KINDS.values()} | {k.kitti_moving_id for k in KINDS.values()}
    assert set(np.unique(sem)) <= known
    assert 40 in sem  # road
    inst = lab >> 16
    assert (inst[sem == 40] == 0).all() and (inst[np.isin(sem, [10, 252])] > 0).all()
    assert len(open(osp.join(seq, 'poses.txt')).read().split('\n')) == 3 + 1
    calib = read_calib(osp.join(seq, 'calib.txt'))
    assert calib['P2'].shape == (3, 4) and calib['Tr'].shape == (4, 4)


def test_infos_follow_the_official_split(tiny_semantickitti):
    train = pickle.load(open(osp.join(tiny_semantickitti, 'semantickitti_infos_train.pkl'), 'rb'))
    val = pickle.load(open(osp.join(tiny_semantickitti, 'semantickitti_infos_val.pkl'), 'rb'))
    assert [d['sample_idx'] for d in train['data_list']] == ['00000000', '00000001', '00000002']
    assert {d['lidar_points']['lidar_path'][:12] for d in val['data_list']} == {'sequences/08'}


def test_mmdet3d_semantickitti_dataset_loads_it(tiny_semantickitti, repo_root):
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(repo_root, 'configs/_base_/datasets/synthetic_semantickitti.py'))
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = tiny_semantickitti + '/'
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 3
    item = ds[0]
    pts = item['inputs']['points']
    mask = item['data_samples'].gt_pts_seg.pts_semantic_mask
    raw = np.fromfile(osp.join(tiny_semantickitti, 'sequences/08/labels/000000.label'),
                      dtype=np.uint32) & 0xFFFF
    lut = cfg.labels_map
    assert pts.shape == (raw.shape[0], 4)
    np.testing.assert_array_equal(np.asarray(mask), np.array([lut[int(r)] for r in raw]))


def test_scan_statistics_of_a_kitti_set(tiny_semantickitti):
    """Points per scan from the files, raw ids by SemanticKITTI name, and the front-camera share
    with the image size of the infos (the converter reads it from image_2)."""
    from afov_plugin.evaluation.dataset_statistics import scan_statistics
    stats = scan_statistics(tiny_semantickitti, 'semantickitti_infos_train.pkl',
                            show_progress=False)
    infos = pickle.load(open(osp.join(tiny_semantickitti, 'semantickitti_infos_train.pkl'), 'rb'))
    sizes, seen, seen_road, road = [], 0, 0, 0
    for info in infos['data_list']:
        path = osp.join(tiny_semantickitti, info['lidar_points']['lidar_path'])
        pts = np.fromfile(path, np.float32).reshape(-1, 4)
        raw = np.fromfile(path.replace('velodyne', 'labels').replace('.bin', '.label'),
                          np.uint32) & 0xFFFF
        sizes.append(len(pts))
        cam = info['images']['CAM2']
        h, w = cv2.imread(osp.join(tiny_semantickitti, cam['img_path'])).shape[:2]
        # the pairing rule written out: depth > 1 m and pixel inside [0, w) x [0, h)
        m = np.asarray(cam['lidar2img'], np.float64)
        xyz = pts[:, :3].astype(np.float64) @ m[:3, :3].T + m[:3, 3]
        with np.errstate(divide='ignore', invalid='ignore'):
            u, v = xyz[:, 0] / xyz[:, 2], xyz[:, 1] / xyz[:, 2]
        inside = (xyz[:, 2] > 1.0) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
        seen += int(inside.sum())
        road += int((raw == 40).sum())                    # SemanticKITTI raw id 40: road
        seen_road += int((inside & (raw == 40)).sum())
    assert 0 < seen and road > 0
    assert stats['scans'] == len(sizes) and stats['points_per_scan'] == round(np.mean(sizes))
    assert stats['camera_share'] == round(100 * seen / sum(sizes), 2)
    assert stats['category_share']['road'] == round(100 * road / sum(sizes), 2)
    assert stats['category_camera_share']['road'] == round(100 * seen_road / road, 2)
    assert 0 < stats['camera_share'] < 50  # one forward camera of a 360° scan
    assert 'road' in stats['category_share'] and 'class_share' not in stats
    assert abs(sum(stats['category_share'].values()) - 100) < 0.05
