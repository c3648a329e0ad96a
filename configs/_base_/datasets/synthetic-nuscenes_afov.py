# The synthetic nuScenes set of `tools/create_synthetic.py --format nuscenes --version
# v1.0-trainval` (real layout; real trainval scene names, 1 scene in 5 in val: the demo's 20
# scenes give 16 train + 4 val) with the simulated SAN teacher. Pipelines as nuscenes_afov.py.
_base_ = ['./nuscenes_afov.py']

data_root = 'data/synthetic_nuscenes/'
version = 'v1.0-trainval'
dictionary = 'nuscenes'
# the six cameras read from samples/<camera> (NuScenesSegDataset's default for each camera)
data_prefix = dict(pts='samples/LIDAR_TOP', pts_semantic_mask=f'lidarseg/{version}')
teacher = dict(_delete_=True, type='SimulatedOVTeacher', dictionary=dictionary, profile='san',
               feature_dim=512)
teacher_cache_dir = None  # teacher_cache/simulated-<profile>: teacher.profile=X switches both

train_dataloader = dict(
    num_workers=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, data_prefix=data_prefix))
val_dataloader = dict(num_workers=1, dataset=dict(data_root=data_root, data_prefix=data_prefix))
test_dataloader = val_dataloader
