from .nuscenes_infos import create_nuscenes_infos, nuscenes_splits
from .semantickitti_infos import SPLITS, create_semantickitti_infos, read_calib

__all__ = ['create_semantickitti_infos', 'read_calib', 'SPLITS', 'create_nuscenes_infos',
           'nuscenes_splits']
