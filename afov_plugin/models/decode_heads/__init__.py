from .afov_minkunet_head import AFOVMinkUNetHead
from .text_embedding_head import TextEmbeddingHead
from .tri_modal_contrastive_head import TriModalContrastiveHead

__all__ = ['AFOVMinkUNetHead', 'TextEmbeddingHead', 'TriModalContrastiveHead']
