# Zero-shot protocol (seed 002) with MCFA, its feature-level alignment, on the synthetic
# nuScenes set: the zero-shot config plus the class-prototype and patch-feature (6 x 8)
# contrast between the cached teacher features and the 4th encoder stage of MinkUNet
# (128 channels at width 16, stride 16), lambda = 0.01, both terms on
# (model.mcfa.class_prototype / patch_feature switch them). Cache first:
#   python tools/cache_teacher.py THIS_CONFIG
_base_ = ['./minkunet18-w16_zero-shot_simulated-san_synthetic-nuscenes.py']

model = dict(type='AFOVMinkUNet',
             mcfa=dict(type='MCFALoss', channels=128, feature_dim=512, grid=(6, 8), stage=3,
                       tau=0.07, loss_weight=0.01))
train_dataloader = dict(dataset=dict(pipeline={{_base_.zero_shot_mcfa_train_pipeline}}))
