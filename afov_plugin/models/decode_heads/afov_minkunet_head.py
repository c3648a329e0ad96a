"""MinkUNet head trained on a chosen per-voxel label (pseudo-labels in stage 2)."""
from typing import List

import torch
from torch import Tensor

from mmdet3d.models.decode_heads import MinkUNetHead
from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList


@MODELS.register_module()
class AFOVMinkUNetHead(MinkUNetHead):
    """``MinkUNetHead`` whose training target is ``gt_pts_seg.<label_key>``.

    Args:
        label_key: ``voxel_pseudo_label`` (stage 2: teacher pseudo-labels, made per voxel by
            :class:`AFOVMinkUNetDataPreprocessor`) or ``voxel_semantic_mask`` (ground truth,
            the supervised baseline). Other arguments as :class:`MinkUNetHead`.
    """

    def __init__(self, channels: int, num_classes: int,
                 label_key: str = 'voxel_pseudo_label', **kwargs) -> None:
        super().__init__(channels, num_classes, **kwargs)
        self.label_key = label_key

    def _stack_batch_gt(self, batch_data_samples: SampleList) -> Tensor:
        for s in batch_data_samples:
            if self.label_key not in s.gt_pts_seg:
                raise KeyError(f'training target gt_pts_seg.{self.label_key} is missing: pack '
                               f'pts_{self.label_key[6:]} in the train pipeline '
                               '(PackAFOVInputs keys) or change decode_head.label_key')
        return torch.cat([getattr(s.gt_pts_seg, self.label_key) for s in batch_data_samples])

    def predict(self, inputs: Tensor, batch_data_samples: SampleList) -> List[Tensor]:
        """Per-point logits (N_i, C); refuses maps with dropped voxels (-1)."""
        for s in batch_data_samples:
            if (s.point2voxel_map < 0).any():
                raise RuntimeError('point2voxel_map has dropped voxels at prediction time; '
                                   'max_voxels subsampling is for training only')
        return super().predict(inputs, batch_data_samples)
