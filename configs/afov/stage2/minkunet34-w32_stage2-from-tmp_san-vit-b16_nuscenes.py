# Stage 2 on nuScenes (SAN ViT-B/16 pseudo-labels) initialised from TMP: trunk loaded, fresh
# classification head.
_base_ = ['./minkunet34-w32_stage2_san-vit-b16_nuscenes.py']

load_from = 'work_dirs/minkunet34-w32_tmp_san-vit-b16_nuscenes/epoch_40.pth'
