from .mcfa_loss import MCFALoss
from .pseudo_label_loss import PseudoLabelLoss
from .tri_modal_loss import (semi_positive_targets, superpixel_superpoint_infonce,
                             superpoint_pool, text_superpoint_loss)

__all__ = ['MCFALoss', 'PseudoLabelLoss', 'superpoint_pool', 'superpixel_superpoint_infonce',
           'semi_positive_targets', 'text_superpoint_loss']
