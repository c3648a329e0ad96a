import numpy as np
import torch
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import LiDARPoints
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401
from afov_plugin.vocabulary import load_class_dictionary
from afov_plugin.teachers import SimulatedOVTeacher, TeacherCache, TeacherOutput

register_all_modules(init_default_scope=False)


def test_cache_to_pseudo_labels_and_superpoints(tmp_path):
    d = load_class_dictionary('nuscenes')
    teacher = SimulatedOVTeacher(feature_dim=4)
    root = tmp_path / 'data'
    cache = TeacherCache.create(str(root / 'cache'), teacher, d)
    car, sky, road = d.prompts.index('sedan'), d.prompts.index('sky'), d.prompts.index('road')
    # camera A: left half region 1 (car), right half region 2 (road); camera B: all sky
    a = np.zeros((4, 6), np.uint8)
    a[:, :3], a[:, 3:] = 1, 2
    a[0, 0] = 0  # a pixel without region
    feats = np.eye(4, dtype=np.float32)
    cache.write('samples__A__x', TeacherOutput(a, np.array([car, road]), feats[:2]))
    cache.write('samples__B__y', TeacherOutput(np.ones((4, 6), np.uint8), np.array([sky]),
                                               feats[2:3]))
    results = dict(
        data_root=str(root), pair_cameras=['A', 'B'],
        images=dict(A=dict(img_path=str(root / 'samples/A/x.jpg'), height=4, width=6),
                    B=dict(img_path=str(root / 'samples/B/y.jpg'), height=4, width=6)),
        pts_cam=np.array([0, 0, 0, 1, -1, 0], np.int8),
        pts_pixel=np.array([[1, 1], [4, 2], [0, 0], [2, 2], [-1, -1], [2, 3]], np.int32))
    results = TRANSFORMS.build(dict(type='LoadTeacherCache', cache_dir='cache',
                                    dictionary='nuscenes')).transform(results)
    np.testing.assert_array_equal(results['pts_region'], [0, 1, -1, 2, -1, 0])
    np.testing.assert_array_equal(results['region_prompt'], [car, road, sky])
    results = TRANSFORMS.build(dict(type='PseudoLabelsAndSuperpoints', dictionary='nuscenes',
                                    min_superpoint_points=2)).transform(results)
    car_c, road_c = d.eval_classes.index('car'), d.eval_classes.index('driveable_surface')
    np.testing.assert_array_equal(results['pts_semantic_mask'],
                                  [car_c, road_c, 16, 16, 16, car_c])  # sky = ignore
    assert results['pts_semantic_mask_source'] == 'teacher'
    # only region 0 (car) has >= 2 points: it is the one superpoint
    np.testing.assert_array_equal(results['pts_superpoint'], [0, -1, -1, -1, -1, 0])
    np.testing.assert_array_equal(results['superpoint_feat'], feats[:1])
    np.testing.assert_array_equal(results['superpoint_prompt'], [car])

    packed = TRANSFORMS.build(dict(
        type='PackAFOVInputs', keys=['points', 'pts_semantic_mask', 'pts_superpoint',
                                     'superpoint_feat'])).transform(
        dict(results, points=LiDARPoints(torch.zeros(6, 4), points_dim=4)))
    sample = packed['data_samples']
    # mmdet3d's own key, marked as the teacher's so no one mistakes it for ground truth
    assert sample.gt_pts_seg.pts_semantic_mask.tolist() == [car_c, road_c, 16, 16, 16, car_c]
    assert sample.metainfo['pts_semantic_mask_source'] == 'teacher'
    assert sample.gt_pts_seg.pts_superpoint.dtype == torch.long
    assert sample.superpoint_feat.shape == (1, 4)


def test_report_counts_coverage_over_all_points_and_over_labelled_ones():
    """Paper Tab. 4 counts coverage over whole scans (ego points included); accuracy and the
    labelled-only coverage leave out points without a valid ground-truth class."""
    from afov_plugin.evaluation.pseudo_label_report import pseudo_label_statistics
    ignore = 3
    gt = np.array([0, 0, 1, 1, 2, ignore, ignore, ignore])
    pseudo = np.array([0, 1, 1, -1, 2, -1, -1, 0])  # 5 of 8 labelled, 4 of 5 valid ones
    item = dict(eval_ann_info=dict(pts_semantic_mask=gt), pts_semantic_mask=pseudo,
                pts_semantic_mask_source='teacher')
    stats = pseudo_label_statistics([item] * 2,
                                    ['a', 'b', 'c'], ignore, show_progress=False)
    assert stats['points'] == 16 and stats['labelled_points'] == 10
    assert stats['coverage'] == 62.5 and stats['coverage_labelled'] == 80.0
    assert stats['accuracy'] == 75.0  # 3 right of the 4 pseudo-labels on valid points
    assert stats['per_class']['b']['recall'] == 50.0
