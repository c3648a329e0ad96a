import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from afov_plugin.evaluation import InViewSegMetric, confusion, miou_report
from afov_plugin.models.losses import PseudoLabelLoss


def test_ce_part_ignores_unlabelled_points():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [5.0, -5.0]])
    label = torch.tensor([0, 1, 255])
    loss = PseudoLabelLoss(lovasz_weight=0.0)(logits, label, ignore_index=255)
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1))) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_lovasz_part_by_hand():
    # 2 classes, 2 points, probabilities p(point0)=[0.8,0.2] label 0, p(point1)=[0.4,0.6] label 1
    probs_logits = torch.log(torch.tensor([[0.8, 0.2], [0.4, 0.6]]))
    label = torch.tensor([0, 1])
    loss = PseudoLabelLoss(ce_weight=0.0)(probs_logits, label, ignore_index=255)
    # Lovasz grad of sorted fg g: J_i = 1 - (G - cumsum(g)_i) / (G + cumsum(1 - g)_i),
    # grad = [J_1, J_2 - J_1, ...] with G = sum(g).
    # class 0: errors |fg - p| = [0.2, 0.4] -> sorted [0.4 (fg 0), 0.2 (fg 1)]:
    #   J = [1 - 1/2, 1 - 0/2] = [0.5, 1] -> grad [0.5, 0.5] -> loss0 = 0.2 + 0.1 = 0.3
    # class 1: errors [0.2, 0.4] -> sorted [0.4 (fg 1), 0.2 (fg 0)]:
    #   J = [1 - 0/1, 1 - 0/2] = [1, 1] -> grad [1, 0] -> loss1 = 0.4
    assert loss.item() == pytest.approx((0.3 + 0.4) / 2, rel=1e-5)


def test_all_ignored_gives_zero_with_graph():
    logits = torch.randn(4, 3, requires_grad=True)
    loss = PseudoLabelLoss()(logits, torch.full((4, ), 16), ignore_index=16)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros(4, 3))


def test_perfect_prediction_has_small_loss_and_gradients_flow():
    label = torch.tensor([0, 1, 2, 1])
    logits = (F.one_hot(label, 3).float() * 20).requires_grad_()
    loss = PseudoLabelLoss()(logits, label, ignore_index=255)
    assert loss.item() < 1e-6
    bad = torch.zeros(4, 3, requires_grad=True)
    PseudoLabelLoss()(bad, label, ignore_index=255).backward()
    assert bad.grad.abs().sum() > 0


def test_confusion_miou_known_values():
    gt = np.array([0, 0, 1, 1, 2, 9])
    pred = np.array([0, 1, 1, 1, -1, 0])  # -1 = no label (counted wrong)
    hist = confusion(gt, pred, 3, ignore_index=9)
    # IoU0 = 1/(1+1+0) = 0.5, IoU1 = 2/(2+0+1) = 2/3, IoU2 = 0/(0+1+0) = 0
    r = miou_report(hist, ['a', 'b', 'c'])
    assert r['a'] == pytest.approx(0.5) and r['b'] == pytest.approx(2 / 3) and r['c'] == 0
    assert r['miou'] == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    assert r['acc'] == pytest.approx(3 / 5)


def _metric(names=('a', 'b'), ignore=2):
    metric = InViewSegMetric()
    metric.dataset_meta = dict(label2cat=dict(enumerate(names)), ignore_index=ignore,
                               classes=tuple(names))
    return metric


def _sample(gt, pred, cam):
    return dict(pred_pts_seg=dict(pts_semantic_mask=torch.as_tensor(pred)),
                gt_pts_seg=dict(pts_cam=torch.as_tensor(cam)),
                eval_ann_info=dict(pts_semantic_mask=np.asarray(gt)))


def test_in_view_metric_on_constructed_predictions():
    metric = _metric()
    gt = np.array([0, 0, 1, 1, 0, 1, 2])
    pred = np.array([0, 0, 1, 1, 1, 0, 0])  # in-view points right, out-of-view points wrong
    cam = np.array([0, 3, 1, 2, -1, -1, -1])
    metric.process({}, [_sample(gt, pred, cam)])
    out = metric.evaluate(1)
    assert out['miou_in_view'] == pytest.approx(1.0)
    assert out['miou_out_of_view'] == pytest.approx(0.0)
    # all points: class a: TP 2, FN 1, FP 1 -> 0.5; class b: TP 2, FN 1, FP 1 -> 0.5
    assert out['miou'] == pytest.approx(0.5) and out['a'] == pytest.approx(0.5)
    assert out['in_view_ratio'] == pytest.approx(4 / 6)
    assert out['acc'] == pytest.approx(4 / 6) and out['acc_cls'] == pytest.approx(4 / 6)


