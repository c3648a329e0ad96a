"""TMP: losses against hand-computed values, gradients into the trunk, the data pipeline,
checkpoints into mmdet3d's MinkUNet configs, and the few-label tools."""
import copy
import math
import os.path as osp
import pickle
import re

import numpy as np
import pytest
import torch
from mmdet3d.registry import MODELS, TRANSFORMS
from mmdet3d.structures import Det3DDataSample, PointData
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401
from afov_plugin.models.losses import (semi_positive_targets, superpixel_superpoint_infonce,
                                       superpoint_pool, text_superpoint_loss)
from conftest import SMALL, run_tool
from afov_plugin.engine import load_config

TMP = 'configs/afov/tmp/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes.py'
TMP_NUS = 'configs/afov/tmp/minkunet34-w32_tmp_san-vit-b16_nuscenes.py'
KITTI_BASELINE = ('projects/mmdet3d_baselines_on_cpu/'
                  'minkunet34-w32_spconv_afov-voxelization_semantickitti.py')


def test_superpoint_pool_by_hand():
    f = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [5.0, 5.0]])
    sp = torch.tensor([0, 0, 2, -1])
    k, present = superpoint_pool(f, sp, 3)
    assert torch.allclose(k, torch.tensor([[0.5, 0.5], [0.0, 0.0], [1.0, 1.0]]))
    assert present.tolist() == [True, False, True]


def test_infonce_by_hand():
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    q = torch.tensor([[2.0, 0.0], [0.0, 3.0], [0.6, 0.8]])      # normalised inside
    tau = 0.5
    loss = superpixel_superpoint_infonce(k, q, tau).item()
    qn = [[1, 0], [0, 1], [0.6, 0.8]]
    kk = k.tolist()
    expect = 0.0
    for s in range(3):
        logits = [sum(a * b for a, b in zip(kk[s], qn[t])) / tau for t in range(3)]
        expect += -(logits[s] - math.log(sum(math.exp(v) for v in logits)))
    assert loss == pytest.approx(expect / 3, rel=1e-5)


def test_semi_positive_targets_by_hand():
    text = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
    group = torch.tensor([0, 0, 1, 0])
    y = semi_positive_targets(torch.tensor([0, 2, 1]), text, group, 0.2, 0.8)
    # c = 0: 0.2·onehot + 0.8·[1, 0.6, 0 (other group), max(-1, 0)] = [1.0, 0.48, 0, 0]
    assert torch.allclose(y[0], torch.tensor([1.0, 0.48, 0.0, 0.0]) / 1.48)
    # c = 2: alone in its group
    assert torch.allclose(y[1], torch.tensor([0.0, 0.0, 1.0, 0.0]))
    # c = 1: cos(t1, t0) = 0.6, itself 1, t3 negative → 0
    assert torch.allclose(y[2], torch.tensor([0.48, 1.0, 0.0, 0.0]) / 1.48)
    assert torch.allclose(y.sum(1), torch.ones(3))


def test_text_loss_by_hand():
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    text = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    target = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
    tau = 0.07
    loss = text_superpoint_loss(k, text, target, tau).item()
    expect = 0.0
    for s in range(2):
        logits = [sum(a * b for a, b in zip(k[s].tolist(), t)) / tau for t in text.tolist()]
        lse = math.log(sum(math.exp(v) for v in logits))
        expect += -sum(y * (v - lse) for y, v in zip(target[s].tolist(), logits))
    assert loss == pytest.approx(expect / 2, rel=1e-5)


def _tmp_batch(model, n=3000, seed=0, dim=512, prompts=175):
    rng = np.random.default_rng(seed)
    points, samples = [], []
    for b in range(2):
        xyz = rng.uniform(-10, 10, (n, 3)).astype(np.float32)
        pts = np.concatenate([xyz, rng.random((n, 1), dtype=np.float32)], 1)
        points.append(torch.from_numpy(pts))
        sp = (xyz[:, 0] > 0).astype(np.int64) + 2 * (xyz[:, 1] > 0)   # 4 superpoints
        sp[::7] = -1
        s = Det3DDataSample()
        s.gt_pts_seg = PointData(pts_superpoint=torch.from_numpy(sp))
        s.superpoint_feat = torch.from_numpy(rng.normal(size=(4, dim)).astype(np.float32))
        s.superpoint_prompt = torch.tensor([0, 5, 40, 100])
        s.text_bank = torch.nn.functional.normalize(torch.randn(prompts, dim,
                                                                generator=torch.Generator()
                                                                .manual_seed(1)), dim=1)
        samples.append(s)
    return model.data_preprocessor(dict(inputs=dict(points=points), data_samples=samples),
                                   training=True)


