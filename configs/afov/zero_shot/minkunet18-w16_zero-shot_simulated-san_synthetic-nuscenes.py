# Zero-shot protocol (seed 002) on the synthetic nuScenes set: ground truth of the seen classes
# only, the simulated SAN teacher's pseudo-labels for the unseen ones (unseen_classes in the
# dataset base: motorcycle, construction vehicle, traffic cone, trailer), the text-embedding
# classifier, seen / unseen / harmonic mIoU. No unseen-class ground truth is read in training
# (SeenClassGroundTruth drops it before the teacher's labels come in). Cache first:
#   python tools/cache_teacher.py THIS_CONFIG
_base_ = ['../stage2/minkunet18-w16_stage2-text-head_simulated-san_synthetic-nuscenes.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.zero_shot_train_pipeline}}))
val_evaluator = dict(type='SeenUnseenSegMetric')
test_evaluator = val_evaluator
