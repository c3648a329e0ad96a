# Few-label fine-tuning on the synthetic nuScenes set: 1 % of the training scans with ground
# truth (tools/create_splits.py), the student's MinkUNet, all layers trained. Random init by
# default; from TMP: --cfg-options load_from=work_dirs/demo/tmp/iter_600.pth
_base_ = ['../stage2/minkunet18-w16_supervised_synthetic-nuscenes.py']

train_dataloader = dict(dataset=dict(ann_file='nuscenes_infos_train_1pct_scan.pkl'))
max_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=max_iters,
         T_max=max_iters - 30, eta_min=1e-5),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
