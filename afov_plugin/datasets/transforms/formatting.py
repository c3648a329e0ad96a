"""Packing AFOV's keys through mmdet3d's ``Pack3DDetInputs``, whose key lists it extends."""
import inspect
from typing import Dict

import numpy as np
import torch

from mmdet3d.datasets.transforms import Pack3DDetInputs
from mmdet3d.registry import TRANSFORMS

# per-point keys packed into ``data_sample.gt_pts_seg`` beside mmdet3d's ``pts_semantic_mask``
POINT_KEYS = ('pts_superpoint', 'pts_cam', 'pts_patch')
# per-sample keys packed as plain data fields of the data sample
SAMPLE_KEYS = ('superpoint_feat', 'superpoint_prompt', 'text_bank', 'teacher_class_feat',
               'teacher_class_area', 'teacher_patch_feat', 'teacher_patch_area')
# ``'teacher'`` when ``pts_semantic_mask`` holds the teacher's pseudo-labels (absent: ground
# truth), so that nothing downstream mistakes one for the other
MASK_SOURCE_KEY = 'pts_semantic_mask_source'
META_KEYS = tuple(inspect.signature(Pack3DDetInputs.__init__).parameters['meta_keys'].default
                  ) + (MASK_SOURCE_KEY, )


@TRANSFORMS.register_module()
class PackAFOVInputs(Pack3DDetInputs):
    """``Pack3DDetInputs`` with AFOV's keys added to its lists.

    ``keys`` may list, besides mmdet3d's (``points``, ``pts_semantic_mask``, ...),
    ``pts_superpoint``, ``pts_cam`` and ``pts_patch`` (→ ``data_sample.gt_pts_seg.<key>``,
    (N,) long, as mmdet3d's ``SEG_KEYS``) and ``superpoint_feat`` / ``superpoint_prompt`` /
    ``text_bank`` / MCFA's ``teacher_*`` targets (→ ``data_sample.<key>`` tensors). Stage 2's
    pseudo-labels are ``pts_semantic_mask``, so mmdet3d's heads, packers and point
    transforms (LaserMix, PolarMix, ...) handle them as they handle ground truth;
    ``metainfo['pts_semantic_mask_source'] == 'teacher'`` says so.
    """

    SEG_KEYS = Pack3DDetInputs.SEG_KEYS + list(POINT_KEYS)

    def __init__(self, keys: tuple, meta_keys: tuple = META_KEYS) -> None:
        super().__init__(keys, meta_keys)

    def pack_single_results(self, results: Dict) -> Dict:
        for k in POINT_KEYS:
            if k in results and k in self.keys:
                results[k] = torch.from_numpy(np.ascontiguousarray(results[k])).long()
        ours = {k: results.pop(k) for k in SAMPLE_KEYS if k in self.keys and k in results}
        packed = super().pack_single_results(results)
        for k, v in ours.items():
            setattr(packed['data_samples'], k, torch.from_numpy(np.ascontiguousarray(v)))
        return packed
