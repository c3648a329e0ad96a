"""mmdet3d's MinkUNet with an optional label post-processor (AFI) at inference."""
from typing import Optional

from torch import Tensor

from mmdet3d.models.segmentors import MinkUNet
from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList

from ...datasets.transforms.formatting import MASK_SOURCE_KEY


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
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        post = (self.test_cfg or {}).get('postprocess')
        self.postprocess = MODELS.build(post) if post else None

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