def _random_scans(n, c=5, seed=0):
    rng = np.random.default_rng(seed)
    scans = []
    for _ in range(n):
        m = int(rng.integers(50, 400))
        gt = rng.integers(0, c + 1, m)  # c = ignore
        pred = np.where(rng.random(m) < 0.6, np.minimum(gt, c - 1), rng.integers(0, c, m))
        cam = np.where(rng.random(m) < 0.3, rng.integers(0, 6, m), -1)
        scans.append((gt, pred, cam))
    return scans


def test_in_view_metric_equals_mmdet3d_seg_eval_and_its_state_does_not_grow():
    from mmdet3d.evaluation.functional import seg_eval
    names = ['c0', 'c1', 'c2', 'c3', 'c4']
    scans = _random_scans(60)
    metric = _metric(names, ignore=5)
    sizes = []
    for i, scan in enumerate(scans):
        metric.process({}, [_sample(*scan)])
        if i in (1, 59):
            sizes.append(sum(a.nbytes for a in (metric._sum, metric._last) if a is not None))
    assert sizes[0] == sizes[1] and metric.results == []  # O(C²), not O(scans)
    out = metric.evaluate(len(scans))
    ref = seg_eval([s[0] for s in scans], [s[1] for s in scans], dict(enumerate(names)), 5)
    for key in names + ['miou', 'acc', 'acc_cls']:
        assert out[key] == pytest.approx(ref[key], abs=1e-12), key
    sub = [(g[c >= 0], p[c >= 0]) for g, p, c in scans]
    ref_in = seg_eval([g for g, _ in sub], [p for _, p in sub], dict(enumerate(names)), 5)
    assert out['miou_in_view'] == pytest.approx(ref_in['miou'], abs=1e-12)
    labelled = sum(int((g != 5).sum()) for g, _, _ in scans)
    assert out['in_view_ratio'] == pytest.approx(
        sum(int(((g != 5) & (c >= 0)).sum()) for g, _, c in scans) / labelled)


def _two_rank_worker(rank, world, port, fn_name, result_dir):
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world)
    try:
        out = globals()[fn_name](rank, world)
        torch.save(out, f'{result_dir}/rank{rank}.pt')
    finally:
        dist.destroy_process_group()


def _spawn_two(fn_name, tmp_path):
    import socket
    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.spawn(_two_rank_worker, args=(2, port, fn_name, str(tmp_path)), nprocs=2)
    return [torch.load(tmp_path / f'rank{r}.pt', weights_only=False) for r in range(2)]


N_EVAL_SCANS = 7  # odd: DefaultSampler pads rank 1 with a repeat of scan 0


def _evaluate_on_my_rank(rank, world):
    from mmengine.dataset import DefaultSampler
    scans = _random_scans(N_EVAL_SCANS, seed=3)
    metric = _metric(['c0', 'c1', 'c2', 'c3', 'c4'], ignore=5)
    for i in DefaultSampler(list(range(N_EVAL_SCANS)), shuffle=False):
        metric.process({}, [_sample(*scans[i])])
    return metric.evaluate(N_EVAL_SCANS)


def test_two_rank_evaluation_counts_every_scan_once(tmp_path):
    outs = _spawn_two('_evaluate_on_my_rank', tmp_path)
    one = _metric(['c0', 'c1', 'c2', 'c3', 'c4'], ignore=5)
    for scan in _random_scans(N_EVAL_SCANS, seed=3):
        one.process({}, [_sample(*scan)])
    ref = one.evaluate(N_EVAL_SCANS)
    for out in outs:
        assert out.keys() == ref.keys()
        for key in ref:
            assert out[key] == pytest.approx(ref[key], abs=1e-12, nan_ok=True), key


def _balance_on_my_rank(rank, world):
    loss = PseudoLabelLoss(num_classes=3, class_balance='sqrt_inv_freq', lovasz_weight=0.0)
    loss.train()
    # rank 0: 8 x class 0; rank 1: 2 x class 1, then a step with nothing labelled
    label = torch.tensor([0] * 8) if rank == 0 else torch.tensor([1, 1])
    loss(torch.zeros(len(label), 3), label, ignore_index=3)
    loss(torch.zeros(2, 3), torch.tensor([0, 2]) if rank == 0 else torch.tensor([3, 3]),
         ignore_index=3)
    return loss.class_freq.clone()


