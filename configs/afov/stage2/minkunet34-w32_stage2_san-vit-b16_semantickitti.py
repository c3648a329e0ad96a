# Annotation-free stage 2 on SemanticKITTI with the SAN ViT-B/16 teacher and AFOV's
# SemanticKITTI class dictionary (the reference has no annotation-free KITTI path).
_base_ = [
    '../../_base_/datasets/semantickitti_afov.py',
    '../../_base_/models/minkunet_afov_stage2.py',
    '../../_base_/schedules/afov_stage2_sgd.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.05, 0.05, 0.05])),
    backbone=dict(encoder_blocks=[2, 3, 4, 6]),
    decode_head=dict(num_classes=19, ignore_index=19))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=True))
log_processor = dict(by_epoch=True)
