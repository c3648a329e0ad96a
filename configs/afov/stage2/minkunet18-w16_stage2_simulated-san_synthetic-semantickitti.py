# Annotation-free stage 2 on the synthetic SemanticKITTI set: MinkUNet (width 16, 0.2 m voxels)
# on the simulated SAN teacher's pseudo-labels through the front camera (image_2, ~13 % of the
# points), AFOV's SemanticKITTI dictionary (19 classes). Cache first:
#   python tools/cache_teacher.py THIS_CONFIG
_base_ = [
    '../../_base_/datasets/synthetic-semantickitti_afov.py',
    '../../_base_/models/minkunet18-w16_afov_stage2.py',
    '../../_base_/schedules/adamw_warmup-cosine_iters.py',
    '../../_base_/default_runtime.py',
]
train_cfg = dict(max_iters=150, val_interval=150)
