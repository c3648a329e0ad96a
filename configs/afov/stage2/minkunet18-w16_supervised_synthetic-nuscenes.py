# The fully supervised upper bound of the stage-2 config: same model, schedule and data, but
# trained on the ground-truth labels instead of the teacher's pseudo-labels.
_base_ = ['./minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py']

model = dict(decode_head=dict(label_key='voxel_semantic_mask'))
train_pipeline = [
    dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
    dict(type='AFOVLoadAnnotations3D', with_bbox_3d=False, with_label_3d=False,
         with_seg_3d=True, seg_3d_dtype='np.uint8'),
    dict(type='PointSegClassMapping'),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='GlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='PackAFOVInputs', keys=['points', 'pts_semantic_mask']),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
