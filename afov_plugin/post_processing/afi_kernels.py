"""Compiled CPU kernels of AFI (numba): bin alignment of flat pairs and the decoder's mixing.

The torch forms in :mod:`.hierarchy` compute the same values on any device; these visit only
the live bins of each point and need no (P, D, 3) temporaries (docs/afi.md, "Speed").
"""
import numba
import numpy as np
import torch
from torch import Tensor

from .directions import EPS


@numba.njit(cache=True, nogil=True)
def bin_alignment(weight: np.ndarray, bin_unit: np.ndarray, bin_length: np.ndarray, j: int,
                  v0: float, v1: float, v2: float, limit: float, occupied: bool = False):
    """Alignment of point ``j``'s live bins (weight > 0; at most k of the D; with
    ``occupied`` also the bins of zero weight that hold a neighbour) with direction v:
    Σ w_d over bins with |v·ô_d| > ``limit`` (γ·|v|), and the longest mean offset of a bin
    aligned with +v / −v (0 where none)."""
    total, longest_pos, longest_neg = np.float32(0), np.float32(0), np.float32(0)
    for d in range(weight.shape[1]):
        w = weight[j, d]
        if not (w > 0 or (occupied and bin_length[j, d] > 0)):
            continue
        dot = v0 * bin_unit[j, d, 0] + v1 * bin_unit[j, d, 1] + v2 * bin_unit[j, d, 2]
        if dot > limit:
            total += w
            longest_pos = max(longest_pos, bin_length[j, d])
        elif dot < -limit:
            total += w
            longest_neg = max(longest_neg, bin_length[j, d])
    return total, longest_pos, longest_neg


@numba.njit(cache=True, nogil=True)
def alignment_kernel(idx: np.ndarray, unit: np.ndarray, weight: np.ndarray,
                     bin_unit: np.ndarray, bin_length: np.ndarray, gamma: float,
                     extents: bool, occupied: bool, a: np.ndarray, e_pos: np.ndarray,
                     e_neg: np.ndarray) -> None:
    """CPU form of :meth:`~.hierarchy.Level.alignment` over flat pairs: (P,) ``idx``,
    (P, 3) ``unit``;
    only live bins are visited, where the torch form gathers all D bins of every pair."""
    for p in range(idx.shape[0]):
        total, longest_pos, longest_neg = bin_alignment(
            weight, bin_unit, bin_length, idx[p], unit[p, 0], unit[p, 1], unit[p, 2], gamma,
            occupied)
        a[p] = total
        if extents:
            e_pos[p], e_neg[p] = longest_pos, longest_neg


@numba.njit(cache=True, nogil=True)
def live_bins(weight: np.ndarray, bin_unit: np.ndarray):
    """The bins of non-zero weight of every point, in bin order, as CSR arrays: point j's are
    ``unit[start[j]:start[j + 1]]`` (L, 3) and ``w[...]`` (L,)."""
    m, d = weight.shape
    start = np.zeros(m + 1, np.int64)
    for j in range(m):
        live = 0
        for b in range(d):
            if weight[j, b] > 0:
                live += 1
        start[j + 1] = start[j] + live
    unit = np.empty((start[m], 3), np.float32)
    w = np.empty(start[m], np.float32)
    for j in range(m):
        s = start[j]
        for b in range(d):
            if weight[j, b] > 0:
                unit[s] = bin_unit[j, b]
                w[s] = weight[j, b]
                s += 1
    return start, unit, w


@numba.njit(cache=True, nogil=True, parallel=True)
def decode_kernel(fine_xyz: np.ndarray, coarse_xyz: np.ndarray, nbr: np.ndarray,
                  weight: np.ndarray, bin_unit: np.ndarray, coarse_feat: np.ndarray,
                  gamma: float, coincident: float, mixed: np.ndarray,
                  w_total: np.ndarray) -> None:
    """CPU form of the decoder's mixing (see :meth:`~.hierarchy.FlatInteraction.decode`): for
    each fine point, Σ_j A_j·feat_j over its (k,) coarse neighbours ``nbr``, into ``mixed``
    (N, C), and Σ_j A_j into ``w_total`` (N,), without (N, k, D, 3) temporaries. Only the
    live bins of each coarse point are visited (:func:`live_bins`), in bin order, and a
    neighbour of zero alignment adds nothing, so the sums are those of the torch form's
    terms in the same order. Fine points are split over numba's threads."""
    eps = np.float32(EPS)
    start, unit, w = live_bins(weight, bin_unit)
    for i in numba.prange(nbr.shape[0]):
        total = np.float32(0)
        for t in range(nbr.shape[1]):
            j = nbr[i, t]
            o0 = fine_xyz[i, 0] - coarse_xyz[j, 0]
            o1 = fine_xyz[i, 1] - coarse_xyz[j, 1]
            o2 = fine_xyz[i, 2] - coarse_xyz[j, 2]
            dist = np.sqrt(o0 * o0 + o1 * o1 + o2 * o2)
            if dist <= eps:
                a = np.float32(coincident)            # the point itself
            else:                                     # Σ w over bins with |cos| > γ
                a = np.float32(0)
                limit = gamma * dist
                for s in range(start[j], start[j + 1]):
                    dot = o0 * unit[s, 0] + o1 * unit[s, 1] + o2 * unit[s, 2]
                    if dot > limit or dot < -limit:
                        a += w[s]
            if a == 0:
                continue
            total += a
            for c in range(coarse_feat.shape[1]):
                mixed[i, c] += a * coarse_feat[j, c]
        w_total[i] = total


@numba.njit(cache=True, nogil=True)
def _argmax_rows(x: np.ndarray, out: np.ndarray) -> None:
    """Index of the first maximum of each row of (R, D) ``x``, into ``out`` (R,)."""
    for r in range(x.shape[0]):
        best, arg = x[r, 0], 0
        for d in range(1, x.shape[1]):
            if x[r, d] > best:
                best, arg = x[r, d], d
        out[r] = arg


def argmax_last(x: Tensor) -> Tensor:
    """``x.argmax(-1)`` of a CPU tensor (..., D) without NaNs, as a compiled loop (torch's
    argmax over a short last dimension costs ~100 ns a row here)."""
    rows = x.reshape(-1, x.shape[-1]).contiguous().numpy()
    out = np.empty(rows.shape[0], np.int64)
    _argmax_rows(rows, out)
    return torch.from_numpy(out).view(x.shape[:-1])
