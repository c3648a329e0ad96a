"""Synthetic driving world written in real dataset layouts (reached from tools and tests only)."""
from .lidar import KITTI_HDL64, NUSCENES_HDL32, LidarModel, scan
from .raycast import cast_rays
from .nuscenes_writer import write_nuscenes
from .semantickitti_writer import sequence_ids, write_semantickitti
from .world import KINDS, Box, Kind, Scene, generate_scene

__all__ = ['KINDS', 'Kind', 'Box', 'Scene', 'generate_scene', 'LidarModel', 'KITTI_HDL64',
           'NUSCENES_HDL32', 'cast_rays', 'scan', 'write_semantickitti', 'sequence_ids',
           'write_nuscenes']


def ground_truth_paths(img_path: str):
    """Rendered (class, instance) PNG paths of a synthetic camera image, or None if absent.

    nuScenes: ``ROOT/samples/CAM_X/NAME.jpg`` → ``ROOT/synthetic_gt/CAM_X/NAME.{class,
    instance}.png`` (raw lidarseg ids, 255 = sky). SemanticKITTI: ``ROOT/sequences/XX/image_2/
    NNNNNN.png`` → ``ROOT/synthetic_gt/XX/NNNNNN.*.png`` (raw SemanticKITTI ids, 0 = sky).
    """
    import os
    folder, name = os.path.split(os.path.abspath(img_path))
    stem = os.path.splitext(name)[0]
    parent, sub = os.path.split(folder)
    if sub == 'image_2':  # KITTI
        seq_dir, seq = os.path.split(parent)
        root = os.path.dirname(seq_dir)
        base = os.path.join(root, 'synthetic_gt', seq, stem)
    else:  # nuScenes samples/CAM_X
        root = os.path.dirname(parent)
        base = os.path.join(root, 'synthetic_gt', sub, stem)
    cls, inst = base + '.class.png', base + '.instance.png'
    return (cls, inst) if os.path.isfile(cls) and os.path.isfile(inst) else None
