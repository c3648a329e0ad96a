"""Ground and ego handling of AFI (SPEC §5): a RANSAC ground plane on a window near the
car, its inliers kept to flat classes, and the ego points (r ≤ ego_radius).

``g`` is the processor's ``ground`` dict (see :class:`~.afi.AFIPostProcessor`); ``fit``
``'triplet'`` (default) or ``'lstsq'`` (the reference's scikit-learn ``RANSACRegressor``).
"""
from typing import Dict, Tuple

import torch
from torch import Tensor

from .directions import EPS

CHOICES = dict(inliers=('plane', 'window'), fit=('triplet', 'lstsq'))


def validate(g: Dict) -> Dict:
    """A copy of the ground dict, its choices checked."""
    g = dict(g)
    for name, choices in CHOICES.items():
        value = g.get(name, choices[0])
        if value not in choices:
            raise ValueError(f'AFI: ground.{name} must be one of {choices}, got {value!r}')
    return g


def window(xyz: Tensor, g: Dict) -> Tuple[Tensor, Tensor]:
    """Ego points (N,) bool and the indices of the RANSAC window's points."""
    r = xyz[:, :2].norm(dim=1)
    ego = r <= g.get('ego_radius', 2.0)
    cand = torch.nonzero((r > g.get('r_min', 2.0)) & (r < g.get('r_max', 5.0))
                         & (xyz[:, 2] < g.get('z_max', -1.4))).squeeze(1)
    return ego, cand


def ground_and_ego(xyz: Tensor, g: Dict, gen: torch.Generator) -> Tuple[Tensor, Tensor]:
    """RANSAC ground-plane inliers and ego points, (N,) bool each."""
    ego, cand = window(xyz, g)
    inliers = torch.zeros_like(ego)
    if g.get('fit', 'triplet') == 'lstsq':
        residual = fit_lstsq(xyz, cand, g, gen)
        if residual is None:
            return inliers, ego
        near = residual(xyz) <= g.get('inlier_dist', 0.2)
    else:
        if cand.numel() < 3:
            return inliers, ego
        normal, offset = fit_triplet(xyz, cand, g, gen)
        near = (xyz @ normal + offset).abs() < g.get('inlier_dist', 0.2)
    if g.get('inliers', 'plane') == 'window':
        inliers[cand] = near[cand]
    else:
        inliers = near
    return inliers, ego


def fit_triplet(xyz: Tensor, cand: Tensor, g: Dict,
                gen: torch.Generator) -> Tuple[Tensor, Tensor]:
    """Best plane (normal, offset) through 3 random window points, by inlier count."""
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


def fit_lstsq(xyz: Tensor, cand: Tensor, g: Dict, gen: torch.Generator):
    """scikit-learn's RANSACRegressor with a LinearRegression, as the reference uses it:
    per trial, z = a·x + b·y + c fitted to ``min_samples`` window points drawn without
    replacement; inliers by vertical residual ≤ inlier_dist; the trial with the most
    inliers wins. Returns the residual function |z − ẑ| of the winner (refitted to its
    inliers with ``refit``), or None when the window has too few points."""
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


def restrict_to_flat(out: Tensor, feat: Tensor, labels: Tensor, labelled: Tensor,
                     inliers: Tensor, g: Dict, num_classes: int) -> Tensor:
    """Ground-plane inliers take flat classes only: the best flat class of their feature,
    else the scan's most frequent flat label on the plane."""
    flat_ids = torch.as_tensor(list(g.get('flat_classes', [])), dtype=torch.long,
                               device=out.device)
    if flat_ids.numel() == 0:
        return out
    flat = torch.zeros(num_classes, dtype=torch.bool, device=out.device)
    flat[flat_ids] = True
    on_flat = labelled & flat[labels.clamp(0, num_classes - 1)]
    counts = torch.bincount(labels[inliers & on_flat], minlength=num_classes)[flat_ids]
    fallback = flat_ids[counts.argmax()]
    flat_feat = feat[inliers] * flat
    ground = torch.where(flat_feat.sum(1) > 0, flat_feat.argmax(1), fallback)
    if g.get('keep_flat_labels', False):
        # a flat-class prediction on the ground plane is kept as it is
        ground = torch.where(on_flat[inliers], labels[inliers], ground)
    out = out.clone()
    out[inliers] = ground
    return out
