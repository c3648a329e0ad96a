"""Cross-entropy + Lovász-softmax over labelled points only (stage 2)."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce
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
        num_classes: needed with ``class_balance``.
        class_balance: ``None`` (reference: plain CE) or ``'sqrt_inv_freq'``: CE weights
            ∝ 1/sqrt(f_c) from a running estimate f of the labelled class frequencies (EMA
            with ``balance_momentum``; no ground truth involved), normalised to mean 1 over
            the classes seen so far. Rare teacher classes then still move the loss. Under
            DDP the class counts of a step are summed over the ranks before the update, so
            every rank holds the same frequencies and weights.

    Forward: ``cls_score`` (M, C) logits, ``label`` (M,) long; returns a scalar. With no
    labelled element the loss is 0 (with a graph, so DDP stays in sync).
    """

    def __init__(self, ce_weight: float = 1.0, lovasz_weight: float = 1.0,
                 loss_weight: float = 1.0, loss_name: str = 'loss_pseudo',
                 num_classes: Optional[int] = None, class_balance: Optional[str] = None,
                 balance_momentum: float = 0.99) -> None:
        super().__init__()
        self.ce_weight = ce_weight
        self.lovasz_weight = lovasz_weight
        self.loss_weight = loss_weight
        self._loss_name = loss_name
        if class_balance not in (None, 'sqrt_inv_freq'):
            raise ValueError(f'class_balance must be None or "sqrt_inv_freq", got '
                             f'{class_balance!r}')
        if class_balance is not None and not num_classes:
            raise ValueError('class_balance needs num_classes')
        self.class_balance = class_balance
        self.balance_momentum = balance_momentum
        self.register_buffer('class_freq', torch.zeros(num_classes or 0))

    def class_weights(self, target: Tensor) -> Optional[Tensor]:
        """Update the running class frequencies with ``target`` (training only) and return
        the CE weights (C,), or None without balancing. In training every rank must call it
        once per step (also with an empty ``target``): the counts are all-reduced."""
        if self.class_balance is None:
            return None
        counts = torch.bincount(target, minlength=self.class_freq.numel()).float()
        if self.training:
            all_reduce(counts)  # sum over ranks (no-op without torch.distributed)
        if self.training and counts.sum() > 0:
            freq = counts / counts.sum()
            if self.class_freq.sum() == 0:
                self.class_freq.copy_(freq)
            else:
                self.class_freq.mul_(self.balance_momentum).add_(
                    (1 - self.balance_momentum) * freq)
        present = self.class_freq > 0
        weights = torch.zeros_like(self.class_freq)
        if not present.any():  # nothing counted yet: plain CE
            return None
        weights[present] = self.class_freq[present].rsqrt()
        return weights / weights[present].mean()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        """A state dict without ``class_freq`` (a TMP or mmdet3d checkpoint initialising stage
        2, written by a model without this loss) keeps the zeros (nothing counted yet) and is
        not reported as missing; a present one loads as any buffer (resume keeps the
        statistics)."""
        key = prefix + 'class_freq'
        absent = key not in state_dict
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        if absent and key in missing_keys:
            missing_keys.remove(key)

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, cls_score: Tensor, label: Tensor, ignore_index: int = 255,
                weight: Optional[Tensor] = None, **kwargs) -> Tensor:
        keep = label != ignore_index
        if not keep.any():
            if self.training:  # the other ranks' count reduction waits for this one
                self.class_weights(label.new_zeros(0))
            return cls_score.sum() * 0.0
        logits, target = cls_score[keep], label[keep].long()
        loss = self.ce_weight * F.cross_entropy(logits, target,
                                                weight=self.class_weights(target))
        if self.lovasz_weight:
            loss = loss + self.lovasz_weight * lovasz_softmax_flat(
                logits.softmax(dim=1), target, classes='present')
        return self.loss_weight * loss
