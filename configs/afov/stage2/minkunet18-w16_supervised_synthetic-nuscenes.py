# The fully supervised upper bound of the stage-2 config: same model, schedule and data, but
# trained on the ground-truth labels instead of the teacher's pseudo-labels.
_base_ = ['./minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.gt_train_pipeline}}))
