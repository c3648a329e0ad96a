"""Timing helpers of the benchmarks: interleaved candidate/baseline ratios, fixed thread
counts, medians and peak memory."""
import os
import threading
import time
import tracemalloc
from typing import Callable, Dict, List, Optional

import numpy as np

# the thread-count variables of the BLAS / OpenMP runtimes (read when they start: the tool
# sets them before torch is imported, :func:`fix_threads` again for child processes)
THREAD_ENV_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS')


def fix_threads(n: int) -> Dict[str, Optional[int]]:
    """Use ``n`` threads: torch's intra-op pool, numba's (clamped to the pool numba started
    with, ``numba.config.NUMBA_NUM_THREADS``) and the OpenMP / MKL / OpenBLAS variables
    (inherited by child processes). Returns the counts now in force (numba: None when it is
    not installed)."""
    if n < 1:
        raise ValueError(f'thread count must be >= 1, got {n}')
    import torch
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)
    torch.set_num_threads(n)
    try:
        import numba
    except ImportError:
        numba_threads = None
    else:
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        numba_threads = numba.get_num_threads()
    return dict(torch=torch.get_num_threads(), numba=numba_threads)


def _seconds(fn: Callable[[], object], number: int) -> float:
    """Mean wall time of ``number`` consecutive calls of ``fn``."""
    t = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t) / number


def interleaved_ratio(candidate: Callable[[], object], baseline: Callable[[], object],
                      pairs: int = 5, warmup: int = 1, number: int = 1) -> dict:
    """Time ``candidate`` against ``baseline`` in the same process, interleaved.

    ``warmup`` rounds call each once (candidate, then baseline; not timed), then ``pairs``
    pairs are timed in ABBA order: pair ``i`` times the candidate first when ``i`` is even,
    the baseline first when it is odd, so that drift of the machine (another load, clock,
    caches) falls on both alike. Each sample is the mean of ``number`` consecutive calls.
    Returns the median, min and max of each one's seconds and of the per-pair ratio
    candidate / baseline, ``pairs``, ``warmup``, ``number`` and the samples
    (``candidate_times`` / ``baseline_times``, in pair order)."""
    if pairs < 1 or warmup < 0 or number < 1:
        raise ValueError(f'need pairs >= 1, warmup >= 0, number >= 1 (got {pairs}, '
                         f'{warmup}, {number})')
    for _ in range(warmup):
        candidate()
        baseline()
    cand: List[float] = []
    base: List[float] = []
    for i in range(pairs):
        order = ((candidate, cand), (baseline, base))
        for fn, times in (order if i % 2 == 0 else order[::-1]):
            times.append(_seconds(fn, number))
    ratios = [c / b if b > 0 else float('inf') for c, b in zip(cand, base)]
    out = dict(pairs=pairs, warmup=warmup, number=number)
    for name, values in (('candidate_s', cand), ('baseline_s', base), ('ratio', ratios)):
        out.update({name: float(np.median(values)), f'{name}_min': float(min(values)),
                    f'{name}_max': float(max(values))})
    out.update(candidate_times=cand, baseline_times=base)
    return out


def ratio_fields(name: str, result: dict, invert: bool = False, digits: int = 3) -> dict:
    """``{name, name_min, name_max}`` of an :func:`interleaved_ratio` result: its ratio
    candidate / baseline, or (``invert``) baseline / candidate, e.g. a speed-up or a
    throughput ratio (min and max swap)."""
    lo, mid, hi = result['ratio_min'], result['ratio'], result['ratio_max']
    if invert:
        lo, mid, hi = 1 / hi, 1 / mid, 1 / lo
    return {name: round(mid, digits), f'{name}_min': round(lo, digits),
            f'{name}_max': round(hi, digits)}


def timeit(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median seconds of ``repeat`` calls after one warm-up call (a figure with no baseline
    of its own, e.g. a part of a timed candidate)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def peak_mb(fn: Callable[[], object]) -> float:
    """Peak Python-heap allocation (MB, tracemalloc) while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return round(peak / 1e6, 1)


def _rss_bytes() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def peak_rss_mb(fn: Callable[[], object]) -> float:
    """Peak resident memory (MB) of the process while ``fn`` runs, sampled every 2 ms: what
    the step needs on top of the interpreter, libraries and model (tracemalloc does not see
    torch's allocations, and a warmed-up allocator reuses freed memory, so a figure "above the
    start" would read 0)."""
    base, peak, done = _rss_bytes(), [0], threading.Event()

    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.002)
    t = threading.Thread(target=poll)
    t.start()
    try:
        fn()
    finally:
        done.set()
        t.join()
    return round(max(peak[0], base) / 1e6, 1)


def rss_mb() -> float:
    """Resident memory of the process now (MB)."""
    return _rss_bytes() / 1e6
