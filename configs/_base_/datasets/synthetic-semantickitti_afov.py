# The synthetic SemanticKITTI set of `tools/create_synthetic.py --format semantickitti` with the
# simulated SAN teacher and AFOV's SemanticKITTI class dictionary. Pipelines as
# semantickitti_afov.py; only the root, the teacher, its cache and loader sizes differ.
_base_ = ['./semantickitti_afov.py']

data_root = 'data/synthetic_semantickitti/'
dictionary = 'semantickitti'
teacher = dict(_delete_=True, type='SimulatedOVTeacher', dictionary=dictionary, profile='san',
               feature_dim=512)
teacher_cache_dir = 'teacher_cache/simulated-san'  # relative to data_root
ignore_index = 19

train_pipeline = [
    dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR', load_dim=4, use_dim=4),
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
    batch_size=2, num_workers=1, persistent_workers=True,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, num_workers=1, persistent_workers=True,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
