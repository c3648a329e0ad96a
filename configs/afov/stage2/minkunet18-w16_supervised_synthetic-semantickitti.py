# The fully supervised upper bound of the SemanticKITTI stage-2 config: same model, schedule
# and data, trained on the ground-truth labels instead of the teacher's pseudo-labels.
_base_ = ['./minkunet18-w16_stage2_simulated-san_synthetic-semantickitti.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.gt_train_pipeline}}))
