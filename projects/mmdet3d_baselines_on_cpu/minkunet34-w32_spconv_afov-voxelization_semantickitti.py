# mmdet3d's own MinkUNet34 (spconv) SemanticKITTI baseline, unchanged except for AFOV's
# device-agnostic voxelization: it then trains and tests on CPU as well as on GPU, and its
# point->voxel map stays right under max_voxels subsampling.
#   python tools/train.py projects/mmdet3d_baselines_on_cpu/THIS_FILE --data-root data/semantickitti
_base_ = ['mmdet3d::minkunet/minkunet34_w32_spconv_8xb2-laser-polar-mix-3x_semantickitti.py']

custom_imports = dict(imports=['afov_plugin'], allow_failed_imports=False)
model = dict(data_preprocessor=dict(type='AFOVMinkUNetDataPreprocessor'))
