"""Scan statistics of a set in the nuScenes-lidarseg or SemanticKITTI layout (real or synthetic),
next to the real nuScenes-lidarseg figures: points per scan, share of points inside some camera
image, and the share of points per raw category.

Reads the mmdet3d info pkls of ``tools/create_data.py`` and the raw label files; the camera test
is :class:`~afov_plugin.datasets.transforms.pairing.PointPixelPairing`'s (camera depth > 1 m,
inside the image; no occlusion test), the one the reference's pseudo-labels use, so the share is
comparable with the coverage of paper Tab. 4's semantic teachers. The real figures live in
``reference/nuscenes_lidarseg_v1.0-trainval.json`` with their sources; the picture is
:func:`afov_plugin.visualization.dataset_pictures.plot_class_shares`.
"""
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from tqdm import tqdm

from ..datasets.camera_geometry import image_size
from ..datasets.nuscenes_seg import (NUSCENES_LIDARSEG_CATEGORIES, NUSCENES_LIDARSEG_MAPPING,
                                     NUSCENES_SEG_CLASSES)
from ..datasets.semantickitti_mm import SEMANTICKITTI_RAW_NAMES
from ..datasets.splits import load_infos
from ..datasets.transforms.pairing import PointPixelPairing

NUSCENES_REFERENCE = osp.join(osp.dirname(__file__), 'reference',
                              'nuscenes_lidarseg_v1.0-trainval.json')


def _pct(num: float, den: float) -> float:
    return round(100.0 * num / den, 2) if den else float('nan')


def nuscenes_reference() -> Dict[str, object]:
    """The real nuScenes-lidarseg statistics in the layout of :func:`scan_statistics` (from
    ``reference/nuscenes_lidarseg_v1.0-trainval.json``, which names its sources)."""
    with open(NUSCENES_REFERENCE) as f:
        ref = json.load(f)
    points = ref['points_per_category']
    total = sum(points.values())
    return dict(dataset='nuScenes-lidarseg v1.0-trainval (real)',
                scans=ref['keyframes'],
                points_per_scan=round(total / ref['keyframes']),
                camera_share=ref['teacher_coverage_percent'],
                camera_share_source=ref['teacher_coverage_source'],
                category_share={k: _pct(v, total) for k, v in points.items()},
                class_share=_class_shares(
                    {NUSCENES_LIDARSEG_CATEGORIES.index(k): v
                     for k, v in points.items()}, total))


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
        for c in cams:
            if c not in image_sizes:
                image_sizes[c] = image_size(images[c], c, f'{info_file} under {root}')
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
