"""Ray-cast spinning LiDAR over a :class:`~afov_plugin.synthetic.world.Scene`."""
from dataclasses import dataclass
from typing import Tuple

import numpy as np

from .raycast import cast_rays, rot_z
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
# HDL-32E as mounted on the nuScenes cars: 32 beams, -30.67..+10.67 deg, ~1084 columns at 20 Hz;
# returns from 0.3 m, so that the hits on its own car (nuScenes' vehicle.ego points) are kept.
NUSCENES_HDL32 = LidarModel(-30.67, 10.67, 32, 1084, 70.0, 0.3, 1.84)


def scan(scene: Scene, model: LidarModel, pose_xy_yaw: Tuple[float, float, float],
         rng: np.random.Generator, range_noise: float = 0.01,
         dropout: float = 0.02) -> dict:
    """One sweep in the sensor frame.

    Returns a dict with ``points`` (N, 3) float32 sensor-frame xyz, ``intensity`` (N,) in
    [0, 1], ``ring`` (N,) beam index, ``kind`` (N,) kind index, ``instance`` (N,) box id.
    """
    x, y, yaw = pose_xy_yaw
    dirs_s, ring = model.ray_directions()
    rot = rot_z(yaw)
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
