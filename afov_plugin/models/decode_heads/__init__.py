from .afov_minkunet_head import AFOVMinkUNetHead

__all__ = ['AFOVMinkUNetHead']
