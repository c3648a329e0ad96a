"""Write synthetic scenes in the nuScenes (+ nuScenes-lidarseg) on-disk format.

Files: ``samples/LIDAR_TOP/*.pcd.bin`` (float32 x, y, z, intensity 0-255, ring),
``samples/CAM_*/*.jpg``, ``lidarseg/<version>/<token>_lidarseg.bin`` (uint8 raw ids),
``maps/*.png`` and the ``<version>/*.json`` tables nuscenes-devkit loads. Scene names are the
real ones of the version's official split (``nuscenes.utils.splits``), so the real split rule
applies unchanged. Rendered per-pixel ground truth for the simulated teacher goes to
``synthetic_gt/<CAM>/<image basename>.{class,instance}.png`` (raw lidarseg id, 255 = sky;
instance id), which is not part of the public format.
"""
import hashlib
import json
import os
from typing import Dict, List, Tuple

import cv2
import numpy as np
from pyquaternion import Quaternion
from tqdm import tqdm

from ..datasets.nuscenes_seg import NUSCENES_CAMERAS
from ..datasets.nuscenes_seg import NUSCENES_LIDARSEG_CATEGORIES as LIDARSEG_CATEGORIES
from ..fileio import atomic_write_bytes, atomic_write_text
from .camera import render_camera
from .lidar import NUSCENES_HDL32, LidarModel, scan
from .raycast import KIND_NAMES
from .world import KINDS, ego_boxes, generate_scene
from .world_info import write_world_info

IMAGE_SIZE = (1600, 900)
# (yaw of the optical axis in the ego frame [deg], translation in the ego frame, focal, cx, cy)
# close to the published nuScenes calibration of the Boston/Singapore vehicles.
CAMERA_RIG = {
    'CAM_FRONT': (0.0, (1.70, 0.016, 1.51), 1266.4, 816.3, 491.5),
    'CAM_FRONT_RIGHT': (-55.0, (1.55, -0.49, 1.50), 1260.8, 807.97, 495.33),
    'CAM_BACK_RIGHT': (-110.0, (1.03, -0.48, 1.56), 1259.5, 807.25, 501.2),
    'CAM_BACK': (180.0, (0.03, 0.008, 1.57), 809.2, 829.2, 481.8),
    'CAM_BACK_LEFT': (110.0, (1.04, 0.48, 1.56), 1256.7, 817.8, 451.95),
    'CAM_FRONT_LEFT': (55.0, (1.52, 0.49, 1.51), 1272.6, 826.6, 479.75),
}
# the dataset's camera list, rendered clockwise from the front (the order the world's random
# stream has always drawn the camera images in)
CAMERAS = sorted(NUSCENES_CAMERAS, key=lambda c: -CAMERA_RIG[c][0] % 360)
LIDAR_TRANSLATION = (0.943713, 0.0, 1.84023)
LIDAR_YAW_DEG = -90.0  # nuScenes LIDAR_TOP: x to the right, y forward
# Offsets of the camera triggers from the LiDAR timestamp [µs], as the sweep passes each camera.
CAMERA_DELAY_US = {'CAM_FRONT': 12000, 'CAM_FRONT_RIGHT': 20000, 'CAM_BACK_RIGHT': 37000,
                   'CAM_BACK': 45000, 'CAM_BACK_LEFT': -20000, 'CAM_FRONT_LEFT': 4000}


def token(*parts) -> str:
    """Deterministic 32-hex token, like nuScenes'."""
    return hashlib.md5('/'.join(map(str, parts)).encode()).hexdigest()


def camera_to_ego(yaw_deg: float) -> np.ndarray:
    """Rotation (3, 3) from a camera frame (x right, y down, z forward) to the ego frame."""
    yaw = np.deg2rad(yaw_deg)
    forward = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    right = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
    down = np.array([0.0, 0.0, -1.0])
    return np.stack([right, down, forward], axis=1)


def scaled_intrinsic(camera: str, image_scale: float) -> np.ndarray:
    """(3, 3) K of ``camera`` for images scaled by ``image_scale`` from 1600×900."""
    _, _, f, cx, cy = CAMERA_RIG[camera]
    return np.array([[f * image_scale, 0.0, cx * image_scale],
                     [0.0, f * image_scale, cy * image_scale], [0.0, 0.0, 1.0]])


def pose_matrix(rotation: np.ndarray, translation) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = translation
    return out


def _quat(rotation: np.ndarray) -> List[float]:
    return list(map(float, Quaternion(matrix=rotation, atol=1e-7).elements))


def scene_names(version: str, num_scenes: int) -> List[Tuple[str, str]]:
    """(name, split) of each scene: real names of ``version``'s split, ~20 % validation."""
    from nuscenes.utils import splits
    if version == 'v1.0-mini':
        train, val = splits.mini_train, splits.mini_val
    else:
        train, val = splits.train, splits.val
    out, ti, vi = [], 0, 0
    for i in range(num_scenes):
        if (i % 5 == 4 or (i == num_scenes - 1 and vi == 0)) and vi < len(val):
            out.append((val[vi], 'val'))
            vi += 1
        else:
            if ti >= len(train):
                raise ValueError(f'{version} has only {len(train)} training scenes; ask for fewer '
                                 'scenes or use --version v1.0-trainval')
            out.append((train[ti], 'train'))
            ti += 1
    return out


