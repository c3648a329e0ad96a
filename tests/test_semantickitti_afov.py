"""SemanticKITTI annotation-free path: cache, stage-2 training and testing through the tools."""
import glob
import json
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
from mmdet3d.registry import DATASETS
from mmdet3d.utils import register_all_modules

from conftest import run_tool
from afov_plugin.engine import load_config

CONFIG = 'configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-semantickitti.py'
ZERO_SHOT = ('configs/afov/zero_shot/'
             'minkunet18-w16_zero-shot_simulated-san_synthetic-semantickitti.py')


def in_view(root: str, info: dict) -> np.ndarray:
    """Brute force: points at depth > 1 m whose pixel lies inside image_2 (size from the PNG)."""
    pts = np.fromfile(osp.join(root, info['lidar_points']['lidar_path']),
                      np.float32).reshape(-1, 4)
    cam = info['images']['CAM2']
    h, w = cv2.imread(osp.join(root, cam['img_path'])).shape[:2]
    p = np.asarray(cam['lidar2img']) @ np.c_[pts[:, :3], np.ones(len(pts))].T
    with np.errstate(divide='ignore', invalid='ignore'):
        u, v = p[0] / p[2], p[1] / p[2]
    return (p[2] > 1) & (u >= 0) & (u < w) & (v >= 0) & (v < h)


def test_infos_carry_the_image_size(tiny_semantickitti):
    info = pickle.load(open(osp.join(tiny_semantickitti, 'semantickitti_infos_train.pkl'),
                            'rb'))['data_list'][0]
    cam = info['images']['CAM2']
    h, w = cv2.imread(osp.join(tiny_semantickitti, cam['img_path'])).shape[:2]
    assert (cam['height'], cam['width']) == (h, w)


def test_pairing_refuses_an_info_without_image_size(tiny_semantickitti, tmp_path, repo_root):
    infos = pickle.load(open(osp.join(tiny_semantickitti, 'semantickitti_infos_val.pkl'), 'rb'))
    for info in infos['data_list']:
        del info['images']['CAM2']['height']
    old = tmp_path / 'old_infos_val.pkl'
    pickle.dump(infos, open(old, 'wb'))
    register_all_modules(init_default_scope=True)
    cfg = load_config(osp.join(repo_root, CONFIG))
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root, ds_cfg.ann_file = tiny_semantickitti + '/', str(old)
    with pytest.raises(KeyError, match=r'old_infos_val\.pkl.*create_data\.py'):
        DATASETS.build(ds_cfg)[0]


def test_stage2_trains_and_tests_through_the_tools(tiny_semantickitti, tmp_path):
    opts = ['--data-root', tiny_semantickitti]
    proc = run_tool(['tools/cache_teacher.py', CONFIG] + opts)
    assert proc.returncode == 0, proc.stderr[-3000:]
    work = str(tmp_path / 'train')
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', work] + opts +
                    ['--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
                     'default_hooks.checkpoint.interval=3'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_tool(['tools/test.py', CONFIG, osp.join(work, 'iter_3.pth'),
                     '--work-dir', str(tmp_path / 'test')] + opts)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.load(open(glob.glob(str(tmp_path / 'test' / '*' / '*.json'))[0]))
    val = pickle.load(open(osp.join(tiny_semantickitti, 'semantickitti_infos_val.pkl'),
                           'rb'))['data_list']
    masks = [in_view(tiny_semantickitti, info) for info in val]
    # the in-view share the metric reports is the front camera's share of all val points
    share = sum(m.sum() for m in masks) / sum(len(m) for m in masks)
    assert 0.03 < share < 0.5
    assert metrics['in_view_ratio'] == pytest.approx(share, abs=1e-3)
    # the zero-shot protocol's SemanticKITTI config reads the same cache (made above): its
    # targets keep the seen classes' ground truth and carry only unseen classes elsewhere
    _check_zero_shot_targets(tiny_semantickitti)


def _check_zero_shot_targets(root: str) -> None:
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet3d')
    cfg = load_config(ZERO_SHOT, root)
    no_aug = ('RandomFlip3D', 'GlobalRotScaleTrans', 'PackAFOVInputs')

    def targets(pipeline):
        ds = cfg.train_dataloader.dataset.copy()
        ds.pipeline = [s for s in pipeline if s['type'] not in no_aug]
        dataset = DATASETS.build(ds)
        return [dataset[i]['pts_semantic_mask'] for i in range(len(dataset))]
    gt_cfg = load_config(CONFIG, root)  # its gt_train_pipeline: all classes' ground truth
    names = list(cfg.class_names)
    unseen = [names.index(n) for n in cfg.unseen_classes]
    assert sorted(cfg.unseen_classes) == ['bicyclist', 'motorcycle', 'traffic-sign', 'truck']
    zs, gt = targets(cfg.train_dataloader.dataset.pipeline), targets(gt_cfg.gt_train_pipeline)
    assert len(zs) == len(gt) > 0
    for z, g in zip(zs, gt):
        seen = (g != 19) & ~np.isin(g, unseen)
        np.testing.assert_array_equal(z[seen], g[seen])
        assert np.isin(z[~seen], unseen + [19]).all()
