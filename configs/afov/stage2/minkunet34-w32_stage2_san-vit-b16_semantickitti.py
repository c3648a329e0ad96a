# Annotation-free stage 2 on SemanticKITTI with the SAN ViT-B/16 teacher and AFOV's
# SemanticKITTI class dictionary (the reference has no annotation-free KITTI path).
# MinkUNet34, 0.05 m voxels, reference schedule.
_base_ = ['../../_base_/datasets/semantickitti_afov.py',
          '../../_base_/minkunet34-w32_afov-stage2_reference-schedule.py']
model = dict(data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.05, 0.05, 0.05])))
