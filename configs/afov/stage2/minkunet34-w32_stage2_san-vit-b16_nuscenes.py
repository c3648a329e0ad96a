# Annotation-free stage 2 on nuScenes with the SAN ViT-B/16 teacher (cache first:
#   torchrun --nproc_per_node 8 tools/cache_teacher.py THIS_CONFIG --launcher pytorch).
# MinkUNet34 (encoder blocks 2-3-4-6, 32-64-128-256 / 256-128-96-96), 0.1 m voxels,
# reference schedule (SGD, head 100x, cosine), 8 GPUs x 2 scans.
_base_ = [
    '../../_base_/datasets/nuscenes_afov.py',
    '../../_base_/models/minkunet_afov_stage2.py',
    '../../_base_/schedules/afov_stage2_sgd.py',
    '../../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.1, 0.1, 0.1])),
    backbone=dict(encoder_blocks=[2, 3, 4, 6]))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=True))
log_processor = dict(by_epoch=True)
