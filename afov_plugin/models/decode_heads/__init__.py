from .afov_minkunet_head import AFOVMinkUNetHead
from .tri_modal_contrastive_head import TriModalContrastiveHead

__all__ = ['AFOVMinkUNetHead', 'TriModalContrastiveHead']
