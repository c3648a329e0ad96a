# Few-label fine-tuning on the synthetic nuScenes set: 1 % of the training scans with ground
# truth (tools/create_splits.py), the student's MinkUNet, all layers trained. Random init by
# default; from TMP: --cfg-options load_from=TMP_CHECKPOINT (the TMP config writes
# work_dirs/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes/iter_600.pth)
_base_ = ['../stage2/minkunet18-w16_supervised_synthetic-nuscenes.py']

train_dataloader = dict(dataset=dict(ann_file='nuscenes_infos_train_1pct_scan.pkl'))
train_cfg = dict(max_iters=300, val_interval=300)
