# mmdet3d's MinkUNet34 (spconv) SemanticKITTI config fine-tuned on 1 % of the training scans,
# starting from AFOV TMP weights (nuScenes pretraining, as SLidR's protocol; the trunk loads,
# the classification head starts fresh). Make the split first:
#   python tools/create_splits.py data/semantickitti/semantickitti_infos_train.pkl
#   python tools/train.py projects/afov_pretrained_minkunet/THIS_FILE
# Random-init baseline: --cfg-options load_from=None
_base_ = ['../mmdet3d_baselines_on_cpu/minkunet34-w32_spconv_afov-voxelization_semantickitti.py']

load_from = 'work_dirs/minkunet34-w32_tmp_san-vit-b16_nuscenes/epoch_40.pth'
train_dataloader = dict(dataset=dict(ann_file='semantickitti_infos_train_1pct_scan.pkl'))
