"""Pinhole cameras: render a street-scene image plus per-pixel class / instance ground truth.

Occlusion-correct by construction (nearest hit per pixel ray). Each box is only tested
against the pixels inside its projected bounding box, which keeps a 1600×900 view cheap.
"""
import functools
from typing import Dict, Optional, Tuple

import numba
import numpy as np

from .raycast import KIND_NAMES, box_corners, cast_rays
from .world import Scene

# Base colours (RGB) per kind; shading and texture are added at render time.
KIND_COLORS = {
    'road': (70, 70, 75), 'lane_marking': (235, 235, 235), 'parking': (110, 100, 110),
    'other_ground': (150, 120, 100), 'static_other': (120, 90, 140),
    'child': (220, 80, 150), 'construction_worker': (255, 140, 60),
    'bicyclist': (180, 40, 90), 'motorcyclist': (150, 20, 60),
    'bicycle_rack': (90, 90, 90), 'debris': (100, 80, 60), 'animal': (140, 100, 60),
    'ego': (20, 20, 20), 'sidewalk': (170, 160, 150),
    'terrain': (120, 140, 70), 'building': (160, 110, 90), 'fence': (140, 130, 100),
    'vegetation': (40, 110, 40), 'trunk': (90, 60, 30), 'pole': (150, 150, 150),
    'traffic_sign': (220, 200, 30), 'car': (30, 60, 160), 'truck': (160, 40, 40),
    'bus': (200, 120, 20), 'trailer': (120, 120, 160), 'construction_vehicle': (230, 180, 0),
    'pedestrian': (200, 50, 120), 'bicycle': (50, 160, 160), 'motorcycle': (100, 30, 120),
    'barrier': (230, 230, 230), 'traffic_cone': (250, 110, 0),
}
_COLOR_TABLE = np.array([KIND_COLORS[n] for n in KIND_NAMES], dtype=np.float32)
NEAR = 0.05  # m: near plane of the cameras
# the 12 edges of a box as corner index pairs (corners ordered as raycast.box_corners)
_EDGES = np.array([(i, j) for i in range(8) for j in range(i + 1, 8)
                   if bin(i ^ j).count('1') == 1])
_SKY_LOW = np.array([200, 215, 235], dtype=np.float32)
_SKY_HIGH = np.array([90, 140, 210], dtype=np.float32)


@functools.lru_cache(maxsize=16)
def _pixel_rays_cached(k_bytes: bytes, width: int, height: int) -> Tuple[np.ndarray, np.ndarray]:
    intrinsic = np.frombuffer(k_bytes).reshape(3, 3)
    u, v = np.meshgrid(np.arange(width, dtype=np.float32) + 0.5,
                       np.arange(height, dtype=np.float32) + 0.5)
    pix = np.stack([u, v, np.ones_like(u)], -1).reshape(-1, 3)
    rays = (pix @ np.linalg.inv(intrinsic).T.astype(np.float32))
    unit = rays / np.linalg.norm(rays, axis=1, keepdims=True)
    rays.flags.writeable = False
    unit.flags.writeable = False
    return rays, unit


def pixel_rays(intrinsic: np.ndarray, width: int, height: int) -> np.ndarray:
    """(H*W, 3) float32 camera-frame rays through pixel centres (z = 1). Cached per camera."""
    return _pixel_rays_cached(np.ascontiguousarray(intrinsic, np.float64).tobytes(), width,
                              height)[0]


