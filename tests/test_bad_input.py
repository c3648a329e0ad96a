"""Bad input on the data path: each gives a clear error naming the file, or a counted skip."""

import numpy as np
import pytest
from mmdet3d.registry import TRANSFORMS
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401

register_all_modules(init_default_scope=False)


def _results(pts_path, label_path=None, lut_size=32):
    r = dict(lidar_points=dict(lidar_path=pts_path))
    if label_path is not None:
        r['pts_semantic_mask_path'] = label_path
        r['seg_label_mapping'] = np.zeros(lut_size, dtype=np.int64)
    return r


def _load(results, load_dim=5, **kwargs):
    return TRANSFORMS.build(dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR',
                                 load_dim=load_dim, use_dim=4, **kwargs)).transform(results)


def _labels(results):
    return TRANSFORMS.build(dict(type='AFOVLoadAnnotations3D', with_bbox_3d=False,
                                 with_label_3d=False, with_seg_3d=True,
                                 seg_3d_dtype='np.uint8')).transform(results)


def _write(path, arr):
    arr.tofile(path)
    return str(path)


def test_truncated_point_file(tmp_path):
    p = _write(tmp_path / 'scan.pcd.bin', np.zeros(5 * 10 + 3, np.float32))
    with pytest.raises(ValueError, match=r'truncated or mis-sized point file .*scan.pcd.bin'):
        _load(_results(p))


def test_wrong_load_dim_is_reported(tmp_path):
    p = _write(tmp_path / 'kitti.bin', np.zeros(4 * 7, np.float32))  # KITTI file, nuScenes dims
    with pytest.raises(ValueError, match='load_dim'):
        _load(_results(p), load_dim=5)


def test_missing_point_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.bin'):
        _load(_results(str(tmp_path / 'nope.bin')))


def test_empty_scan(tmp_path):
    p = _write(tmp_path / 'empty.bin', np.zeros(0, np.float32))
    with pytest.raises(ValueError, match=r'empty scan: .*empty.bin'):
        _load(_results(p))


def test_nan_points_are_dropped_counted_and_labels_follow(tmp_path):
    pts = np.arange(50, dtype=np.float32).reshape(10, 5)
    pts[3, 0] = np.nan
    pts[7, 2] = np.inf
    labels = np.arange(10, dtype=np.uint8)
    r = _results(_write(tmp_path / 'nan.bin', pts), _write(tmp_path / 'nan.label', labels))
    r = _labels(_load(r))
    assert r['num_nonfinite_points'] == 2 and len(r['points']) == 8
    np.testing.assert_array_equal(r['pts_semantic_mask'], [0, 1, 2, 4, 5, 6, 8, 9])
    with pytest.raises(ValueError, match='NaN/inf'):
        _load(_results(str(tmp_path / 'nan.bin')), nonfinite='error')


def test_label_count_mismatch_names_both_files(tmp_path):
    r = _results(_write(tmp_path / 'a.bin', np.zeros(50, np.float32)),
                 _write(tmp_path / 'b.label', np.zeros(9, np.uint8)))
    with pytest.raises(ValueError, match=r'b.label has 9 labels but point file .*a.bin has 10'):
        _labels(_load(r))


def test_unknown_raw_label_ids(tmp_path):
    r = _results(_write(tmp_path / 'a.bin', np.zeros(50, np.float32)),
                 _write(tmp_path / 'c.label', np.array([1, 2, 77, 3, 90, 1, 1, 1, 1, 1],
                                                       np.uint8)), lut_size=32)
    with pytest.raises(ValueError, match=r'c.label holds raw ids \[77, 90\]'):
        _labels(_load(r))


def test_missing_label_file(tmp_path):
    r = _results(_write(tmp_path / 'a.bin', np.zeros(50, np.float32)),
                 str(tmp_path / 'gone.label'))
    with pytest.raises(FileNotFoundError, match='gone.label'):
        _labels(_load(r))


def test_malformed_kitti_calibration(tmp_path):
    from afov_plugin.converters import read_calib
    (tmp_path / 'calib.txt').write_text('P2: 1 2 3\nTr: ' + ' '.join(['0'] * 12) + '\n')
    with pytest.raises(ValueError, match=r'calib.txt: malformed calibration row \'P2\''):
        read_calib(str(tmp_path / 'calib.txt'))
    (tmp_path / 'calib.txt').write_text('P0: ' + ' '.join(['0'] * 12) + '\n')
    with pytest.raises(ValueError, match="missing 'P2'"):
        read_calib(str(tmp_path / 'calib.txt'))


def test_missing_nuscenes_tables(tmp_path):
    from afov_plugin.converters import create_nuscenes_infos
    with pytest.raises(FileNotFoundError, match='v1.0-mini'):
        create_nuscenes_infos(str(tmp_path), str(tmp_path), 'v1.0-mini')
