# Annotation-free stage 2 on the synthetic nuScenes set: MinkUNet (width 16) trained on the
# simulated SAN teacher's cached pseudo-labels; short CPU schedule. Cache first:
#   python tools/cache_teacher.py THIS_CONFIG
_base_ = [
    '../../_base_/datasets/synthetic-nuscenes_afov.py',
    '../../_base_/models/minkunet18-w16_afov_stage2.py',
    '../../_base_/schedules/adamw_warmup-cosine_iters.py',
    '../../_base_/default_runtime.py',
]

optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=2.0)}))
train_cfg = dict(max_iters=1000, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=100))
