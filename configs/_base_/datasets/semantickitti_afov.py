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

# Pipelines are built from these blocks, here only (children pick a pipeline by name).
load_points = dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4)
load_ground_truth = [
    dict(type='AFOVLoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
         with_seg_3d=True, seg_3d_dtype='np.int32', seg_offset=2**16,
         dataset_type='semantickitti'),
    dict(type='PointSegClassMapping')]
# the teacher's pseudo-labels as pts_semantic_mask; LoadTeacherCache reads teacher /
# dictionary / teacher_cache_dir above
teacher_pseudo_labels = [
    dict(type='PointPixelPairing'),
    dict(type='LoadTeacherCache'),
    dict(type='PseudoLabelsAndSuperpoints', dictionary=dictionary, ignore_index=ignore_index)]
augmentation = [
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='GlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0])]
pack_labels = dict(type='PackAFOVInputs', keys=['points', 'pts_semantic_mask'])
pack_test = dict(type='PackAFOVInputs', keys=['points', 'pts_semantic_mask', 'pts_cam'])
# stage 2: pseudo-labels; the supervised baseline: ground truth
train_pipeline = [load_points] + teacher_pseudo_labels + augmentation + [pack_labels]
gt_train_pipeline = [load_points] + load_ground_truth + augmentation + [pack_labels]
test_pipeline = [load_points] + load_ground_truth + [dict(type='PointPixelPairing'), pack_test]
# the test pipeline plus the teacher's pseudo-labels (AFI's covering reads them)
teacher_test_pipeline = [load_points] + load_ground_truth + teacher_pseudo_labels + [pack_test]
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline,
                 modality=modality))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline,
                 modality=modality))
test_dataloader = val_dataloader
val_evaluator = dict(type='InViewSegMetric')
test_evaluator = val_evaluator
