# The synthetic SemanticKITTI set of `tools/create_synthetic.py --format semantickitti` with the
# simulated SAN teacher and AFOV's SemanticKITTI class dictionary. Pipelines as
# semantickitti_afov.py; only the root, the teacher, its cache and loader sizes differ.
_base_ = ['./semantickitti_afov.py']

data_root = 'data/synthetic_semantickitti/'
dictionary = 'semantickitti'
teacher = dict(_delete_=True, type='SimulatedOVTeacher', dictionary=dictionary, profile='san',
               feature_dim=512)
teacher_cache_dir = None  # teacher_cache/simulated-<profile>: teacher.profile=X switches both

train_dataloader = dict(
    batch_size=2, num_workers=1, persistent_workers=True,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=1, num_workers=1, persistent_workers=True,
                      dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
