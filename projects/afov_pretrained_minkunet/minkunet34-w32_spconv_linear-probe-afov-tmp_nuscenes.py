# Linear probing of AFOV TMP weights on nuScenes-lidarseg: trunk frozen, head trained on all
# training scans.
_base_ = ['./minkunet34-w32_spconv_finetune-1pct-afov-tmp_nuscenes.py']

train_dataloader = dict(dataset=dict(ann_file='nuscenes_infos_train.pkl'))
custom_hooks = [dict(type='FreezeModulesHook', modules=['backbone'])]
runner_type = 'FreezeModulesRunner'  # freezes before DDP wraps: the probe trains on k GPUs
