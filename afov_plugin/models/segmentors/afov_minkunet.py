"""mmdet3d's MinkUNet with an optional label post-processor (AFI) at inference and the
zero-shot protocol's optional training terms (MCFA, self-training)."""
from typing import Dict, Optional

import torch
from torch import Tensor

from mmdet3d.models.segmentors import MinkUNet
from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList

from ...datasets.transforms.formatting import MASK_SOURCE_KEY
from .encoder_stage_features import capture_output, stage_point_features


def teacher_pseudo_label(sample) -> Optional[Tensor]:
    """(N,) the teacher's pseudo-labels packed in a data sample, or None when its
    ``pts_semantic_mask`` is absent or is not the teacher's (ground truth)."""
    gt = sample.get('gt_pts_seg')
    if gt is None or 'pts_semantic_mask' not in gt or \
            sample.metainfo.get(MASK_SOURCE_KEY) != 'teacher':
        return None
    return gt.pts_semantic_mask


@MODELS.register_module()
class AFOVMinkUNet(MinkUNet):
    """``MinkUNet`` whose ``test_cfg.postprocess`` (e.g. ``dict(type='AFIPostProcessor',
    num_classes=16)``) refines the predicted labels inside ``predict``, so ``tools/test.py``
    and every metric see the post-processed result.

    ``pred_pts_seg.pts_semantic_mask`` holds the refined labels and ``pred_pts_seg_network``
    the network's own argmax; the logits are left untouched. Same parameters as ``MinkUNet``:
    its checkpoints load as they are.

    The post-processor's covering step needs the teacher's pseudo-labels: the test pipeline
    then runs ``PointPixelPairing``, ``LoadTeacherCache`` and ``PseudoLabelsAndSuperpoints``
    and packs their ``pts_semantic_mask`` (marked ``pts_semantic_mask_source='teacher'``;
    the ground truth for the metric stays in ``eval_ann_info``). A ground-truth mask is
    never passed on as pseudo-labels.

    Training options (seed 002): ``mcfa`` (e.g. ``dict(type='MCFALoss', channels=128)``)
    adds the feature-level alignment on the output of ``backbone.encoder[mcfa.stage]``
    (seed: the 4th stage); ``self_training`` (``dict(type='SelfTrainingTeacher',
    checkpoint=...)``) relabels the voxels outside the seen classes' ground truth with a
    frozen phase-1 copy of this model (made at the first training step) before the head's
    loss. The teacher copy is not a submodule: checkpoints hold the student only.
    """

    def __init__(self, mcfa: Optional[dict] = None, self_training: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        post = (self.test_cfg or {}).get('postprocess')
        self.postprocess = MODELS.build(post) if post else None
        # not a submodule (not saved, not wrapped by DDP); its copy of this model is made at
        # the first training step, so testing a self-trained model needs no phase-1 file
        self.__dict__['self_training'] = MODELS.build(self_training) if self_training else None
        self.mcfa = MODELS.build(mcfa) if mcfa else None

    def loss(self, inputs: dict, data_samples: SampleList) -> Dict[str, Tensor]:
        if self.self_training is not None:
            if self.self_training.model is None:
                self.self_training.bind(self)
            self.self_training.relabel(inputs, data_samples)
        if self.mcfa is None:
            return super().loss(inputs, data_samples)
        with capture_output(self.backbone.encoder[self.mcfa.stage]) as stage:
            x = self.extract_feat(inputs)
        losses = self.decode_head.loss(x, data_samples, self.train_cfg)
        with torch.no_grad():
            voxel_pred = self.decode_head.forward(x).argmax(1)                      # (V,)
        coors = inputs['voxels']['coors']
        feats, valid = stage_point_features(stage[0], coors, data_samples,
                                            stride=2 ** (self.mcfa.stage + 1))
        preds, start = [], 0
        for s, ok in zip(data_samples, valid):
            m = s.point2voxel_map
            p = voxel_pred[start:start + s.batch_idx.numel()]
            preds.append(torch.where(ok, p[m.clamp_min(0)], torch.full_like(m, -1)))
            start += s.batch_idx.numel()
        losses.update(self.mcfa(feats, preds, data_samples))
        return losses

    def predict(self, inputs: dict, data_samples: SampleList) -> SampleList:
        samples = super().predict(inputs, data_samples)
        if self.postprocess is None:
            return samples
        labels = [s.pred_pts_seg.pts_semantic_mask for s in samples]
        pseudo = [teacher_pseudo_label(s) for s in samples]
        if getattr(self.postprocess, 'covering', None) and any(p is None for p in pseudo):
            raise KeyError('AFI covering needs the teacher pseudo-labels at test time: add '
                           'PointPixelPairing, LoadTeacherCache and PseudoLabelsAndSuperpoints '
                           "to the test pipeline and pack 'pts_semantic_mask', or set "
                           'covering=None')
        refined = self.postprocess(inputs['points'], labels, pseudo)
        for s, before, after in zip(samples, labels, refined):
            s.set_field(before.new_tensor(before), 'pred_pts_seg_network')
            s.pred_pts_seg.pts_semantic_mask = after
        return samples
