# Zero-shot protocol (seed 002) on the synthetic SemanticKITTI set (unseen: motorcycle, truck,
# bicyclist, traffic-sign; dataset base), text-embedding classifier, front camera teacher.
_base_ = ['../stage2/minkunet18-w16_stage2_simulated-san_synthetic-semantickitti.py']

model = dict(decode_head=dict(type='TextEmbeddingHead', feature_dim=512, tau=0.07))
train_dataloader = dict(dataset=dict(pipeline={{_base_.zero_shot_train_pipeline}}))
val_evaluator = dict(type='SeenUnseenSegMetric')
test_evaluator = val_evaluator
