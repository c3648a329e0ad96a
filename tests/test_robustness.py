"""The Robo3D protocol: CE / RR arithmetic by hand (Robo3D's published baseline figures), and
tools/robustness.py on a synthetic set, its cells against a numpy confusion matrix of the
model's predictions on the same corrupted scans."""
import copy
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet3d.registry import DATASETS, MODELS
from mmdet3d.utils import register_all_modules
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import afov_plugin  # noqa: F401
from afov_plugin.datasets.transforms.lidar_corruptions import insert_corruption
from afov_plugin.engine import load_config
from afov_plugin.evaluation.robustness import (corruption_error, resilience,
                                               robustness_summary)
from conftest import ROOT, load_tool

STAGE2 = 'configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py'
register_all_modules(init_default_scope=False)


def test_ce_and_rr_by_hand():
    # the baseline against itself: CE 100 %; a model better everywhere: below 100 %
    base = [0.70, 0.55, 0.40]
    assert corruption_error(base, base) == pytest.approx(1.0)
    assert corruption_error([0.8, 0.6, 0.5], base) == pytest.approx((0.2 + 0.4 + 0.5) / 1.35)
    assert resilience([0.6, 0.5, 0.4], 0.75) == pytest.approx(1.5 / 2.25)
    cells = {'fog': {'1': 0.6, '2': 0.5, '3': 0.4}, 'snow': {'1': 0.7, '2': 0.6, '3': 0.3}}
    baseline = dict(cells={'fog': {'1': 0.5, '2': 0.5, '3': 0.5},
                           'snow': {'1': 0.6, '2': 0.6, '3': 0.6}})
    s = robustness_summary(cells, 0.75, baseline)
    assert s['ce'] == {'fog': pytest.approx(100 * 1.5 / 1.5), 'snow': pytest.approx(
        100 * 1.4 / 1.2, abs=0.01)}
    assert s['mce'] == pytest.approx((100 + 116.67) / 2, abs=0.01)
    assert s['mrr'] == pytest.approx(100 * (1.5 / 2.25 + 1.6 / 2.25) / 2, abs=0.01)
    with pytest.raises(ValueError, match='same corruptions and severities'):
        robustness_summary({'crosstalk': {'1': 0.5}}, 0.7, baseline)


def _hand_miou(model, cfg, pipeline, num_classes=16, ignore=16):
    ds = copy.deepcopy(cfg.test_dataloader.dataset)
    ds.pipeline = pipeline
    dataset = DATASETS.build(ds)
    hist = np.zeros((num_classes, num_classes), np.int64)
    for i in range(len(dataset)):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
        with torch.no_grad():
            out = model.predict(data['inputs'], data['data_samples'])[0]
        pred = out.pred_pts_seg.pts_semantic_mask.numpy()
        gt = np.asarray(out.eval_ann_info['pts_semantic_mask'])
        keep = gt != ignore
        np.add.at(hist, (gt[keep], pred[keep]), 1)
    union = hist.sum(0) + hist.sum(1) - np.diag(hist)
    present = union > 0  # as mmdet3d's seg_eval: classes with a non-empty union
    return float((np.diag(hist)[present] / union[present]).mean())


def test_robustness_tool_cells_by_a_confusion_matrix(tiny_nuscenes, tmp_path, one_thread):
    torch.manual_seed(0)
    init_default_scope('mmdet3d')
    cfg = load_config(osp.join(ROOT, STAGE2), tiny_nuscenes,
                      {'test_dataloader.num_workers': 0,
                       'test_dataloader.persistent_workers': False})
    model = MODELS.build(copy.deepcopy(cfg.model)).eval()
    ckpt = str(tmp_path / 'm.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    out = str(tmp_path / 'r' / 'robustness.json')
    tool = load_tool('robustness')
    argv = [osp.join(ROOT, STAGE2), ckpt, '--corruptions', 'beam_missing', 'snow',
            '--severities', '1', '3', '--out', out, '--data-root', tiny_nuscenes,
            '--cfg-options', 'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False']
    summary = tool.main(argv)
    assert json.load(open(out))['cells'] == summary['cells']
    assert osp.isfile(out.replace('.json', '.png'))
    assert osp.isfile(out.replace('.json', '_examples.png'))
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert summary['clean_miou'] == pytest.approx(_hand_miou(model, cfg, pipeline), abs=5e-3)
    want = _hand_miou(model, cfg, insert_corruption(pipeline, dict(
        type='BeamMissing', severity=3, sensor='nuscenes', ignore_index=16)))
    assert summary['cells']['beam_missing']['3'] == pytest.approx(want, abs=5e-3)
    # against itself as the baseline: every CE is 100
    again = tool.main(argv + ['--baseline-json', out, '--out', str(tmp_path / 'b.json')])
    assert list(again['ce'].values()) == [pytest.approx(100.0, abs=0.5)] * 2
