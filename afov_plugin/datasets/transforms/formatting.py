"""Packing AFOV's keys next to mmdet3d's (``Pack3DDetInputs`` refuses unknown keys)."""
from typing import Dict

import numpy as np
import torch

from mmdet3d.datasets.transforms import Pack3DDetInputs
from mmdet3d.registry import TRANSFORMS

# per-point keys packed into ``data_sample.gt_pts_seg`` (PointData: same length as points)
POINT_KEYS = ('pts_pseudo_label', 'pts_superpoint', 'pts_cam')
# per-sample keys packed as plain data fields of the data sample
SAMPLE_KEYS = ('superpoint_feat', 'superpoint_prompt', 'text_bank')


@TRANSFORMS.register_module()
class PackAFOVInputs(Pack3DDetInputs):
    """``Pack3DDetInputs`` that also packs AFOV's keys.

    ``keys`` may list, besides mmdet3d's, ``pts_pseudo_label``, ``pts_superpoint``,
    ``pts_cam`` (→ ``data_sample.gt_pts_seg.<key>``, (N,) long tensors) and
    ``superpoint_feat`` / ``superpoint_prompt`` / ``text_bank`` (→ ``data_sample.<key>``
    tensors).
    """

    def pack_single_results(self, results: Dict) -> Dict:
        ours = {k: results.pop(k) for k in list(self.keys)
                if k in POINT_KEYS + SAMPLE_KEYS and k in results}
        keys = self.keys
        self.keys = [k for k in keys if k not in POINT_KEYS + SAMPLE_KEYS]
        try:
            packed = super().pack_single_results(results)
        finally:
            self.keys = keys
        sample = packed['data_samples']
        for k, v in ours.items():
            t = torch.from_numpy(np.ascontiguousarray(v))
            if k in POINT_KEYS:
                sample.gt_pts_seg[k] = t.long()
            else:
                setattr(sample, k, t)
        return packed
