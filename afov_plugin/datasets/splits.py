"""Few-label splits of an info file: a fraction of the scans, or of the scenes."""
import os.path as osp
import pickle
from typing import Dict, List

import numpy as np


def scene_of(info: Dict) -> str:
    """Scene of a scan: nuScenes ``scene_token``; SemanticKITTI: the sequence folder."""
    if info.get('scene_token'):
        return str(info['scene_token'])
    path = info['lidar_points']['lidar_path']
    parts = osp.normpath(path).split(osp.sep)
    return parts[-3] if len(parts) >= 3 else osp.dirname(path)


def split_infos(data_list: List[Dict], fraction: float, by: str = 'scan',
                seed: int = 0) -> List[Dict]:
    """``fraction`` (0..1] of the scans (``by='scan'``, at least one) or of the scenes
    (``by='scene'``, at least one scene, all its scans), chosen with ``seed``; order kept."""
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction}')
    rng = np.random.default_rng(seed)
    if by == 'scan':
        n = max(1, int(round(fraction * len(data_list))))
        keep = set(rng.choice(len(data_list), n, replace=False).tolist())
        return [d for i, d in enumerate(data_list) if i in keep]
    if by == 'scene':
        scenes = sorted({scene_of(d) for d in data_list})
        n = max(1, int(round(fraction * len(scenes))))
        chosen = {scenes[i] for i in rng.choice(len(scenes), n, replace=False)}
        return [d for d in data_list if scene_of(d) in chosen]
    raise ValueError(f"by must be 'scan' or 'scene', got {by!r}")


def load_infos(path: str) -> Dict:
    with open(path, 'rb') as f:
        infos = pickle.load(f)
    if not isinstance(infos, dict) or 'data_list' not in infos:
        raise ValueError(f'{path}: not an mmdet3d info file (no data_list); create it with '
                         'tools/create_data.py')
    return infos
