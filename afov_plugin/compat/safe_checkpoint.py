"""Checkpoints on torch >= 2.6 with ``weights_only=True`` kept (``../shared/STACK.md`` trap 3).

``torch.load`` defaults to ``weights_only=True`` and mmengine 0.10.7 calls it without
arguments, so Runner checkpoints (which hold mmengine ``HistoryBuffer`` objects with numpy
arrays inside) fail to load. We keep ``weights_only=True`` and allow-list exactly the globals
those checkpoints contain (:func:`checkpoint_safe_globals`). ``HistoryBuffer`` pickles its
statistics methods as ``getattr(HistoryBuffer, 'min')``; instead of allow-listing
``builtins.getattr`` (which would reopen arbitrary code execution) that name maps to
:func:`_history_buffer_getattr`, which resolves only the known statistics methods of
``HistoryBuffer`` and refuses anything else. A checkpoint needing any other global is refused
with :class:`UnsafeCheckpointError`, which names the file, the global and the explicit
per-file opt-in (``--trust-checkpoint``).
"""
from __future__ import annotations

import os
import pickle
from typing import Any, Callable, Optional, Set

import numpy as np
import torch

__all__ = ['safe_torch_load', 'install_safe_checkpoint_loader', 'UnsafeCheckpointError',
           'trust_checkpoint', 'checkpoint_safe_globals', 'CHECKPOINT_SAFE_GLOBALS']

_HISTORY_BUFFER_METHODS = ('min', 'max', 'mean', 'current')
# Files the user explicitly trusts (``--trust-checkpoint PATH``); empty unless asked for.
_TRUSTED_FILES: Set[str] = set()


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint needs a pickle global outside AFOV's allow-list."""


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
