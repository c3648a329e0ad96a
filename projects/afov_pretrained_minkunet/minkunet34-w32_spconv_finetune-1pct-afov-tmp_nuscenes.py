# mmdet3d's MinkUNet34 (spconv, the mmdet3d model base) on nuScenes-lidarseg ground truth,
# 1 % of the training scans, starting from AFOV TMP weights. Split first:
#   python tools/create_splits.py data/nuscenes/nuscenes_infos_train.pkl
# Random-init baseline: --cfg-options load_from=None
_base_ = [
    '../../configs/_base_/datasets/nuscenes_afov.py',
    '../../configs/_base_/models/minkunet_spconv.py',
    '../../configs/_base_/schedules/afov_stage2_sgd.py',
    '../../configs/_base_/default_runtime.py',
]

model = dict(data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.1, 0.1, 0.1])),
             backbone=dict(encoder_blocks=[2, 3, 4, 6]),
             decode_head=dict(num_classes=16, ignore_index=16))
train_dataloader = dict(dataset=dict(ann_file='nuscenes_infos_train_1pct_scan.pkl',
                                     pipeline={{_base_.gt_train_pipeline}}))
load_from = 'work_dirs/minkunet34-w32_tmp_san-vit-b16_nuscenes/epoch_40.pth'
