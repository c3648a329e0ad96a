"""Stage 2 mixes with mmdet3d's own LaserMix / PolarMix: pseudo-labels are pts_semantic_mask,
so mmdet3d's transforms move them with their points."""
import os.path as osp

import numpy as np
import pytest
from mmdet3d.registry import DATASETS
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401
from afov_plugin.engine import load_config
from conftest import ROOT

MIX = 'configs/afov/stage2/minkunet18-w16_stage2-{}_simulated-san_synthetic-nuscenes.py'
AUGMENTATION = ('RandomFlip3D', 'GlobalRotScaleTrans')


def _dataset(root, path, drop=AUGMENTATION):
    register_all_modules(init_default_scope=True)
    cfg = load_config(osp.join(ROOT, path), root)
    ds = cfg.train_dataloader.dataset
    ds.pipeline = [t for t in ds.pipeline if t.type not in drop]
    return DATASETS.build(ds)


@pytest.mark.parametrize('mix', ['lasermix', 'polarmix'])
def test_mixed_points_keep_their_own_scans_pseudo_labels(cached_nuscenes, mix):
    plain = _dataset(cached_nuscenes, MIX.format(mix), drop=AUGMENTATION + (
        'LaserMix', 'PolarMix'))
    scans = [plain[i]['data_samples'] for i in range(len(plain))]
    inputs = [plain[i]['inputs']['points'].numpy() for i in range(len(plain))]
    # xyz -> pseudo-label of every point of every train scan, without mixing
    table = {}
    for pts, sample in zip(inputs, scans):
        assert sample.metainfo['pts_semantic_mask_source'] == 'teacher'
        for xyz, label in zip(map(tuple, pts[:, :3].round(4)),
                              sample.gt_pts_seg.pts_semantic_mask.numpy()):
            table.setdefault(xyz, set()).add(int(label))
    mixed = _dataset(cached_nuscenes, MIX.format(mix))
    assert any(type(t).__name__ in ('LaserMix', 'PolarMix') for t in mixed.pipeline.transforms)
    np.random.seed(1)
    seen_other = False
    for _ in range(4):
        out = mixed[0]
        pts = out['inputs']['points'].numpy()
        labels = out['data_samples'].gt_pts_seg.pts_semantic_mask.numpy()
        assert len(labels) == len(pts)
        keys = list(map(tuple, pts[:, :3].round(4)))
        if mix == 'lasermix':  # points are kept or taken, never moved: each is in a scan
            assert all(int(label) in table[k] for k, label in zip(keys, labels))
        else:  # PolarMix also rotates pasted copies: check the points it did not move
            hits = [int(label) in table[k] for k, label in zip(keys, labels) if k in table]
            assert len(hits) > 0.5 * len(keys) and all(hits)
        seen_other |= set(keys) != set(map(tuple, inputs[0][:, :3].round(4)))
    assert seen_other  # the mix did bring in points of another scan
