from .pseudo_label_loss import PseudoLabelLoss

__all__ = ['PseudoLabelLoss']
