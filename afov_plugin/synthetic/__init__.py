"""Synthetic driving world written in real dataset layouts (reached from tools and tests only)."""
from .lidar import KITTI_HDL64, NUSCENES_HDL32, LidarModel, scan
from .raycast import cast_rays
from .nuscenes_writer import write_nuscenes
from .semantickitti_writer import sequence_ids, write_semantickitti
from .world import KINDS, Box, Kind, Scene, generate_scene

__all__ = ['KINDS', 'Kind', 'Box', 'Scene', 'generate_scene', 'LidarModel', 'KITTI_HDL64',
           'NUSCENES_HDL32', 'cast_rays', 'scan', 'write_semantickitti', 'sequence_ids',
           'write_nuscenes']
