from .semantickitti_infos import SPLITS, create_semantickitti_infos, read_calib

__all__ = ['create_semantickitti_infos', 'read_calib', 'SPLITS']
