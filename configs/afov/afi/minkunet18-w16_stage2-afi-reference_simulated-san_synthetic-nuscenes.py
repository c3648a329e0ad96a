# Stage 2 student with the reference implementation's AFI inline (afi_reference: its ground
# window, RANSAC and numerics; docs/afi.md "Reproducing the reference"), for comparisons with
# the paper's AFI. tools/test.py THIS_CONFIG STUDENT_CKPT reports the post-processed labels
# (all / in-view / out-of-view mIoU); the demo's own AFI config is
# minkunet18-w16_stage2-afi_simulated-san_synthetic-nuscenes.py.
_base_ = ['../stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py',
          '../../_base_/post_processing/afi.py']
model = dict(type='AFOVMinkUNet', test_cfg=dict(postprocess={{_base_.afi_reference}}))
# the teacher's pseudo-labels at test time too, for the covering step (off by default)
val_dataloader = dict(dataset=dict(pipeline={{_base_.teacher_test_pipeline}}))
test_dataloader = val_dataloader
