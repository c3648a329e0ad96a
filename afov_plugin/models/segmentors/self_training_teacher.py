"""Self-training (seed 002 §3.6): the unseen classes' labels from the 3D network of phase 1."""
import copy
import os
from typing import Optional, Sequence

import torch
from torch import nn

from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList


@MODELS.register_module()
class SelfTrainingTeacher:
    """An online teacher: a frozen copy of the segmentor with the phase-1 checkpoint's
    weights. On every training batch it predicts the voxels the student sees (the same
    augmented input), and each voxel target outside the seen classes' ground truth (an
    unseen-class or ignore label) becomes the teacher's prediction if that is an unseen class,
    else ``ignore_index`` ("background", as :class:`ZeroShotLabels` treats the 2D teacher's
    labels). The seen classes' ground truth is kept. Online rather than an offline
    relabelling pass: no second cache to write, and the labels follow the augmentations.

    Args (the last three filled by the class setting from the dataset base):
        checkpoint: the phase-1 checkpoint (a model of the same architecture).
        class_names, unseen_classes, ignore_index: the zero-shot split.
    """

    def __init__(self, checkpoint: Optional[str] = None, class_names: Sequence[str] = None,
                 unseen_classes: Sequence[str] = None, ignore_index: int = None) -> None:
        from ...datasets.transforms.zero_shot_labels import class_ids
        if class_names is None or unseen_classes is None or ignore_index is None:
            raise ValueError('SelfTrainingTeacher needs class_names, unseen_classes and '
                             'ignore_index: build it from a config (the class setting fills '
                             'them from the dataset base)')
        self.checkpoint = checkpoint
        self.num_classes = len(class_names)
        self.ignore_index = ignore_index
        self.is_unseen = torch.zeros(self.num_classes + 1, dtype=torch.bool)
        self.is_unseen[torch.as_tensor(class_ids(list(class_names), list(unseen_classes),
                                                 'unseen classes'))] = True
        self.model: Optional[nn.Module] = None

    def bind(self, segmentor: nn.Module) -> None:
        """A frozen copy of ``segmentor`` with the checkpoint's weights (training only: a
        missing checkpoint is an error here, not when the model is built for testing)."""
        from mmengine.runner import load_checkpoint
        if not self.checkpoint or not os.path.isfile(self.checkpoint):
            raise FileNotFoundError(f'self-training checkpoint {self.checkpoint!r} not found: '
                                    'train phase 1 first and set '
                                    'model.self_training.checkpoint to its iter_N.pth')
        own, segmentor.__dict__['self_training'] = segmentor.__dict__.get('self_training'), None
        try:
            model = copy.deepcopy(segmentor)
        finally:
            segmentor.__dict__['self_training'] = own
        load_checkpoint(model, self.checkpoint, map_location='cpu', strict=False,
                        logger='silent')
        self.model = model.eval().requires_grad_(False)

    @torch.no_grad()
    def relabel(self, inputs: dict, data_samples: SampleList) -> None:
        """Rewrite each sample's ``gt_pts_seg.voxel_semantic_mask`` in place."""
        coors = inputs['voxels']['coors']
        if next(self.model.parameters()).device != coors.device:
            self.model.to(coors.device)
        logits = self.model.decode_head.forward(self.model.extract_feat(inputs))  # (V, C)
        pred = logits.argmax(1)
        unseen, start = self.is_unseen.to(pred.device), 0
        for s in data_samples:
            gt = s.gt_pts_seg
            target = gt.voxel_semantic_mask
            p = pred[start:start + target.numel()]
            start += target.numel()
            known = (target >= 0) & (target < self.num_classes)
            seen = known & ~unseen[torch.where(known, target, self.num_classes).long()]
            new = torch.where(unseen[p], p, torch.full_like(p, self.ignore_index))
            gt.voxel_semantic_mask = torch.where(seen, target, new.to(target.dtype))
        if start != pred.numel():
            raise ValueError(f'{pred.numel()} voxels predicted, {start} voxel targets')
