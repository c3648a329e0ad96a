"""mmdet3d's MinkUNet with an optional label post-processor (AFI) at inference."""
from typing import Optional

from mmdet3d.models.segmentors import MinkUNet
from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList


@MODELS.register_module()
class AFOVMinkUNet(MinkUNet):
    """``MinkUNet`` whose ``test_cfg.postprocess`` (e.g. ``dict(type='AFIPostProcessor',
    num_classes=16)``) refines the predicted labels inside ``predict``, so ``tools/test.py``
    and every metric see the post-processed result.

    ``pred_pts_seg.pts_semantic_mask`` holds the refined labels and ``pred_pts_seg_network``
    the network's own argmax; the logits are left untouched. Same parameters as ``MinkUNet``:
    its checkpoints load as they are.
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
        pseudo = [self._pseudo_label(s) for s in samples]
        refined = self.postprocess(inputs['points'], labels, pseudo)
        for s, before, after in zip(samples, labels, refined):
            s.set_field(before.new_tensor(before), 'pred_pts_seg_network')
            s.pred_pts_seg.pts_semantic_mask = after
        return samples

    @staticmethod
    def _pseudo_label(sample) -> Optional[object]:
        gt = sample.get('gt_pts_seg')
        return gt.pseudo_label if gt is not None and 'pseudo_label' in gt else None