def _spy_head_input(head, method):
    """Record the voxel features the backbone hands to ``head.<method>`` (the sparse
    backbone is not bitwise deterministic on CPU, so the hand computations start from the
    very features the head saw)."""
    seen = {}
    original = getattr(head, method)

    def spy(x, *args, **kwargs):
        seen['x'] = x.detach().clone()
        return original(x, *args, **kwargs)
    setattr(head, method, spy)
    return seen


def _hand_point_features(model, data, x):
    """Per sample (N_i, D) float64 numpy point embeddings normalise(W·x_voxel + b) from the
    (V, C) voxel features ``x``, and each point's voxel map (-1: voxel dropped)."""
    x = x.double().numpy()
    w = model.decode_head.projection.weight.detach().double().numpy()
    b = model.decode_head.projection.bias.detach().double().numpy()
    batch_idx = torch.cat([s.batch_idx for s in data['data_samples']]).numpy()
    out = []
    for i, s in enumerate(data['data_samples']):
        v = x[batch_idx == i] @ w.T + b
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        m = s.point2voxel_map.numpy()
        out.append((np.where((m >= 0)[:, None], v[np.maximum(m, 0)], 0.0), m))
    return out


def _log_softmax(logits):
    top = logits.max(1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(1, keepdims=True))


def _hand_tmp_losses(model, data, x, tau=0.07, w_sp=0.5, w_tp=0.5, semi=(0.2, 0.8)):
    """L_sp and L_tp written out in numpy, by a loop over the points of each superpoint."""
    from afov_plugin.vocabulary import load_class_dictionary
    k, q, prompt = [], [], []
    for (f, m), s in zip(_hand_point_features(model, data, x), data['data_samples']):
        sp = s.gt_pts_seg.pts_superpoint.numpy()
        for j in range(s.superpoint_feat.shape[0]):
            members = [p for p in range(len(sp)) if sp[p] == j and m[p] >= 0]
            if members:
                k.append(f[members].mean(0))
                q.append(s.superpoint_feat[j].double().numpy())
                prompt.append(int(s.superpoint_prompt[j]))
    k, q = np.stack(k), np.stack(q)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    logits = k @ q.T / tau
    l_sp = -np.mean(np.diag(_log_softmax(logits)))
    text = data['data_samples'][0].text_bank.double().numpy()
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    group = load_class_dictionary('nuscenes').prompt_group
    l_tp = 0.0
    for row, c in zip(k, prompt):
        y = np.array([semi[1] * max(float(text[c] @ text[j]), 0.0) * (group[j] == group[c])
                      for j in range(len(text))])
        y[c] += semi[0]
        y /= y.sum()
        l_tp -= float(y @ _log_softmax((row @ text.T / tau)[None])[0])
    return len(k), w_sp * l_sp, w_tp * l_tp / len(k)


