_base_ = ['mmdet3d::_base_/default_runtime.py']

custom_imports = dict(imports=['afov_plugin'], allow_failed_imports=False)

# Iteration-based logging for short CPU schedules; tools/train.py switches the distributed
# backend to gloo when no GPU is present.
default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
