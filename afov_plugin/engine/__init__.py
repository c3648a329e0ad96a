from .runtime import adapt_runtime_cfg

__all__ = ['adapt_runtime_cfg']
