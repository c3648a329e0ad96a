"""The zero-shot (seen / unseen classes) protocol: training labels against a per-point loop,
no unseen ground truth read in training (corrupted on disk: nothing changes), the metric
against a numpy confusion matrix, the split filled from the dataset base."""
import os
import os.path as osp
import pickle
import shutil

import numpy as np
import pytest
from mmdet3d.registry import METRICS, TRANSFORMS
from mmdet3d.utils import register_all_modules
from mmengine.config import Config
from mmengine.registry import init_default_scope

import afov_plugin  # noqa: F401
from afov_plugin.datasets import NUSCENES_LIDARSEG_MAPPING
from afov_plugin.engine import load_config
from conftest import NUS_VERSION, ROOT

ZERO_SHOT = 'configs/afov/zero_shot/minkunet18-w16_zero-shot_simulated-san_synthetic-nuscenes.py'
SEEN_ONLY = 'configs/afov/zero_shot/minkunet18-w16_seen-only-supervised_synthetic-nuscenes.py'
MCFA = 'configs/afov/zero_shot/minkunet18-w16_zero-shot-mcfa_simulated-san_synthetic-nuscenes.py'
SELF_TRAINING = ('configs/afov/zero_shot/'
                 'minkunet18-w16_zero-shot-self-training_synthetic-nuscenes.py')
UPPER = 'configs/afov/zero_shot/minkunet18-w16_supervised-all-classes_synthetic-nuscenes.py'
NUS_CLASSES = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/nuscenes_afov.py'))
UNSEEN = ['motorcycle', 'construction_vehicle', 'traffic_cone', 'trailer']  # seed 002, Tab. 1
register_all_modules(init_default_scope=False)


def _split_kwargs():
    return dict(class_names=list(NUS_CLASSES.class_names), unseen_classes=UNSEEN,
                ignore_index=16)


def test_the_split_is_the_seeds_and_reaches_every_part():
    assert NUS_CLASSES.unseen_classes == UNSEEN
    kitti = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/semantickitti_afov.py'))
    assert kitti.unseen_classes == ['motorcycle', 'truck', 'bicyclist', 'traffic-sign']
    assert set(kitti.unseen_classes) <= set(kitti.class_names)
    cfg = load_config(ZERO_SHOT)
    steps = {s['type']: s for s in cfg.train_dataloader.dataset.pipeline}
    for name in ('SeenClassGroundTruth', 'ZeroShotLabels'):
        assert steps[name]['unseen_classes'] == UNSEEN and steps[name]['ignore_index'] == 16
        assert steps[name]['class_names'] == list(NUS_CLASSES.class_names)
    assert cfg.val_evaluator.unseen_classes == UNSEEN
    with pytest.raises(ValueError, match='unseen_classes=.*leave unseen_classes out'):
        load_config(ZERO_SHOT, cfg_options={'val_evaluator.unseen_classes': ['car']})
    with pytest.raises(ValueError, match='set unseen_classes in the dataset base'):
        load_config(ZERO_SHOT, cfg_options={'unseen_classes': None})


def test_training_labels_by_a_per_point_loop():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 17, 500)            # 16 = ignore
    teacher = rng.integers(0, 17, 500)
    seen_step = TRANSFORMS.build(dict(type='SeenClassGroundTruth', **_split_kwargs()))
    merge = TRANSFORMS.build(dict(type='ZeroShotLabels', **_split_kwargs()))
    out = seen_step(dict(pts_semantic_mask=gt.copy()))
    assert 'pts_semantic_mask' not in out  # the ground truth is gone
    out.update(pts_semantic_mask=teacher.copy(), pts_semantic_mask_source='teacher')
    label = merge(out)['pts_semantic_mask']
    names = list(NUS_CLASSES.class_names)
    unseen = {names.index(n) for n in UNSEEN}
    for g, t, y in zip(gt, teacher, label):
        if g != 16 and g not in unseen:
            assert y == g
        elif t != 16 and t in unseen:
            assert y == t
        else:
            assert y == 16
    # the lower bound's target: seen ground truth only
    lower = TRANSFORMS.build(dict(type='SeenClassGroundTruth', out_key='pts_semantic_mask',
                                  **_split_kwargs()))(dict(pts_semantic_mask=gt.copy()))
    want = [g if g != 16 and g not in unseen else 16 for g in gt]
    assert lower['pts_semantic_mask'].tolist() == want
    with pytest.raises(KeyError, match='SeenClassGroundTruth'):
        merge(dict(pts_semantic_mask=teacher, pts_semantic_mask_source='teacher'))


