# TMP: mmdet3d's MinkUNet trunk (spconv) + the tri-modal contrastive head (SPEC §3).
_base_ = ['./minkunet_spconv.py']

model = dict(
    type='TMPMinkUNet',
    decode_head=dict(
        _delete_=True, type='TriModalContrastiveHead', channels=96, feature_dim=512,
        dictionary='nuscenes', tau=0.07, loss_weights=(0.5, 0.5), text_loss=True,
        semi_positive=(0.2, 0.8)))
