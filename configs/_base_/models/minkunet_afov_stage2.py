# Stage 2: mmdet3d's MinkUNet (spconv) with a head trained on voxel pseudo-labels with
# CE + Lovász over labelled voxels only (ignore = 16 for nuScenes).
_base_ = ['./minkunet_spconv.py']

model = dict(
    decode_head=dict(
        type='AFOVMinkUNetHead', label_key='voxel_pseudo_label', num_classes=16,
        ignore_index=16, loss_decode=dict(_delete_=True, type='PseudoLabelLoss')))
