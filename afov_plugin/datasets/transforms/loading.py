"""Point and label loaders that refuse bad files with messages naming the file and the fix.

Drop-in subclasses of mmdet3d's ``LoadPointsFromFile`` / ``LoadAnnotations3D`` (same
arguments). What they check:

===============================  ==========================================================
bad input                        behaviour
===============================  ==========================================================
missing point / label file       ``FileNotFoundError`` naming the file
truncated / mis-sized points     ``ValueError``: byte count not a multiple of 4·load_dim
empty scan (0 points)            ``ValueError`` naming the file
NaN / inf coordinates            ``nonfinite='drop'`` (default): rows dropped, counted in
                                 ``results['num_nonfinite_points']`` and logged; labels
                                 dropped alike. ``nonfinite='error'``: ``ValueError``
label count != point count       ``ValueError`` naming both files and both counts
unknown raw label ids            ``ValueError`` naming the file and the ids
===============================  ==========================================================
"""
import os
from typing import Optional

import numpy as np
from mmengine.logging import print_log

from mmdet3d.datasets.transforms import LoadAnnotations3D, LoadPointsFromFile
from mmdet3d.registry import TRANSFORMS


@TRANSFORMS.register_module()
class AFOVLoadPointsFromFile(LoadPointsFromFile):
    """``LoadPointsFromFile`` with validation (see module docstring).

    Added keys: ``num_raw_points`` (int), ``pts_finite_mask`` ((N_raw,) bool, only when rows
    were dropped), ``num_nonfinite_points`` (int).
    """

    def __init__(self, *args, nonfinite: str = 'drop', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        assert nonfinite in ('drop', 'error')
        self.nonfinite = nonfinite

    def _load_points(self, pts_filename: str) -> np.ndarray:
        if not pts_filename.startswith(('s3:', 'http:', 'https:')) and \
                not os.path.isfile(pts_filename):
            raise FileNotFoundError(f'point file {pts_filename} not found: check data_root / '
                                    'data_prefix.pts, or regenerate the info pkl')
        try:
            points = super()._load_points(pts_filename)
        except ValueError as err:  # numpy: byte count not a multiple of float32's 4 bytes
            raise ValueError(
                f'truncated or mis-sized point file {pts_filename} ({err}): its size is not a '
                f'multiple of load_dim × 4 = {self.load_dim * 4} bytes; re-download or '
                'regenerate the file') from None
        if points.size == 0:
            raise ValueError(f'empty scan: {pts_filename} holds 0 points; remove it from the '
                             'info pkl or regenerate the file')
        if points.size % self.load_dim:
            raise ValueError(
                f'truncated or mis-sized point file {pts_filename}: {points.size * 4} bytes is '
                f'not a multiple of load_dim × 4 = {self.load_dim * 4} (nuScenes .pcd.bin has '
                '5 float32 per point, KITTI .bin 4): fix load_dim or re-download the file')
        return points

    def transform(self, results: dict) -> dict:
        results = super().transform(results)
        points = results['points']
        results['num_raw_points'] = len(points)
        finite = np.isfinite(points.tensor.numpy()).all(1)
        bad = int((~finite).sum())
        results['num_nonfinite_points'] = bad
        if bad:
            path = results['lidar_points']['lidar_path']
            if self.nonfinite == 'error':
                raise ValueError(f'{path}: {bad} points with NaN/inf values; clean the file or '
                                 "use nonfinite='drop'")
            print_log(f'{path}: dropped {bad} points with NaN/inf values', logger='current',
                      level=30)
            results['points'] = points[finite]
            results['pts_finite_mask'] = finite
        return results


@TRANSFORMS.register_module()
class AFOVLoadAnnotations3D(LoadAnnotations3D):
    """``LoadAnnotations3D`` whose semantic masks are validated against the points."""

    def _load_semantic_seg_3d(self, results: dict) -> dict:
        path = results['pts_semantic_mask_path']
        if not os.path.isfile(path):
            raise FileNotFoundError(f'label file {path} not found: check '
                                    'data_prefix.pts_semantic_mask or the info pkl')
        results = super()._load_semantic_seg_3d(results)
        mask = results['pts_semantic_mask']
        expected = results.get('num_raw_points')
        if expected is not None and mask.shape[0] != expected:
            raise ValueError(
                f'label file {path} has {mask.shape[0]} labels but point file '
                f'{results["lidar_points"]["lidar_path"]} has {expected} points: the two files '
                'do not belong together (check seg_3d_dtype, or regenerate the labels)')
        lut: Optional[np.ndarray] = results.get('seg_label_mapping')
        if lut is not None:
            unknown = np.unique(mask[(mask < 0) | (mask >= len(lut))])
            if unknown.size:
                raise ValueError(f'label file {path} holds raw ids {unknown.tolist()[:10]} '
                                 f'outside the dataset\'s label mapping (0..{len(lut) - 1}): '
                                 'wrong dataset type or a corrupt file')
        finite = results.get('pts_finite_mask')
        if finite is not None:
            mask = mask[finite]
            results['pts_semantic_mask'] = mask
        if 'eval_ann_info' in results:
            results['eval_ann_info']['pts_semantic_mask'] = results['pts_semantic_mask']
        return results
