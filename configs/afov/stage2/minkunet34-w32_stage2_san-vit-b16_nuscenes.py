# Annotation-free stage 2 on nuScenes with the SAN ViT-B/16 teacher (cache first:
#   torchrun --nproc_per_node 8 tools/cache_teacher.py THIS_CONFIG --launcher pytorch).
# MinkUNet34, 0.1 m voxels, reference schedule, 8 GPUs x 2 scans.
_base_ = ['../../_base_/datasets/nuscenes_afov.py',
          '../../_base_/minkunet34-w32_afov-stage2_reference-schedule.py']
model = dict(data_preprocessor=dict(voxel_layer=dict(voxel_size=[0.1, 0.1, 0.1])))
