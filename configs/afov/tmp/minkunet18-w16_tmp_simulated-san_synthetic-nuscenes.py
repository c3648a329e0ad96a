# Tri-modal contrastive pretraining on the synthetic nuScenes set with the simulated SAN
# teacher's cache (no 2D network runs). Trunk = the stage-2 student's MinkUNet (width 16).
# Ablations: --cfg-options model.decode_head.text_loss=False (no text loss);
#            kNN groups instead of superpixels: grouping='knn' in PseudoLabelsAndSuperpoints below.
_base_ = [
    '../../_base_/datasets/synthetic-nuscenes_afov.py',
    '../../_base_/models/minkunet_afov_tmp.py',
    '../../_base_/schedules/adamw_warmup-cosine_iters.py',
    '../../_base_/default_runtime.py',
]

model = dict(  # voxels as the stage-2 config it initialises
    data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.2, 0.2, 0.2])),
    backbone=dict(base_channels=16, encoder_channels=[16, 32, 64, 128],
                  decoder_channels=[128, 64, 48, 48]),
    decode_head=dict(channels=48, feature_dim={{_base_.teacher.feature_dim}},
                     dictionary={{_base_.dictionary}}))
train_dataloader = dict(dataset=dict(pipeline={{_base_.tmp_train_pipeline_half_crops}}))
# pretraining only: no validation loop (zero-shot predict works with tools/test.py)
val_dataloader = None
val_evaluator = None
val_cfg = None

optim_wrapper = dict(optimizer=dict(lr=0.005))
train_cfg = dict(max_iters=600)
default_hooks = dict(checkpoint=dict(interval=100))