def _corrupted_copy(root: str, dst: str) -> int:
    """``root`` linked file by file into ``dst``, its lidarseg files rewritten: every point of
    an unseen class gets another unseen class's raw id or noise. Returns points changed."""
    shutil.copytree(root, dst, copy_function=os.symlink)
    names = list(NUS_CLASSES.class_names)
    raw_of = {}
    for raw, cls in sorted(NUSCENES_LIDARSEG_MAPPING.items()):
        raw_of.setdefault(cls, raw)
    unseen = [names.index(n) for n in UNSEEN]
    changed = 0
    seg_dir = osp.join(dst, 'lidarseg', NUS_VERSION)
    for name in os.listdir(seg_dir):
        path = osp.join(seg_dir, name)
        raw = np.fromfile(path, np.uint8)
        cls = np.array([NUSCENES_LIDARSEG_MAPPING.get(int(r), 16) for r in raw])
        new = raw.copy()
        for k, c in enumerate(unseen):
            hit = cls == c
            other = raw_of[unseen[(k + 1) % len(unseen)]]
            new[hit] = np.where(np.arange(hit.sum()) % 3 == 0, 0, other)  # 0: noise
        changed += int((new != raw).sum())
        os.unlink(path)
        new.tofile(path)
    return changed


def _labels(cfg_path: str, root: str) -> list:
    """The train pipeline's pts_semantic_mask of every train scan, augmentations left out."""
    from mmdet3d.registry import DATASETS
    init_default_scope('mmdet3d')
    cfg = load_config(osp.join(ROOT, cfg_path), root)
    ds = cfg.train_dataloader.dataset.copy()
    ds.pipeline = [s for s in ds.pipeline
                   if s['type'] not in ('RandomFlip3D', 'GlobalRotScaleTrans', 'PackAFOVInputs')]
    dataset = DATASETS.build(ds)
    return [dataset[i]['pts_semantic_mask'] for i in range(len(dataset))]


def test_unseen_ground_truth_is_never_read_in_training(cached_nuscenes, tmp_path):
    corrupted = str(tmp_path / 'corrupted')
    assert _corrupted_copy(cached_nuscenes, corrupted) > 0
    infos = pickle.load(open(osp.join(cached_nuscenes, 'nuscenes_infos_train.pkl'), 'rb'))
    assert len(infos['data_list']) > 0
    for config in (ZERO_SHOT, SEEN_ONLY, MCFA, SELF_TRAINING):
        clean, bad = _labels(config, cached_nuscenes), _labels(config, corrupted)
        assert len(clean) == len(bad) == len(infos['data_list'])
        for a, b in zip(clean, bad):
            np.testing.assert_array_equal(a, b)
    # the corruption is real: the all-classes ground truth differs on the two copies
    clean, bad = _labels(UPPER, cached_nuscenes), _labels(UPPER, corrupted)
    assert any((a != b).any() for a, b in zip(clean, bad))
    # and the zero-shot targets do carry unseen classes (from the teacher)
    names = list(NUS_CLASSES.class_names)
    unseen = [names.index(n) for n in UNSEEN]
    zero_shot = _labels(ZERO_SHOT, cached_nuscenes)
    assert any(np.isin(z, unseen).any() for z in zero_shot)


def _hand_scores(gt, pred, names, unseen, mask=None):
    keep = gt != 16 if mask is None else (gt != 16) & mask
    iou = {}
    for c, name in enumerate(names):
        tp = int(((gt == c) & (pred == c) & keep).sum())
        union = int((((gt == c) | (pred == c)) & keep).sum())
        if union:
            iou[name] = tp / union
    s = np.mean([v for n, v in iou.items() if n not in unseen])
    u = np.mean([v for n, v in iou.items() if n in unseen])
    return s, u, 2 * s * u / (s + u)


def test_metric_by_a_numpy_confusion_matrix():
    import torch
    names = list(NUS_CLASSES.class_names)
    metric = METRICS.build(dict(type='SeenUnseenSegMetric', unseen_classes=UNSEEN))
    metric.dataset_meta = dict(label2cat=dict(enumerate(names)), ignore_index=16)
    rng = np.random.default_rng(1)
    scans = []
    for _ in range(3):
        gt = rng.integers(0, 17, 400)
        pred = np.where(rng.random(400) < 0.6, gt, rng.integers(0, 16, 400)) % 16
        cam = np.where(rng.random(400) < 0.5, 0, -1)
        scans.append((gt, pred, cam))
        metric.process({}, [dict(pred_pts_seg=dict(pts_semantic_mask=torch.as_tensor(pred)),
                                 gt_pts_seg=dict(pts_cam=torch.as_tensor(cam)),
                                 eval_ann_info=dict(pts_semantic_mask=gt))])
    got = metric.evaluate(3)
    gt, pred, cam = (np.concatenate(a) for a in zip(*scans))
    for suffix, mask in (('', None), ('_in_view', cam >= 0), ('_out_of_view', cam < 0)):
        s, u, h = _hand_scores(gt, pred, names, UNSEEN, mask)
        assert got[f'miou_seen{suffix}'] == pytest.approx(s)
        assert got[f'miou_unseen{suffix}'] == pytest.approx(u)
        assert got[f'hmiou{suffix}'] == pytest.approx(h)
    assert 'miou' in got and 'miou_in_view' in got  # InViewSegMetric's keys stay
