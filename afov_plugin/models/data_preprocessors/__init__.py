from .minkunet_data_preprocessor import (AFOVMinkUNetDataPreprocessor, subsample_voxels,
                                         unique_voxels)

__all__ = ['AFOVMinkUNetDataPreprocessor', 'unique_voxels', 'subsample_voxels']
