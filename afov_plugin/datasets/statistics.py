"""Scan statistics of a set in the nuScenes-lidarseg or SemanticKITTI layout (real or synthetic),
next to the real nuScenes-lidarseg figures: points per scan, share of points inside some camera
image, and the share of points per raw category.

Reads the mmdet3d info pkls of ``tools/create_data.py`` and the raw label files; the camera test
is :class:`~afov_plugin.datasets.transforms.pairing.PointPixelPairing`'s (camera depth > 1 m,
inside the image; no occlusion test), the one the reference's pseudo-labels use, so the share is
comparable with the coverage of paper Tab. 4's semantic teachers.
"""
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from tqdm import tqdm

from .nuscenes_seg import (NUSCENES_LIDARSEG_CATEGORIES, NUSCENES_LIDARSEG_MAPPING,
                           NUSCENES_SEG_CLASSES)
from .splits import load_infos
from .transforms.pairing import PointPixelPairing

# nuScenes-lidarseg v1.0-trainval (34,149 key frames): points per raw category, as published
# with the dataset (the devkit's ``list_lidarseg_categories``).
NUSCENES_LIDARSEG_POINTS = {
    'noise': 2_061_156, 'animal': 5_385, 'human.pedestrian.adult': 2_156_470,
    'human.pedestrian.child': 9_655, 'human.pedestrian.construction_worker': 139_443,
    'human.pedestrian.personal_mobility': 8_723, 'human.pedestrian.police_officer': 9_159,
    'human.pedestrian.stroller': 8_809, 'human.pedestrian.wheelchair': 12_168,
    'movable_object.barrier': 9_305_106, 'movable_object.debris': 66_861,
    'movable_object.pushable_pullable': 718_641, 'movable_object.trafficcone': 736_239,
    'static_object.bicycle_rack': 163_126, 'vehicle.bicycle': 141_351,
    'vehicle.bus.bendy': 357_463, 'vehicle.bus.rigid': 4_247_297, 'vehicle.car': 38_104_219,
    'vehicle.construction': 1_514_414, 'vehicle.emergency.ambulance': 2_218,
    'vehicle.emergency.police': 59_590, 'vehicle.motorcycle': 427_391,
    'vehicle.trailer': 4_907_511, 'vehicle.truck': 15_841_384,
    'flat.driveable_surface': 316_958_899, 'flat.other': 8_559_216,
    'flat.sidewalk': 70_197_461, 'flat.terrain': 70_289_730, 'static.manmade': 178_178_063,
    'static.other': 817_150, 'static.vegetation': 122_581_273, 'vehicle.ego': 337_070_621,
}
NUSCENES_TRAINVAL_KEYFRAMES = 34_149
# SemanticKITTI raw label ids (semantic-kitti.yaml)
SEMANTICKITTI_RAW_NAMES = {
    0: 'unlabeled', 1: 'outlier', 10: 'car', 11: 'bicycle', 13: 'bus', 15: 'motorcycle',
    16: 'on-rails', 18: 'truck', 20: 'other-vehicle', 30: 'person', 31: 'bicyclist',
    32: 'motorcyclist', 40: 'road', 44: 'parking', 48: 'sidewalk', 49: 'other-ground',
    50: 'building', 51: 'fence', 52: 'other-structure', 60: 'lane-marking', 70: 'vegetation',
    71: 'trunk', 72: 'terrain', 80: 'pole', 81: 'traffic-sign', 99: 'other-object',
    252: 'moving-car', 253: 'moving-bicyclist', 254: 'moving-person',
    255: 'moving-motorcyclist', 256: 'moving-on-rails', 257: 'moving-bus',
    258: 'moving-truck', 259: 'moving-other-vehicle'}
# Paper Tab. 4: SAN, CAT-Seg and MaskCLIP, which label every pixel, cover 55.00 % of the points.
NUSCENES_CAMERA_SHARE = 55.0


def _pct(num: float, den: float) -> float:
    return round(100.0 * num / den, 2) if den else float('nan')


def nuscenes_reference() -> Dict[str, object]:
    """The real nuScenes-lidarseg statistics in the layout of :func:`scan_statistics`."""
    total = sum(NUSCENES_LIDARSEG_POINTS.values())
    return dict(dataset='nuScenes-lidarseg v1.0-trainval (real)',
                scans=NUSCENES_TRAINVAL_KEYFRAMES,
                points_per_scan=round(total / NUSCENES_TRAINVAL_KEYFRAMES),
                camera_share=NUSCENES_CAMERA_SHARE,
                category_share={k: _pct(v, total) for k, v in NUSCENES_LIDARSEG_POINTS.items()},
                class_share=_class_shares(
                    {NUSCENES_LIDARSEG_CATEGORIES.index(k): v
                     for k, v in NUSCENES_LIDARSEG_POINTS.items()}, total))


def _class_shares(raw_counts: Dict[int, int], total: int) -> Dict[str, float]:
    """Shares (%) of the 16 segmentation classes and 'ignore' from raw-id counts."""
    out = dict.fromkeys(list(NUSCENES_SEG_CLASSES) + ['ignore'], 0)
    for raw, n in raw_counts.items():
        cls = NUSCENES_LIDARSEG_MAPPING.get(raw)
        out[NUSCENES_SEG_CLASSES[cls] if cls is not None else 'ignore'] += n
    return {k: _pct(v, total) for k, v in out.items()}


def _resolve(root: str, sub: str, path: str) -> str:
    if osp.isabs(path):
        return path
    direct = osp.join(root, path)
    return direct if osp.exists(direct) else osp.join(root, sub, path)


def _image_size(path: str) -> tuple:
    from PIL import Image
    with Image.open(path) as img:
        return img.height, img.width


