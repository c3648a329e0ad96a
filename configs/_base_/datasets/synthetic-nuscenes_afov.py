# The synthetic nuScenes set of `tools/create_synthetic.py --format nuscenes --version
# v1.0-trainval` (real layout; real trainval scene names, 1 scene in 5 in val: the demo's 20
# scenes give 16 train + 4 val) with the simulated SAN teacher. Pipelines as nuscenes_afov.py.
_base_ = ['./nuscenes_afov.py']

data_root = 'data/synthetic_nuscenes/'
version = 'v1.0-trainval'
dictionary = 'nuscenes'
cameras = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK', 'CAM_BACK_LEFT',
           'CAM_BACK_RIGHT']
data_prefix = dict(pts='samples/LIDAR_TOP', pts_semantic_mask=f'lidarseg/{version}',
                   **{cam: f'samples/{cam}' for cam in cameras})
teacher = dict(_delete_=True, type='SimulatedOVTeacher', dictionary=dictionary, profile='san',
               feature_dim=512)
teacher_cache_dir = 'teacher_cache/simulated-san'  # relative to data_root
ignore_index = 16

train_pipeline = [
    dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=4),
    dict(type='PointPixelPairing'),
    dict(type='LoadTeacherCache', cache_dir=teacher_cache_dir, dictionary=dictionary),
    dict(type='PseudoLabelsAndSuperpoints', dictionary=dictionary, ignore_index=ignore_index),
    dict(type='RandomFlip3D', sync_2d=False, flip_ratio_bev_horizontal=0.5,
         flip_ratio_bev_vertical=0.5),
    dict(type='GlobalRotScaleTrans', rot_range=[-3.1415926, 3.1415926],
         scale_ratio_range=[0.95, 1.05], translation_std=[0, 0, 0]),
    dict(type='PackAFOVInputs', keys=['points', 'pts_pseudo_label']),
]
train_dataloader = dict(
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, data_prefix=data_prefix, pipeline=train_pipeline))
val_dataloader = dict(num_workers=1, dataset=dict(data_root=data_root, data_prefix=data_prefix))
test_dataloader = val_dataloader
