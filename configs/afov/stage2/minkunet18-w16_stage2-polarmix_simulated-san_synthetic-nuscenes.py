# The annotation-free stage 2 with mmdet3d's own PolarMix mixing two scans' points and their
# pseudo-labels (pts_semantic_mask), the other scan through the same teacher steps.
#   AFOV_DEMO_TASK=mixing bash tools/demo.sh   (against the plain student, same schedule)
_base_ = ['./minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py']
train_dataloader = dict(dataset=dict(pipeline={{_base_.polarmix_train_pipeline}}))
