"""nuScenes(-lidarseg) info pkls in mmdet3d's v2 format, through nuscenes-devkit.

Works unchanged on the real ``v1.0-trainval`` / ``v1.0-mini`` (+ lidarseg) and on the synthetic
set (same layout). Paths are basenames, as in mmdet3d's own nuScenes infos: the dataset's
``data_prefix`` gives the folders. Per camera the full calibration chain with ego motion
between the LiDAR and the camera timestamps is folded into ``lidar2cam``:
``lidar → ego(t_lidar) → global → ego(t_cam) → camera``.
"""
import os
import os.path as osp
from typing import Dict, List

import numpy as np
from pyquaternion import Quaternion
from tqdm import tqdm

from ..datasets.nuscenes_seg import NUSCENES_CAMERAS
from ..fileio import atomic_dump_pickle_info


def _transform(record: dict) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = Quaternion(record['rotation']).rotation_matrix
    out[:3, 3] = record['translation']
    return out


def nuscenes_splits(version: str) -> Dict[str, List[str]]:
    from nuscenes.utils import splits
    if version == 'v1.0-mini':
        return dict(train=splits.mini_train, val=splits.mini_val)
    if version == 'v1.0-trainval':
        return dict(train=splits.train, val=splits.val)
    if version == 'v1.0-test':
        return dict(test=splits.test)
    raise ValueError(f'unknown nuScenes version {version!r}; expected v1.0-mini, '
                     'v1.0-trainval or v1.0-test')


def sample_info(nusc, sample: dict, with_lidarseg: bool) -> dict:
    """One mmdet3d v2 info entry for a nuScenes key frame."""
    sd = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
    lidar2ego = _transform(nusc.get('calibrated_sensor', sd['calibrated_sensor_token']))
    ego2global = _transform(nusc.get('ego_pose', sd['ego_pose_token']))
    info = dict(
        token=sample['token'], sample_idx=sample['token'], timestamp=sample['timestamp'] / 1e6,
        scene_token=sample['scene_token'], ego2global=ego2global.tolist(),
        lidar_points=dict(num_pts_feats=5, lidar_path=osp.basename(sd['filename']),
                          lidar2ego=lidar2ego.tolist(), sample_data_token=sd['token']),
        images={})
    lidar2global = ego2global @ lidar2ego
    for cam in NUSCENES_CAMERAS:
        if cam not in sample['data']:
            continue
        cam_sd = nusc.get('sample_data', sample['data'][cam])
        cs = nusc.get('calibrated_sensor', cam_sd['calibrated_sensor_token'])
        cam2ego = _transform(cs)
        cam_ego2global = _transform(nusc.get('ego_pose', cam_sd['ego_pose_token']))
        lidar2cam = np.linalg.inv(cam_ego2global @ cam2ego) @ lidar2global
        cam2img = np.eye(4)
        cam2img[:3, :3] = np.asarray(cs['camera_intrinsic'])
        info['images'][cam] = dict(
            img_path=osp.basename(cam_sd['filename']), cam2img=cam2img.tolist(),
            cam2ego=cam2ego.tolist(), lidar2cam=lidar2cam.tolist(),
            lidar2img=(cam2img @ lidar2cam).tolist(), sample_data_token=cam_sd['token'],
            timestamp=cam_sd['timestamp'] / 1e6, height=cam_sd['height'], width=cam_sd['width'])
    if with_lidarseg:
        info['pts_semantic_mask_path'] = osp.basename(
            nusc.get('lidarseg', sd['token'])['filename'])
    return info


def create_nuscenes_infos(root: str, out_dir: str, version: str = 'v1.0-trainval',
                          prefix: str = 'nuscenes') -> Dict[str, str]:
    """Write ``{prefix}_infos_{split}.pkl`` for every split of ``version``; returns paths."""
    from nuscenes import NuScenes
    if not osp.isdir(osp.join(root, version)):
        raise FileNotFoundError(f'{osp.join(root, version)} not found: --root-path must hold the '
                                f'{version}/ tables (and samples/, lidarseg/)')
    nusc = NuScenes(version=version, dataroot=root, verbose=False)
    with_lidarseg = hasattr(nusc, 'lidarseg')
    scene_split = {}
    for split, names in nuscenes_splits(version).items():
        for name in names:
            scene_split[name] = split
    data: Dict[str, list] = {split: [] for split in nuscenes_splits(version)}
    for sample in tqdm(nusc.sample, desc=f'{version} infos'):
        scene = nusc.get('scene', sample['scene_token'])
        split = scene_split.get(scene['name'])
        if split is not None:
            data[split].append(sample_info(nusc, sample, with_lidarseg))
    paths = {}
    os.makedirs(out_dir, exist_ok=True)
    for split, data_list in data.items():
        data_list.sort(key=lambda d: (d['scene_token'], d['timestamp']))
        path = osp.join(out_dir, f'{prefix}_infos_{split}.pkl')
        atomic_dump_pickle_info(dict(metainfo=dict(dataset='nuscenes', version=version,
                                                   info_version='1.1'),
                                     data_list=data_list), path)
        paths[split] = path
    return paths
