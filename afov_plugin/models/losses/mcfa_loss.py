"""MCFA (seed 002 §3.4): class-prototype and patch-feature contrast between the teacher's
cached pixel features and the 3D network's intermediate point features."""
from typing import Dict, List, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList


def prototype_contrast(g2d: Tensor, g3d: Tensor, tau: float) -> Tensor:
    """Σ_c −log softmax_c'(⟨g2d_c, g3d_c'⟩ / τ)[c] over the K classes present in both
    modalities, prototypes (K, D) L2-normalised here. Zero (with a graph) for K < 2."""
    if g2d.shape[0] < 2:
        return g3d.sum() * 0.0
    logits = F.normalize(g2d, dim=1) @ F.normalize(g3d, dim=1).T / tau
    return F.cross_entropy(logits, torch.arange(g2d.shape[0], device=g2d.device),
                           reduction='sum')


def patch_contrast(p2d: Tensor, p3d: Tensor, image: Tensor, tau: float) -> Tensor:
    """Per image, Σ over its patches of −log softmax over the image's patches (the patch at
    the same place positive), averaged over the images. p2d, p3d (P, D); image (P,) the
    image of each patch."""
    if p2d.shape[0] == 0:
        return p3d.sum() * 0.0
    logits = F.normalize(p2d, dim=1) @ F.normalize(p3d, dim=1).T / tau
    logits = logits.masked_fill(image[:, None] != image[None, :], float('-inf'))
    per_patch = F.cross_entropy(logits, torch.arange(p2d.shape[0], device=p2d.device),
                                reduction='none')
    return per_patch.sum() / image.unique().numel()


def masked_means(values: Tensor, index: Tensor, size: int):
    """Sums and counts of ``values`` (N, D) rows per ``index`` (N,) in [0, size)."""
    sums = values.new_zeros(size, values.shape[1]).index_add_(0, index, values)
    counts = torch.bincount(index, minlength=size).to(values.dtype)
    return sums, counts


@MODELS.register_module()
class MCFALoss(nn.Module):
    """λ · (L_class + L_patch) of seed 002 (Eq. 2-4), on cached teacher outputs.

    The 3D side: an intermediate feature map of the point encoder (the segmentor passes the
    output of encoder stage ``stage``, seed: the 4th, i.e. the bottleneck of MinkUNet,
    stride 16), gathered per point and mapped to the teacher's dimension by a linear layer
    (the seed's "supplementary linear layer"). Class prototypes: masked averages of the point
    features by the network's own (detached) prediction, against the teacher's class
    prototypes (masked averages of its pixel features by its predicted class, whole images,
    :class:`MCFATargets`), pooled over the batch. Patch features: the average of the point
    features falling in each of the m × n patches of each image, against the teacher's
    average over the patch's pixels; the other patches of the same image are the negatives.
    Prototypes and patch features are L2-normalised before the inner product. Departure from
    the seed's printed formulas: the softmax denominators include the positive (InfoNCE),
    so each term is bounded below by 0.

    Args:
        channels: channels of that encoder stage (MinkUNet18-w16: 128).
        feature_dim: the teacher's feature dimension D.
        grid: (m, n), as :class:`MCFATargets`'s.
        stage: the encoder stage read (0-based; 3 = the 4th).
        tau: temperature of both terms.
        class_prototype, patch_feature: switch each term.
        loss_weight: λ (seed: 0.01).
    """

    def __init__(self, channels: int, feature_dim: int = 512, grid: Sequence[int] = (6, 8),
                 stage: int = 3, tau: float = 0.07, class_prototype: bool = True,
                 patch_feature: bool = True, loss_weight: float = 0.01) -> None:
        super().__init__()
        if not (class_prototype or patch_feature):
            raise ValueError('MCFALoss with both terms off: leave mcfa out of the model')
        self.projection = nn.Linear(channels, feature_dim)
        self.patches_per_image = int(grid[0]) * int(grid[1])
        self.stage = stage
        self.tau = tau
        self.class_prototype = class_prototype
        self.patch_feature = patch_feature
        self.loss_weight = loss_weight

    def forward(self, point_feat: List[Tensor], point_pred: List[Tensor],
                data_samples: SampleList) -> Dict[str, Tensor]:
        """point_feat: per sample (N_i, channels) features of its points; point_pred: per
        sample (N_i,) the network's predicted class, -1 for points left out (dropped
        voxels). Returns ``loss_mcfa_class`` and / or ``loss_mcfa_patch``."""
        for s in data_samples:
            if 'teacher_patch_feat' not in s or 'pts_patch' not in s.gt_pts_seg:
                raise KeyError('MCFA needs the teacher\'s targets: add MCFATargets after '
                               'LoadTeacherCache(with_region_maps=True) and pack pts_patch, '
                               'teacher_class_feat, teacher_class_area, teacher_patch_feat '
                               'and teacher_patch_area')
        # averaged in the stage's channels, then projected: the linear layer commutes with
        # the average, and no (N, D) tensor is formed
        feats = torch.cat(point_feat)
        pred = torch.cat(point_pred)
        losses = {}
        if self.class_prototype:
            c = data_samples[0].teacher_class_area.numel()
            keep = pred >= 0
            s3, n3 = masked_means(feats[keep], pred[keep], c)
            s2 = sum(s.teacher_class_feat for s in data_samples).to(feats)
            n2 = sum(s.teacher_class_area for s in data_samples).to(feats)
            both = (n3 > 0) & (n2 > 0)
            losses['loss_mcfa_class'] = self.loss_weight * prototype_contrast(
                s2[both] / n2[both, None], self.projection(s3[both] / n3[both, None]),
                self.tau)
        if self.patch_feature:
            patch, p2, a2, offset = [], [], [], 0
            for s in data_samples:
                rows = s.teacher_patch_feat.shape[0]
                if rows % self.patches_per_image:
                    raise ValueError(f'{rows} teacher patches per sample is no multiple of '
                                     f'the grid\'s {self.patches_per_image}: give MCFALoss and '
                                     'MCFATargets the same grid')
                pp = s.gt_pts_seg.pts_patch.to(pred.device)
                patch.append(torch.where(pp >= 0, pp + offset, pp))
                p2.append(s.teacher_patch_feat)
                a2.append(s.teacher_patch_area)
                offset += rows
            patch = torch.cat(patch)
            keep = (patch >= 0) & (pred >= 0)
            s3, n3 = masked_means(feats[keep], patch[keep], offset)
            p2, a2 = torch.cat(p2).to(feats), torch.cat(a2).to(feats)
            both = (n3 > 0) & (a2 > 0)
            image = torch.arange(offset, device=feats.device) // self.patches_per_image
            losses['loss_mcfa_patch'] = self.loss_weight * patch_contrast(
                p2[both], self.projection(s3[both] / n3[both, None]), image[both], self.tau)
        return losses
