from .runtime import adapt_runtime_cfg, resolve_cache_dir, set_data_root

__all__ = ['adapt_runtime_cfg', 'set_data_root', 'resolve_cache_dir']
