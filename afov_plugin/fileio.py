"""Atomic file writes: write to a temporary file in the same folder, then rename.

Temporary files are named ``.tmp_<pid>~<host>~<random><name>``, so that a later run can tell
the leftovers of a killed writer (:func:`remove_stale_temp_files`) from files that a live
process on any machine is still writing.
"""
import os
import re
import socket
import tempfile
from typing import List

_TEMP_RE = re.compile(r'^\.tmp_(\d+)~(.*?)~')


def _temp_prefix() -> str:
    return f'.tmp_{os.getpid()}~{socket.gethostname()}~'


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(),
                               suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str, text: str) -> None:
    atomic_write_bytes(path, text.encode('utf-8'))


def atomic_dump_pickle_info(obj, path: str) -> None:
    """Write an mmdet3d info pkl atomically (infos are mmdet3d's format; they hold only
    built-in types, and we never load pkls from strangers)."""
    import pickle
    atomic_write_bytes(path, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def remove_stale_temp_files(folder: str) -> List[str]:
    """Delete the temporary files in ``folder`` whose writer, a process of this host, is gone
    (killed mid-write); files of live processes and of other hosts stay. Returns the paths."""
    removed = []
    host = socket.gethostname()
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        match = _TEMP_RE.match(name)
        if not match or match.group(2) != host:
            continue
        try:
            os.kill(int(match.group(1)), 0)
            continue  # its writer still runs
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # a live process of another user
        try:
            os.unlink(os.path.join(folder, name))
            removed.append(os.path.join(folder, name))
        except FileNotFoundError:
            pass
    return removed
