from .afov_minkunet import AFOVMinkUNet
from .tmp_minkunet import TMPMinkUNet

__all__ = ['AFOVMinkUNet', 'TMPMinkUNet']