def test_tmp_gradients_reach_the_backbone_and_zero_shot_predict(repo_root):
    from afov_plugin.vocabulary import load_class_dictionary
    register_all_modules(init_default_scope=True)
    cfg = load_config(osp.join(repo_root, TMP))
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    assert type(model).__name__ == 'TMPMinkUNet'
    head = model.decode_head
    assert head.tau == 0.07 and head.loss_weights == (0.5, 0.5)
    model.train()
    data = _tmp_batch(model)
    seen = _spy_head_input(head, 'loss')
    losses = model.loss(**data)
    del head.loss
    assert set(losses) == {'loss_sp', 'loss_tp'}
    # both losses equal their numpy recomputation from the backbone's voxel features
    num_sp, l_sp, l_tp = _hand_tmp_losses(model, data, seen['x'])
    assert num_sp == 8                                    # 4 superpoints x 2 scans
    assert float(losses['loss_sp']) == pytest.approx(l_sp, rel=1e-4)
    assert float(losses['loss_tp']) == pytest.approx(l_tp, rel=1e-4)
    # identical region features: every logit of a row is equal, so InfoNCE over the 8
    # superpixels of the batch is exactly ln 8 whatever the point features (w_sp = 0.5)
    same = _tmp_batch(model)
    one = same['data_samples'][0].superpoint_feat[:1]
    for s in same['data_samples']:
        s.superpoint_feat = one.expand(4, -1).clone()
    assert float(model.loss(**same)['loss_sp']) == pytest.approx(0.5 * math.log(8), abs=1e-5)
    sum(losses.values()).backward()
    grads = [p.grad for n, p in model.named_parameters() if n.startswith('backbone')]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    assert model.decode_head.projection.weight.grad.abs().sum() > 0
    # text bank kept for zero-shot prediction; class = class of the best prompt
    bank = data['data_samples'][0].text_bank
    assert torch.equal(model.decode_head.text_bank, bank)
    model.eval()
    test_data = _tmp_batch(model, seed=1)
    dictionary = load_class_dictionary('nuscenes')
    prompt_class = dictionary.prompt_class
    valid = prompt_class < dictionary.num_classes

    def zero_shot_equals_hand_argmax():
        """predict() against argmax over the non-ignore prompts of cos(point, prompt), mapped
        through the dictionary's prompt → class table; returns the hand-computed classes."""
        seen = _spy_head_input(head, 'predict')
        with torch.no_grad():
            out = model(**copy.deepcopy(test_data), mode='predict')
        del head.predict
        text = head.text_bank.double().numpy()
        text /= np.linalg.norm(text, axis=1, keepdims=True)
        used = set()
        feats = _hand_point_features(model, test_data, seen['x'])
        for s, (f, m) in zip(out, feats):
            assert (m >= 0).all()                         # no voxel dropped in eval
            cos = f @ text[valid].T                       # (N, P')
            expect = prompt_class[valid][cos.argmax(1)]
            per_class = np.full((len(f), dictionary.num_classes), -np.inf)
            for j, c in enumerate(prompt_class[valid]):
                per_class[:, c] = np.maximum(per_class[:, c], cos[:, j])
            top2 = np.sort(per_class, 1)[:, -2:]
            clear = top2[:, 1] - top2[:, 0] > 1e-5        # float32 vs float64 near-ties
            pred = s.pred_pts_seg.pts_semantic_mask.numpy()
            assert clear.mean() > 0.99
            np.testing.assert_array_equal(pred[clear], expect[clear])
            used |= set(expect.tolist())
        return used, feats

    _, feats = zero_shot_equals_hand_argmax()             # the text bank kept in training
    # a bank whose valid prompts point at (centred) features of random points: the points
    # now spread over many classes, so the prompt -> class mapping is exercised
    f = np.concatenate([f for f, _ in feats])
    rng = np.random.default_rng(4)
    crafted = head.text_bank.clone()
    rows = f[rng.choice(len(f), int(valid.sum()), replace=False)] - f.mean(0)
    crafted[torch.from_numpy(valid)] = torch.from_numpy(rows).float()
    head.text_bank.copy_(torch.nn.functional.normalize(crafted, dim=1))
    used, _ = zero_shot_equals_hand_argmax()
    assert len(used) >= 5, used                           # not a constant prediction
    # without the text loss only L_sp remains
    head.text_loss = False
    model.train()
    assert set(model.loss(**_tmp_batch(model))) == {'loss_sp'}


def test_zero_shot_scores_are_best_prompt_per_class(repo_root):
    from afov_plugin.models.decode_heads import TriModalContrastiveHead
    head = TriModalContrastiveHead(channels=4, feature_dim=3)
    prompt_class = head.prompt_class
    bank = torch.zeros(len(prompt_class), 3)
    car = int(torch.nonzero(prompt_class == 3)[0])
    road = int(torch.nonzero(prompt_class == 10)[0])
    bank[:, 2] = 1.0
    bank[car] = torch.tensor([1.0, 0.0, 0.0])
    bank[road] = torch.tensor([0.0, 1.0, 0.0])
    head.text_bank.copy_(bank)
    with torch.no_grad():
        head.projection.weight.copy_(torch.eye(3, 4))
        head.projection.bias.zero_()
    x = torch.tensor([[1.0, 0.1, 0, 0], [0.1, 1.0, 0, 0]])
    s = Det3DDataSample()
    s.batch_idx = torch.tensor([0, 0])
    s.point2voxel_map = torch.tensor([0, 1])
    scores = head.predict(x, [s])[0]
    assert scores.shape == (2, 16) and scores.argmax(1).tolist() == [3, 10]


