"""The teacher's side of MCFA (seed 002 §3.4): class prototypes and patch features of its
pixel features, from the cached regions (no 2D network at train time)."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

from ...vocabulary import load_class_dictionary


def patch_of_pixels(height: int, width: int, grid: Tuple[int, int]) -> np.ndarray:
    """(H, W) int64: the patch (row · n + column) of each pixel in an m × n grid."""
    m, n = grid
    return (np.arange(height) * m // height)[:, None] * n + \
        (np.arange(width) * n // width)[None, :]


def region_patch_areas(region_map: np.ndarray, num_regions: int,
                       grid: Tuple[int, int]) -> np.ndarray:
    """(m·n, R) pixel counts of each region (map value k = region k - 1) in each patch."""
    mn = grid[0] * grid[1]
    patch = patch_of_pixels(*region_map.shape, grid)
    joint = np.bincount((patch * (num_regions + 1) + region_map).ravel(),
                        minlength=mn * (num_regions + 1))
    return joint.reshape(mn, num_regions + 1)[:, 1:]


@TRANSFORMS.register_module()
class MCFATargets(BaseTransform):
    """2D targets of MCFA's two terms. The teacher's pixel feature is its region's feature
    (SAN's mask-pooled embedding, what the cache holds), so masked averages over pixels are
    area-weighted averages over regions, computed exactly from the region maps.

    Args:
        dictionary: the cache's class dictionary (prompt → class; filled by the teacher
            setting). A region's predicted class is its prompt's class; regions of ignore
            prompts are no class.
        grid: (m, n) patches per image (seed: 6 × 8, rows × columns).

    Required keys: ``region_maps`` (``LoadTeacherCache(with_region_maps=True)``; removed
    here), ``region_feat`` (R, D), ``region_prompt`` (R,), ``region_camera`` (R,),
    ``pts_cam`` (N,), ``pts_pixel`` (N, 2) (u, v), ``pair_cameras`` (K names).
    Added keys: ``teacher_class_feat`` (C, D) float32, per class the sum of the features of
    the pixels the teacher predicts as that class, and ``teacher_class_area`` (C,) float32,
    their count (sums, so a batch pools them before dividing); ``teacher_patch_feat``
    (K·m·n, D) float32, the mean pixel feature of each patch of each camera (zeros where no
    pixel has a region), ``teacher_patch_area`` (K·m·n,) float32 the pixels averaged;
    ``pts_patch`` (N,) int64, each paired point's patch (camera · m·n + row · n + column),
    -1 unpaired.
    """

    def __init__(self, dictionary: Optional[str] = None, grid: Sequence[int] = (6, 8)) -> None:
        if dictionary is None:
            raise ValueError('MCFATargets has no dictionary: build the dataset through AFOV\'s '
                             'tools (the teacher setting fills it)')
        if len(grid) != 2 or min(grid) < 1:
            raise ValueError(f'grid must be (m, n) with m, n >= 1, got {grid!r}')
        self.dictionary = load_class_dictionary(dictionary)
        self.grid = (int(grid[0]), int(grid[1]))

    def transform(self, results: Dict) -> Dict:
        if 'region_maps' not in results:
            raise KeyError('MCFATargets needs the region maps: set with_region_maps=True on '
                           'the LoadTeacherCache step before it')
        maps = results.pop('region_maps')
        feat, prompt = results['region_feat'], results['region_prompt']
        region_cam = results['region_camera']
        cams, pixel = results['pts_cam'], results['pts_pixel']
        d = self.dictionary
        num_classes, dim, mn = d.num_classes, feat.shape[1], self.grid[0] * self.grid[1]
        region_class = d.prompt_class[prompt] if prompt.size else np.zeros(0, np.int64)
        class_feat = np.zeros((num_classes, dim), np.float64)
        class_area = np.zeros(num_classes, np.float64)
        patch_feat = np.zeros((len(maps) * mn, dim), np.float32)
        patch_area = np.zeros(len(maps) * mn, np.float32)
        pts_patch = np.full(cams.shape[0], -1, np.int64)
        for c, region_map in enumerate(maps):
            if region_map is None:
                continue
            rows = np.flatnonzero(region_cam == c)
            joint = region_patch_areas(region_map, rows.size, self.grid).astype(np.float64)
            f = feat[rows].astype(np.float64)
            area = joint.sum(1)
            block = slice(c * mn, (c + 1) * mn)
            patch_area[block] = area
            patch_feat[block] = (joint @ f) / np.maximum(area, 1)[:, None]
            cls = region_class[rows]
            own = cls < num_classes
            np.add.at(class_feat, cls[own], joint.sum(0)[own, None] * f[own])
            class_area += np.bincount(cls[own], weights=joint.sum(0)[own],
                                      minlength=num_classes)
            on = np.flatnonzero(cams == c)
            h, w = region_map.shape
            v = np.clip(pixel[on, 1], 0, h - 1).astype(np.int64)
            u = np.clip(pixel[on, 0], 0, w - 1).astype(np.int64)
            pts_patch[on] = c * mn + (v * self.grid[0] // h) * self.grid[1] + \
                u * self.grid[1] // w
        results.update(teacher_class_feat=class_feat.astype(np.float32),
                       teacher_class_area=class_area.astype(np.float32),
                       teacher_patch_feat=patch_feat, teacher_patch_area=patch_area,
                       pts_patch=pts_patch)
        return results
