"""SemanticKITTI info pkls in mmdet3d's v2 format (``metainfo`` + ``data_list``).

Works on the real SemanticKITTI layout and on the synthetic one (same layout). Each entry:
``lidar_points: {lidar_path, num_pts_feats: 4}``, ``pts_semantic_mask_path``, ``sample_idx``
and, when ``image_2`` exists, ``images: {CAM2: {img_path, height, width, cam2img, lidar2cam,
lidar2img}}``.
"""
import os
from typing import Dict, List, Sequence

import numpy as np
from PIL import Image

from ..fileio import atomic_dump_pickle_info

# The official SemanticKITTI split.
SPLITS: Dict[str, Sequence[int]] = {
    'train': [0, 1, 2, 3, 4, 5, 6, 7, 9, 10],
    'val': [8],
    'test': list(range(11, 22)),
}


def read_calib(path: str) -> Dict[str, np.ndarray]:
    """``calib.txt`` → {'P0'..'P3': (3, 4), 'Tr': (4, 4)}; raises naming the file on bad rows."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            key, _, values = line.partition(':')
            try:
                vals = np.array([float(v) for v in values.split()])
                out[key.strip()] = vals.reshape(3, 4)
            except ValueError as err:
                raise ValueError(f'{path}: malformed calibration row {key!r} ({err}); '
                                 'expected 12 numbers per row as in KITTI odometry') from None
    for key in ('P2', 'Tr'):
        if key not in out:
            raise ValueError(f'{path}: missing {key!r}; KITTI odometry calib.txt has P0-P3 and Tr')
    out['Tr'] = np.vstack([out['Tr'], [0, 0, 0, 1]])
    return out


def semantickitti_data_list(root: str, sequences: Sequence[int]) -> List[dict]:
    """Info entries of every scan of ``sequences`` found under ``root/sequences``."""
    data_list = []
    for seq in sequences:
        seq_dir = os.path.join(root, 'sequences', f'{seq:02d}')
        velo_dir = os.path.join(seq_dir, 'velodyne')
        if not os.path.isdir(velo_dir):
            continue
        calib = None
        if os.path.isfile(os.path.join(seq_dir, 'calib.txt')):
            calib = read_calib(os.path.join(seq_dir, 'calib.txt'))
        for name in sorted(os.listdir(velo_dir)):
            if not name.endswith('.bin'):
                continue
            frame = name[:-4]
            entry = dict(
                lidar_points=dict(num_pts_feats=4,
                                  lidar_path=f'sequences/{seq:02d}/velodyne/{name}'),
                pts_semantic_mask_path=f'sequences/{seq:02d}/labels/{frame}.label',
                sample_idx=f'{seq:02d}{frame}')
            img = os.path.join(seq_dir, 'image_2', f'{frame}.png')
            if calib is not None and os.path.isfile(img):
                cam2img = np.eye(4)
                cam2img[:3, :3] = calib['P2'][:, :3]
                # P2 = K [I | t]: fold the baseline offset into lidar2cam
                t = np.linalg.solve(calib['P2'][:, :3], calib['P2'][:, 3])
                lidar2cam = calib['Tr'].copy()
                lidar2cam[:3, 3] += t
                with Image.open(img) as im:  # header only: pairing needs the image size
                    width, height = im.size
                entry['images'] = dict(CAM2=dict(
                    img_path=f'sequences/{seq:02d}/image_2/{frame}.png',
                    height=height, width=width,
                    cam2img=cam2img.tolist(), lidar2cam=lidar2cam.tolist(),
                    lidar2img=(cam2img @ lidar2cam).tolist()))
            data_list.append(entry)
    return data_list


def create_semantickitti_infos(root: str, out_dir: str,
                               prefix: str = 'semantickitti') -> Dict[str, str]:
    """Write ``{prefix}_infos_{train,val,test}.pkl`` into ``out_dir``; returns their paths."""
    paths = {}
    for split, seqs in SPLITS.items():
        data_list = semantickitti_data_list(root, seqs)
        if not data_list and split == 'test':
            continue
        path = os.path.join(out_dir, f'{prefix}_infos_{split}.pkl')
        atomic_dump_pickle_info(
            dict(metainfo=dict(DATASET='SemanticKITTI', info_version='1.1'),
                 data_list=data_list), path)
        paths[split] = path
    return paths
