"""The benchmark suites of ``tools/benchmark.py``: every speed figure is a ratio against a
baseline timed in the same process, in interleaved pairs (:func:`interleaved_ratio`)."""
from typing import Callable, Dict

from .afi import bench_afi
from .cache import bench_cache
from .data import NEEDS, STAGE2_CONFIG, missing_data_message, teacher_cache_manifest
from .pairing import bench_pairing
from .report import OUT, save
from .synthetic import bench_synthetic
from .timing import fix_threads, interleaved_ratio, peak_rss_mb, ratio_fields, timeit
from .training import bench_stage2, bench_tmp

# name -> suite(data_root); each writes work_dirs/benchmark/<name>.json
SUITES: Dict[str, Callable[[str], dict]] = dict(
    cache=bench_cache, pairing=bench_pairing, synthetic=bench_synthetic, stage2=bench_stage2,
    tmp=bench_tmp, afi=bench_afi)
assert set(SUITES) == set(NEEDS)

__all__ = ['SUITES', 'NEEDS', 'STAGE2_CONFIG', 'OUT', 'missing_data_message',
           'teacher_cache_manifest', 'save', 'fix_threads', 'interleaved_ratio', 'ratio_fields',
           'peak_rss_mb', 'timeit']
