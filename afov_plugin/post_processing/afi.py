"""Approximate Flat Interaction (AFI): a non-parametric label post-processor (SPEC §5).

Data flow for one scan (batched tensor ops on the scan's device; on CPU the hot spots run as
compiled kernels, see docs/afi.md):

    labels (N,) ──one-hot──> x⁰ (N, C)
    encoder ×4: FPS centres (1365, 455, 151, 50) ─> kNN (k=20) ─> Fibonacci direction bins
                ─> flat-interaction weights ─> pooled centre features
    decoder ×4: 50→151→455→1365→N, 6 nearest coarse points weighted by direction alignment
    argmax ─> labels (N,)

Where the paper (Appendix A) and the reference implementation differ, the reference is
followed. The defaults are the demo's choices; options (``lattice``, ``fps_start``,
``centre_in_knn``, ``bin_features``, ``extents``, ``coincident_weight``, ``unreached``,
``ground.inliers`` / ``ground.fit``) reproduce the reference exactly (``afi_reference``,
configs/_base_/post_processing/afi.py). Every departure and its reason: ``docs/afi.md``.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numba
import numpy as np
import torch
from torch import Tensor

from mmdet3d.registry import MODELS

from .neighbours import _mmcv_op, farthest_point_sample, farthest_point_sample_batch, knn

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


def bin_directions(offsets: Tensor, directions: Tensor) -> Tensor:
    """Index of the closest lattice direction (max cosine) of each offset, (...,)."""
    return torch.einsum('...c,dc->...d', offsets, directions).argmax(-1)


def _l1_normalise(x: Tensor) -> Tensor:
    return x / x.sum(-1, keepdim=True).clamp_min(EPS)


@numba.njit(cache=True, nogil=True)
def _bin_alignment(weight: np.ndarray, bin_unit: np.ndarray, bin_length: np.ndarray, j: int,
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
def _alignment_kernel(idx: np.ndarray, unit: np.ndarray, weight: np.ndarray,
                      bin_unit: np.ndarray, bin_length: np.ndarray, gamma: float,
                      extents: bool, occupied: bool, a: np.ndarray, e_pos: np.ndarray,
                      e_neg: np.ndarray) -> None:
    """CPU form of :meth:`_Level.alignment` over flat pairs: (P,) ``idx``, (P, 3) ``unit``;
    only live bins are visited, where the torch form gathers all D bins of every pair."""
    for p in range(idx.shape[0]):
        total, longest_pos, longest_neg = _bin_alignment(
            weight, bin_unit, bin_length, idx[p], unit[p, 0], unit[p, 1], unit[p, 2], gamma,
            occupied)
        a[p] = total
        if extents:
            e_pos[p], e_neg[p] = longest_pos, longest_neg


@numba.njit(cache=True, nogil=True, parallel=True)
def _decode_kernel(fine_xyz: np.ndarray, coarse_xyz: np.ndarray, nbr: np.ndarray,
                   weight: np.ndarray, bin_unit: np.ndarray, bin_length: np.ndarray,
                   coarse_feat: np.ndarray, gamma: float, coincident: float,
                   mixed: np.ndarray, w_total: np.ndarray) -> None:
    """CPU form of the decoder's mixing (see :meth:`AFIPostProcessor._decode`): for each fine
    point, Σ_j A_j·feat_j over its (k,) coarse neighbours ``nbr``, into ``mixed`` (N, C), and
    Σ_j A_j into ``w_total`` (N,), without (N, k, D, 3) temporaries. Fine points are
    independent: they are split over numba's threads."""
    eps = np.float32(EPS)
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
            else:                                     # |cos| > γ without dividing
                a = _bin_alignment(weight, bin_unit, bin_length, j, o0, o1, o2,
                                   gamma * dist, False)[0]
            total += a
            for c in range(coarse_feat.shape[1]):
                mixed[i, c] += a * coarse_feat[j, c]
        w_total[i] = total


