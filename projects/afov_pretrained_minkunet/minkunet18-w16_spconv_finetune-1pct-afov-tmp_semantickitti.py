# mmdet3d's own MinkUNet18-w16 SemanticKITTI config (the demo student's trunk: same channels
# and blocks) fine-tuned on 1 % of the scans from a TMP checkpoint. Changes to the
# mmdet3d config: spconv instead of torchsparse (not installable here), AFOV's device-agnostic
# voxelization, plain SGD wrapper (add --amp on GPUs for mmdet3d's AmpOptimWrapper).
#   python tools/create_splits.py data/semantickitti/semantickitti_infos_train.pkl
#   python tools/train.py projects/afov_pretrained_minkunet/THIS_FILE
# Random-init baseline: --cfg-options load_from=None
_base_ = ['mmdet3d::minkunet/minkunet18_w16_torchsparse_8xb2-amp-15e_semantickitti.py']

custom_imports = dict(imports=['afov_plugin'], allow_failed_imports=False)
model = dict(data_preprocessor=dict(type='AFOVMinkUNetDataPreprocessor', batch_first=True),
             backbone=dict(sparseconv_backend='spconv'))
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.24, weight_decay=0.0001, momentum=0.9,
                                    nesterov=True))
train_dataloader = dict(dataset=dict(ann_file='semantickitti_infos_train_1pct_scan.pkl'))
# the TMP trunk that configs/afov/tmp/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes.py
# writes into its default work dir (tools/demo.sh: work_dirs/demo/tmp/iter_600.pth)
load_from = 'work_dirs/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes/iter_600.pth'
