# Linear probing on the synthetic nuScenes set: the trunk frozen (weights, BatchNorm
# statistics), only the classification head trained on all labelled training scans.
#   python tools/train.py THIS_CONFIG --cfg-options load_from=work_dirs/demo/tmp/iter_600.pth
_base_ = ['../stage2/minkunet18-w16_supervised_synthetic-nuscenes.py']

custom_hooks = [dict(type='FreezeModulesHook', modules=['backbone'])]
max_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters,
         T_max=max_iters - 30, eta_min=1e-5),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
