# nuScenes-lidarseg for AFOV: stage-2 training on cached-teacher pseudo-labels (no 3D label is
# read in training), evaluation on all points of the val split and separately on in-view / out-of-view points.
# Real data layout: data/nuscenes/{samples,lidarseg/v1.0-trainval,v1.0-trainval}; infos from
# `python tools/create_data.py nuscenes --root-path data/nuscenes --out-dir data/nuscenes`.
_base_ = ['./afov_pipeline_blocks.py']

dataset_type = 'NuScenesSegDataset'
data_root = 'data/nuscenes/'
version = 'v1.0-trainval'
dictionary = 'nuscenes'
class_names = ['barrier', 'bicycle', 'bus', 'car', 'construction_vehicle', 'motorcycle',
               'pedestrian', 'traffic_cone', 'trailer', 'truck', 'driveable_surface',
               'other_flat', 'sidewalk', 'terrain', 'manmade', 'vegetation']
# the six cameras read from samples/<camera> (NuScenesSegDataset's default for each camera)
data_prefix = dict(pts='samples/LIDAR_TOP', pts_semantic_mask=f'lidarseg/{version}')
ignore_index = 16
# The teacher whose cache stage 2 reads (written by tools/cache_teacher.py with this config).
teacher = dict(_base_.san_vit_b16_teacher, dictionary=dictionary)
teacher_cache_dir = None
# the zero-shot protocol's unseen classes (seed 002's nuScenes split; the rest are seen),
# filled into its pipeline steps and metric by engine/class_setting.py
unseen_classes = ['motorcycle', 'construction_vehicle', 'traffic_cone', 'trailer']
backend_args = None

# Pipelines are built from these blocks, here only (children pick a pipeline by name).
load_points = dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4)
load_ground_truth = [
    dict(type='AFOVLoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
         with_seg_3d=True, seg_3d_dtype='np.uint8'),
    dict(type='PointSegClassMapping')]
# dataset-independent blocks (afov_pipeline_blocks.py): pseudo-labels, flip / rotate, packing
teacher_pseudo_labels, augmentation = _base_.teacher_pseudo_labels, _base_.augmentation
pack_labels, pack_test = _base_.pack_labels, _base_.pack_test
# stage 2: pseudo-labels; supervised baselines and few-label fine-tuning: ground truth
train_pipeline = [load_points] + teacher_pseudo_labels + augmentation + [pack_labels]
gt_train_pipeline = [load_points] + load_ground_truth + augmentation + [pack_labels]
# stage 2 mixed with a second scan by mmdet3d's own LaserMix / PolarMix (pitch range of the
# HDL-32E: -30.67 to 10.67 degrees; PolarMix pastes the ten object classes 0-9)
lasermix_train_pipeline = [load_points] + teacher_pseudo_labels + [
    dict(type='LaserMix', num_areas=[3, 4, 5, 6], pitch_angles=[-31, 11],
         pre_transform=[load_points] + teacher_pseudo_labels, prob=1.0)] + augmentation + [
    pack_labels]
polarmix_train_pipeline = [load_points] + teacher_pseudo_labels + [
    dict(type='PolarMix', instance_classes=list(range(10)), swap_ratio=0.5,
         rotate_paste_ratio=1.0, pre_transform=[load_points] + teacher_pseudo_labels,
         prob=1.0)] + augmentation + [pack_labels]
# TMP (tri-modal contrastive pretraining): paired image crops, the teacher's regions as
# superpoints with their features and prompts, and the text bank
tmp_crop = dict(type='RandomPairCrop', scale=(0.3, 1.0), ratio=(1.5, 2.0), prob=1.0)
tmp_after_crop = [
    dict(type='LoadTeacherCache', with_text_bank=True),
    dict(type='PseudoLabelsAndSuperpoints', dictionary=dictionary, ignore_index=ignore_index,
         grouping='superpixel')] + augmentation + [
    dict(type='PackAFOVInputs', keys=['points', 'pts_superpoint', 'superpoint_feat',
                                      'superpoint_prompt', 'text_bank'])]
tmp_train_pipeline = [load_points, dict(type='PointPixelPairing'), tmp_crop] + tmp_after_crop
# the CPU demo's TMP crops half of the scans (the reference: all)
tmp_train_pipeline_half_crops = [load_points, dict(type='PointPixelPairing'),
                                 dict(tmp_crop, prob=0.5)] + tmp_after_crop
test_pipeline = [load_points] + load_ground_truth + [dict(type='PointPixelPairing'), pack_test]
# zero-shot: seen classes' ground truth + the teacher's unseen-class pseudo-labels (and
# MCFA's targets); the seen-only supervised lower bound (configs/afov/zero_shot/)
zero_shot_train_pipeline = [load_points] + load_ground_truth + _base_.zero_shot_after_loading
zero_shot_mcfa_train_pipeline = [load_points] + load_ground_truth + \
    _base_.zero_shot_mcfa_after_loading
seen_gt_train_pipeline = [load_points] + load_ground_truth + _base_.seen_gt_after_loading
# the test pipeline plus the teacher's pseudo-labels, packed as pts_semantic_mask (marked as
# the teacher's; the metric's ground truth stays in eval_ann_info): AFI's covering reads them
teacher_test_pipeline = [load_points] + load_ground_truth + teacher_pseudo_labels + [pack_test]
modality = dict(use_lidar=True, use_camera=True)
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='nuscenes_infos_train.pkl',
                 data_prefix=data_prefix, pipeline=train_pipeline, modality=modality,
                 ignore_index=ignore_index, backend_args=backend_args))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='nuscenes_infos_val.pkl',
                 data_prefix=data_prefix, pipeline=test_pipeline, modality=modality,
                 ignore_index=ignore_index, test_mode=True, backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='InViewSegMetric')
test_evaluator = val_evaluator
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Det3DLocalVisualizer', vis_backends=vis_backends, name='visualizer')
