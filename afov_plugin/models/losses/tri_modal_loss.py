"""TMP losses (SPEC §3): superpixel–superpoint InfoNCE and text–superpoint soft cross-entropy
with semi-positive targets."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def superpoint_pool(point_feat: Tensor, superpoint: Tensor, num_superpoints: int) -> Tuple[
        Tensor, Tensor]:
    """Mean of the (already normalised) point features of each superpoint.

    Args:
        point_feat: (N, D). superpoint: (N,) long, -1 for points of no superpoint.
    Returns:
        k: (S, D) pooled features; present: (S,) bool, superpoints with at least one point.
    """
    keep = superpoint >= 0
    idx = superpoint[keep]
    total = point_feat.new_zeros(num_superpoints, point_feat.shape[1]).index_add(
        0, idx, point_feat[keep])
    count = torch.bincount(idx, minlength=num_superpoints).to(point_feat.dtype)
    return total / count.clamp_min(1)[:, None], count > 0


def superpixel_superpoint_infonce(k: Tensor, q: Tensor, tau: float = 0.07) -> Tensor:
    """L_sp: InfoNCE over the superpixels of the batch, logits k_s·q_s'/τ, positive s' = s.

    k: (S, D) superpoint features, q: (S, D) teacher region features (L2-normalised here).
    """
    logits = k @ F.normalize(q, dim=1).T / tau
    return F.cross_entropy(logits, torch.arange(k.shape[0], device=k.device))


def semi_positive_targets(prompt: Tensor, text: Tensor, prompt_group: Tensor,
                          onehot_weight: float = 0.2, group_weight: float = 0.8) -> Tensor:
    """y_s ∝ w₁·onehot(c_s) + w₂·[group(j) = group(c_s)]·max(cos(t_c, t_j), 0), rows sum to 1.

    prompt: (S,) prompt c_s of each superpoint; text: (P, D) prompt embeddings; prompt_group:
    (P,) group of each prompt. Returns (S, P).
    """
    t = F.normalize(text, dim=1)
    cos = (t[prompt] @ t.T).clamp_min(0)                                  # (S, P)
    same = prompt_group[prompt][:, None] == prompt_group[None, :]
    y = group_weight * same * cos
    y[torch.arange(len(prompt), device=y.device), prompt] += onehot_weight
    return y / y.sum(1, keepdim=True).clamp_min(1e-12)


def text_superpoint_loss(k: Tensor, text: Tensor, target: Tensor, tau: float = 0.07) -> Tensor:
    """L_tp: soft cross-entropy of logits k_s·t_j/τ over all P prompts against ``target``."""
    logits = k @ F.normalize(text, dim=1).T / tau
    return -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