def test_class_balance_statistics_are_reduced_over_ranks(tmp_path):
    freqs = _spawn_two('_balance_on_my_rank', tmp_path)
    # step 1 over both ranks: 8 x 0, 2 x 1 -> [0.8, 0.2, 0]; step 2: one 0, one 2 (rank 1
    # has nothing labelled and still joins the reduction) -> EMA with momentum 0.99
    expected = 0.99 * torch.tensor([0.8, 0.2, 0.0]) + 0.01 * torch.tensor([0.5, 0.0, 0.5])
    for f in freqs:
        assert torch.allclose(f, expected, atol=1e-7), f


def test_class_balanced_ce_weights_follow_inverse_sqrt_frequency():
    loss = PseudoLabelLoss(num_classes=3, class_balance='sqrt_inv_freq', lovasz_weight=0.0)
    loss.train()
    label = torch.tensor([0] * 16 + [1] * 4 + [2] * 0 + [3] * 5)  # 3 = ignore
    logits = torch.zeros(len(label), 3)
    value = loss(logits, label, ignore_index=3)
    # frequencies among labelled: 0.8 / 0.2 / 0 -> weights 1/sqrt(.8), 1/sqrt(.2), normalised
    w = torch.tensor([0.8 ** -0.5, 0.2 ** -0.5])
    w = w / w.mean()
    assert torch.allclose(loss.class_freq, torch.tensor([0.8, 0.2, 0.0]))
    # uniform logits: CE = log(3) for every point whatever the weights (weighted mean)
    assert value.item() == pytest.approx(math.log(3), rel=1e-6)
    assert torch.allclose(loss.class_weights(label[label != 3]), torch.cat([w, w.new_zeros(1)]))


def test_class_balance_changes_the_gradient_towards_rare_classes():
    label = torch.tensor([0] * 9 + [1])
    plain, balanced = PseudoLabelLoss(lovasz_weight=0), PseudoLabelLoss(
        lovasz_weight=0, num_classes=2, class_balance='sqrt_inv_freq')
    grads = []
    for loss in (plain, balanced):
        logits = torch.zeros(10, 2, requires_grad=True)
        loss(logits, label, ignore_index=255).backward()
        grads.append(logits.grad[-1, 1].abs().item() / logits.grad[0, 0].abs().item())
    assert grads[1] > 2.5 * grads[0]


@pytest.mark.parametrize('max_iters', [200, 31])
def test_warmup_cosine_gives_mmengines_linear_then_cosine_rates(max_iters):
    from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR
    from afov_plugin.engine import WarmupCosineLR

    def rates(make):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.01)
        schedulers = make(opt)
        out = []
        for _ in range(max_iters):
            out.append(opt.param_groups[0]['lr'])
            opt.step()
            for s in schedulers:
                s.step()
        return out
    ours = rates(lambda o: [WarmupCosineLR(o, warmup_iters=30, start_factor=0.1, eta_min=1e-5,
                                           end=max_iters)])
    ref = rates(lambda o: [LinearLR(o, start_factor=0.1, by_epoch=False, begin=0, end=30),
                           CosineAnnealingLR(o, by_epoch=False, begin=30, end=max_iters,
                                             T_max=max_iters - 30, eta_min=1e-5)])
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_warmup_cosine_fits_a_run_shorter_than_its_warm_up():
    from afov_plugin.engine import WarmupCosineLR
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = WarmupCosineLR(opt, warmup_iters=30, start_factor=0.1, end=4)
    seen = []
    for _ in range(4):
        seen.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    # warm-up over 2 of the 4 iterations (0.1 -> 1.0), then cosine over the other 2
    assert seen == pytest.approx([0.1, 1.0, 1.0, 0.5])


def test_test_metrics_json_is_written_by_rank_zero_only(tmp_path, monkeypatch):
    import json
    from types import SimpleNamespace
    from afov_plugin.engine import RankZeroLoggerHook
    from afov_plugin.engine import rank_zero_logger_hook as module
    tag = {'miou': 0.5, 'time': 1.25}
    runner = SimpleNamespace(
        log_processor=SimpleNamespace(get_log_after_epoch=lambda *a, **k: (dict(tag), 'log')),
        test_dataloader=[0, 1], logger=SimpleNamespace(info=lambda s: None),
        log_dir=str(tmp_path))
    hook = RankZeroLoggerHook()
    hook.json_log_path = 'metrics.json'
    monkeypatch.setattr(module, 'is_main_process', lambda: False)
    hook.after_test_epoch(runner)
    assert not (tmp_path / 'metrics.json').exists()
    monkeypatch.setattr(module, 'is_main_process', lambda: True)
    hook.after_test_epoch(runner)
    assert json.load(open(tmp_path / 'metrics.json')) == tag
    assert [p.name for p in tmp_path.iterdir()] == ['metrics.json']  # no temporary left
