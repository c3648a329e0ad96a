# Linear probing of AFOV TMP weights with mmdet3d's MinkUNet34 (spconv) SemanticKITTI config:
# trunk frozen (weights and BatchNorm statistics), head trained on all training scans.
_base_ = ['../mmdet3d_baselines_on_cpu/minkunet34-w32_spconv_afov-voxelization_semantickitti.py']

load_from = 'work_dirs/minkunet34-w32_tmp_san-vit-b16_nuscenes/epoch_40.pth'
custom_hooks = [dict(type='FreezeModulesHook', modules=['backbone'])]
runner_type = 'FreezeModulesRunner'  # freezes before DDP wraps: the probe trains on k GPUs
