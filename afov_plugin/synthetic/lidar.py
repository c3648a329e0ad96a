"""Ray-cast spinning LiDAR over a :class:`~afov_plugin.synthetic.world.Scene`."""
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .world import KINDS, Scene


@dataclass(frozen=True)
class LidarModel:
    """A spinning LiDAR: beam elevations (degrees), azimuth steps, range limits, mount height."""
    elevation_min: float
    elevation_max: float
    beams: int
    azimuth_steps: int
    max_range: float
    min_range: float
    height: float

    def ray_directions(self) -> Tuple[np.ndarray, np.ndarray]:
        """Unit ray directions (R, 3) in the sensor frame and their beam (ring) index (R,)."""
        elev = np.deg2rad(np.linspace(self.elevation_min, self.elevation_max, self.beams))
        azim = np.linspace(-np.pi, np.pi, self.azimuth_steps, endpoint=False)
        el, az = np.meshgrid(elev, azim, indexing='ij')
        dirs = np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1)
        ring = np.broadcast_to(np.arange(self.beams)[:, None], el.shape)
        return dirs.reshape(-1, 3), ring.reshape(-1)


KITTI_HDL64 = LidarModel(-24.9, 2.0, 64, 2048, 80.0, 2.5, 1.73)
NUSCENES_HDL32 = LidarModel(-30.67, 10.67, 32, 1084, 70.0, 1.0, 1.84)


def _rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def cast_rays(scene: Scene, origin: np.ndarray, dirs: np.ndarray,
              max_range: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest hit of each ray (world frame).

    Args:
        origin: (3,) ray origin. dirs: (R, 3) unit directions.

    Returns:
        t: (R,) hit distance (inf when nothing within ``max_range``),
        kind: (R,) index into ``list(KINDS)`` (-1 for no hit),
        instance: (R,) box instance id (0 for ground / no hit),
        cos_incidence: (R,) |cos| between ray and surface normal.
    """
    num = dirs.shape[0]
    t_best = np.full(num, np.inf)
    kind = np.full(num, -1, dtype=np.int64)
    inst = np.zeros(num, dtype=np.int64)
    cos_inc = np.ones(num)
    # ground plane z = 0
    down = dirs[:, 2] < -1e-6
    t_ground = np.where(down, -origin[2] / np.where(down, dirs[:, 2], -1.0), np.inf)
    hit = t_ground < max_range
    t_best[hit] = t_ground[hit]
    xy = origin[None, :2] + t_ground[hit, None] * dirs[hit, :2]
    kind[hit] = scene.ground_kind_ids(xy)
    cos_inc[hit] = np.abs(dirs[hit, 2])
    names = list(KINDS)
    boxes = [b for b in scene.boxes
             if np.linalg.norm(b.center[:2] - origin[:2]) - np.linalg.norm(b.size) < max_range]
    for b in boxes:
        rot = _rot_z(b.yaw)
        p = rot.T @ (origin - b.center)  # (3,)
        d = dirs @ rot  # (R, 3): rot.T applied to each row
        with np.errstate(divide='ignore', invalid='ignore'):
            inv = 1.0 / d
            t1 = (-b.size / 2 - p) * inv
            t2 = (b.size / 2 - p) * inv
        tmin_axes = np.minimum(t1, t2)
        tmin = np.nanmax(tmin_axes, axis=1)
        tmax = np.nanmin(np.maximum(t1, t2), axis=1)
        ok = (tmax >= tmin) & (tmin > 0) & (tmin < t_best)
        if not ok.any():
            continue
        t_best[ok] = tmin[ok]
        kind[ok] = names.index(b.kind)
        inst[ok] = b.instance
        axis = np.argmax(tmin_axes[ok], axis=1)
        cos_inc[ok] = np.abs(d[ok, axis])
    t_best[t_best >= max_range] = np.inf
    return t_best, kind, inst, cos_inc


def scan(scene: Scene, model: LidarModel, pose_xy_yaw: Tuple[float, float, float],
         rng: np.random.Generator, range_noise: float = 0.01,
         dropout: float = 0.02) -> dict:
    """One sweep in the sensor frame.

    Returns a dict with ``points`` (N, 3) float32 sensor-frame xyz, ``intensity`` (N,) in
    [0, 1], ``ring`` (N,) beam index, ``kind`` (N,) kind index, ``instance`` (N,) box id.
    """
    x, y, yaw = pose_xy_yaw
    dirs_s, ring = model.ray_directions()
    rot = _rot_z(yaw)
    origin = np.array([x, y, model.height])
    t, kind, inst, cos_inc = cast_rays(scene, origin, dirs_s @ rot.T, model.max_range)
    keep = np.isfinite(t) & (t > model.min_range)
    if dropout > 0:
        keep &= rng.random(t.shape[0]) >= dropout
    t = t[keep] + rng.normal(0, range_noise, keep.sum())
    pts = dirs_s[keep] * t[:, None]
    refl = np.array([KINDS[n].reflectance for n in KINDS])[kind[keep]]
    intensity = np.clip(refl * (0.4 + 0.6 * cos_inc[keep]) * np.exp(-t / 200.0)
                        + rng.normal(0, 0.02, t.shape[0]), 0.0, 1.0)
    return dict(points=pts.astype(np.float32), intensity=intensity.astype(np.float32),
                ring=ring[keep].astype(np.float32), kind=kind[keep], instance=inst[keep])
