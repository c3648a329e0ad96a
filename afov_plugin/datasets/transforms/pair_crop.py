"""Random image crops for TMP: only points paired inside a random window of their camera
image stay paired (the reference trains TMP on 224×416 crops)."""
from typing import Dict, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

from ..camera_geometry import image_size


@TRANSFORMS.register_module()
class RandomPairCrop(BaseTransform):
    """Per camera, a random window covering ``scale`` of the image area with aspect ratio
    (width / height) in ``ratio``; points paired outside it become unpaired (``pts_cam`` -1).
    The cached region maps are read at the original pixels, so nothing is resized.

    Required keys: ``pts_cam`` (N,), ``pts_pixel`` (N, 2) (u, v), ``pair_cameras``, ``images``
    with ``height`` / ``width`` or ``img_shape`` per camera.
    Modified keys: ``pts_cam``.
    """

    def __init__(self, scale: Sequence[float] = (0.3, 1.0),
                 ratio: Sequence[float] = (1.5, 2.0), prob: float = 1.0) -> None:
        self.scale, self.ratio, self.prob = tuple(scale), tuple(ratio), prob

    def transform(self, results: Dict) -> Dict:
        if np.random.rand() >= self.prob:
            return results
        cam = results['pts_cam'].copy()
        pix = results['pts_pixel']
        for c, name in enumerate(results['pair_cameras']):
            sel = cam == c
            if not sel.any():
                continue
            h, w = image_size(results['images'][name], name)
            area = w * h * np.random.uniform(*self.scale)
            r = np.random.uniform(*self.ratio)
            cw = int(min(w, round(np.sqrt(area * r))))
            ch = int(min(h, round(np.sqrt(area / r))))
            u0 = np.random.randint(0, w - cw + 1)
            v0 = np.random.randint(0, h - ch + 1)
            inside = (pix[:, 0] >= u0) & (pix[:, 0] < u0 + cw) & (pix[:, 1] >= v0) & (
                pix[:, 1] < v0 + ch)
            cam[sel & ~inside] = -1
        results['pts_cam'] = cam.astype(results['pts_cam'].dtype)
        return results