def _kind_to_nuscenes() -> np.ndarray:
    return np.array([KINDS[n].nuscenes_id for n in KIND_NAMES], dtype=np.uint8)


def write_nuscenes(out_dir: str, num_scenes: int = 2, frames: int = 10, seed: int = 0,
                   version: str = 'v1.0-mini', image_scale: float = 1.0,
                   lidar: LidarModel = NUSCENES_HDL32, speed: float = 5.0,
                   sample_period_us: int = 500000, noise_ratio: float = 0.002,
                   write_gt: bool = True, **scene_options) -> Dict[str, list]:
    """Generate ``num_scenes`` scenes of ``frames`` key frames each; returns the tables.
    ``scene_options`` go to :func:`generate_scene` (``every_object_class``,
    ``shaped_objects``)."""
    width = int(round(IMAGE_SIZE[0] * image_scale))
    height = int(round(IMAGE_SIZE[1] * image_scale))
    kind2nus = _kind_to_nuscenes()
    tables: Dict[str, list] = {k: [] for k in [
        'category', 'attribute', 'visibility', 'instance', 'sensor', 'calibrated_sensor',
        'ego_pose', 'log', 'scene', 'sample', 'sample_data', 'sample_annotation', 'map',
        'lidarseg']}
    for idx, name in enumerate(LIDARSEG_CATEGORIES):
        tables['category'].append(dict(token=token('category', name), name=name,
                                       description=name, index=idx))
    tables['visibility'] = [dict(token=str(i + 1), level=lvl, description=lvl)
                            for i, lvl in enumerate(['v0-40', 'v40-60', 'v60-80', 'v80-100'])]
    channels = ['LIDAR_TOP'] + CAMERAS
    for ch in channels:
        tables['sensor'].append(dict(token=token('sensor', ch), channel=ch,
                                     modality='lidar' if ch == 'LIDAR_TOP' else 'camera'))
    lidar2ego = pose_matrix(Quaternion(axis=[0, 0, 1], degrees=LIDAR_YAW_DEG).rotation_matrix,
                            LIDAR_TRANSLATION)
    lidarseg_dir = os.path.join(out_dir, 'lidarseg', version)
    os.makedirs(lidarseg_dir, exist_ok=True)
    map_png = cv2.imencode('.png', np.zeros((8, 8), np.uint8))[1].tobytes()
    names = scene_names(version, num_scenes)
    base_time = 1533151603547590
    for s_idx, (scene_name, _) in enumerate(tqdm(names, desc='scenes')):
        rng = np.random.default_rng([seed, s_idx])
        scene = generate_scene(rng, **scene_options)
        log_tok = token('log', seed, scene_name)
        log_name = f'n008-2018-08-01-15-16-36-0400-{s_idx:04d}'
        tables['log'].append(dict(token=log_tok, logfile=log_name, vehicle='n008',
                                  date_captured='2018-08-01', location='boston-seaport'))
        map_tok = token('map', seed, scene_name)
        tables['map'].append(dict(token=map_tok, log_tokens=[log_tok], category='semantic_prior',
                                  filename=f'maps/{map_tok}.png'))
        atomic_write_bytes(os.path.join(out_dir, 'maps', f'{map_tok}.png'), map_png)
        calib = {}
        for ch in channels:
            tok = token('calibrated_sensor', seed, scene_name, ch)
            calib[ch] = tok
            if ch == 'LIDAR_TOP':
                rec = dict(translation=list(LIDAR_TRANSLATION),
                           rotation=_quat(lidar2ego[:3, :3]), camera_intrinsic=[])
            else:
                yaw, trans, f, cx, cy = CAMERA_RIG[ch]
                rec = dict(translation=list(trans), rotation=_quat(camera_to_ego(yaw)),
                           camera_intrinsic=scaled_intrinsic(ch, image_scale).tolist())
            tables['calibrated_sensor'].append(dict(token=tok, sensor_token=token('sensor', ch),
                                                    **rec))
        scene_tok = token('scene', seed, scene_name)
        sample_toks = [token('sample', seed, scene_name, f) for f in range(frames)]
        prev_sd = {ch: '' for ch in channels}
        heading = float(rng.normal(0, 0.02))
        y0 = float(rng.normal(0, 0.3))
        for f in range(frames):
            t_lidar = base_time + s_idx * 10 ** 8 + f * sample_period_us
            tables['sample'].append(dict(
                token=sample_toks[f], timestamp=t_lidar, scene_token=scene_tok,
                prev=sample_toks[f - 1] if f > 0 else '',
                next=sample_toks[f + 1] if f + 1 < frames else ''))

            def ego_pose_at(ts: int) -> np.ndarray:
                dist = speed * (ts - base_time - s_idx * 10 ** 8) / 1e6
                x = dist * np.cos(heading)
                y = y0 + dist * np.sin(heading)
                return pose_matrix(Quaternion(axis=[0, 0, 1], radians=heading).rotation_matrix,
                                   (x, y, 0.0))

            for ch in channels:
                ts = t_lidar + (0 if ch == 'LIDAR_TOP' else CAMERA_DELAY_US[ch])
                ego2global = ego_pose_at(ts)
                sd_tok = token('sample_data', seed, scene_name, f, ch)
                ep_tok = token('ego_pose', seed, scene_name, f, ch)
                tables['ego_pose'].append(dict(token=ep_tok, timestamp=ts,
                                               rotation=_quat(ego2global[:3, :3]),
                                               translation=list(map(float, ego2global[:3, 3]))))
                base = f'{log_name}__{ch}__{ts}'
                if ch == 'LIDAR_TOP':
                    filename = f'samples/LIDAR_TOP/{base}.pcd.bin'
                    sensor2global = ego2global @ lidar2ego
                    yaw = np.arctan2(sensor2global[1, 0], sensor2global[0, 0])
                    ego_yaw = np.arctan2(ego2global[1, 0], ego2global[0, 0])
                    ego = ego_boxes(ego2global[0, 3], ego2global[1, 3], ego_yaw)
                    scene.boxes.extend(ego)
                    try:  # the LiDAR sees its own car; cameras do not
                        sweep = scan(scene, lidar,
                                     (sensor2global[0, 3], sensor2global[1, 3], yaw), rng)
                    finally:
                        del scene.boxes[-len(ego):]
                    labels = kind2nus[sweep['kind']]
                    noisy = rng.random(labels.shape[0]) < noise_ratio
                    sweep['points'][noisy] *= rng.uniform(0.3, 0.9, (noisy.sum(), 1))
                    labels[noisy] = 0  # 'noise': spurious returns short of the true surface
                    pts = np.concatenate([sweep['points'], 255 * sweep['intensity'][:, None],
                                          sweep['ring'][:, None]], 1).astype(np.float32)
                    atomic_write_bytes(os.path.join(out_dir, filename), pts.tobytes())
                    seg_name = f'{sd_tok}_lidarseg.bin'
                    atomic_write_bytes(os.path.join(lidarseg_dir, seg_name),
                                       labels.astype(np.uint8).tobytes())
                    tables['lidarseg'].append(dict(token=sd_tok, sample_data_token=sd_tok,
                                                   filename=f'lidarseg/{version}/{seg_name}'))
                    h = w = 0
                    fileformat = 'pcd'
                else:
                    filename = f'samples/{ch}/{base}.jpg'
                    yaw_c, trans = CAMERA_RIG[ch][:2]
                    intrinsic = scaled_intrinsic(ch, image_scale)
                    cam2global = ego2global @ pose_matrix(camera_to_ego(yaw_c), trans)
                    view = render_camera(scene, intrinsic, cam2global, width, height, rng=rng)
                    ok, jpg = cv2.imencode('.jpg', view['rgb'][:, :, ::-1],
                                           [cv2.IMWRITE_JPEG_QUALITY, 90])
                    atomic_write_bytes(os.path.join(out_dir, filename), jpg.tobytes())
                    if write_gt:
                        cls = np.where(view['kind'] >= 0, kind2nus[np.maximum(view['kind'], 0)],
                                       255).astype(np.uint8)
                        gt_base = os.path.join(out_dir, 'synthetic_gt', ch, f'{base}')
                        atomic_write_bytes(gt_base + '.class.png',
                                           cv2.imencode('.png', cls)[1].tobytes())
                        atomic_write_bytes(
                            gt_base + '.instance.png',
                            cv2.imencode('.png', view['instance'].astype(np.uint16))[1].tobytes())
                    h, w = height, width
                    fileformat = 'jpg'
                rec = dict(token=sd_tok, sample_token=sample_toks[f], ego_pose_token=ep_tok,
                           calibrated_sensor_token=calib[ch], timestamp=ts,
                           fileformat=fileformat, is_key_frame=True, height=h, width=w,
                           filename=filename, prev=prev_sd[ch], next='')
                if prev_sd[ch]:
                    sd_rows = tables['sample_data']
                    sd_rows[_index_of(sd_rows, prev_sd[ch])]['next'] = sd_tok
                prev_sd[ch] = sd_tok
                tables['sample_data'].append(rec)
        tables['scene'].append(dict(
            token=scene_tok, log_token=log_tok, nbr_samples=frames,
            first_sample_token=sample_toks[0], last_sample_token=sample_toks[-1],
            name=scene_name, description=f'synthetic street, seed {seed}'))
    for name, rows in tables.items():
        atomic_write_text(os.path.join(out_dir, version, f'{name}.json'),
                          json.dumps(rows, indent=0))
    write_world_info(out_dir, format='nuscenes', version=version, scenes=num_scenes,
                     frames=frames, seed=seed, image_scale=image_scale, **scene_options)
    return tables


def _index_of(rows: list, tok: str) -> int:
    # sample_data rows are appended in order; the previous record of a channel is recent
    for i in range(len(rows) - 1, -1, -1):
        if rows[i]['token'] == tok:
            return i
    raise KeyError(tok)
