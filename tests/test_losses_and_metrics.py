import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from afov_plugin.evaluation import SeenUnseenSegMetric, confusion, miou_report
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


def test_seen_unseen_metric_on_constructed_predictions():
    metric = SeenUnseenSegMetric()
    metric.dataset_meta = dict(label2cat={0: 'a', 1: 'b'}, ignore_index=2, classes=('a', 'b'))
    gt = np.array([0, 0, 1, 1, 0, 1, 2])
    pred = np.array([0, 0, 1, 1, 1, 0, 0])  # seen points right, unseen points wrong
    cam = np.array([0, 3, 1, 2, -1, -1, -1])
    metric.process({}, [dict(pred_pts_seg=dict(pts_semantic_mask=torch.from_numpy(pred)),
                             gt_pts_seg=dict(pts_cam=torch.from_numpy(cam)),
                             eval_ann_info=dict(pts_semantic_mask=gt))])
    out = metric.compute_metrics(metric.results)
    assert out['miou_seen'] == pytest.approx(1.0) and out['miou_unseen'] == pytest.approx(0.0)
    # all points: class a: TP 2, FN 1, FP 1 -> 0.5; class b: TP 2, FN 1, FP 1 -> 0.5
    assert out['miou'] == pytest.approx(0.5)
    assert out['seen_ratio'] == pytest.approx(4 / 6)


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
