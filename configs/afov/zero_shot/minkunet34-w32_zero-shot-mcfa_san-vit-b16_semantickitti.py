# Zero-shot protocol with MCFA on SemanticKITTI (SAN ViT-B/16 on the front camera):
# MinkUNet34's 4th encoder stage (256 channels) aligned with SAN's cached features.
_base_ = ['./minkunet34-w32_zero-shot_san-vit-b16_semantickitti.py']

model = dict(type='AFOVMinkUNet',
             mcfa=dict(type='MCFALoss', channels=256, feature_dim=512, grid=(6, 8), stage=3,
                       tau=0.07, loss_weight=0.01))
train_dataloader = dict(dataset=dict(pipeline={{_base_.zero_shot_mcfa_train_pipeline}}))
