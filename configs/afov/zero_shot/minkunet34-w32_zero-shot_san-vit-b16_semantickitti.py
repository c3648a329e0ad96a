# Zero-shot protocol (seed 002) on SemanticKITTI: seen classes' ground truth + SAN ViT-B/16's
# unseen-class pseudo-labels (unseen: motorcycle, truck, bicyclist, traffic-sign),
# text-embedding classifier from SAN's text bank (512-d), reference stage-2 schedule.
_base_ = ['../stage2/minkunet34-w32_stage2_san-vit-b16_semantickitti.py']

model = dict(decode_head=dict(type='TextEmbeddingHead', feature_dim=512, tau=0.07))
train_dataloader = dict(dataset=dict(pipeline={{_base_.zero_shot_train_pipeline}}))
val_evaluator = dict(type='SeenUnseenSegMetric')
test_evaluator = val_evaluator
