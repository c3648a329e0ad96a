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
train_pipeline = [
    dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
    dict(type='PointPixelPairing'),
    dict(type='RandomPairCrop', scale=(0.3, 1.0), ratio=(1.5, 2.0), prob=0.5),
    dict(type='LoadTeacherCache', with_text_bank=True),
    dict(type='PseudoLabelsAndSuperpoints', dictionary={{_base_.dictionary}},
         ignore_index={{_base_.ignore_index}}, grouping='superpixel'),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='GlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='PackAFOVInputs', keys=['points', 'pts_superpoint', 'superpoint_feat',
                                      'superpoint_prompt', 'text_bank']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# pretraining only: no validation loop (zero-shot predict works with tools/test.py)
val_dataloader = None
val_evaluator = None
val_cfg = None

optim_wrapper = dict(optimizer=dict(lr=0.005))
train_cfg = dict(max_iters=600)
default_hooks = dict(checkpoint=dict(interval=100))
