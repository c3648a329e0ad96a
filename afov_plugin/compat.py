"""Compatibility fixes for the pinned OpenMMLab stack on a current torch.

Applied once by ``import afov_plugin`` (see :func:`apply`). Each fix is narrow and documented:

1. **spconv on a CPU-only torch** (``../shared/STACK.md`` trap 1): spconv asks
   ``torch.cuda.current_stream()`` for a stream handle in its backward and hash ops, which
   raises on a torch built without CUDA. When CUDA is unavailable we replace that function by
   one that returns stream 0 (the value spconv's CPU kernels ignore). With CUDA nothing changes.
2. **Checkpoints on torch >= 2.6** (trap 3): ``torch.load`` defaults to ``weights_only=True``
   and mmengine 0.10.7 calls it without arguments, so Runner checkpoints (which hold mmengine
   ``HistoryBuffer`` objects with numpy arrays inside) fail to load. We keep
   ``weights_only=True`` and allow-list exactly the globals those checkpoints contain
   (:data:`CHECKPOINT_SAFE_GLOBALS`). ``HistoryBuffer`` pickles its statistics methods as
   ``getattr(HistoryBuffer, 'min')``; instead of allow-listing ``builtins.getattr`` (which would
   reopen arbitrary code execution) we map that name to :func:`_history_buffer_getattr`, which
   resolves only the known statistics methods of ``HistoryBuffer`` and refuses anything else.
   A checkpoint needing any other global is refused with :class:`UnsafeCheckpointError`, which
   names the file, the global and the explicit per-file opt-in (``--trust-checkpoint``).
"""
from __future__ import annotations

import os
import pickle
from typing import Any, Callable, Optional, Set

import numpy as np
import torch

__all__ = [
    'apply', 'patch_spconv_cpu_stream', 'safe_torch_load', 'install_safe_checkpoint_loader',
    'UnsafeCheckpointError', 'trust_checkpoint', 'CHECKPOINT_SAFE_GLOBALS'
]

_HISTORY_BUFFER_METHODS = ('min', 'max', 'mean', 'current')
# Files the user explicitly trusts (``--trust-checkpoint PATH``); empty unless asked for.
_TRUSTED_FILES: Set[str] = set()
_APPLIED = False


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs a pickle global outside AFOV's allow-list."""


# --------------------------------------------------------------------------------------------
# 1. spconv on CPU-only torch
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# 2. checkpoints with weights_only=True kept
# --------------------------------------------------------------------------------------------
def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` while unpickling: only ``HistoryBuffer.<stat>``."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only HistoryBuffer statistics '
        f'methods {_HISTORY_BUFFER_METHODS} are allowed')


def _numpy_globals() -> list:
    from numpy.core import multiarray
    globals_ = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    # numpy >= 1.25 pickles dtypes through their classes in numpy.dtypes
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType',
                     'Int32DType', 'Int16DType', 'Int8DType', 'UInt8DType', 'BoolDType'):
            if hasattr(dtypes, name):
                globals_.append(getattr(dtypes, name))
    return globals_


def checkpoint_safe_globals() -> list:
    """The globals a checkpoint written by mmengine's Runner for an AFOV config holds."""
    from mmengine.logging import HistoryBuffer
    from mmengine.config.config import ConfigDict
    return _numpy_globals() + [
        HistoryBuffer,
        ConfigDict,
        (_history_buffer_getattr, 'builtins.getattr'),
    ]


CHECKPOINT_SAFE_GLOBALS = checkpoint_safe_globals  # callable: resolved lazily


def trust_checkpoint(path: str) -> None:
    """Explicit per-file opt-in to load ``path`` with full pickle (legacy checkpoints only)."""
    _TRUSTED_FILES.add(os.path.realpath(path))


def safe_torch_load(filename: Any, map_location: Any = None, **kwargs: Any) -> Any:
    """``torch.load`` with ``weights_only=True`` and AFOV's allow-list.

    Raises:
        UnsafeCheckpointError: the file needs a global that is not allow-listed; the message
            names the file, the global and the opt-in.
    """
    kwargs.pop('weights_only', None)
    name = filename if isinstance(filename, (str, os.PathLike)) else getattr(
        filename, 'name', repr(filename))
    if isinstance(filename, (str, os.PathLike)) and os.path.realpath(filename) in _TRUSTED_FILES:
        return torch.load(filename, map_location=map_location, weights_only=False, **kwargs)
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True, **kwargs)
    except UnsafeCheckpointError as err:
        raise UnsafeCheckpointError(f'Refusing to load checkpoint {name}: {err}') from None
    except pickle.UnpicklingError as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        raise UnsafeCheckpointError(
            f'Refusing to load checkpoint {name}: it holds a pickle object outside the '
            f'allow-list of afov_plugin.compat ({first_line}). Loading it could run code. '
            f'If you wrote this file yourself or trust its author, pass '
            f'`--trust-checkpoint` to tools/train.py / tools/test.py (or call '
            f'afov_plugin.compat.trust_checkpoint(path)); otherwise re-save its state_dict '
            f'with plain tensors.') from None


def install_safe_checkpoint_loader() -> None:
    """Route mmengine's local/filesystem checkpoint loading through :func:`safe_torch_load`."""
    from mmengine.runner.checkpoint import CheckpointLoader

    def load_from_local(filename: str, map_location: Optional[Any] = None) -> Any:
        filename = os.path.expanduser(filename)
        if not os.path.isfile(filename):
            raise FileNotFoundError(f'{filename} can not be found.')
        return safe_torch_load(filename, map_location=map_location)

    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)


def patch_cpu_distributed_init() -> None:
    """mmengine's pytorch launcher calls ``torch.cuda.set_device`` unconditionally, which
    fails on a machine without CUDA; there (only) the process group is initialised without it
    (gloo backend, chosen by :func:`afov_plugin.engine.adapt_runtime_cfg`)."""
    if torch.cuda.is_available():
        return
    import mmengine.dist.utils as dist_utils
    import torch.distributed as torch_dist
    if getattr(dist_utils._init_dist_pytorch, '_afov_cpu', False):
        return

    def _init_dist_pytorch_cpu(backend, init_backend='torch', **kwargs) -> None:
        if init_backend != 'torch':
            raise RuntimeError(f'init_backend={init_backend!r} needs GPUs; on CPU only torch '
                               'distributed (gloo) is supported')
        torch_dist.init_process_group(backend=backend, **kwargs)

    _init_dist_pytorch_cpu._afov_cpu = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu


def apply() -> None:
    """Apply every fix once (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    patch_spconv_cpu_stream()
    patch_cpu_distributed_init()
    install_safe_checkpoint_loader()
    _APPLIED = True
