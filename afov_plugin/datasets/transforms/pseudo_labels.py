"""Pseudo-labels and superpoints from the teacher regions the points fall in."""
from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

from ...vocabulary import load_class_dictionary


@TRANSFORMS.register_module()
class PseudoLabelsAndSuperpoints(BaseTransform):
    """Point pseudo-labels (prompt → dataset class through the dictionary) and superpoints.

    Args:
        dictionary: class dictionary name or path (must match the cache's).
        ignore_index: the dataset's ignore label (default: the dictionary's, = #classes).
        min_superpoint_points: superpoints with fewer points are dropped (ids -1).
        grouping: ``'superpixel'`` (superpoints = teacher regions, the reference) or ``'knn'``
            (TMP ablation: paired points grouped around random seeds by nearest seed, about
            ``knn_group_points`` points per group; a group's target is the mean of its points'
            region features and its prompt their most frequent one).

    Required keys: ``pts_region``, ``region_prompt``, ``region_feat`` (from
    :class:`LoadTeacherCache`).
    Added keys: ``pts_semantic_mask`` (N,) int64, the pseudo-labels (``ignore_index`` where
    unpaired, no region or a prompt of an ignore group): stage 2 trains on them through
    mmdet3d's own key, so its heads and point transforms treat them as labels;
    ``pts_semantic_mask_source`` = ``'teacher'``; ``pts_superpoint`` (N,) int64, index into this
    sample's superpoints (-1: none); ``superpoint_feat`` (S, D) float32; ``superpoint_prompt`` (S,)
    int64. Superpoints are the regions with at least ``min_superpoint_points`` points.
    """

    def __init__(self, dictionary: str, ignore_index: int = None,
                 min_superpoint_points: int = 1, grouping: str = 'superpixel',
                 knn_group_points: int = 64) -> None:
        if grouping not in ('superpixel', 'knn'):
            raise ValueError(f"grouping must be 'superpixel' or 'knn', got {grouping!r}")
        self.grouping = grouping
        self.knn_group_points = knn_group_points
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
        results['pts_semantic_mask'] = label
        results['pts_semantic_mask_source'] = 'teacher'
        if self.grouping == 'knn':
            return self._knn_groups(results, region, prompt, has)
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

    def _knn_groups(self, results: Dict, region: np.ndarray, prompt: np.ndarray,
                    has: np.ndarray) -> Dict:
        from scipy.spatial import cKDTree
        idx = np.flatnonzero(has)
        xyz = results['points'].tensor[:, :3].numpy()
        feats = results['region_feat']
        sp = np.full(region.shape[0], -1, dtype=np.int64)
        if idx.size == 0:
            results.update(pts_superpoint=sp, superpoint_feat=feats[:0],
                           superpoint_prompt=prompt[:0])
            return results
        g = max(1, idx.size // self.knn_group_points)
        seeds = np.random.choice(idx, g, replace=False)
        _, group = cKDTree(xyz[seeds]).query(xyz[idx], k=1)
        group = np.asarray(group, dtype=np.int64).reshape(-1)
        sp[idx] = group
        count = np.bincount(group, minlength=g).astype(np.float32)
        feat = np.zeros((g, feats.shape[1]), np.float32)
        np.add.at(feat, group, feats[region[idx]])
        feat /= count[:, None]
        p = prompt.max() + 1
        votes = np.bincount(group * p + prompt[region[idx]], minlength=g * p).reshape(g, p)
        results.update(pts_superpoint=sp, superpoint_feat=feat,
                       superpoint_prompt=votes.argmax(1).astype(np.int64))
        return results