def scan_statistics(root: str, info_file: str, max_scans: Optional[int] = None,
                    show_progress: bool = True) -> Dict[str, object]:
    """Statistics of the scans listed in ``info_file`` (an mmdet3d info pkl under ``root``).

    Returns ``scans``, ``points_per_scan`` (mean; also ``_min`` / ``_max``), ``camera_share``
    (% of points inside some camera image; NaN without cameras in the infos),
    ``category_share`` (% of points per raw category name) and, for nuScenes,
    ``class_share`` (% per segmentation class and 'ignore').
    """
    infos = load_infos(osp.join(root, info_file))
    meta, data = infos.get('metainfo', {}), infos['data_list'][:max_scans]
    nuscenes = str(meta.get('dataset', meta.get('DATASET', ''))).lower() == 'nuscenes'
    version = meta.get('version', 'v1.0-trainval')
    pairing = PointPixelPairing()
    counts = np.zeros(1 << 16, np.int64)  # per raw id (SemanticKITTI: the low 16 bits)
    seen_counts = np.zeros(1 << 16, np.int64)
    sizes: List[int] = []
    seen_total, with_cameras = 0, True
    image_sizes: Dict[str, tuple] = {}
    for info in tqdm(data, desc='scans', disable=not show_progress):
        dims = info['lidar_points'].get('num_pts_feats', 5 if nuscenes else 4)
        pts = np.fromfile(_resolve(root, 'samples/LIDAR_TOP', info['lidar_points']['lidar_path']),
                          np.float32).reshape(-1, dims)
        mask_path = _resolve(root, f'lidarseg/{version}', info['pts_semantic_mask_path'])
        if nuscenes:
            labels = np.fromfile(mask_path, np.uint8).astype(np.int64)
        else:
            labels = (np.fromfile(mask_path, np.uint32) & 0xFFFF).astype(np.int64)
        if labels.shape[0] != pts.shape[0]:
            raise ValueError(f'{mask_path}: {labels.shape[0]} labels for {pts.shape[0]} points '
                             f'in {info["lidar_points"]["lidar_path"]}; regenerate the set')
        sizes.append(pts.shape[0])
        images = info.get('images') or {}
        cams = [c for c, v in images.items() if 'lidar2img' in v]
        for c in cams:  # KITTI infos carry no image size: read it once from the first image
            if c not in image_sizes:
                v = images[c]
                image_sizes[c] = (v['height'], v['width']) if v.get('height') else \
                    _image_size(_resolve(root, f'samples/{c}', v['img_path']))
        if cams:
            seen = pairing.pair(pts[:, :3], np.stack([np.asarray(images[c]['lidar2img'])
                                                      for c in cams]),
                                np.array([image_sizes[c] for c in cams]))[0] >= 0
        else:
            seen, with_cameras = np.zeros(pts.shape[0], bool), False
        seen_total += int(seen.sum())
        counts += np.bincount(labels, minlength=counts.size)
        seen_counts += np.bincount(labels[seen], minlength=counts.size)
    total = sum(sizes)
    present = np.flatnonzero(counts).tolist()

    def name(raw: int) -> str:
        if nuscenes:
            return NUSCENES_LIDARSEG_CATEGORIES[raw] if raw < 32 else str(raw)
        return SEMANTICKITTI_RAW_NAMES.get(raw, str(raw))

    out = dict(dataset=f'{root} ({info_file})', scans=len(sizes),
               points_per_scan=round(total / max(len(sizes), 1)),
               points_per_scan_min=min(sizes, default=0),
               points_per_scan_max=max(sizes, default=0),
               camera_share=_pct(seen_total, total) if with_cameras else float('nan'),
               category_share={name(k): _pct(counts[k], total) for k in present},
               category_camera_share={name(k): _pct(seen_counts[k], counts[k])
                                      for k in present})
    if nuscenes:
        out['class_share'] = _class_shares({k: int(counts[k]) for k in present}, total)
    return out


def comparison_markdown(stats: Dict[str, object], reference: Dict[str, object]) -> str:
    """A markdown table of ``stats`` next to ``reference`` (per class, then the summary)."""
    lines = [f"| | {stats['dataset']} | {reference['dataset']} |", '|---|---:|---:|',
             f"| points per scan | {stats['points_per_scan']} | {reference['points_per_scan']} |",
             f"| points inside some camera (%) | {stats['camera_share']} | "
             f"{reference['camera_share']} |"]
    for key in ('class_share', 'category_share'):
        if key in stats and key in reference:
            names = sorted(set(stats[key]) | set(reference[key]),
                           key=lambda k: -reference[key].get(k, 0))
            lines += [f"| {k} (% of points) | {stats[key].get(k, 0.0)} | "
                      f"{reference[key].get(k, 0.0)} |" for k in names]
            break
    return '\n'.join(lines) + '\n'


def plot_class_shares(stats: Dict[str, object], reference: Dict[str, object],
                      path: str) -> None:
    """Bar chart of the per-class point shares of ``stats`` and ``reference`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = sorted(reference['class_share'], key=lambda k: -reference['class_share'][k])
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.bar(x - 0.2, [stats['class_share'].get(k, 0) for k in names], 0.4, label='this set')
    ax.bar(x + 0.2, [reference['class_share'][k] for k in names], 0.4,
           label='nuScenes-lidarseg (real)')
    ax.set_xticks(x, names, rotation=45, ha='right')
    ax.set_ylabel('% of points')
    ax.set_title(f"points per scan {stats['points_per_scan']} / {reference['points_per_scan']}"
                 f"; inside some camera {stats['camera_share']} % / "
                 f"{reference['camera_share']} %")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
