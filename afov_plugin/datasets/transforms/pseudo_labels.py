"""Pseudo-labels and superpoints from the teacher regions the points fall in."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

from ..class_dictionary import load_class_dictionary


@TRANSFORMS.register_module()
class PseudoLabelsAndSuperpoints(BaseTransform):
    """Point pseudo-labels (prompt → dataset class through the dictionary) and superpoints.

    Args:
        dictionary: class dictionary name or path (must match the cache's).
        ignore_index: the dataset's ignore label (default: the dictionary's, = #classes).
        min_superpoint_points: superpoints with fewer points are dropped (ids -1).

    Required keys: ``pts_region``, ``region_prompt``, ``region_feat`` (from
    :class:`LoadTeacherCache`).
    Added keys: ``pts_pseudo_label`` (N,) int64 (``ignore_index`` where unpaired, no region
    or a prompt of an ignore group); ``pts_superpoint`` (N,) int64, index into this sample's
    superpoints (-1: none); ``superpoint_feat`` (S, D) float32; ``superpoint_prompt`` (S,)
    int64. Superpoints are the regions with at least ``min_superpoint_points`` points.
    """

    def __init__(self, dictionary: str, ignore_index: int = None,
                 min_superpoint_points: int = 1) -> None:
        self.dictionary = load_class_dictionary(dictionary)
        self.ignore_index = self.dictionary.ignore_index if ignore_index is None \
            else ignore_index
        lut = self.dictionary.prompt_class.copy()
        lut[lut == self.dictionary.ignore_index] = self.ignore_index
        self.prompt_to_label = lut
        self.min_superpoint_points = min_superpoint_points

    def transform(self, results: Dict) -> Dict:
        region = results['pts_region']
        prompt = results['region_prompt']
        has = region >= 0
        label = np.full(region.shape[0], self.ignore_index, dtype=np.int64)
        label[has] = self.prompt_to_label[prompt[region[has]]]
        results['pts_pseudo_label'] = label
        counts = np.bincount(region[has], minlength=prompt.shape[0])
        keep = counts >= self.min_superpoint_points
        remap = np.full(prompt.shape[0], -1, dtype=np.int64)
        remap[keep] = np.arange(int(keep.sum()))
        sp = np.full(region.shape[0], -1, dtype=np.int64)
        sp[has] = remap[region[has]]
        results['pts_superpoint'] = sp
        results['superpoint_feat'] = results['region_feat'][keep]
        results['superpoint_prompt'] = prompt[keep]
        return results