def test_tmp_checkpoint_loads_into_mmdet3d_minkunet_with_only_the_head_missing(
        repo_root, tmp_path):
    from mmengine.runner import load_checkpoint
    register_all_modules(init_default_scope=True)
    tmp_model = MODELS.build(load_config(osp.join(repo_root, TMP_NUS)).model)
    ckpt = str(tmp_path / 'tmp.pth')
    torch.save(dict(state_dict=tmp_model.state_dict(), meta=dict()), ckpt)
    baseline_cfg = load_config(osp.join(repo_root, KITTI_BASELINE))
    baseline = MODELS.build(baseline_cfg.model)
    target = set(baseline.state_dict())
    source = set(tmp_model.state_dict())
    assert target - source == {'decode_head.conv_seg.weight', 'decode_head.conv_seg.bias'}
    assert source - target == {'decode_head.projection.weight', 'decode_head.projection.bias',
                               'decode_head.text_bank'}
    load_checkpoint(baseline, ckpt, strict=False)
    for name, p in baseline.state_dict().items():
        if name.startswith('backbone'):
            assert torch.equal(p, tmp_model.state_dict()[name]), name


def test_tmp_trains_through_tools_and_initialises_stage2(cached_nuscenes, tmp_path):
    work = str(tmp_path / 'tmp')
    proc = run_tool(['tools/train.py', TMP, '--data-root', cached_nuscenes, '--work-dir', work,
                     '--cfg-options', 'train_cfg.max_iters=4', 'default_hooks.checkpoint.'
                     'interval=4'] + [o for o in SMALL if not o.startswith(('val', 'test'))])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    sp = [float(v) for v in re.findall(r'Iter\(train\).*?loss_sp: ([0-9.]+)', out)]
    tp = [float(v) for v in re.findall(r'Iter\(train\).*?loss_tp: ([0-9.]+)', out)]
    assert len(sp) == 4 and len(tp) == 4 and all(v > 0 for v in sp + tp)
    stage2 = run_tool(['tools/train.py', 'configs/afov/stage2/minkunet18-w16_stage2-from-tmp_'
                       'simulated-san_synthetic-nuscenes.py', '--data-root', cached_nuscenes,
                       '--work-dir', str(tmp_path / 's2'), '--cfg-options',
                       f'load_from={work}/iter_4.pth', 'train_cfg.max_iters=1',
                       'train_cfg.val_interval=100'] + SMALL)
    out2 = stage2.stdout + stage2.stderr
    assert stage2.returncode == 0, out2[-3000:]
    missing = re.search(r'missing keys in source state_dict: (.*)', out2).group(1)
    assert set(missing.split(', ')) == {'decode_head.conv_seg.weight',
                                        'decode_head.conv_seg.bias'}


def test_pseudo_label_loss_loads_a_state_dict_without_class_freq():
    """A checkpoint of a model without PseudoLabelLoss (TMP, mmdet3d) leaves its class
    statistics at zero without a missing key; one with them (resume) restores them."""
    from mmengine.runner.checkpoint import load_state_dict
    from afov_plugin.models.losses.pseudo_label_loss import PseudoLabelLoss

    def model():
        m = torch.nn.Module()
        m.head = torch.nn.Linear(3, 2)
        m.loss = PseudoLabelLoss(num_classes=4, class_balance='sqrt_inv_freq')
        return m
    src = model()
    src.loss.train()
    src.loss.class_weights(torch.tensor([0, 0, 1, 3]))
    assert src.loss.class_freq.tolist() == [0.5, 0.25, 0.0, 0.25]
    without = {k: v for k, v in src.state_dict().items() if k != 'loss.class_freq'}
    dst = model()
    result = dst.load_state_dict(without, strict=True)    # torch: no error, nothing missing
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert dst.loss.class_freq.tolist() == [0.0] * 4
    assert torch.equal(dst.head.weight, src.head.weight)
    load_state_dict(model(), without, strict=True)        # mmengine's loader (load_from)
    dst2 = model()
    dst2.load_state_dict(src.state_dict())                # resume: statistics restored
    assert dst2.loss.class_freq.tolist() == [0.5, 0.25, 0.0, 0.25]
    with pytest.raises(RuntimeError, match='head.bias'):  # other keys are still checked
        model().load_state_dict({k: v for k, v in without.items() if k != 'head.bias'})


