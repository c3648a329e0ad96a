"""Write synthetic scans in the SemanticKITTI / KITTI odometry on-disk layout.

``sequences/XX/velodyne/NNNNNN.bin`` (float32 x, y, z, remission), ``labels/NNNNNN.label``
(uint32: semantic raw id in the low 16 bits, instance id in the high 16), ``calib.txt``
(``P0..P3``, ``Tr``), ``poses.txt`` (camera-0 poses, 3×4 row-major per line), ``times.txt``.
"""
import os
from typing import List, Optional

import numpy as np
from tqdm import tqdm

from ..fileio import atomic_write_bytes, atomic_write_text
from .lidar import KITTI_HDL64, LidarModel, scan
from .world import KINDS, generate_scene
from .world_info import write_world_info

# KITTI odometry sequence 00 calibration (public values), used for every synthetic sequence.
KITTI_P2 = np.array([[718.856, 0.0, 607.1928, 45.38225],
                     [0.0, 718.856, 185.2157, -0.1130887],
                     [0.0, 0.0, 1.0, 0.003779761]])
KITTI_TR = np.array([[4.276802e-04, -9.999672e-01, -8.084491e-03, -1.198459e-02],
                     [-7.210626e-03, 8.081198e-03, -9.999413e-01, -5.403984e-02],
                     [9.999738e-01, 4.859485e-04, -7.206933e-03, -2.921968e-01]])
KITTI_VAL_SEQUENCE = 8


def sequence_ids(num_scenes: int) -> List[int]:
    """Sequence number of each scene: the last scene is the validation sequence 08, the others
    take 00-07, 09, 10, ... so mmdet3d's / the real dataset's split rule applies unchanged."""
    train = [s for s in range(num_scenes + 1) if s != KITTI_VAL_SEQUENCE][:num_scenes - 1]
    return train + [KITTI_VAL_SEQUENCE] if num_scenes > 1 else [KITTI_VAL_SEQUENCE]


def _calib_text(p2: np.ndarray = KITTI_P2) -> str:
    p0 = p2.copy()
    p0[:, 3] = 0.0
    rows = {'P0': p0, 'P1': p0, 'P2': p2, 'P3': p2, 'Tr': KITTI_TR}
    return ''.join(f'{k}: ' + ' '.join(f'{v:.12e}' for v in m.reshape(-1)) + '\n'
                   for k, m in rows.items())


KITTI_IMAGE_SIZE = (1241, 376)


def camera2_to_lidar() -> np.ndarray:
    """(4, 4) pose of camera 2 (x right, y down, z forward) in the velodyne frame."""
    offset = np.linalg.solve(KITTI_P2[:, :3], KITTI_P2[:, 3])  # P2 = K [I | offset]
    cam2_to_cam0 = np.eye(4)
    cam2_to_cam0[:3, 3] = -offset
    return np.linalg.inv(np.vstack([KITTI_TR, [0, 0, 0, 1]])) @ cam2_to_cam0


