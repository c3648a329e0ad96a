from .afov_minkunet import AFOVMinkUNet

__all__ = ['AFOVMinkUNet']
