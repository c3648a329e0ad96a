"""Camera geometry shared by every step that maps LiDAR points to pixels: the image size of a
camera entry of an info, and the projection of points with ``lidar2img``."""
from typing import Dict, Optional, Tuple

import numpy as np


def image_size(camera: Dict, camera_name: str = '?', where: Optional[str] = None
               ) -> Tuple[int, int]:
    """(height, width) of a camera entry of an info (``height`` / ``width``, or ``img_shape``).

    Raises:
        KeyError: neither is present; the message names ``where`` (the info file and scan) and
            the command that rewrites the infos.
    """
    if camera.get('height') is not None and camera.get('width') is not None:
        return int(camera['height']), int(camera['width'])
    if camera.get('img_shape') is not None:
        return int(camera['img_shape'][0]), int(camera['img_shape'][1])
    raise KeyError(
        f"{where or 'info file'}: camera {camera_name} has no image size (height / width); "
        "pairing needs it. The info was written by an older tools/create_data.py: rerun "
        "`python tools/create_data.py <nuscenes|semantickitti> --root-path ROOT --out-dir "
        "ROOT` to rewrite the infos.")


def project_points(xyz: np.ndarray, lidar2img: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Project (N, 3) LiDAR points with (C, 4, 4) (or one (4, 4)) ``lidar2img`` matrices.

    Returns:
        uv: (C, N, 2) float64 continuous pixel coordinates (u right, v down); depth: (C, N)
        camera z. A single (4, 4) matrix gives (N, 2) and (N,).
    """
    m = np.asarray(lidar2img, dtype=np.float64)
    single = m.ndim == 2
    m = m[None] if single else m
    cam = np.matmul(m[:, :3, :3], xyz.astype(np.float64).T) + m[:, :3, 3:]  # (C, 3, N), BLAS
    depth = cam[:, 2]
    with np.errstate(divide='ignore', invalid='ignore'):
        uv = np.stack([cam[:, 0] / depth, cam[:, 1] / depth], -1)
    return (uv[0], depth[0]) if single else (uv, depth)
