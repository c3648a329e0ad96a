# Zero-shot protocol, phase 2 (seed 002 §3.6, self-training): continues from the phase-1
# model (load_from) with its unseen-class labels coming from a frozen copy of that model
# (model.self_training, an online teacher), the seen classes' ground truth kept, cross-entropy
# only (no Lovasz, no MCFA). The 2D teacher is not read. Phase 1 first, in its default work
# dir (or point both keys at another checkpoint with --cfg-options):
#   python tools/train.py configs/afov/zero_shot/minkunet18-w16_zero-shot-mcfa_simulated-san_synthetic-nuscenes.py
#   python tools/train.py THIS_CONFIG
_base_ = ['./minkunet18-w16_zero-shot_simulated-san_synthetic-nuscenes.py']

phase1 = 'work_dirs/minkunet18-w16_zero-shot-mcfa_simulated-san_synthetic-nuscenes/iter_1000.pth'
load_from = phase1
model = dict(type='AFOVMinkUNet', self_training=dict(type='SelfTrainingTeacher', checkpoint=phase1),
             decode_head=dict(loss_decode=dict(lovasz_weight=0.0)))
train_dataloader = dict(dataset=dict(pipeline={{_base_.seen_gt_train_pipeline}}))