def render_camera(scene: Scene, intrinsic: np.ndarray, cam2world: np.ndarray, width: int,
                  height: int, max_range: float = 120.0,
                  rng: Optional[np.random.Generator] = None) -> Dict[str, np.ndarray]:
    """Render one view.

    Args:
        intrinsic: (3, 3) K. cam2world: (4, 4) camera (x right, y down, z forward) to world.

    Returns:
        ``rgb`` (H, W, 3) uint8, ``kind`` (H, W) int16 (-1 = sky), ``instance`` (H, W) int32,
        ``depth`` (H, W) float32 camera z (inf = sky).
    """
    rays_c, unit = _pixel_rays_cached(np.ascontiguousarray(intrinsic, np.float64).tobytes(),
                                      width, height)
    dirs = unit @ cam2world[:3, :3].T.astype(np.float32)
    origin = cam2world[:3, 3]
    world2cam = np.linalg.inv(cam2world)

    def pixels_of(box) -> Optional[np.ndarray]:
        corners = box_corners(box) @ world2cam[:3, :3].T + world2cam[:3, 3]
        behind = corners[:, 2] <= NEAR
        if behind.all():
            return np.zeros(0, dtype=np.int64)
        if behind.any():  # straddles the near plane: clip the box's edges against it
            a, b = corners[_EDGES[:, 0]], corners[_EDGES[:, 1]]
            cross = behind[_EDGES[:, 0]] != behind[_EDGES[:, 1]]
            f = (NEAR - a[cross, 2]) / (b[cross, 2] - a[cross, 2])
            corners = np.concatenate([corners[~behind],
                                      a[cross] + f[:, None] * (b[cross] - a[cross])])
        uv = corners @ intrinsic.T
        uv = uv[:, :2] / uv[:, 2:3]
        u0, v0 = np.floor(uv.min(0)).astype(int)
        u1, v1 = np.ceil(uv.max(0)).astype(int)
        u0, v0, u1, v1 = max(u0, 0), max(v0, 0), min(u1, width - 1), min(v1, height - 1)
        if u0 > u1 or v0 > v1:
            return np.zeros(0, dtype=np.int64)
        vv, uu = np.mgrid[v0:v1 + 1, u0:u1 + 1]
        return (vv * width + uu).reshape(-1)

    t, kind, inst, cos_inc = cast_rays(scene, origin, dirs, max_range, ray_subsets=pixels_of)
    # sensor noise: a random 64-row tile, repeated (i.i.d. is not needed)
    noise = rng.standard_normal((64 * width, 3), dtype=np.float32) * 3.0 if rng is not None \
        else np.zeros((1, 3), np.float32)
    rgb, depth = _shade(t, kind, cos_inc.astype(np.float32), dirs, unit[:, 2],
                        origin.astype(np.float32), _COLOR_TABLE, noise)
    shape = (height, width)
    return dict(rgb=rgb.reshape(height, width, 3), kind=kind.astype(np.int16).reshape(shape),
                instance=inst.astype(np.int32).reshape(shape), depth=depth.reshape(shape))


@numba.njit(parallel=True, cache=True)
def _shade(t, kind, cos_inc, dirs, unit_z, origin, colors, noise):  # pragma: no cover
    """Per pixel: the hit surface's colour with incidence shading, a procedural texture and
    distance fading, or the sky's gradient; plus the repeated noise tile. → rgb (N, 3) uint8,
    depth (N,) float32 (camera z, inf = sky)."""
    n = t.shape[0]
    rgb = np.empty((n, 3), np.uint8)
    depth = np.empty(n, np.float32)
    m = noise.shape[0]
    for i in numba.prange(n):
        k = kind[i]
        if k >= 0:
            th = np.float32(t[i])
            px = origin[0] + th * dirs[i, 0]
            py = origin[1] + th * dirs[i, 1]
            pz = origin[2] + th * dirs[i, 2]
            texture = 0.85 + 0.15 * np.sin(px * 3.1) * np.cos(py * 2.3 + pz * 4.7)
            shade = (0.55 + 0.45 * cos_inc[i]) * texture * np.exp(th / -400.0)
            depth[i] = th * unit_z[i]
        else:
            up = min(max(dirs[i, 2], 0.0), 1.0)
            depth[i] = np.inf
        for c in range(3):
            if k >= 0:
                v = colors[k, c] * shade
            else:
                v = _SKY_LOW[c] + up * (_SKY_HIGH[c] - _SKY_LOW[c])
            v += noise[i % m, c]
            rgb[i, c] = np.uint8(min(max(v, 0.0), 255.0))
    return rgb, depth
