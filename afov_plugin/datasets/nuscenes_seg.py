"""nuScenes-lidarseg as an mmdet3d segmentation dataset (mmdet3d has none: STACK.md trap 7).

16 evaluation classes (0..15); the 32 raw lidarseg ids map to them, ``noise`` and the ignored
raw ids (animal, personal mobility, stroller, wheelchair, debris, pushable/pullable, bicycle
rack, emergency vehicles, static.other, ego) map to ``ignore_index`` = 16. Multi-modal: with
``modality=dict(use_camera=True)`` each camera's ``img_path`` is joined with
``data_prefix[<camera>]`` (as mmdet3d's ``NuScenesDataset`` does), so mmdet3d's own nuScenes
infos (with ``pts_semantic_mask_path`` added) also load.
"""
import os.path as osp
from typing import Callable, List, Optional, Union

import numpy as np

from mmdet3d.datasets.seg3d_dataset import Seg3DDataset
from mmdet3d.registry import DATASETS

NUSCENES_SEG_CLASSES = ('barrier', 'bicycle', 'bus', 'car', 'construction_vehicle', 'motorcycle',
                        'pedestrian', 'traffic_cone', 'trailer', 'truck', 'driveable_surface',
                        'other_flat', 'sidewalk', 'terrain', 'manmade', 'vegetation')
# nuScenes-lidarseg categories, index = raw label id.
NUSCENES_LIDARSEG_CATEGORIES = (
    'noise', 'animal', 'human.pedestrian.adult', 'human.pedestrian.child',
    'human.pedestrian.construction_worker', 'human.pedestrian.personal_mobility',
    'human.pedestrian.police_officer', 'human.pedestrian.stroller',
    'human.pedestrian.wheelchair', 'movable_object.barrier', 'movable_object.debris',
    'movable_object.pushable_pullable', 'movable_object.trafficcone',
    'static_object.bicycle_rack', 'vehicle.bicycle', 'vehicle.bus.bendy', 'vehicle.bus.rigid',
    'vehicle.car', 'vehicle.construction', 'vehicle.emergency.ambulance',
    'vehicle.emergency.police', 'vehicle.motorcycle', 'vehicle.trailer', 'vehicle.truck',
    'flat.driveable_surface', 'flat.other', 'flat.sidewalk', 'flat.terrain', 'static.manmade',
    'static.other', 'static.vegetation', 'vehicle.ego'
)
# raw lidarseg id -> class index (absent raw ids are ignored)
NUSCENES_LIDARSEG_MAPPING = {
    9: 0, 14: 1, 15: 2, 16: 2, 17: 3, 18: 4, 21: 5, 2: 6, 3: 6, 4: 6, 6: 6, 12: 7, 22: 8,
    23: 9, 24: 10, 25: 11, 26: 12, 27: 13, 28: 14, 30: 15
}
NUSCENES_CAMERAS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
                    'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')


@DATASETS.register_module()
class NuScenesSegDataset(Seg3DDataset):
    """nuScenes LiDAR segmentation (optionally with the six cameras).

    Args:
        data_prefix: folders of the basenames stored in the infos: ``pts``
            (``samples/LIDAR_TOP``), ``pts_semantic_mask`` (``lidarseg/<version>``) and one
            key per camera of :data:`NUSCENES_CAMERAS` (default ``samples/<camera>``).
        Others as :class:`mmdet3d.datasets.Seg3DDataset`.
    """
    METAINFO = {
        'classes': NUSCENES_SEG_CLASSES,
        'palette': [[255, 120, 50], [255, 192, 203], [255, 255, 0], [0, 150, 245],
                    [0, 255, 255], [255, 127, 0], [255, 0, 0], [255, 240, 150],
                    [135, 60, 0], [160, 32, 240], [255, 0, 255], [139, 137, 137],
                    [75, 0, 75], [150, 240, 80], [230, 230, 250], [0, 175, 0]],
        'seg_valid_class_ids': tuple(range(16)),
        'seg_all_class_ids': tuple(range(16)),
        'seg_label_mapping': NUSCENES_LIDARSEG_MAPPING,
        'max_label': 31,
    }

    def __init__(self,
                 data_root: Optional[str] = None,
                 ann_file: str = '',
                 metainfo: Optional[dict] = None,
                 data_prefix: dict = dict(
                     pts='samples/LIDAR_TOP', pts_semantic_mask='lidarseg/v1.0-trainval',
                     **{cam: f'samples/{cam}' for cam in NUSCENES_CAMERAS}),
                 pipeline: List[Union[dict, Callable]] = [],
                 modality: dict = dict(use_lidar=True, use_camera=False),
                 ignore_index: Optional[int] = None,
                 test_mode: bool = False,
                 **kwargs) -> None:
        metainfo = dict(classes=self.METAINFO['classes'], palette=self.METAINFO['palette'],
                        **(metainfo or {}))
        # cameras the config does not name read from samples/<camera>, as nuScenes stores them
        data_prefix = {**{cam: f'samples/{cam}' for cam in NUSCENES_CAMERAS}, **data_prefix}
        super().__init__(data_root=data_root, ann_file=ann_file,
                         metainfo=metainfo, data_prefix=data_prefix,
                         pipeline=pipeline, modality=modality, ignore_index=ignore_index,
                         test_mode=test_mode, **kwargs)

    def get_seg_label_mapping(self, metainfo: Optional[dict] = None) -> np.ndarray:
        """(max_label + 1,) array: raw lidarseg id → class index, ignore elsewhere."""
        metainfo = metainfo or {}
        mapping = metainfo.get('seg_label_mapping', self.METAINFO['seg_label_mapping'])
        max_label = metainfo.get('max_label', self.METAINFO['max_label'])
        lut = np.full(max_label + 1, self.ignore_index, dtype=np.int64)
        for raw, cls in mapping.items():
            lut[int(raw)] = cls
        return lut

    def parse_data_info(self, info: dict) -> dict:
        info['ann_file'] = self.ann_file  # named by errors about the info
        info['data_root'] = self.data_root  # cache keys are image paths relative to it
        if self.modality.get('use_camera', False):
            for cam, img_info in info.get('images', {}).items():
                if 'img_path' in img_info:
                    img_info['img_path'] = osp.join(
                        self.data_prefix.get(cam, self.data_prefix.get('img', '')),
                        img_info['img_path'])
            modality = self.modality
            self.modality = dict(modality, use_camera=False)  # paths already joined
            try:
                return super().parse_data_info(info)
            finally:
                self.modality = modality
        return super().parse_data_info(info)
