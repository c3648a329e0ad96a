"""Tri-modal contrastive head of TMP (SPEC §3): 3D points ↔ teacher regions ↔ text."""
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList

from ...vocabulary import load_class_dictionary
from ..losses.tri_modal_loss import (semi_positive_targets, superpixel_superpoint_infonce,
                                     text_superpoint_loss)


@MODELS.register_module()
class TriModalContrastiveHead(BaseModule):
    """1×1 projection of the backbone's voxel features to the teacher's CLIP space, per-point
    L2 normalisation, superpoint pooling and the two TMP losses.

    Args:
        channels: backbone output channels.
        feature_dim: teacher feature dimension D (CLIP: 512 for ViT-B/16).
        dictionary: class dictionary of the cache (prompt groups for the semi-positive
            targets; prompt → class for zero-shot prediction).
        tau: temperature of both losses (reference 0.07).
        loss_weights: (w_sp, w_tp) (reference 0.5, 0.5); ``text_loss=False`` drops L_tp.
        semi_positive: (one-hot weight, same-group weight) of the text targets (0.2, 0.8).

    Inputs per data sample: ``point2voxel_map`` / ``batch_idx`` (from the data preprocessor),
    ``gt_pts_seg.pts_superpoint`` (N,), ``superpoint_feat`` (S, D), ``superpoint_prompt``
    (S,) and ``text_bank`` (P, D) (``LoadTeacherCache(with_text_bank=True)`` +
    ``PseudoLabelsAndSuperpoints`` + ``PackAFOVInputs``). The text bank seen in training is
    kept in the ``text_bank`` buffer (saved with the checkpoint) for zero-shot ``predict``.
    The projection is named ``projection``, so a TMP checkpoint loads into a MinkUNet
    segmentor with only its ``decode_head.conv_seg`` missing.
    """

    def __init__(self, channels: int, feature_dim: int = 512, dictionary: str = 'nuscenes',
                 tau: float = 0.07, loss_weights=(0.5, 0.5), text_loss: bool = True,
                 semi_positive=(0.2, 0.8), init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.dictionary = load_class_dictionary(dictionary)
        self.num_classes = self.dictionary.num_classes
        self.feature_dim = feature_dim
        self.tau = tau
        self.loss_weights = tuple(loss_weights)
        self.text_loss = text_loss
        self.semi_positive = tuple(semi_positive)
        self.projection = nn.Linear(channels, feature_dim)
        p = len(self.dictionary.prompts)
        self.register_buffer('prompt_group', torch.as_tensor(self.dictionary.prompt_group,
                                                             dtype=torch.long), persistent=False)
        self.register_buffer('prompt_class', torch.as_tensor(self.dictionary.prompt_class,
                                                             dtype=torch.long), persistent=False)
        self.register_buffer('text_bank', torch.zeros(p, feature_dim))

    def forward(self, x: Tensor) -> Tensor:
        """(V, channels) voxel features → (V, D) L2-normalised embeddings."""
        return F.normalize(self.projection(x), dim=1)

    def point_features(self, x: Tensor, data_samples: SampleList) -> List[Tensor]:
        """Per sample (N_i, D) point embeddings (points of dropped voxels: rows of zeros)."""
        voxel = self.forward(x)
        batch_idx = torch.cat([s.batch_idx for s in data_samples])
        out = []
        for i, s in enumerate(data_samples):
            v = voxel[batch_idx == i]
            m = s.point2voxel_map
            f = v[m.clamp_min(0)]
            out.append(torch.where((m >= 0)[:, None], f, torch.zeros_like(f)))
        return out

    def _text(self, data_samples: SampleList) -> Tensor:
        for s in data_samples:
            if 'text_bank' in s:
                bank = s.text_bank.to(self.text_bank)
                if bank.shape != self.text_bank.shape:
                    raise ValueError(
                        f'text bank of shape {tuple(bank.shape)} does not fit the head '
                        f'({tuple(self.text_bank.shape)} = prompts of the "{self.dictionary.name}"'
                        ' dictionary × feature_dim): cache and config disagree')
                self.text_bank.copy_(bank)
                return bank
        raise KeyError('TMP needs the text bank: add LoadTeacherCache(with_text_bank=True) and '
                       "'text_bank' to PackAFOVInputs keys")

    def _pooled_superpoints(self, x: Tensor, data_samples: SampleList) -> Tuple[Tensor, Tensor]:
        """(S, D) superpoint features of the batch (superpoints of all samples, in order) and
        (S,) which superpoints have points.

        Exactly the mean over a superpoint's points of normalise(W·x + b) (what
        :func:`superpoint_pool` gives on :meth:`point_features`), computed in the backbone's
        C channels instead of D: points of one voxel share its feature, so each (voxel,
        superpoint) pair counts once with its point count; ‖W·x + b‖ comes from the C×C Gram
        matrix WᵀW; the weighted sums are projected afterwards (S rows, not one per point).
        """
        batch_idx = torch.cat([s.batch_idx for s in data_samples])
        voxel_ids, sp_ids, offset = [], [], 0
        for i, s in enumerate(data_samples):
            m = s.point2voxel_map
            sp = s.gt_pts_seg.pts_superpoint.to(m.device)
            keep = (sp >= 0) & (m >= 0)
            first = torch.nonzero(batch_idx == i).squeeze(1)      # the sample's voxels
            voxel_ids.append(first[m[keep]])
            sp_ids.append(sp[keep] + offset)
            offset += s.superpoint_feat.shape[0]
        total = max(offset, 1)
        pair, count = torch.unique(torch.cat(voxel_ids) * total + torch.cat(sp_ids),
                                   return_counts=True)
        pv, ps = pair // total, pair % total
        xs = x.index_select(0, pv)                                      # (pairs, C)
        w, b = self.projection.weight, self.projection.bias             # (D, C), (D,)
        sq = ((xs @ (w.T @ w)) * xs).sum(1) + 2 * xs @ (w.T @ b) + b @ b
        weight = count.to(xs.dtype) / sq.clamp_min(1e-24).sqrt()         # count / ‖Wx + b‖
        agg = xs.new_zeros(total, xs.shape[1]).index_add(0, ps, xs * weight[:, None])
        agg_w = xs.new_zeros(total).index_add(0, ps, weight)
        n = xs.new_zeros(total).index_add(0, ps, count.to(xs.dtype))
        k = (agg @ w.T + agg_w[:, None] * b) / n.clamp_min(1)[:, None]
        return k[:offset], (n > 0)[:offset]

    def loss(self, x: Tensor, data_samples: SampleList, train_cfg=None) -> Dict[str, Tensor]:
        k, present = self._pooled_superpoints(x, data_samples)
        k = k[present]
        q = torch.cat([s.superpoint_feat for s in data_samples]).to(k)[present]
        prompt = torch.cat([s.superpoint_prompt for s in data_samples]).to(k.device).long()[
            present]
        zero = x.sum() * 0  # keeps the graph when a batch has no superpoint
        losses = dict(loss_sp=self.loss_weights[0] * superpixel_superpoint_infonce(
            k, q, self.tau) if len(k) else zero)
        if self.text_loss:
            text = self._text(data_samples)
            if len(k):
                target = semi_positive_targets(prompt, text, self.prompt_group.to(k.device),
                                               *self.semi_positive)
                losses['loss_tp'] = self.loss_weights[1] * text_superpoint_loss(
                    k, text, target, self.tau)
            else:
                losses['loss_tp'] = zero
        return losses

    def predict(self, x: Tensor, data_samples: SampleList) -> List[Tensor]:
        """Zero-shot: per sample (N_i, C) class scores = the best prompt score of each class
        (prompts of ignore groups left out), from the text bank kept in training."""
        if not self.text_bank.abs().sum() > 0:
            raise RuntimeError('zero-shot prediction needs the text bank, which this head has '
                               'not seen: load a TMP checkpoint trained with the text loss')
        text = F.normalize(self.text_bank, dim=1)
        valid = self.prompt_class < self.num_classes
        out = []
        for f in self.point_features(x, data_samples):
            scores = f @ text[valid].T                                   # (N, P')
            cls = self.prompt_class[valid].to(f.device)
            per_class = scores.new_full((f.shape[0], self.num_classes), -2.0)
            per_class.scatter_reduce_(1, cls[None].expand_as(scores), scores, 'amax')
            out.append(per_class)
        return out
