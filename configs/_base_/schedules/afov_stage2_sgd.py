# Stage-2 schedule of the reference (SPEC §4): SGD momentum 0.9, lr 0.02 for the trunk and
# 100x (2.0) for the new head, cosine, batch 16 (8 GPUs x 2). 5 epochs after TMP; without
# TMP initialisation train longer (max_epochs).
max_epochs = 5
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4, nesterov=False),
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=100.0)}))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, eta_min=1e-5,
         convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=16)
