"""Fibonacci direction lattice and direction binning of AFI (SPEC §5)."""
import math

import torch
from torch import Tensor

EPS = 1e-6


def fibonacci_directions(num: int, device=None, dtype=torch.float32,
                         lattice: str = 'midpoint') -> Tensor:
    """``num`` unit vectors on the Fibonacci sphere lattice, (num, 3).

    ``'midpoint'`` (default): heights z = 1 − 2(i + ½)/num, no point at the poles.
    ``'endpoint'`` (the reference's ``fibonacci_sphere``): heights y = 1 − 2i/(num − 1) along
    the y axis, so the first and last directions are the poles ±y, and angle i·(3 − √5)π
    about y (x = cos, z = sin).
    """
    if lattice == 'endpoint':
        i = torch.arange(num, device=device, dtype=torch.float64)
        y = 1.0 - 2.0 * i / max(num - 1, 1)
        r = torch.sqrt((1.0 - y * y).clamp_min(0))
        theta = math.pi * (3.0 - math.sqrt(5.0)) * i
        return torch.stack([r * torch.cos(theta), y, r * torch.sin(theta)], dim=1).to(dtype)
    if lattice != 'midpoint':
        raise ValueError(f"AFI: lattice must be 'midpoint' or 'endpoint', got {lattice!r}")
    i = torch.arange(num, device=device, dtype=torch.float64) + 0.5
    z = 1.0 - 2.0 * i / num
    r = torch.sqrt((1.0 - z * z).clamp_min(0))
    golden = (1.0 + math.sqrt(5.0)) / 2.0
    theta = 2.0 * math.pi * i / golden
    return torch.stack([r * torch.cos(theta), r * torch.sin(theta), z], dim=1).to(dtype)


def direction_cosines(offsets: Tensor, directions: Tensor) -> Tensor:
    """Cosine (..., D) of each unit offset (..., 3) with each lattice direction (D, 3)."""
    return torch.einsum('...c,dc->...d', offsets, directions)


def bin_directions(offsets: Tensor, directions: Tensor) -> Tensor:
    """Index of the closest lattice direction (max cosine) of each offset, (...,)."""
    return direction_cosines(offsets, directions).argmax(-1)


def l1_normalise(x: Tensor) -> Tensor:
    """Rows (..., C) scaled to sum 1; rows of zeros stay zero."""
    return x / x.sum(-1, keepdim=True).clamp_min(EPS)
