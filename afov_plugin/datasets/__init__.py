from .nuscenes_seg import (NUSCENES_CAMERAS, NUSCENES_LIDARSEG_MAPPING, NUSCENES_SEG_CLASSES,
                           NuScenesSegDataset)
from .semantickitti_mm import SemanticKittiMMDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['NuScenesSegDataset', 'NUSCENES_SEG_CLASSES', 'NUSCENES_LIDARSEG_MAPPING',
           'NUSCENES_CAMERAS', 'SemanticKittiMMDataset']
