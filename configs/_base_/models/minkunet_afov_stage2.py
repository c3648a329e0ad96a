# Stage 2: mmdet3d's MinkUNet (spconv) with a head trained on the voxels' pts_semantic_mask
# (the teacher's pseudo-labels; ground truth in the supervised baselines) with CE + Lovász
# over labelled voxels only. The class count and ignore index come from the dataset base
# (class_names, ignore_index; afov_plugin/engine/class_setting.py fills them in).
_base_ = ['./minkunet_spconv.py']

model = dict(
    decode_head=dict(
        type='AFOVMinkUNetHead', num_classes=None, ignore_index=None,
        loss_decode=dict(_delete_=True, type='PseudoLabelLoss')))
