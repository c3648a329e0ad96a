import copy
import os.path as osp

import numpy as np
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, PointData
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401
from afov_plugin.engine import load_config

CONFIG = 'configs/baselines/minkunet18-w16_supervised-mmdet3d-pipeline_synthetic-semantickitti.py'


def _inputs(repo_root, n=3000, seed=0):
    rng = np.random.default_rng(seed)
    points, samples = [], []
    for b in range(2):
        xyz = rng.uniform(-10, 10, (n, 3)).astype(np.float32)
        xyz[:, 2] = np.where(xyz[:, 0] > 0, -1.7, rng.uniform(-1.7, 1.0, n))
        label = (xyz[:, 0] > 0).astype(np.int64)  # two separable classes
        pts = np.concatenate([xyz, rng.random((n, 1), dtype=np.float32)], 1)
        points.append(torch.from_numpy(pts))
        s = Det3DDataSample()
        s.gt_pts_seg = PointData(pts_semantic_mask=torch.from_numpy(label))
        samples.append(s)
    return dict(inputs=dict(points=points), data_samples=samples)


def _model(repo_root):
    register_all_modules(init_default_scope=True)
    cfg = load_config(osp.join(repo_root, CONFIG))
    return MODELS.build(copy.deepcopy(cfg.model)), cfg


def test_config_inherits_mmdet3d_and_uses_plugin(repo_root):
    _, cfg = _model(repo_root)
    assert cfg.model.type == 'MinkUNet'
    assert cfg.model.backbone.sparseconv_backend == 'spconv'
    assert cfg.model.data_preprocessor.type == 'AFOVMinkUNetDataPreprocessor'
    assert cfg.custom_imports == dict(imports=['afov_plugin'], allow_failed_imports=False)
    assert cfg.train_dataloader.dataset.type == 'SemanticKittiDataset'


def test_loss_backward_and_predict_on_cpu(repo_root):
    torch.manual_seed(0)
    model, _ = _model(repo_root)
    model.train()
    data = model.data_preprocessor(_inputs(repo_root), training=True)
    losses = model.loss(**data)
    loss = sum(v for v in losses.values())
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if 'backbone' in n]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0
    model.eval()
    data = model.data_preprocessor(_inputs(repo_root, seed=1), training=False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    for inp, sample in zip(data['inputs']['points'], out):
        pred = sample.pred_pts_seg.pts_semantic_mask
        assert pred.shape == (inp.shape[0], ) and pred.min() >= 0 and pred.max() < 19


def test_a_few_steps_fit_a_separable_scene(repo_root):
    torch.manual_seed(0)
    model, _ = _model(repo_root)
    optim = torch.optim.Adam(model.parameters(), lr=0.01)
    data_in = _inputs(repo_root)
    for _ in range(20):
        model.train()
        data = model.data_preprocessor(copy.deepcopy(data_in), training=True)
        loss = sum(model.loss(**data).values())
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    data = model.data_preprocessor(copy.deepcopy(data_in), training=False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    gt = data_in['data_samples'][0].gt_pts_seg.pts_semantic_mask
    acc = (out[0].pred_pts_seg.pts_semantic_mask == gt).float().mean().item()
    assert acc > 0.9, acc


def test_project_recipe_runs_mmdet3d_minkunet34_baseline_on_cpu(repo_root):
    register_all_modules(init_default_scope=True)
    cfg = load_config(osp.join(
        repo_root, 'projects/mmdet3d_baselines_on_cpu/'
        'minkunet34-w32_spconv_afov-voxelization_semantickitti.py'))
    assert cfg.model.backbone.sparseconv_backend == 'spconv'
    assert cfg.model.backbone.encoder_blocks == [2, 3, 4, 6]  # mmdet3d's MinkUNet34
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.eval()
    data = model.data_preprocessor(_inputs(repo_root, n=800), training=False)
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert out[0].pred_pts_seg.pts_semantic_mask.shape == (800, )
