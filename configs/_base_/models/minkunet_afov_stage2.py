# Stage 2: mmdet3d's MinkUNet (spconv) with a head trained on the voxels' pts_semantic_mask
# (the teacher's pseudo-labels; ground truth in the supervised baselines) with CE + Lovász
# over labelled voxels only (ignore = 16 for nuScenes).
_base_ = ['./minkunet_spconv.py']

model = dict(
    decode_head=dict(
        type='AFOVMinkUNetHead', num_classes=16,
        ignore_index=16, loss_decode=dict(_delete_=True, type='PseudoLabelLoss')))
