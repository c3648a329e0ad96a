# The smallest real training job: mmdet3d's MinkUNet (width 16, spconv backend) trained on
# ground-truth labels of the synthetic SemanticKITTI set, short CPU schedule.
_base_ = [
    '../_base_/datasets/synthetic_semantickitti.py',
    '../_base_/models/minkunet_spconv.py',
    '../_base_/schedules/adamw_warmup-cosine_iters.py',
    '../_base_/default_runtime.py',
]

model = dict(
    data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.1, 0.1, 0.1])),
    backbone=dict(
        base_channels=16,
        encoder_channels=[16, 32, 64, 128],
        decoder_channels=[128, 64, 48, 48]),
    decode_head=dict(channels=48))
train_cfg = dict(max_iters=150, val_interval=150)
