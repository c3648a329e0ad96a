# SemanticKITTI for AFOV: stage 2 on cached-teacher pseudo-labels through the front camera
# (image_2, P2) with AFOV's SemanticKITTI class dictionary; evaluation on all val points
# (sequence 08), split into in-view / out-of-view points. Layout: data/semantickitti/sequences/XX/...; infos from
# `python tools/create_data.py semantickitti --root-path data/semantickitti --out-dir ...`.
_base_ = ['mmdet3d::_base_/datasets/semantickitti.py']

dataset_type = 'SemanticKittiMMDataset'
data_root = 'data/semantickitti/'
dictionary = 'semantickitti'
ignore_index = 19
teacher = dict(type='MMSegOVTeacher', dictionary=dictionary,
               config='configs/afov/teachers/san-vit-b16_mmseg.py',
               checkpoint='checkpoints/san-vit-b16_20230906-fd0a7684.pth', name='san-vit-b16')
# Its cache: teacher_cache_dir, relative to data_root; None = teacher_cache/<teacher name>.
# Every LoadTeacherCache step, tools/cache_teacher.py and the reports read these three keys
# (afov_plugin/engine/teacher_setting.py); a cache of another teacher is refused.
teacher_cache_dir = None
modality = dict(use_lidar=True, use_camera=True)

train_pipeline = [
    dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4),
    dict(type='PointPixelPairing'),
    dict(type='LoadTeacherCache'),  # reads teacher / dictionary / teacher_cache_dir above
    dict(type='PseudoLabelsAndSuperpoints', dictionary=dictionary, ignore_index=ignore_index),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='GlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='PackAFOVInputs', keys=['points', 'pts_semantic_mask']),  # = pseudo-labels
]
# supervised baselines: the same augmentations on ground truth
gt_train_pipeline = [
    dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4),
    dict(type='AFOVLoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
         with_seg_3d=True, seg_3d_dtype='np.int32', seg_offset=2**16,
         dataset_type='semantickitti'),
    dict(type='PointSegClassMapping'),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='GlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='PackAFOVInputs', keys=['points', 'pts_semantic_mask']),
]
test_pipeline = [
    dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4),
    dict(type='AFOVLoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
         with_seg_3d=True, seg_3d_dtype='np.int32', seg_offset=2**16,
         dataset_type='semantickitti'),
    dict(type='PointSegClassMapping'),
    dict(type='PointPixelPairing'),
    dict(type='PackAFOVInputs', keys=['points', 'pts_semantic_mask', 'pts_cam']),
]
# the test pipeline plus the teacher's pseudo-labels (AFI's covering reads them)
teacher_test_pipeline = test_pipeline[:-1] + [
    dict(type='LoadTeacherCache'),
    dict(type='PseudoLabelsAndSuperpoints', dictionary=dictionary, ignore_index=ignore_index),
    test_pipeline[-1]]
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline,
                 modality=modality))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline,
                 modality=modality))
test_dataloader = val_dataloader
val_evaluator = dict(type='InViewSegMetric')
test_evaluator = val_evaluator
