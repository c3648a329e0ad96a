_base_ = ['mmdet3d::_base_/default_runtime.py']

# Iteration-based logging and checkpoints for short CPU schedules; tools/train.py switches the
# distributed backend to gloo when no GPU is present.
default_hooks = dict(
    # mmengine's LoggerHook, the test metrics JSON written once (rank 0) and atomically
    logger=dict(type='RankZeroLoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=50, by_epoch=False, max_keep_ckpts=2))
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
