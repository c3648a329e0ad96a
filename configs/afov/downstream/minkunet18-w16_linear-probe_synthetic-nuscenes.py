# Linear probing on the synthetic nuScenes set: the trunk frozen (weights, BatchNorm
# statistics), only the classification head trained, on all labelled training scans, with the
# fine-tuning config's short schedule.
#   python tools/train.py THIS_CONFIG --cfg-options load_from=TMP_CHECKPOINT
# (the TMP config writes work_dirs/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes/iter_600.pth)
_base_ = ['./minkunet18-w16_finetune-1pct_synthetic-nuscenes.py']

train_dataloader = dict(dataset=dict(ann_file='nuscenes_infos_train.pkl'))
custom_hooks = [dict(type='FreezeModulesHook', modules=['backbone'])]
# freezes the trunk before DDP wraps the model, so the probe also trains on k processes
runner_type = 'FreezeModulesRunner'
