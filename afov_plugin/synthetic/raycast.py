"""Ray casting against the ground plane and oriented boxes of a scene (numpy, vectorised)."""
from typing import Optional, Tuple

import numpy as np

from .world import KINDS, Box, Scene

KIND_NAMES = list(KINDS)


def rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def box_corners(box: Box) -> np.ndarray:
    """(8, 3) world corners of a box."""
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    return (signs * box.size / 2) @ rot_z(box.yaw).T + box.center


def intersect_box(box: Box, origin: np.ndarray,
                  dirs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Entry distance of each ray into ``box`` (inf when missed) and |cos| of incidence.

    Slab test, one axis at a time on contiguous 1-D arrays (the hot loop of rendering).

    Args:
        origin: (3,), dirs: (R, 3) unit vectors, both in the world frame.
    """
    rot = rot_z(box.yaw)
    p = rot.T @ (origin - box.center)
    half = box.size / 2
    tmin = np.full(dirs.shape[0], -np.inf, dtype=dirs.dtype)
    tmax = np.full(dirs.shape[0], np.inf, dtype=dirs.dtype)
    cos = np.zeros(dirs.shape[0], dtype=dirs.dtype)
    with np.errstate(divide='ignore', invalid='ignore'):
        for a in range(3):
            d = dirs @ rot[:, a].astype(dirs.dtype)
            inv = 1.0 / d
            t1 = (-half[a] - p[a]) * inv
            t2 = (half[a] - p[a]) * inv
            near = np.minimum(t1, t2)
            entering = near > tmin
            tmin = np.where(entering, near, tmin)
            cos = np.where(entering, np.abs(d), cos)
            np.minimum(tmax, np.maximum(t1, t2), out=tmax)
    hit = (tmax >= tmin) & (tmin > 0)
    return np.where(hit, tmin, np.inf), cos


def cast_rays(scene: Scene, origin: np.ndarray, dirs: np.ndarray, max_range: float,
              ray_subsets: Optional[callable] = None
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest hit of each ray.

    Args:
        origin: (3,) ray origin, dirs: (R, 3) unit directions (world frame).
        ray_subsets: optional ``f(box) -> index array or None``: the rays that can hit ``box``
            (e.g. the pixels inside its projected bounding box); None means all rays.

    Returns:
        t (R,) hit distance (inf: no hit within ``max_range``), kind (R,) index into
        ``KIND_NAMES`` (-1: no hit), instance (R,) box id (0: ground / none),
        cos_incidence (R,).
    """
    num = dirs.shape[0]
    t_best = np.full(num, np.inf, dtype=dirs.dtype)
    kind = np.full(num, -1, dtype=np.int64)
    inst = np.zeros(num, dtype=np.int64)
    cos_inc = np.ones(num, dtype=dirs.dtype)
    down = dirs[:, 2] < -1e-9
    t_ground = np.full(num, np.inf, dtype=dirs.dtype)
    t_ground[down] = -origin[2] / dirs[down, 2]
    hit = t_ground < max_range
    t_best[hit] = t_ground[hit]
    kind[hit] = scene.ground_kind_ids(origin[None, :2] + t_ground[hit, None] * dirs[hit, :2])
    cos_inc[hit] = np.abs(dirs[hit, 2])
    for box in scene.boxes:
        if np.linalg.norm(box.center[:2] - origin[:2]) - np.linalg.norm(box.size) > max_range:
            continue
        idx = ray_subsets(box) if ray_subsets is not None else None
        if idx is None:
            idx = slice(None)
        elif len(idx) == 0:
            continue
        t, cos = intersect_box(box, origin, dirs[idx])
        better = t < t_best[idx]
        if not better.any():
            continue
        sel = np.flatnonzero(better) if isinstance(idx, slice) else idx[better]
        t_best[sel] = t[better]
        kind[sel] = KIND_NAMES.index(box.kind)
        inst[sel] = box.instance
        cos_inc[sel] = cos[better]
    miss = t_best >= max_range
    t_best[miss], kind[miss], inst[miss] = np.inf, -1, 0
    return t_best, kind, inst, cos_inc
