# SemanticKITTI student with AFI inline: tools/test.py THIS_CONFIG STUDENT_CKPT reports the
# post-processed labels (all / in-view / out-of-view mIoU). AFI's constants, and why the
# ground / ego settings differ from nuScenes' (no ego car, 1.73 m sensor height, KITTI's flat
# classes): _base_/post_processing/afi.py, docs/afi.md.
_base_ = ['../stage2/minkunet18-w16_stage2_simulated-san_synthetic-semantickitti.py',
          '../../_base_/post_processing/afi.py']
model = dict(type='AFOVMinkUNet', test_cfg=dict(postprocess={{_base_.afi_semantickitti}}))
# the teacher's pseudo-labels at test time too, for the covering step (off by default)
val_dataloader = dict(dataset=dict(pipeline={{_base_.teacher_test_pipeline}}))
test_dataloader = val_dataloader
