"""Point–pixel pairing: for each LiDAR point, the camera and pixel it lands on, or -1."""
from typing import Dict, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS


def project_points(xyz: np.ndarray, lidar2img: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Project (N, 3) LiDAR points with (C, 4, 4) matrices.

    Returns:
        uv: (C, N, 2) float64 continuous pixel coordinates; depth: (C, N) camera z.
    """
    xyz = xyz.astype(np.float64)
    m = np.asarray(lidar2img, dtype=np.float64)
    cam = np.matmul(m[:, :3, :3], xyz.T) + m[:, :3, 3:]  # (C, 3, N), BLAS
    depth = cam[:, 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        uv = np.stack([cam[:, 0] / depth, cam[:, 1] / depth], -1)
    return uv, depth


def occlusion_mask(pix: np.ndarray, depth: np.ndarray, image_hw: Tuple[int, int],
                   cell: int, tolerance: float, relative: float) -> np.ndarray:
    """True for points that are hidden behind a nearer point of the same camera.

    A depth buffer of the points themselves at ``cell``-pixel resolution: a point is occluded
    when its depth exceeds the nearest depth in its cell by ``tolerance + relative * depth``.

    Args:
        pix: (M, 2) int pixel (u, v); depth: (M,) camera depths of those points.
    """
    h, w = image_hw
    wc = (w + cell - 1) // cell
    cells = (pix[:, 1] // cell) * wc + pix[:, 0] // cell
    nearest = np.full(((h + cell - 1) // cell) * wc, np.inf)
    np.minimum.at(nearest, cells, depth)
    return depth > nearest[cells] + tolerance + relative * depth


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
    (``img_shape`` per camera is also accepted via ``height``/``width``).
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
        uv, depth = project_points(xyz, lidar2img)
        h = sizes[:, 0:1].astype(np.float64)
        w = sizes[:, 1:2].astype(np.float64)
        valid = (depth > self.min_depth) & (uv[..., 0] >= 0) & (uv[..., 0] < w) & \
            (uv[..., 1] >= 0) & (uv[..., 1] < h) & np.isfinite(uv).all(-1)
        if self.occlusion_test:
            for c in range(lidar2img.shape[0]):
                idx = np.flatnonzero(valid[c])
                if idx.size:
                    pix = np.floor(uv[c, idx]).astype(np.int64)
                    hidden = occlusion_mask(pix, depth[c, idx], (int(h[c, 0]), int(w[c, 0])),
                                            self.occlusion_cell, self.occlusion_tolerance,
                                            self.occlusion_relative)
                    valid[c, idx[hidden]] = False
        if self.multi_camera == 'center':
            centre = np.stack([w[:, 0], h[:, 0]], -1)[:, None, :] / 2
            score = np.where(valid, -(((uv - centre) / centre) ** 2).sum(-1), -np.inf)
            cam = np.argmax(score, axis=0)
        else:
            order = np.arange(lidar2img.shape[0])[:, None]
            cam = np.argmax(np.where(valid, order, -1), axis=0)
        paired = valid[cam, np.arange(n)]
        cam = np.where(paired, cam, -1).astype(np.int8)
        uv_sel = uv[np.maximum(cam, 0), np.arange(n)]
        pixel = np.where(paired[:, None], np.floor(np.nan_to_num(uv_sel)), -1).astype(np.int32)
        pixel_float = np.where(paired[:, None], uv_sel, -1).astype(np.float32)
        return cam, pixel, pixel_float

    def transform(self, results: Dict) -> Optional[Dict]:
        images = results['images']
        names = list(images)
        lidar2img = np.stack([np.asarray(images[c]['lidar2img'], np.float64) for c in names])
        sizes = np.array([[images[c]['height'], images[c]['width']] for c in names])
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
