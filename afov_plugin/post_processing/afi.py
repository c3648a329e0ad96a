"""Approximate Flat Interaction (AFI): a non-parametric label post-processor (SPEC §5).

Data flow for one scan (batched tensor ops on the scan's device; on CPU the hot spots run as
compiled kernels, see docs/afi.md), and the file that owns each step:

    labels (N,) ─covering─> labels            covering.py
    RANSAC ground plane, ego points           ground.py
    ─one-hot─> x⁰ (N, C)                      afi.py (this processor)
    encoder ×4: FPS centres (1365, 455, 151, 50) ─> kNN (k=20) ─> Fibonacci direction bins
                ─> flat-interaction weights ─> pooled centre features
                                              hierarchy.py, directions.py, neighbours.py
    decoder ×4: 50→151→455→1365→N, 6 nearest coarse points weighted by direction alignment
                                              hierarchy.py (CPU kernels: afi_kernels.py)
    argmax, ground inliers to flat classes ─> labels (N,)   afi.py, ground.py

Where the paper (Appendix A) and the reference implementation differ, the reference is
followed. The defaults are the demo's choices; options (``lattice``, ``fps_start``,
``centre_in_knn``, ``bin_features``, ``extents``, ``coincident_weight``, ``unreached``,
``ground.inliers`` / ``ground.fit``) reproduce the reference exactly (``afi_reference``,
configs/_base_/post_processing/afi.py). Every departure and its reason: ``docs/afi.md``.
"""
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

from mmdet3d.registry import MODELS

from .covering import cover
from .ground import ground_and_ego, restrict_to_flat, validate
from .hierarchy import FlatInteraction
from .neighbours import _mmcv_op, farthest_point_sample_batch, knn


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
        self.hierarchy = FlatInteraction(
            num_centres=num_centres, k=k, num_directions=num_directions, gamma=gamma,
            self_weight=self_weight, decoder_k=decoder_k, skip_weights=skip_weights,
            backend=backend, lattice=lattice, fps_start=fps_start, centre_in_knn=centre_in_knn,
            bin_features=bin_features, extents=extents, coincident_weight=coincident_weight,
            unreached=unreached)
        self.num_classes = num_classes
        self.ground = validate(ground) if ground is not None else None
        self.covering = dict(covering) if covering is not None else None
        self.keep_agreeing = dict(keep_agreeing) if keep_agreeing is not None else None
        self.ignore_index = ignore_index
        self.seed = seed

    @property
    def num_centres(self) -> tuple:
        return self.hierarchy.num_centres

    @property
    def gamma(self) -> float:
        return self.hierarchy.gamma

    @property
    def skip_weights(self) -> tuple:
        return self.hierarchy.skip_weights

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
        labels = cover(xyz, labels, pseudo_labels,
                       torch.Generator(device='cpu').manual_seed(self.seed + 1),
                       self.covering, self.num_classes)
        valid = (labels >= 0) & (labels < self.num_classes)
        if self.ignore_index is not None:
            valid &= labels != self.ignore_index
        labelled = valid.clone()
        inliers = None
        if self.ground is not None:
            inliers, ego = ground_and_ego(xyz, self.ground, gen)
            valid &= ~ego
            if self.ground.get('zero_inliers', True):
                valid &= ~inliers
        x0 = torch.zeros(n, self.num_classes, device=xyz.device)
        x0[valid, labels[valid]] = 1.0
        start = self.hierarchy.fps_first(n, gen) if n > 1 and self.num_centres else None
        return dict(n=n, xyz=xyz, labels=labels, labelled=labelled, inliers=inliers, x0=x0,
                    gen=gen, start=start)

    @torch.no_grad()
    def _finish(self, st: dict, first: Optional[Tensor] = None) -> Tensor:
        """Propagation and the final labels of a prepared scan; ``first``: its first-stage
        FPS centres if already sampled (batched)."""
        if st['n'] == 0:
            return st['labels'].clone()
        xyz, labels, labelled, inliers = st['xyz'], st['labels'], st['labelled'], st['inliers']
        feat = self.hierarchy.propagate(xyz, st['x0'], st['gen'], start=st['start'],
                                        first=first)
        # unreached points keep their input label
        out = torch.where(feat.sum(1) > 0, self.hierarchy.argmax(feat), labels)
        if inliers is not None:
            out = restrict_to_flat(out, feat, labels, labelled, inliers, self.ground,
                                   self.num_classes)
        if self.keep_agreeing is not None:
            out = self._keep_agreeing(xyz, labels, labelled, out)
        return out

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
        if any(x.device != dev for x in xyz) or self.hierarchy.compiled(xyz[0]) or (
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
