# The zero-shot protocol's lower bound: the same model trained on the seen classes' ground
# truth only (unseen-class points unlabelled), so it never predicts an unseen class.
_base_ = ['./minkunet18-w16_zero-shot_simulated-san_synthetic-nuscenes.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.seen_gt_train_pipeline}}))
