"""SemanticKITTI with its front camera, for AFOV (mmdet3d's dataset + camera paths)."""
from mmdet3d.datasets import SemanticKittiDataset
from mmdet3d.registry import DATASETS

# SemanticKITTI raw label ids (semantic-kitti.yaml)
SEMANTICKITTI_RAW_NAMES = {
    0: 'unlabeled', 1: 'outlier', 10: 'car', 11: 'bicycle', 13: 'bus', 15: 'motorcycle',
    16: 'on-rails', 18: 'truck', 20: 'other-vehicle', 30: 'person', 31: 'bicyclist',
    32: 'motorcyclist', 40: 'road', 44: 'parking', 48: 'sidewalk', 49: 'other-ground',
    50: 'building', 51: 'fence', 52: 'other-structure', 60: 'lane-marking', 70: 'vegetation',
    71: 'trunk', 72: 'terrain', 80: 'pole', 81: 'traffic-sign', 99: 'other-object',
    252: 'moving-car', 253: 'moving-bicyclist', 254: 'moving-person',
    255: 'moving-motorcyclist', 256: 'moving-on-rails', 257: 'moving-bus',
    258: 'moving-truck', 259: 'moving-other-vehicle'}


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
