"""afov_plugin.benchmarks: interleaved timing (ABBA order, warm-up excluded, ratios of known
sleeps), fixed thread counts, the suite registry, and tools/benchmark.py without tests/."""
import importlib.util
import os
import os.path as osp
import re
import sys
import time

import pytest
from conftest import ROOT

from afov_plugin.benchmarks import SUITES, timing
from afov_plugin.benchmarks.timing import fix_threads, interleaved_ratio, ratio_fields


def _sleeper(seconds: float, log: list, name: str):
    def fn():
        log.append(name)
        time.sleep(seconds)
    return fn


def test_ratio_of_known_sleeps_is_their_ratio():
    log = []
    r = interleaved_ratio(_sleeper(0.04, log, 'c'), _sleeper(0.02, log, 'b'), pairs=5)
    assert r['pairs'] == 5 and len(r['candidate_times']) == len(r['baseline_times']) == 5
    assert abs(r['ratio'] - 2.0) < 0.3, r
    assert abs(r['candidate_s'] - 0.04) < 0.01 and abs(r['baseline_s'] - 0.02) < 0.01, r
    for name in ('candidate_s', 'baseline_s', 'ratio'):
        assert r[f'{name}_min'] <= r[name] <= r[f'{name}_max'], (name, r)
    assert r['candidate_s_min'] >= 0.04 and r['baseline_s_min'] >= 0.02  # sleep never short
    fields = ratio_fields('x', r)
    assert fields == {'x': round(r['ratio'], 3), 'x_min': round(r['ratio_min'], 3),
                      'x_max': round(r['ratio_max'], 3)}
    speedup = ratio_fields('speedup', r, invert=True)  # baseline / candidate
    assert abs(speedup['speedup'] - 0.5) < 0.1
    assert speedup['speedup_min'] == round(1 / r['ratio_max'], 3)
    assert speedup['speedup_min'] <= speedup['speedup'] <= speedup['speedup_max']


def test_pairs_alternate_abba_after_the_warm_up():
    log = []
    r = interleaved_ratio(_sleeper(0, log, 'c'), _sleeper(0, log, 'b'), pairs=4, warmup=1)
    assert log == ['c', 'b',                                 # warm-up
                   'c', 'b', 'b', 'c', 'c', 'b', 'b', 'c']   # pairs 0-3
    assert r['pairs'] == 4 and r['warmup'] == 1


def test_warm_up_calls_happen_and_are_not_timed():
    log = []
    first = [True]

    def candidate():  # slow on its first call only (a compile, a cold cache)
        log.append('c')
        time.sleep(0.3 if first[0] else 0.005)
        first[0] = False
    r = interleaved_ratio(candidate, _sleeper(0.005, log, 'b'), pairs=3, warmup=2, number=2)
    assert log.count('c') == log.count('b') == 2 + 3 * 2  # warm-ups + pairs x number
    assert log[:4] == ['c', 'b', 'c', 'b']
    assert r['candidate_s_max'] < 0.1, r  # the slow first call is not in any sample
    assert len(r['candidate_times']) == 3 and r['number'] == 2


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        interleaved_ratio(lambda: None, lambda: None, pairs=0)
    with pytest.raises(ValueError):
        fix_threads(0)


def test_fix_threads_sets_torch_numba_and_the_environment(monkeypatch):
    import torch
    for var in timing.THREAD_ENV_VARS:
        monkeypatch.setenv(var, os.environ.get(var, '7'))  # restored by monkeypatch
    try:
        import numba
    except ImportError:
        numba = None
    old_torch = torch.get_num_threads()
    old_numba = numba.get_num_threads() if numba else None
    try:
        got = fix_threads(1)
        assert torch.get_num_threads() == 1
        assert all(os.environ[var] == '1' for var in
                   ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'))
        if numba:
            assert numba.get_num_threads() == 1 and got['numba'] == 1
            more = numba.config.NUMBA_NUM_THREADS + 1  # numba's pool is clamped to its size
            assert fix_threads(more) == dict(torch=more, numba=numba.config.NUMBA_NUM_THREADS)
        assert got['torch'] == 1
    finally:
        torch.set_num_threads(old_torch)
        if numba:
            numba.set_num_threads(old_numba)


def test_suites_are_the_six_and_the_tool_does_not_import_tests():
    assert list(SUITES) == ['cache', 'pairing', 'synthetic', 'stage2', 'tmp', 'afi']
    assert all(callable(fn) for fn in SUITES.values())
    before = set(sys.modules)
    path = osp.join(ROOT, 'tools', 'benchmark.py')
    spec = importlib.util.spec_from_file_location('_bench_tool', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tests_dir = osp.join(ROOT, 'tests') + os.sep
    new = [m for m in set(sys.modules) - before
           if (getattr(sys.modules[m], '__file__', None) or '').startswith(tests_dir)]
    assert not new, new
    assert tool.SUITES is SUITES
    assert tool.THREAD_ENV_VARS == timing.THREAD_ENV_VARS
    # the cache layout comes from the teacher setting: the known simulated-san layout
    assert tool.TEACHER_CACHE == 'teacher_cache/simulated-san/manifest.json'
    bench_dir = osp.join(ROOT, 'afov_plugin', 'benchmarks')
    sources = [osp.join(ROOT, 'tools', 'benchmark.py')] + [
        osp.join(bench_dir, f) for f in sorted(os.listdir(bench_dir)) if f.endswith('.py')]
    imports_tests = re.compile(r'^\s*(from|import)\s+(tests\b|test_|conftest\b)|'
                               r"sys\.path\.\w+\(.*['\"]tests['\"]", re.M)
    for path in sources:
        with open(path) as f:
            assert not imports_tests.search(f.read()), f'{path} reaches into tests/'
