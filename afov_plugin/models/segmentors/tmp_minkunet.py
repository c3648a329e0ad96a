"""TMP pretraining segmentor: mmdet3d's MinkUNet trunk + the tri-modal contrastive head."""
from mmdet3d.models.segmentors import MinkUNet
from mmdet3d.registry import MODELS

from ..decode_heads.tri_modal_contrastive_head import TriModalContrastiveHead


@MODELS.register_module()
class TMPMinkUNet(MinkUNet):
    """Points → voxels (data preprocessor) → ``MinkUNetBackbone`` → (V, C) voxel features →
    :class:`TriModalContrastiveHead` (projection, per-point normalisation, superpoint pooling,
    L_sp + L_tp). No 2D network runs: region features and the text bank come from the cache.

    ``predict`` is zero-shot segmentation against the text bank. The trunk's parameter names
    are MinkUNet's, so the checkpoint initialises stage 2 or mmdet3d's MinkUNet configs
    (``load_from``) with only the classification head left to learn.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(self.decode_head, TriModalContrastiveHead):
            raise TypeError('TMPMinkUNet needs decode_head=dict(type="TriModalContrastiveHead")'
                            f', got {type(self.decode_head).__name__}')
