# Iteration-based AdamW: a 30-iteration linear warm-up, then cosine decay to eta_min until
# train_cfg.max_iters (WarmupCosineLR: its end is left out, so mmengine takes it from
# max_iters): a run's length is the one key train_cfg.max_iters.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.01))
# by_epoch=False: the runner reads it from the config to step the scheduler every iteration
param_scheduler = [
    dict(type='WarmupCosineLR', warmup_iters=30, start_factor=0.1, eta_min=1e-5, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
randomness = dict(seed=0)
