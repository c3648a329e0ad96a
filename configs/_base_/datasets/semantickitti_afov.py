# SemanticKITTI for AFOV: stage 2 on cached-teacher pseudo-labels through the front camera
# (image_2, P2) with AFOV's SemanticKITTI class dictionary; evaluation on all val points
# (sequence 08), split into in-view / out-of-view points. Layout: data/semantickitti/sequences/XX/...; infos from
# `python tools/create_data.py semantickitti --root-path data/semantickitti --out-dir ...`.
_base_ = ['mmdet3d::_base_/datasets/semantickitti.py', './afov_pipeline_blocks.py']

dataset_type = 'SemanticKittiMMDataset'
data_root = 'data/semantickitti/'
dictionary = 'semantickitti'
ignore_index = 19
teacher = dict(_base_.san_vit_b16_teacher, dictionary=dictionary)
teacher_cache_dir = None
# the zero-shot protocol's unseen classes (seed 002's SemanticKITTI split; the rest are seen),
# filled into its pipeline steps and metric by engine/class_setting.py
unseen_classes = ['motorcycle', 'truck', 'bicyclist', 'traffic-sign']
modality = dict(use_lidar=True, use_camera=True)

# Pipelines are built from these blocks, here only (children pick a pipeline by name).
load_points = dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4)
load_ground_truth = [
    dict(type='AFOVLoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
         with_seg_3d=True, seg_3d_dtype='np.int32', seg_offset=2**16,
         dataset_type='semantickitti'),
    dict(type='PointSegClassMapping')]
# dataset-independent blocks (afov_pipeline_blocks.py): pseudo-labels, flip / rotate, packing
teacher_pseudo_labels, augmentation = _base_.teacher_pseudo_labels, _base_.augmentation
pack_labels, pack_test = _base_.pack_labels, _base_.pack_test
# stage 2: pseudo-labels; the supervised baseline: ground truth
train_pipeline = [load_points] + teacher_pseudo_labels + augmentation + [pack_labels]
gt_train_pipeline = [load_points] + load_ground_truth + augmentation + [pack_labels]
test_pipeline = [load_points] + load_ground_truth + [dict(type='PointPixelPairing'), pack_test]
# zero-shot: seen classes' ground truth + the teacher's unseen-class pseudo-labels (and
# MCFA's targets); the seen-only supervised lower bound (configs/afov/zero_shot/)
zero_shot_train_pipeline = [load_points] + load_ground_truth + _base_.zero_shot_after_loading
zero_shot_mcfa_train_pipeline = [load_points] + load_ground_truth + \
    _base_.zero_shot_mcfa_after_loading
seen_gt_train_pipeline = [load_points] + load_ground_truth + _base_.seen_gt_after_loading
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
