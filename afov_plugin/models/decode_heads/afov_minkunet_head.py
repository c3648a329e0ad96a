"""mmdet3d's MinkUNet head, with clear errors for what it cannot train or predict on."""
from typing import List

from torch import Tensor

from mmdet3d.models.decode_heads import MinkUNetHead
from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList


@MODELS.register_module()
class AFOVMinkUNetHead(MinkUNetHead):
    """``MinkUNetHead`` (target: ``gt_pts_seg.voxel_semantic_mask``, the ground truth or, in
    stage 2, the teacher's pseudo-labels; both packed as ``pts_semantic_mask``) that names
    the fix when the target is missing and refuses to predict through dropped voxels.
    Arguments as :class:`MinkUNetHead`.
    """

    def _stack_batch_gt(self, batch_data_samples: SampleList) -> Tensor:
        for s in batch_data_samples:
            if 'voxel_semantic_mask' not in s.gt_pts_seg:
                raise KeyError('training target gt_pts_seg.voxel_semantic_mask is missing: '
                               "pack 'pts_semantic_mask' in the train pipeline (ground truth "
                               'from LoadAnnotations3D or pseudo-labels from '
                               'PseudoLabelsAndSuperpoints) and voxelize with '
                               'AFOVMinkUNetDataPreprocessor')
        return super()._stack_batch_gt(batch_data_samples)

    def predict(self, inputs: Tensor, batch_data_samples: SampleList) -> List[Tensor]:
        """Per-point logits (N_i, C); refuses maps with dropped voxels (-1)."""
        for s in batch_data_samples:
            if (s.point2voxel_map < 0).any():
                raise RuntimeError('point2voxel_map has dropped voxels at prediction time; '
                                   'max_voxels subsampling is for training only')
        return super().predict(inputs, batch_data_samples)
