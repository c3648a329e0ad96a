"""Compatibility fixes for the pinned OpenMMLab stack on a current torch, one module each.

Applied once by ``import afov_plugin`` (see :func:`apply`); each fix is narrow and documented
in its module:

- :mod:`.spconv_cpu_stream`: spconv's backward on a CPU-only torch.
- :mod:`.safe_checkpoint`: mmengine checkpoints under ``weights_only=True`` with an allow-list.
- :mod:`.cpu_distributed_init`: mmengine's pytorch launcher without CUDA (gloo).
"""
from .cpu_distributed_init import patch_cpu_distributed_init
from .safe_checkpoint import (CHECKPOINT_SAFE_GLOBALS, _TRUSTED_FILES, UnsafeCheckpointError,
                              _history_buffer_getattr, checkpoint_safe_globals,
                              install_safe_checkpoint_loader, safe_torch_load,
                              trust_checkpoint)
from .spconv_cpu_stream import patch_spconv_cpu_stream

__all__ = [
    'apply', 'patch_spconv_cpu_stream', 'patch_cpu_distributed_init', 'safe_torch_load',
    'install_safe_checkpoint_loader', 'UnsafeCheckpointError', 'trust_checkpoint',
    'checkpoint_safe_globals', 'CHECKPOINT_SAFE_GLOBALS', '_TRUSTED_FILES',
    '_history_buffer_getattr'
]

_APPLIED = False


def apply() -> None:
    """Apply every fix once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    patch_spconv_cpu_stream()
    patch_cpu_distributed_init()
    install_safe_checkpoint_loader()
    _APPLIED = True
