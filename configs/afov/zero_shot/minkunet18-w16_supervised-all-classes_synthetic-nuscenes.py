# The zero-shot protocol's upper bound: the same model on the ground truth of every class.
_base_ = ['./minkunet18-w16_zero-shot_simulated-san_synthetic-nuscenes.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.gt_train_pipeline}}))
