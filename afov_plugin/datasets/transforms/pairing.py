"""Point–pixel pairing: for each LiDAR point, the camera and pixel it lands on, or -1."""
from typing import Dict, Optional, Tuple

import numba
import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

from ..camera_geometry import image_size, project_points  # noqa: F401  (re-exported)


@numba.njit(cache=True, nogil=True)
def _project(m: np.ndarray, c: int, x: float, y: float, z: float) -> Tuple[float, float, float]:
    """Pixel (u, v) and camera depth of one point in camera ``c`` of (C, 3, 4) ``m``."""
    depth = m[c, 2, 0] * x + m[c, 2, 1] * y + m[c, 2, 2] * z + m[c, 2, 3]
    u = (m[c, 0, 0] * x + m[c, 0, 1] * y + m[c, 0, 2] * z + m[c, 0, 3]) / depth
    v = (m[c, 1, 0] * x + m[c, 1, 1] * y + m[c, 1, 2] * z + m[c, 1, 3]) / depth
    return u, v, depth


@numba.njit(cache=True, nogil=True)
def _pair_kernel(xyz: np.ndarray, m: np.ndarray, hw: np.ndarray, min_depth: float,
                 center: bool, cell: int, tolerance: float, relative: float,
                 cam_out: np.ndarray, uv_out: np.ndarray) -> None:
    """One pass over the points, all cameras per point (no (C, N) temporaries).

    With ``cell > 0`` a first pass fills a per-camera depth buffer of the visible points at
    ``cell``-pixel resolution, and a point deeper than its cell's nearest depth by
    ``tolerance + relative * depth`` is not paired with that camera.
    """
    n, num_cams = xyz.shape[0], m.shape[0]
    wc = np.zeros(num_cams, np.int64)
    nearest = np.empty((num_cams, 1))
    if cell > 0:
        size = 1
        for c in range(num_cams):
            wc[c] = (int(hw[c, 1]) + cell - 1) // cell
            size = max(size, ((int(hw[c, 0]) + cell - 1) // cell) * wc[c])
        nearest = np.full((num_cams, size), np.inf)
        for i in range(n):
            for c in range(num_cams):
                u, v, depth = _project(m, c, xyz[i, 0], xyz[i, 1], xyz[i, 2])
                if depth > min_depth and 0 <= u < hw[c, 1] and 0 <= v < hw[c, 0]:
                    k = (int(np.floor(v)) // cell) * wc[c] + int(np.floor(u)) // cell
                    nearest[c, k] = min(nearest[c, k], depth)
    for i in range(n):
        best_score = np.inf
        for c in range(num_cams):
            u, v, depth = _project(m, c, xyz[i, 0], xyz[i, 1], xyz[i, 2])
            w, h = hw[c, 1], hw[c, 0]
            if not (depth > min_depth and 0 <= u < w and 0 <= v < h):
                continue
            if cell > 0:
                k = (int(np.floor(v)) // cell) * wc[c] + int(np.floor(u)) // cell
                if depth > nearest[c, k] + tolerance + relative * depth:
                    continue
            if center:
                score = ((u - w / 2) / (w / 2)) ** 2 + ((v - h / 2) / (h / 2)) ** 2
                if score >= best_score:  # ties: the first camera keeps the point
                    continue
                best_score = score
            cam_out[i] = c
            uv_out[i, 0] = u
            uv_out[i, 1] = v


@TRANSFORMS.register_module()
class PointPixelPairing(BaseTransform):
    """Pair every LiDAR point with at most one camera pixel.

    A point pairs with camera c when its camera depth is > ``min_depth`` (1 m, as the reference
    and nuscenes-devkit) and its pixel lies inside the image. With ``occlusion_test`` a point
    hidden behind nearer points of the same camera (depth buffer at ``occlusion_cell`` px) is
    not paired with that camera. **Several cameras**: ``multi_camera='center'`` (default) keeps
    the camera in which the point is closest to the image centre (least lens distortion and
    boundary bleeding of a 2D teacher); ``'last'`` reproduces the reference (last camera in
    the info's camera order wins).

    Required keys: ``points`` (N points), ``images`` {cam: {lidar2img (4, 4), height, width}}
    (or ``img_shape``; :func:`~afov_plugin.datasets.camera_geometry.image_size`).
    Added keys: ``pts_cam`` (N,) int8, index into ``pair_cameras`` (-1: unpaired);
    ``pts_pixel`` (N, 2) int32 (u, v) pixel (-1: unpaired); ``pts_pixel_float`` (N, 2)
    float32 continuous coordinates; ``pair_cameras`` list of camera names.
    """

    def __init__(self, min_depth: float = 1.0, multi_camera: str = 'center',
                 occlusion_test: bool = False, occlusion_cell: int = 8,
                 occlusion_tolerance: float = 0.5, occlusion_relative: float = 0.05) -> None:
        assert multi_camera in ('center', 'last')
        self.min_depth = min_depth
        self.multi_camera = multi_camera
        self.occlusion_test = occlusion_test
        self.occlusion_cell = occlusion_cell
        self.occlusion_tolerance = occlusion_tolerance
        self.occlusion_relative = occlusion_relative

    def pair(self, xyz: np.ndarray, lidar2img: np.ndarray,
             sizes: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Core of the transform on arrays.

        Args:
            xyz: (N, 3); lidar2img: (C, 4, 4); sizes: (C, 2) (height, width).
        Returns:
            cam (N,) int8, pixel (N, 2) int32, pixel_float (N, 2) float32.
        """
        n = xyz.shape[0]
        cam = np.full(n, -1, dtype=np.int8)
        uv = np.full((n, 2), -1.0)
        m = np.ascontiguousarray(np.asarray(lidar2img, dtype=np.float64)[:, :3, :4])
        xyz = np.asarray(xyz)
        if xyz.dtype not in (np.float32, np.float64):
            xyz = xyz.astype(np.float64)
        _pair_kernel(xyz, m, np.asarray(sizes, np.float64),
                     float(self.min_depth), self.multi_camera == 'center',
                     int(self.occlusion_cell) if self.occlusion_test else 0,
                     float(self.occlusion_tolerance), float(self.occlusion_relative), cam, uv)
        return cam, np.floor(uv).astype(np.int32), uv.astype(np.float32)

    def transform(self, results: Dict) -> Optional[Dict]:
        images = results['images']
        names = list(images)
        lidar2img = np.stack([np.asarray(images[c]['lidar2img'], np.float64) for c in names])
        where = (f"{results.get('ann_file') or 'info file'} (scan "
                 f"{results.get('lidar_path', results.get('sample_idx', '?'))})")
        sizes = np.array([image_size(images[c], c, where) for c in names])
        xyz = results['points'].tensor[:, :3].numpy()
        cam, pixel, pixel_float = self.pair(xyz, lidar2img, sizes)
        results['pts_cam'] = cam
        results['pts_pixel'] = pixel
        results['pts_pixel_float'] = pixel_float
        results['pair_cameras'] = names
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_depth={self.min_depth}, multi_camera='
                f'{self.multi_camera!r}, occlusion_test={self.occlusion_test})')
