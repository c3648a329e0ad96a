"""Covering of AFI (SPEC §5): far object points take the teacher's label back."""
import math
from typing import Dict, Optional

import torch
from torch import Tensor


def cover(xyz: Tensor, labels: Tensor, pseudo: Optional[Tensor], gen: torch.Generator,
          c: Optional[Dict], num_classes: int) -> Tensor:
    """Covering (SPEC §5): points whose teacher label ``pseudo`` (N,) is in ``c['classes']``
    take it with probability sigmoid(ln β·(1 − r/distance)), r the horizontal range; the
    rest keep ``labels`` (N,). Unchanged where ``c`` or ``pseudo`` is None."""
    if c is None or pseudo is None:
        return labels
    pseudo = pseudo.to(labels.device).long()
    r = xyz[:, :2].norm(dim=1)
    p = torch.sigmoid(math.log(c.get('beta', 4.0)) * (1 - r / c.get('distance', 20.0)))
    cls = torch.zeros(num_classes + 1, dtype=torch.bool, device=labels.device)
    cls[list(c.get('classes', []))] = True
    is_obj = cls[pseudo.clamp(0, num_classes)] & (pseudo >= 0)
    draw = torch.rand(labels.shape[0], generator=gen).to(labels.device) < p
    return torch.where(is_obj & draw, pseudo, labels)
