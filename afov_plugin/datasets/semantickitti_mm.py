"""SemanticKITTI with its front camera, for AFOV (mmdet3d's dataset + camera paths)."""
from mmdet3d.datasets import SemanticKittiDataset
from mmdet3d.registry import DATASETS


@DATASETS.register_module()
class SemanticKittiMMDataset(SemanticKittiDataset):
    """mmdet3d's ``SemanticKittiDataset`` (19 classes, same raw-id mapping), multi-modal.

    With ``modality=dict(use_lidar=True, use_camera=True)`` each info's ``images.CAM2``
    (written by ``tools/create_data.py semantickitti`` when ``image_2`` exists) is joined
    with ``data_prefix['img']``. Adds ``data_root`` to every sample (teacher cache keys are
    image paths relative to it).
    """

    def parse_data_info(self, info: dict) -> dict:
        info['ann_file'] = self.ann_file  # named by errors about the info
        info['data_root'] = self.data_root
        return super().parse_data_info(info)