class _Level:
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
            _alignment_kernel(flat_idx, unit.reshape(-1, 3).contiguous().numpy(),
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


_CHOICES = dict(fps_start=('random', 'first'), bin_features=('mean', 'sum'),
                lattice=('midpoint', 'endpoint'),
                extents=('weighted', 'occupied'), unreached=('keep', 'interpolate'))
_GROUND_CHOICES = dict(inliers=('plane', 'window'), fit=('triplet', 'lstsq'))


@MODELS.register_module()
class AFIPostProcessor:
    """Approximate Flat Interaction over per-point labels of a batch of scans.

    Args:
        num_classes: C, number of classes of the labels.
        num_centres: FPS centres of the encoder stages.
        k: neighbours per centre in the encoder.
        num_directions: D, Fibonacci lattice size.
        gamma: |cos| above which two directions count as parallel (0.995 ≈ 5.7°).
        self_weight: weight of a centre's own previous feature in pooling (reference 0.1).
        decoder_k: coarse points per fine point in the decoder.
        skip_weights: λ of each decoder step, coarse → fine, first = 50→151; the reference
            uses 0.3 for 455→1365 and 0.01 otherwise.
        ground: ``None`` or dict(r_min=2., r_max=5., z_max=-1.4, ego_radius=2.,
            inlier_dist=0.2, iterations=64, flat_classes=[...]): RANSAC ground plane on the
            window r_min < r < r_max, z < z_max; plane inliers and ego points
            (r ≤ ego_radius) get zero features, and inliers may only take ``flat_classes`` at
            the end (nuScenes: 10, 11, 12, 13).
            ``zero_inliers`` (reference: True) zeroes the inliers' features;
            ``keep_flat_labels`` (reference: False) keeps a flat-class label on an inlier;
            ``refit`` (reference: False) refits the plane to the best sample's inliers by
            least squares before the inliers are taken;
            ``inliers``: ``'plane'`` (default) the inliers are every point of the scan near
            the plane, ``'window'`` (reference) only the window's points near it;
            ``fit``: ``'triplet'`` (default) planes through 3 random window points, inliers
            by perpendicular distance < inlier_dist; ``'lstsq'`` (reference, scikit-learn's
            ``RANSACRegressor``) z = a·x + b·y + c fitted by least squares to
            ``min_samples`` (10) random window points per trial, inliers by vertical
            residual ≤ inlier_dist.
        covering: ``None`` or dict(beta=4., distance=20., classes=[...]): replace the
            prediction of points whose pseudo-label is in ``classes`` with probability
            sigmoid(ln β·(1 − r/distance)), r the horizontal range.
        ignore_index: label value meaning "no label" (zero features); negatives too.
        seed: seed of the FPS start points, RANSAC and covering (deterministic results).
        backend: ``'auto'`` (compiled FPS, kNN and alignment kernels on CPU; on CUDA mmcv's
            FPS / kNN ops where mmcv has them, else torch) or ``'torch'`` (the pure torch
            CUDA code path on any device).
        lattice: Fibonacci lattice of the D directions, ``'midpoint'`` (default) or
            ``'endpoint'`` (reference; see :func:`fibonacci_directions`).
        fps_start: ``'random'`` (default: a seeded random start point per stage) or
            ``'first'`` (reference, pointnet2's CUDA FPS: point 0).
        centre_in_knn: the centre counts as one of its own ``k`` neighbours (reference: True,
            so 19 others; its feature joins the sum of bin 0, its zero offset counts nowhere).
        bin_features: ``'mean'`` (default) a bin's feature is the mean of its neighbours'
            L1-normalised features; ``'sum'`` (reference) the L1-normalised sum of their
            features (zero-feature neighbours do not dilute it).
        extents: ``'weighted'`` (default) the extents e± come from aligned bins of non-zero
            weight; ``'occupied'`` (reference) from every aligned bin holding a neighbour.
        coincident_weight: decoder weight of a coarse point at the fine point's own position
            (default 1; reference 0: a zero offset is aligned with no direction).
        unreached: what a point gets when no labelled point reaches it (all-zero feature):
            ``'keep'`` (default) its input label at the end; ``'interpolate'`` (reference)
            at every level, the element-wise max of its k neighbours' features (encoder
            centre) or the mean of its ``decoder_k`` nearest coarse points' features
            (decoder), which is what the reference's 1e-8 terms amount to.
        keep_agreeing: ``None`` (default) or dict(k=4, min_share=0.25): a point keeps its
            input label where at least ``min_share`` of its ``k`` nearest neighbours carry
            the same input label; with the defaults AFI only rewrites isolated labels (none
            of the 4 nearest neighbours shares them). A label its neighbourhood confirms is
            one AFI cannot show to be wrong: rewriting it only smooths boundaries and small
            objects away, or spreads a confidently wrong region. See docs/afi.md, "Labels
            the neighbourhood confirms".
    """

    def __init__(self, num_classes: int,
                 num_centres: Sequence[int] = (1365, 455, 151, 50), k: int = 20,
                 num_directions: int = 20, gamma: float = 0.995, self_weight: float = 0.1,
                 decoder_k: int = 6, skip_weights: Sequence[float] = (0.01, 0.01, 0.3, 0.01),
                 ground: Optional[Dict] = None, covering: Optional[Dict] = None,
                 ignore_index: Optional[int] = None, seed: int = 0,
                 backend: str = 'auto', lattice: str = 'midpoint', fps_start: str = 'random',
                 centre_in_knn: bool = False, bin_features: str = 'mean',
                 extents: str = 'weighted', coincident_weight: float = 1.0,
                 unreached: str = 'keep', keep_agreeing: Optional[Dict] = None) -> None:
        if backend not in ('auto', 'torch'):
            raise ValueError(f"AFI: backend must be 'auto' or 'torch', got {backend!r}")
        self.backend = backend
        if len(skip_weights) != len(num_centres):
            raise ValueError(f'AFI: skip_weights needs one λ per stage ({len(num_centres)}), '
                             f'got {len(skip_weights)}')
        options = dict(fps_start=fps_start, bin_features=bin_features, extents=extents,
                       unreached=unreached, lattice=lattice)
        for name, value in options.items():
            if value not in _CHOICES[name]:
                raise ValueError(f'AFI: {name} must be one of {_CHOICES[name]}, got {value!r}')
        self.fps_start, self.bin_features, self.lattice = fps_start, bin_features, lattice
        self.extents, self.unreached = extents, unreached
        self.centre_in_knn = bool(centre_in_knn)
        self.coincident_weight = float(coincident_weight)
        self.num_classes = num_classes
        self.num_centres = tuple(int(m) for m in num_centres)
        self.k, self.decoder_k = int(k), int(decoder_k)
        self.num_directions, self.gamma = int(num_directions), float(gamma)
        self.self_weight = float(self_weight)
        self.skip_weights = tuple(float(s) for s in skip_weights)
        self.ground = dict(ground) if ground is not None else None
        if self.ground is not None:
            for name, choices in _GROUND_CHOICES.items():
                value = self.ground.get(name, choices[0])
                if value not in choices:
                    raise ValueError(f'AFI: ground.{name} must be one of {choices}, '
                                     f'got {value!r}')
        self.covering = dict(covering) if covering is not None else None
        self.keep_agreeing = dict(keep_agreeing) if keep_agreeing is not None else None
        self.ignore_index = ignore_index
        self.seed = seed

    # ------------------------------------------------------------------ public API
    def __call__(self, points: List[Tensor], labels: List[Tensor],
                 pseudo_labels: Optional[List[Optional[Tensor]]] = None) -> List[Tensor]:
        """Refine the labels of a batch of scans of any sizes.

        Args:
            points: per scan (N_i, ≥3) xyz first. labels: per scan (N_i,) long.
            pseudo_labels: optional per scan (N_i,) teacher labels for covering.
        Returns:
            per scan (N_i,) long refined labels, on the input's device.
        """
        if pseudo_labels is None:
            pseudo_labels = [None] * len(points)
        states = [self._prepare(p, lab, q) for p, lab, q in zip(points, labels, pseudo_labels)]
        first = self._first_centres_batched(states)
        return [self._finish(st, c) for st, c in zip(states, first)]

    @torch.no_grad()
    def refine(self, points: Tensor, labels: Tensor,
               pseudo_labels: Optional[Tensor] = None) -> Tensor:
        """Refine one scan: points (N, ≥3), labels (N,) → (N,) long."""
        return self._finish(self._prepare(points, labels, pseudo_labels))

    @torch.no_grad()
    def _prepare(self, points: Tensor, labels: Tensor, pseudo_labels: Optional[Tensor]) -> dict:
        """Covering, ground / ego and the input features of one scan, and the start point of
        its first FPS stage (drawn here, in the order ``refine`` always drew it)."""
        xyz = points[:, :3].float().contiguous()
        labels = labels.long()
        n = xyz.shape[0]
        if labels.shape[0] != n:
            raise ValueError(f'AFI: {n} points but {labels.shape[0]} labels')
        if n == 0:
            return dict(n=0, labels=labels)
        gen = torch.Generator(device='cpu').manual_seed(self.seed)
        # its own random stream: switching covering on leaves FPS and RANSAC draws as they are
        labels = self._cover(xyz, labels, pseudo_labels,
                             torch.Generator(device='cpu').manual_seed(self.seed + 1))
        valid = (labels >= 0) & (labels < self.num_classes)
        if self.ignore_index is not None:
            valid &= labels != self.ignore_index
        labelled = valid.clone()
        inliers = None
        if self.ground is not None:
            inliers, ego = self._ground_and_ego(xyz, gen)
            valid &= ~ego
            if self.ground.get('zero_inliers', True):
                valid &= ~inliers
        x0 = torch.zeros(n, self.num_classes, device=xyz.device)
        x0[valid, labels[valid]] = 1.0
        start = self._fps_first(n, gen) if n > 1 and self.num_centres else None
        return dict(n=n, xyz=xyz, labels=labels, labelled=labelled, inliers=inliers, x0=x0,
                    gen=gen, start=start)

    @torch.no_grad()
    def _finish(self, st: dict, first: Optional[Tensor] = None) -> Tensor:
        """Propagation and the final labels of a prepared scan; ``first``: its first-stage
        FPS centres if already sampled (batched)."""
        if st['n'] == 0:
            return st['labels'].clone()
        xyz, labels, labelled, inliers = st['xyz'], st['labels'], st['labelled'], st['inliers']
        feat = self._propagate(xyz, st['x0'], st['gen'], start=st['start'], first=first)
        out = torch.where(feat.sum(1) > 0, feat.argmax(1), labels)  # unreached: input label
        if inliers is not None:
            out = self._restrict_ground(out, feat, labels, labelled, inliers)
        if self.keep_agreeing is not None:
            out = self._keep_agreeing(xyz, labels, labelled, out)
        return out

    def _fps_first(self, n: int, gen: torch.Generator) -> int:
        if self.fps_start == 'first':
            return 0
        return int(torch.randint(n, (1, ), generator=gen))

    def _first_centres_batched(self, states: List[dict]) -> List[Optional[Tensor]]:
        """First-stage FPS centres of every scan of the batch in one padded call of
        :func:`farthest_point_sample_batch`, on the torch path (``backend='torch'``, or CUDA
        without mmcv's FPS); the same indices as scan by scan. None where not batched."""
        first: List[Optional[Tensor]] = [None] * len(states)
        if not self.num_centres:
            return first
        m = self.num_centres[0]
        idx = [i for i, st in enumerate(states) if st['n'] > m and st['start'] is not None]
        if len(idx) < 2:
            return first
        xyz = [states[i]['xyz'] for i in idx]
        dev = xyz[0].device
        if any(x.device != dev for x in xyz) or self._compiled(xyz[0]) or (
                xyz[0].is_cuda and self.backend == 'auto'
                and _mmcv_op('furthest_point_sample') is not None):
            return first
        lengths = torch.tensor([x.shape[0] for x in xyz], device=dev)
        pad = xyz[0].new_zeros((len(xyz), int(lengths.max()), 3))
        for b, x in enumerate(xyz):
            pad[b, :x.shape[0]] = x
        starts = torch.tensor([states[i]['start'] for i in idx], device=dev)
        out = farthest_point_sample_batch(pad, m, lengths, starts)
        for b, i in enumerate(idx):
            first[i] = out[b]
        return first

    def agreement(self, xyz: Tensor, labels: Tensor, labelled: Tensor, k: int) -> Tensor:
        """Share (N,) of each point's ``k`` nearest other points carrying its label (0 for
        unlabelled points)."""
        n = xyz.shape[0]
        k = min(int(k), n - 1)
        if k <= 0:
            return torch.zeros(n, device=xyz.device)
        nbr = knn(xyz, xyz, k + 1, backend=self.backend)[:, 1:]
        same = (labels[nbr] == labels[:, None]) & labelled[nbr]
        return same.float().mean(1) * labelled

    def _keep_agreeing(self, xyz: Tensor, labels: Tensor, labelled: Tensor,
                       out: Tensor) -> Tensor:
        """Input labels that at least ``min_share`` of the point's neighbours share stay."""
        c = self.keep_agreeing
        share = self.agreement(xyz, labels, labelled, c.get('k', 4))
        keep = labelled & (share >= c.get('min_share', 0.25))
        return torch.where(keep, labels, out)

    def _restrict_ground(self, out: Tensor, feat: Tensor, labels: Tensor, labelled: Tensor,
                         inliers: Tensor) -> Tensor:
        """Ground-plane inliers take flat classes only: the best flat class of their feature,
        else the scan's most frequent flat label on the plane."""
        flat_ids = torch.as_tensor(list(self.ground.get('flat_classes', [])), dtype=torch.long,
                                   device=out.device)
        if flat_ids.numel() == 0:
            return out
        flat = torch.zeros(self.num_classes, dtype=torch.bool, device=out.device)
        flat[flat_ids] = True
        on_flat = labelled & flat[labels.clamp(0, self.num_classes - 1)]
        counts = torch.bincount(labels[inliers & on_flat], minlength=self.num_classes)[flat_ids]
        fallback = flat_ids[counts.argmax()]
        flat_feat = feat[inliers] * flat
        ground = torch.where(flat_feat.sum(1) > 0, flat_feat.argmax(1), fallback)
        if self.ground.get('keep_flat_labels', False):
            # a flat-class prediction on the ground plane is kept as it is
            ground = torch.where(on_flat[inliers], labels[inliers], ground)
        out = out.clone()
        out[inliers] = ground
        return out

    # ------------------------------------------------------------------ steps
    def _compiled(self, xyz: Tensor) -> bool:
        return xyz.device.type == 'cpu' and self.backend == 'auto'

    def _propagate(self, xyz: Tensor, x0: Tensor, gen: torch.Generator,
                   levels_out: Optional[list] = None, start: Optional[int] = None,
                   first: Optional[Tensor] = None) -> Tensor:
        """Encoder then decoder; ``levels_out``, if a list, receives the levels and the
        decoder's input features of each step (for tests). ``start`` / ``first``: the first
        stage's FPS start point / centres when already drawn / sampled."""
        directions = fibonacci_directions(self.num_directions, xyz.device,
                                          lattice=self.lattice)
        levels = [_Level(xyz, x0)]
        for stage, m in enumerate(self.num_centres):
            prev = levels[-1]
            if prev.xyz.shape[0] <= 1:
                break
            levels.append(self._encode(prev, min(m, prev.xyz.shape[0]), stage, directions,
                                       gen, start=start if stage == 0 else None,
                                       centre=first if stage == 0 else None))
        # decoder: coarse → fine, λ of the step from level s to s-1
        feat = levels[-1].feat
        for s in range(len(levels) - 1, 0, -1):
            lam = self.skip_weights[len(self.num_centres) - s]
            if levels_out is not None:
                levels_out.append((levels[s], feat, levels[s - 1]))
            feat = self._decode(levels[s], feat, levels[s - 1], lam)
        return feat

    def _encode(self, prev: _Level, m: int, stage: int, directions: Tensor,
                gen: torch.Generator, start: Optional[int] = None,
                centre: Optional[Tensor] = None) -> _Level:
        """One encoder stage: FPS centres of ``prev``, kNN, direction bins, pooling."""
        if centre is None:
            if start is None:
                start = self._fps_first(prev.xyz.shape[0], gen)
            centre = farthest_point_sample(prev.xyz, m, start=start, backend=self.backend)
        if self.centre_in_knn:      # the centre is its own nearest neighbour (offset 0)
            k = min(self.k, prev.xyz.shape[0])
            nbr = knn(prev.xyz, prev.xyz[centre], k, backend=self.backend)       # (M, k)
        else:
            k = min(self.k, prev.xyz.shape[0] - 1)
            nbr = knn(prev.xyz, prev.xyz[centre], k + 1, backend=self.backend)[:, 1:]
        offset = prev.xyz[nbr] - prev.xyz[centre, None]                       # (M, k, 3)
        dist = offset.norm(dim=-1)
        unit = offset / dist.clamp_min(EPS)[..., None]
        bins = bin_directions(unit, directions)                               # (M, k)
        live = dist > EPS
        if prev.bin_unit is None:   # stage 1: every neighbour counts once
            w = live.float()
        else:
            compiled = self._compiled(prev.xyz)
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
            nfeat = prev.feat[nbr]
        else:
            nfeat = _l1_normalise(prev.feat[nbr]) * live[..., None]
        feat_sum = torch.zeros(m * d, nfeat.shape[-1], device=prev.xyz.device).index_add_(
            0, flat_bin, nfeat.reshape(-1, nfeat.shape[-1]))
        count = count.view(m, d)
        bin_offset = (off_sum.view(m, d, 3) / count.clamp_min(1)[..., None])
        if self.bin_features == 'sum':
            bin_feat = _l1_normalise(feat_sum.view(m, d, -1))
        else:
            bin_feat = feat_sum.view(m, d, -1) / count.clamp_min(1)[..., None]
        bin_weight = wsum.view(m, d) / total.clamp_min(EPS)[:, None]
        # pooling: closer bins weigh more
        pool = _l1_normalise(bin_weight / bin_offset.norm(dim=-1).clamp_min(EPS))
        agg = torch.einsum('md,mdc->mc', pool, bin_feat)
        feat = kappa[:, None] * agg + self.self_weight * prev.feat[centre]
        if self.unreached == 'interpolate':
            # a centre nothing reaches: the element-wise max of its neighbours' features
            empty = feat.sum(1) <= 0
            feat = torch.where(empty[:, None], prev.feat[nbr].amax(1), feat)
        feat = _l1_normalise(feat)
        return _Level(prev.xyz[centre], feat, bin_offset, bin_weight)

    def _decode(self, coarse: _Level, coarse_feat: Tensor, fine: _Level, lam: float) -> Tensor:
        """Fine features from the ``decoder_k`` nearest coarse points (direction-weighted)."""
        k = min(self.decoder_k, coarse.xyz.shape[0])
        nbr = knn(coarse.xyz, fine.xyz, k, backend=self.backend)  # (N, k)
        if self._compiled(fine.xyz):
            mixed = np.zeros((nbr.shape[0], coarse_feat.shape[1]), np.float32)
            w_total = np.empty(nbr.shape[0], np.float32)
            _decode_kernel(fine.xyz.contiguous().numpy(), coarse.xyz.contiguous().numpy(),
                           nbr.numpy(), coarse.bin_weight.contiguous().numpy(),
                           coarse.bin_unit.contiguous().numpy(),
                           coarse.bin_length.contiguous().numpy(),
                           coarse_feat.float().contiguous().numpy(), np.float32(self.gamma),
                           np.float32(self.coincident_weight), mixed, w_total)
            out = torch.from_numpy(mixed) + lam * torch.from_numpy(w_total).mean() * fine.feat
        else:
            offset = fine.xyz[:, None] - coarse.xyz[nbr]                      # coarse → fine
            dist = offset.norm(dim=-1)
            unit = offset / dist.clamp_min(EPS)[..., None]
            a, _, _ = coarse.alignment(nbr, unit, self.gamma, extents=False)
            a = torch.where(dist <= EPS, torch.full_like(a, self.coincident_weight), a)
            w_total = a.sum(1)
            mixed = torch.einsum('nk,nkc->nc', a, coarse_feat[nbr])
            out = mixed + lam * w_total.mean() * fine.feat
        if self.unreached == 'interpolate':
            # a fine point nothing reaches: the plain mean of its coarse neighbours
            empty = out.sum(1) <= 0
            out = torch.where(empty[:, None], coarse_feat[nbr].mean(1), out)
        return _l1_normalise(out)

    def _window(self, xyz: Tensor) -> Tuple[Tensor, Tensor]:
        """Ego points (N,) bool and the indices of the RANSAC window's points."""
        g = self.ground
        r = xyz[:, :2].norm(dim=1)
        ego = r <= g.get('ego_radius', 2.0)
        cand = torch.nonzero((r > g.get('r_min', 2.0)) & (r < g.get('r_max', 5.0))
                             & (xyz[:, 2] < g.get('z_max', -1.4))).squeeze(1)
        return ego, cand

    def _ground_and_ego(self, xyz: Tensor, gen: torch.Generator) -> Tuple[Tensor, Tensor]:
        """RANSAC ground-plane inliers and ego points, (N,) bool each."""
        g = self.ground
        ego, cand = self._window(xyz)
        inliers = torch.zeros_like(ego)
        if g.get('fit', 'triplet') == 'lstsq':
            residual = self._fit_lstsq(xyz, cand, gen)
            if residual is None:
                return inliers, ego
            near = residual(xyz) <= g.get('inlier_dist', 0.2)
        else:
            if cand.numel() < 3:
                return inliers, ego
            normal, offset = self._fit_triplet(xyz, cand, gen)
            near = (xyz @ normal + offset).abs() < g.get('inlier_dist', 0.2)
        if g.get('inliers', 'plane') == 'window':
            inliers[cand] = near[cand]
        else:
            inliers = near
        return inliers, ego

    def _fit_triplet(self, xyz: Tensor, cand: Tensor,
                     gen: torch.Generator) -> Tuple[Tensor, Tensor]:
        """Best plane (normal, offset) through 3 random window points, by inlier count."""
        g = self.ground
        iters = int(g.get('iterations', 64))
        pick = torch.randint(cand.numel(), (iters, 3), generator=gen).to(xyz.device)
        tri = xyz[cand[pick]]                                                 # (T, 3, 3)
        normal = torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=1)
        norm = normal.norm(dim=1, keepdim=True)
        ok = norm.squeeze(1) > EPS
        normal = normal / norm.clamp_min(EPS)
        offset = -(normal * tri[:, 0]).sum(1)
        thr = g.get('inlier_dist', 0.2)
        res = (xyz[cand] @ normal.T + offset).abs()                           # (Nc, T)
        score = ((res < thr).sum(0)) * ok
        best = int(score.argmax())
        normal, offset = normal[best], offset[best]
        if g.get('refit', False):
            # least-squares plane through the best triplet's inliers: a plane through three
            # noisy points tilts enough to drop far ground points out of a 0.1 m band
            near = xyz[cand[res[:, best] < thr]]
            if near.shape[0] >= 3:
                centre = near.mean(0)
                normal = torch.linalg.svd(near - centre, full_matrices=False)[2][-1]
                offset = -(normal * centre).sum()
        return normal, offset

    def _fit_lstsq(self, xyz: Tensor, cand: Tensor, gen: torch.Generator):
        """scikit-learn's RANSACRegressor with a LinearRegression, as the reference uses it:
        per trial, z = a·x + b·y + c fitted to ``min_samples`` window points drawn without
        replacement; inliers by vertical residual ≤ inlier_dist; the trial with the most
        inliers wins. Returns the residual function |z − ẑ| of the winner (refitted to its
        inliers with ``refit``), or None when the window has too few points."""
        g = self.ground
        ms, iters = int(g.get('min_samples', 10)), int(g.get('iterations', 20))
        if cand.numel() < max(ms, 3):
            return None
        pts = xyz[cand].double()
        design = torch.cat([pts[:, :2], torch.ones_like(pts[:, :1])], 1)        # (Nc, 3)
        pick = torch.rand(iters, cand.numel(), generator=gen).argsort(1)[:, :ms]
        pick = pick.to(xyz.device)
        coef = torch.linalg.lstsq(design[pick], pts[pick, 2:3]).solution      # (T, 3, 1)
        res = (pts[:, 2:3] - design @ coef.squeeze(-1).T).abs()              # (Nc, T)
        thr = g.get('inlier_dist', 0.2)
        best = int((res <= thr).sum(0).argmax())
        beta = coef[best, :, 0]
        if g.get('refit', False):
            keep = res[:, best] <= thr
            beta = torch.linalg.lstsq(design[keep], pts[keep, 2:3]).solution[:, 0]

        def residual(p: Tensor) -> Tensor:
            p = p.double()
            return (p[:, 2] - p[:, 0] * beta[0] - p[:, 1] * beta[1] - beta[2]).abs()

        return residual

    def _cover(self, xyz: Tensor, labels: Tensor, pseudo: Optional[Tensor],
               gen: torch.Generator) -> Tensor:
        if self.covering is None or pseudo is None:
            return labels
        c = self.covering
        pseudo = pseudo.to(labels.device).long()
        r = xyz[:, :2].norm(dim=1)
        p = torch.sigmoid(math.log(c.get('beta', 4.0)) * (1 - r / c.get('distance', 20.0)))
        cls = torch.zeros(self.num_classes + 1, dtype=torch.bool, device=labels.device)
        cls[list(c.get('classes', []))] = True
        is_obj = cls[pseudo.clamp(0, self.num_classes)] & (pseudo >= 0)
        draw = torch.rand(labels.shape[0], generator=gen).to(labels.device) < p
        return torch.where(is_obj & draw, pseudo, labels)