def write_semantickitti(out_dir: str, num_scenes: int = 2, frames: int = 10, seed: int = 0,
                        lidar: LidarModel = KITTI_HDL64, frame_step: float = 1.0,
                        azimuth_steps: Optional[int] = None, with_images: bool = True,
                        image_scale: float = 1.0, val_frames: Optional[int] = None,
                        **scene_options) -> List[str]:
    """Generate ``num_scenes`` sequences of ``frames`` scans under ``out_dir/sequences``
    (the validation sequence 08: ``val_frames`` scans, default ``frames``; its first
    ``frames`` scans are the same either way).

    Labels use the raw ids, moving objects their moving ids (252-259). With ``with_images``
    each scan gets ``image_2/NNNNNN.png`` (KITTI's left colour camera, P2; ``image_scale`` < 1
    renders smaller images with P2 scaled alike) and the rendered per-pixel raw class /
    instance maps under ``synthetic_gt/XX/``.
    ``scene_options`` go to :func:`generate_scene`.
    Returns the list of written ``velodyne/*.bin`` paths (relative to ``out_dir``).
    """
    import cv2
    from .camera import render_camera
    p2 = KITTI_P2.copy()
    p2[:2] *= image_scale
    width, height = (int(round(v * image_scale)) for v in KITTI_IMAGE_SIZE)
    if azimuth_steps is not None:
        lidar = LidarModel(**{**lidar.__dict__, 'azimuth_steps': azimuth_steps})
    kitti_ids = np.array([KINDS[n].kitti_id for n in KINDS], dtype=np.uint32)
    moving_ids = np.array([KINDS[n].kitti_moving_id or KINDS[n].kitti_id for n in KINDS],
                          dtype=np.uint32)
    written = []
    velo_to_cam = np.vstack([KITTI_TR, [0, 0, 0, 1]])
    for scene_idx, seq in enumerate(tqdm(sequence_ids(num_scenes), desc='sequences')):
        rng = np.random.default_rng([seed, scene_idx])
        scene = generate_scene(rng, **scene_options)
        seq_dir = os.path.join(out_dir, 'sequences', f'{seq:02d}')
        poses, times = [], []
        for f in range(frames if seq != KITTI_VAL_SEQUENCE or val_frames is None else val_frames):
            pose = (f * frame_step, float(rng.normal(0, 0.2)), float(rng.normal(0, 0.02)))
            s = scan(scene, lidar, pose, rng)
            pts = np.concatenate([s['points'], s['intensity'][:, None]], 1).astype(np.float32)
            moving_inst = np.zeros(len(scene.boxes) + 2, dtype=bool)
            for b in scene.boxes:
                moving_inst[b.instance] = b.moving
            sem = np.where(moving_inst[s['instance']], moving_ids[s['kind']],
                           kitti_ids[s['kind']])
            label = (sem | (s['instance'].astype(np.uint32) << 16)).astype(np.uint32)
            rel = os.path.join('sequences', f'{seq:02d}', 'velodyne', f'{f:06d}.bin')
            atomic_write_bytes(os.path.join(out_dir, rel), pts.tobytes())
            atomic_write_bytes(os.path.join(seq_dir, 'labels', f'{f:06d}.label'), label.tobytes())
            written.append(rel)
            c, sn = np.cos(pose[2]), np.sin(pose[2])
            lidar_pose = np.array([[c, -sn, 0, pose[0]], [sn, c, 0, pose[1]],
                                   [0, 0, 1, lidar.height], [0, 0, 0, 1]])
            if with_images:
                view = render_camera(scene, p2[:, :3], lidar_pose @ camera2_to_lidar(), width,
                                     height, rng=rng)
                atomic_write_bytes(os.path.join(seq_dir, 'image_2', f'{f:06d}.png'),
                                   cv2.imencode('.png', view['rgb'][:, :, ::-1])[1].tobytes())
                cls = np.where(view['kind'] >= 0, kitti_ids[np.maximum(view['kind'], 0)], 0)
                gt = os.path.join(out_dir, 'synthetic_gt', f'{seq:02d}', f'{f:06d}')
                atomic_write_bytes(gt + '.class.png',
                                   cv2.imencode('.png', cls.astype(np.uint16))[1].tobytes())
                atomic_write_bytes(gt + '.instance.png', cv2.imencode(
                    '.png', view['instance'].astype(np.uint16))[1].tobytes())
            # KITTI poses: camera-0 pose relative to the first camera-0 frame
            cam_pose = velo_to_cam @ lidar_pose @ np.linalg.inv(velo_to_cam)
            poses.append(' '.join(f'{v:.9e}' for v in cam_pose[:3].reshape(-1)))
            times.append(f'{f * 0.1:.6e}')
        atomic_write_text(os.path.join(seq_dir, 'calib.txt'), _calib_text(p2))
        atomic_write_text(os.path.join(seq_dir, 'poses.txt'), '\n'.join(poses) + '\n')
        atomic_write_text(os.path.join(seq_dir, 'times.txt'), '\n'.join(times) + '\n')
    write_world_info(out_dir, format='semantickitti', scenes=num_scenes, frames=frames,
                     seed=seed, image_scale=image_scale if with_images else None,
                     **scene_options)
    return written