def test_pipeline_delivers_text_bank_knn_groups_and_crops(cached_nuscenes):
    from afov_plugin.vocabulary import load_class_dictionary
    register_all_modules(init_default_scope=True)
    from mmdet3d.registry import DATASETS
    cfg = load_config(TMP, cached_nuscenes)
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.pipeline[2].prob = 0.0                         # no crop here
    sample = DATASETS.build(ds_cfg)[0]['data_samples']
    p = len(load_class_dictionary('nuscenes').prompts)
    assert sample.text_bank.shape == (p, 512)
    assert torch.allclose(sample.text_bank.norm(dim=1), torch.ones(p), atol=1e-4)
    sp = sample.gt_pts_seg.pts_superpoint
    assert sample.superpoint_feat.shape[0] == sample.superpoint_prompt.shape[0] == sp.max() + 1
    # kNN groups: ~64 paired points per group, target = mean region feature of its points
    ds_cfg.pipeline[4].grouping = 'knn'
    np.random.seed(0)
    knn_sample = DATASETS.build(ds_cfg)[0]['data_samples']
    ksp = knn_sample.gt_pts_seg.pts_superpoint
    paired = int((ksp >= 0).sum())
    assert paired == int((sp >= 0).sum())                 # same points take part
    assert int(ksp.max()) + 1 == max(1, paired // 64)
    # crops: only points inside the window stay paired
    crop = TRANSFORMS.build(dict(type='RandomPairCrop', scale=(0.25, 0.25), ratio=(1.0, 1.0)))
    cam = np.zeros(4000, np.int8)
    pix = np.stack(np.meshgrid(np.arange(80), np.arange(50)), -1).reshape(-1, 2).astype(np.int32)
    res = crop(dict(pts_cam=cam, pts_pixel=pix, pair_cameras=['CAM_FRONT'],
                    images=dict(CAM_FRONT=dict(width=80, height=50))))
    kept = pix[res['pts_cam'] == 0]
    assert 0.2 < len(kept) / 4000 < 0.3
    w = kept[:, 0].max() - kept[:, 0].min() + 1
    h = kept[:, 1].max() - kept[:, 1].min() + 1
    assert w * h == len(kept)                             # one rectangular window


def test_create_splits_by_scan_and_scene(tiny_nuscenes, tmp_path):
    import shutil
    info = str(tmp_path / 'nuscenes_infos_train.pkl')
    base = pickle.load(open(osp.join(tiny_nuscenes, 'nuscenes_infos_train.pkl'), 'rb'))
    # 100 scans in 10 scenes
    data = [dict(copy.deepcopy(base['data_list'][0]), scene_token=f's{i // 10}',
                 token=f't{i}') for i in range(100)]
    pickle.dump(dict(metainfo=base['metainfo'], data_list=data), open(info, 'wb'))
    proc = run_tool(['tools/create_splits.py', info, '--fractions', '1', '10'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    load = lambda n: pickle.load(open(str(tmp_path / n), 'rb'))['data_list']  # noqa: E731
    assert len(load('nuscenes_infos_train_1pct_scan.pkl')) == 1
    assert len(load('nuscenes_infos_train_10pct_scan.pkl')) == 10
    one_scene = load('nuscenes_infos_train_10pct_scene.pkl')
    assert len(one_scene) == 10 and len({d['scene_token'] for d in one_scene}) == 1
    assert len({d['token'] for d in load('nuscenes_infos_train_10pct_scan.pkl')}) == 10
    shutil.rmtree(tmp_path)


def test_freeze_modules_hook_keeps_the_trunk():
    from afov_plugin.engine import FreezeModulesHook
    model = torch.nn.Sequential()
    model.backbone = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    model.head = torch.nn.Linear(4, 2)

    class Runner:
        pass
    runner = Runner()
    runner.model = model
    hook = FreezeModulesHook(modules=['backbone'])
    before = copy.deepcopy(model.backbone.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    hook.before_train(runner)
    for i in range(3):
        model.train()
        hook.before_train_iter(runner, i)
        loss = model.head(model.backbone(torch.randn(8, 3))).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    for k, v in model.backbone.state_dict().items():
        assert torch.equal(v, before[k]), k                # weights and BN statistics
    assert not torch.equal(model.head.weight, torch.zeros_like(model.head.weight))
    with pytest.raises(AttributeError, match='neck'):
        FreezeModulesHook(modules=['neck']).before_train(runner)


def test_fast_superpoint_pooling_equals_per_point_pooling():
    """The head pools in the backbone's channels (Gram-matrix norms, one row per (voxel,
    superpoint) pair); the result must equal pooling normalised per-point projections."""
    from afov_plugin.models.decode_heads import TriModalContrastiveHead
    torch.manual_seed(0)
    head = TriModalContrastiveHead(channels=5, feature_dim=7)
    x = torch.randn(30, 5, requires_grad=True)             # 30 voxels, two samples
    samples = []
    for i, (v0, v1, n) in enumerate([(0, 18, 60), (18, 30, 40)]):
        s = Det3DDataSample()
        s.batch_idx = torch.full((v1 - v0, ), i)
        s.point2voxel_map = torch.randint(0, v1 - v0, (n, ))
        s.point2voxel_map[:3] = -1                          # dropped voxels
        sp = torch.randint(-1, 4, (n, ))
        s.gt_pts_seg = PointData(pts_superpoint=sp)
        s.superpoint_feat = torch.randn(5, 7)               # superpoint 4 has no point
        samples.append(s)
    s_batch = torch.cat([s.batch_idx for s in samples])
    fast, present = head._pooled_superpoints(x, samples)
    slow, slow_present = [], []
    for f, s in zip(head.point_features(x, samples), samples):
        keep = s.point2voxel_map >= 0
        sp = s.gt_pts_seg.pts_superpoint
        sp = torch.where(keep, sp, torch.full_like(sp, -1))
        k, p = superpoint_pool(f, sp, 5)
        slow.append(k)
        slow_present.append(p)
    assert torch.equal(present, torch.cat(slow_present)) and s_batch.numel() == 30
    assert torch.allclose(fast, torch.cat(slow), atol=1e-5)
    fast.sum().backward()
    g_fast = x.grad.clone()
    x.grad = None
    torch.cat(slow).sum().backward()
    assert torch.allclose(g_fast, x.grad, atol=1e-4)


def test_tmp_checkpoint_finetunes_mmdet3d_minkunet18_config(tiny_semantickitti, tmp_path,
                                                            repo_root):
    """A TMP checkpoint of the demo's architecture fine-tunes mmdet3d's own MinkUNet18-w16
    SemanticKITTI config through tools/train.py, with only the head left to learn."""
    register_all_modules(init_default_scope=True)
    tmp_model = MODELS.build(load_config(osp.join(repo_root, TMP)).model)
    ckpt = str(tmp_path / 'tmp.pth')
    torch.save(dict(state_dict=tmp_model.state_dict(), meta=dict()), ckpt)
    proc = run_tool(['tools/create_splits.py', osp.join(tiny_semantickitti,
                                                        'semantickitti_infos_train.pkl'),
                     '--fractions', '1', '--by', 'scan'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    recipe = ('projects/afov_pretrained_minkunet/'
              'minkunet18-w16_spconv_finetune-1pct-afov-tmp_semantickitti.py')
    proc = run_tool(['tools/train.py', recipe, '--data-root', tiny_semantickitti, '--work-dir',
                     str(tmp_path / 'ft'), '--cfg-options', f'load_from={ckpt}',
                     'train_cfg.max_epochs=1', 'train_dataloader.batch_size=1',
                     'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                     'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
                     'default_hooks.logger.interval=1'])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    missing = re.search(r'missing keys in source state_dict: (.*)', out).group(1)
    assert set(missing.split(', ')) == {'decode_head.conv_seg.weight',
                                        'decode_head.conv_seg.bias'}
    assert re.search(r'\(train\).*\[1/1\].*loss: [0-9.]+', out), out[-1500:]
    assert re.search(r'miou: [0-9.]+', out)                # and it evaluates
