"""spconv on a CPU-only torch (``../shared/STACK.md`` trap 1).

spconv asks ``torch.cuda.current_stream()`` for a stream handle in its backward and hash ops,
which raises on a torch built without CUDA. When CUDA is unavailable that function is replaced
by one that returns stream 0 (the value spconv's CPU kernels ignore). With CUDA nothing changes.
"""
import torch

__all__ = ['patch_spconv_cpu_stream']


def _cpu_stream() -> int:
    return 0


def patch_spconv_cpu_stream(force: bool = False) -> bool:
    """Make spconv's backward work without CUDA. Returns True when the patch was applied."""
    if torch.cuda.is_available() and not force:
        return False
    try:
        from spconv.pytorch import cppcore, hash as sp_hash, ops as sp_ops
    except ImportError:  # spconv is optional for pure data tools
        return False
    for module in (cppcore, sp_ops, sp_hash):
        if hasattr(module, 'get_current_stream'):
            module.get_current_stream = _cpu_stream
    return True
