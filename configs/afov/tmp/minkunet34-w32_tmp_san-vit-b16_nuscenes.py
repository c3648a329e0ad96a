# TMP on nuScenes with the SAN ViT-B/16 cache, the reference schedule: one scan per GPU on 4
# GPUs, SGD lr 0.5, momentum 0.9, wd 1e-4, cosine, 40 epochs; image crops as the reference.
#   python tools/cache_teacher.py configs/afov/stage2/minkunet34-w32_stage2_san-vit-b16_nuscenes.py
#   bash tools/dist_train.sh THIS_CONFIG 4
_base_ = [
    '../../_base_/datasets/nuscenes_afov.py',
    '../../_base_/models/minkunet_afov_tmp.py',
    '../../_base_/default_runtime.py',
]

model = dict(
    data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.1, 0.1, 0.1])),
    backbone=dict(encoder_blocks=[2, 3, 4, 6]),  # MinkUNet34, as the stage-2 config
    decode_head=dict(feature_dim=512, dictionary={{_base_.dictionary}}))
train_dataloader = dict(batch_size=1, dataset=dict(pipeline={{_base_.tmp_train_pipeline}}))
val_dataloader = None
val_evaluator = None
val_cfg = None

max_epochs = 40
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
                        eta_min=0, begin=0, end=max_epochs)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(interval=1, by_epoch=True))
