"""The AFI hierarchy (SPEC §5): FPS levels, direction bins, flat-interaction pooling
(encoder) and direction-weighted interpolation back to every point (decoder).

    x⁰ (N, C) ─encoder ×4─> (1365, 455, 151, 50) centres ─decoder ×4─> (N, C)

On CPU with ``backend='auto'`` the alignment and the decoder's mixing run as the compiled
kernels of :mod:`.afi_kernels`; elsewhere as the torch code below (same values).
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from .afi_kernels import alignment_kernel, argmax_last, decode_kernel
from .directions import EPS, direction_cosines, fibonacci_directions, l1_normalise
from .neighbours import farthest_point_sample, knn


def rows(x: Tensor, idx: Tensor) -> Tensor:
    """``x[idx]`` for (M, ...) ``x`` and an index tensor of any shape, through
    ``index_select`` (the same values, several times faster than advanced indexing on CPU)."""
    return x.index_select(0, idx.reshape(-1)).view(*idx.shape, *x.shape[1:])


CHOICES = dict(fps_start=('random', 'first'), bin_features=('mean', 'sum'),
               lattice=('midpoint', 'endpoint'),
               extents=('weighted', 'occupied'), unreached=('keep', 'interpolate'))


class Level:
    """One level of the hierarchy: points, features and their direction bins.

    Attributes:
        xyz: (M, 3). feat: (M, C), L1-normalised (rows of zeros carry no information).
        bin_unit, bin_length: (M, D, 3) / (M, D) direction and length of the mean offset of
            each bin's neighbours (None at level 0).
        bin_weight: (M, D) correlation of each bin (sums to ≤ 1 per point; 0 for empty bins).
    """

    def __init__(self, xyz: Tensor, feat: Tensor, bin_offset: Optional[Tensor] = None,
                 bin_weight: Optional[Tensor] = None) -> None:
        self.xyz, self.feat, self.bin_weight = xyz, feat, bin_weight
        self.bin_unit = self.bin_length = None
        if bin_offset is not None:
            self.bin_length = bin_offset.norm(dim=-1)
            self.bin_unit = bin_offset / self.bin_length.clamp_min(EPS)[..., None]

    def alignment(self, idx: Tensor, unit: Tensor, gamma: float, extents: bool = True,
                  compiled: bool = False, occupied: bool = False
                  ) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
        """Alignment of the bins of points ``idx`` with directions ``unit``.

        Args:
            idx: (...,) point indices of this level. unit: (..., 3) unit directions.
            compiled: use the CPU kernel (same values, only live bins visited).
            occupied: extents from every bin holding a neighbour (the reference), not only
                from the bins of non-zero weight.
        Returns:
            A (...,): Σ_a p_a·[|u·ô_a| > γ]; e_pos, e_neg (...,): the longest mean offset of a
            bin aligned with +u / −u (0 where none; None unless ``extents``).
        """
        if compiled:
            shape = idx.shape
            flat_idx = idx.reshape(-1).contiguous().numpy()
            a, e_pos, e_neg = (np.empty(flat_idx.shape[0], np.float32) for _ in range(3))
            alignment_kernel(flat_idx, unit.reshape(-1, 3).contiguous().numpy(),
                             self.bin_weight.numpy(), self.bin_unit.contiguous().numpy(),
                             self.bin_length.numpy(), np.float32(gamma), extents, occupied,
                             a, e_pos, e_neg)
            out = [torch.from_numpy(v).view(shape) for v in (a, e_pos, e_neg)]
            return (out[0], out[1], out[2]) if extents else (out[0], None, None)
        weight = self.bin_weight[idx]                                    # (..., D)
        cos = torch.einsum('...c,...dc->...d', unit, self.bin_unit[idx])
        if not extents:
            return (weight * (cos.abs() > gamma)).sum(-1), None, None
        length = self.bin_length[idx]
        live = (weight > 0) | (length > 0) if occupied else weight > 0
        pos, neg = (cos > gamma) & live, (cos < -gamma) & live
        a = (weight * (pos | neg)).sum(-1)
        return a, (length * pos).amax(-1), (length * neg).amax(-1)


class FlatInteraction:
    """Encoder and decoder of AFI with their options (see :class:`~.afi.AFIPostProcessor`
    for each argument's meaning and the reference's value)."""

    def __init__(self, num_centres: Sequence[int] = (1365, 455, 151, 50), k: int = 20,
                 num_directions: int = 20, gamma: float = 0.995, self_weight: float = 0.1,
                 decoder_k: int = 6, skip_weights: Sequence[float] = (0.01, 0.01, 0.3, 0.01),
                 backend: str = 'auto', lattice: str = 'midpoint', fps_start: str = 'random',
                 centre_in_knn: bool = False, bin_features: str = 'mean',
                 extents: str = 'weighted', coincident_weight: float = 1.0,
                 unreached: str = 'keep') -> None:
        if len(skip_weights) != len(num_centres):
            raise ValueError(f'AFI: skip_weights needs one λ per stage ({len(num_centres)}), '
                             f'got {len(skip_weights)}')
        options = dict(fps_start=fps_start, bin_features=bin_features, extents=extents,
                       unreached=unreached, lattice=lattice)
        for name, value in options.items():
            if value not in CHOICES[name]:
                raise ValueError(f'AFI: {name} must be one of {CHOICES[name]}, got {value!r}')
        self.backend = backend
        self.fps_start, self.bin_features, self.lattice = fps_start, bin_features, lattice
        self.extents, self.unreached = extents, unreached
        self.centre_in_knn = bool(centre_in_knn)
        self.coincident_weight = float(coincident_weight)
        self.num_centres = tuple(int(m) for m in num_centres)
        self.k, self.decoder_k = int(k), int(decoder_k)
        self.num_directions, self.gamma = int(num_directions), float(gamma)
        self.self_weight = float(self_weight)
        self.skip_weights = tuple(float(s) for s in skip_weights)

    def compiled(self, xyz: Tensor) -> bool:
        """Whether the CPU kernels run for points on ``xyz``'s device."""
        return xyz.device.type == 'cpu' and self.backend == 'auto'

    def argmax(self, x: Tensor) -> Tensor:
        """``x.argmax(-1)``; a compiled loop on CPU with ``backend='auto'``."""
        return argmax_last(x) if self.compiled(x) else x.argmax(-1)

    def fps_first(self, n: int, gen: torch.Generator) -> int:
        """Start point of an FPS stage over ``n`` points (drawn from ``gen`` unless 'first')."""
        if self.fps_start == 'first':
            return 0
        return int(torch.randint(n, (1, ), generator=gen))

    def propagate(self, xyz: Tensor, x0: Tensor, gen: torch.Generator,
                  levels_out: Optional[list] = None, start: Optional[int] = None,
                  first: Optional[Tensor] = None) -> Tensor:
        """Encoder then decoder; ``levels_out``, if a list, receives the levels and the
        decoder's input features of each step (for tests). ``start`` / ``first``: the first
        stage's FPS start point / centres when already drawn / sampled."""
        directions = fibonacci_directions(self.num_directions, xyz.device,
                                          lattice=self.lattice)
        levels = [Level(xyz, x0)]
        for stage, m in enumerate(self.num_centres):
            prev = levels[-1]
            if prev.xyz.shape[0] <= 1:
                break
            levels.append(self.encode(prev, min(m, prev.xyz.shape[0]), stage, directions,
                                      gen, start=start if stage == 0 else None,
                                      centre=first if stage == 0 else None))
        # decoder: coarse → fine, λ of the step from level s to s-1
        feat = levels[-1].feat
        for s in range(len(levels) - 1, 0, -1):
            lam = self.skip_weights[len(self.num_centres) - s]
            if levels_out is not None:
                levels_out.append((levels[s], feat, levels[s - 1]))
            feat = self.decode(levels[s], feat, levels[s - 1], lam)
        return feat

    def encode(self, prev: Level, m: int, stage: int, directions: Tensor,
               gen: torch.Generator, start: Optional[int] = None,
               centre: Optional[Tensor] = None) -> Level:
        """One encoder stage: FPS centres of ``prev``, kNN, direction bins, pooling."""
        if centre is None:
            if start is None:
                start = self.fps_first(prev.xyz.shape[0], gen)
            centre = farthest_point_sample(prev.xyz, m, start=start, backend=self.backend)
        if self.centre_in_knn:      # the centre is its own nearest neighbour (offset 0)
            k = min(self.k, prev.xyz.shape[0])
            nbr = knn(prev.xyz, rows(prev.xyz, centre), k, backend=self.backend)       # (M, k)
        else:
            k = min(self.k, prev.xyz.shape[0] - 1)
            nbr = knn(prev.xyz, rows(prev.xyz, centre), k + 1, backend=self.backend)[:, 1:]
        offset = rows(prev.xyz, nbr) - rows(prev.xyz, centre)[:, None]          # (M, k, 3)
        dist = offset.norm(dim=-1)
        unit = offset / dist.clamp_min(EPS)[..., None]
        bins = self.argmax(direction_cosines(unit, directions))               # (M, k)
        live = dist > EPS
        if prev.bin_unit is None:   # stage 1: every neighbour counts once
            w = live.float()
        else:
            compiled = self.compiled(prev.xyz)
            occupied = self.extents == 'occupied'
            a_c, ec_pos, ec_neg = prev.alignment(centre[:, None].expand_as(nbr), unit,
                                                 self.gamma, compiled=compiled,
                                                 occupied=occupied)
            a_j, ej_pos, ej_neg = prev.alignment(nbr, unit, self.gamma, compiled=compiled,
                                                 occupied=occupied)
            both = (ec_pos + ec_neg > 0) & (ej_pos + ej_neg > 0)
            ratio = (ec_pos + ec_neg + ej_pos + ej_neg) / (dist + ec_neg + ej_pos).clamp_min(EPS)
            w = a_c * a_j * ratio * both * live
        total = w.sum(1)                                                      # (M,)
        if prev.bin_unit is None:
            kappa = torch.ones_like(total)
        else:
            kappa = total / total.mean().clamp_min(EPS)
        # per-bin statistics by scatter-add over (centre, bin)
        d = directions.shape[0]
        flat_bin = (torch.arange(m, device=bins.device)[:, None] * d + bins).reshape(-1)
        count = torch.zeros(m * d, device=prev.xyz.device).index_add_(
            0, flat_bin, live.reshape(-1).float())
        wsum = torch.zeros(m * d, device=prev.xyz.device).index_add_(0, flat_bin, w.reshape(-1))
        off_sum = torch.zeros(m * d, 3, device=prev.xyz.device).index_add_(
            0, flat_bin, (offset * live[..., None]).reshape(-1, 3))
        if self.bin_features == 'sum':   # every member's feature, the centre's too
            nfeat = rows(prev.feat, nbr)
        else:
            nfeat = l1_normalise(rows(prev.feat, nbr)) * live[..., None]
        feat_sum = torch.zeros(m * d, nfeat.shape[-1], device=prev.xyz.device).index_add_(
            0, flat_bin, nfeat.reshape(-1, nfeat.shape[-1]))
        count = count.view(m, d)
        bin_offset = (off_sum.view(m, d, 3) / count.clamp_min(1)[..., None])
        if self.bin_features == 'sum':
            bin_feat = l1_normalise(feat_sum.view(m, d, -1))
        else:
            bin_feat = feat_sum.view(m, d, -1) / count.clamp_min(1)[..., None]
        bin_weight = wsum.view(m, d) / total.clamp_min(EPS)[:, None]
        # pooling: closer bins weigh more
        pool = l1_normalise(bin_weight / bin_offset.norm(dim=-1).clamp_min(EPS))
        agg = torch.einsum('md,mdc->mc', pool, bin_feat)
        feat = kappa[:, None] * agg + self.self_weight * rows(prev.feat, centre)
        if self.unreached == 'interpolate':
            # a centre nothing reaches: the element-wise max of its neighbours' features
            empty = feat.sum(1) <= 0
            feat = torch.where(empty[:, None], rows(prev.feat, nbr).amax(1), feat)
        feat = l1_normalise(feat)
        return Level(rows(prev.xyz, centre), feat, bin_offset, bin_weight)

    def decode(self, coarse: Level, coarse_feat: Tensor, fine: Level, lam: float) -> Tensor:
        """Fine features from the ``decoder_k`` nearest coarse points (direction-weighted)."""
        k = min(self.decoder_k, coarse.xyz.shape[0])
        nbr = knn(coarse.xyz, fine.xyz, k, backend=self.backend)  # (N, k)
        if self.compiled(fine.xyz):
            mixed = np.zeros((nbr.shape[0], coarse_feat.shape[1]), np.float32)
            w_total = np.empty(nbr.shape[0], np.float32)
            decode_kernel(fine.xyz.contiguous().numpy(), coarse.xyz.contiguous().numpy(),
                          nbr.numpy(), coarse.bin_weight.contiguous().numpy(),
                          coarse.bin_unit.contiguous().numpy(),
                          coarse_feat.float().contiguous().numpy(), np.float32(self.gamma),
                          np.float32(self.coincident_weight), mixed, w_total)
            out = torch.from_numpy(mixed) + lam * torch.from_numpy(w_total).mean() * fine.feat
        else:
            offset = fine.xyz[:, None] - rows(coarse.xyz, nbr)                      # coarse → fine
            dist = offset.norm(dim=-1)
            unit = offset / dist.clamp_min(EPS)[..., None]
            a, _, _ = coarse.alignment(nbr, unit, self.gamma, extents=False)
            a = torch.where(dist <= EPS, torch.full_like(a, self.coincident_weight), a)
            w_total = a.sum(1)
            mixed = torch.einsum('nk,nkc->nc', a, rows(coarse_feat, nbr))
            out = mixed + lam * w_total.mean() * fine.feat
        if self.unreached == 'interpolate':
            # a fine point nothing reaches: the plain mean of its coarse neighbours
            empty = out.sum(1) <= 0
            out = torch.where(empty[:, None], rows(coarse_feat, nbr).mean(1), out)
        return l1_normalise(out)
