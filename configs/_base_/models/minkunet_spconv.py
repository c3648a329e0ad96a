# mmdet3d's MinkUNet with the spconv backend and AFOV's device-agnostic voxelization.
_base_ = ['mmdet3d::_base_/models/minkunet.py']

custom_imports = dict(imports=['afov_plugin'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        type='AFOVMinkUNetDataPreprocessor',
        batch_first=True),  # spconv wants (batch, x, y, z) coordinates
    backbone=dict(sparseconv_backend='spconv'))
