"""Cross-entropy + Lovász-softmax over labelled points only (stage 2)."""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from mmseg.models.losses.lovasz_loss import lovasz_softmax_flat  # reused, not rewritten


@MODELS.register_module()
class PseudoLabelLoss(nn.Module):
    """``ce_weight · CE + lovasz_weight · Lovász-softmax`` on points/voxels whose label is not
    ``ignore_index``.

    Args:
        ce_weight, lovasz_weight: weights of the two terms (reference: 1, 1).
        loss_weight: overall weight.

    Forward: ``cls_score`` (M, C) logits, ``label`` (M,) long; returns a scalar. With no
    labelled element the loss is 0 (with a graph, so DDP stays in sync).
    """

    def __init__(self, ce_weight: float = 1.0, lovasz_weight: float = 1.0,
                 loss_weight: float = 1.0, loss_name: str = 'loss_pseudo') -> None:
        super().__init__()
        self.ce_weight = ce_weight
        self.lovasz_weight = lovasz_weight
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, cls_score: Tensor, label: Tensor, ignore_index: int = 255,
                weight: Optional[Tensor] = None, **kwargs) -> Tensor:
        keep = label != ignore_index
        if not keep.any():
            return cls_score.sum() * 0.0
        logits, target = cls_score[keep], label[keep].long()
        loss = self.ce_weight * F.cross_entropy(logits, target)
        if self.lovasz_weight:
            loss = loss + self.lovasz_weight * lovasz_softmax_flat(
                logits.softmax(dim=1), target, classes='present')
        return self.loss_weight * loss
