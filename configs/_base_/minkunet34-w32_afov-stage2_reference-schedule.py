# MinkUNet34 (encoder blocks 2-3-4-6, 32-64-128-256 / 256-128-96-96) for annotation-free
# stage 2 on real data, with the reference's epoch schedule (SGD, head 100x, cosine) and
# checkpoints / logs by epoch. Children add a dataset base and their voxel size.
_base_ = ['./models/minkunet_afov_stage2.py', './schedules/afov_stage2_sgd.py',
          './default_runtime.py']
model = dict(backbone=dict(encoder_blocks=[2, 3, 4, 6]))
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=True))
log_processor = dict(by_epoch=True)
