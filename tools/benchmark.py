"""Benchmarks: every figure is a ratio against a baseline timed in the same process, in
interleaved pairs (ABBA order; medians with min/max per pair in each JSON).

  python tools/benchmark.py [--data-root data/synthetic_nuscenes] [--only cache,pairing,...]
                            [--threads 1]

Run from the repository root. --data-root: a synthetic nuScenes set with its infos and the
simulated-san teacher cache (tools/demo.sh steps 1-4; when it is missing the tool prints the
commands that write it). --threads: the thread count of torch, numba and OpenMP/MKL for the
whole run (default 1). Writes work_dirs/benchmark/<name>.json and prints a summary. The
suites live in afov_plugin/benchmarks/:
  cache     bytes per image and six-image read time of the cache vs the reference layout
            (uint8 PNG + float32 tensor file + JSON) and vs decoding the six JPEGs; the
            teacher pass (tiny random SAN, CPU): caching throughput vs the teacher's bare
            forward on the same JPEGs, and its peak memory with 175 vs 20 prompts
  pairing   PointPixelPairing + pseudo-labels of a frame vs nuscenes-devkit's per-camera
            map_pointcloud_to_image on the same frame (identical pixels checked)
  synthetic generation time of one nuScenes-like frame (full 1600x900 images vs half size)
  stage2    stage-2 training iteration vs plain mmdet3d MinkUNet (same data, GT labels)
  tmp       TMP training iteration vs stage-2 training iteration (same data, same trunk)
  afi       AFI on a nuScenes-sized scan vs a forward of the stage-2 MinkUNet on the same scan;
            4x the points; our times at the sizes of quoted reference times (labelled as
            quoted); repair of 20 % label noise on a ground-and-wall scene; peak memory
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

THREAD_ENV_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS')


def _thread_env_from_argv(argv: List[str]) -> None:
    """Set the OpenMP / BLAS thread variables from ``--threads`` (default 1) before torch and
    numpy start their pools; a malformed value is left to the parser to report."""
    value = '1'
    for i, arg in enumerate(argv):
        if arg == '--threads' and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith('--threads='):
            value = arg.split('=', 1)[1]
    if value.isdigit() and int(value) >= 1:
        os.environ.update({var: value for var in THREAD_ENV_VARS})


if __name__ == '__main__':
    _thread_env_from_argv(sys.argv[1:])
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

# the names the tool exposes (tests/test_tool_defaults.py reads them from here)
from afov_plugin.benchmarks import (NEEDS, STAGE2_CONFIG, SUITES,  # noqa: E402,F401
                                    fix_threads, missing_data_message,
                                    teacher_cache_manifest)


def __getattr__(name: str) -> str:
    """``TEACHER_CACHE``: the teacher cache's manifest relative to the data root, derived from
    the stage-2 config's teacher setting (read on first use)."""
    if name == 'TEACHER_CACHE':
        return teacher_cache_manifest()
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def parse_suites(parser: argparse.ArgumentParser, only: str) -> list:
    """The suite names of ``--only`` (comma-separated, order kept); an unknown one is a usage
    error (exit 2) that lists the available suites."""
    names = list(dict.fromkeys(n.strip() for n in only.split(',') if n.strip()))
    unknown = [n for n in names if n not in SUITES]
    if unknown or not names:
        what = f"unknown suite(s) {', '.join(unknown)}" if unknown else 'no suite'
        parser.error(f"{what} in --only {only!r}; available suites: {', '.join(SUITES)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', default='data/synthetic_nuscenes',
                        help='synthetic nuScenes set with infos and the simulated-san teacher '
                        'cache (tools/demo.sh steps 1-4); the synthetic suite reads none')
    parser.add_argument('--only', default=','.join(SUITES),
                        help=f"comma-separated suites (default: all): {', '.join(SUITES)}")
    parser.add_argument('--threads', type=int, default=1,
                        help='threads of torch, numba and OpenMP/MKL for the whole run '
                        '(default 1)')
    return parser


def main(argv: Optional[List[str]] = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f'--threads must be >= 1, got {args.threads}')
    suites = parse_suites(parser, args.only)
    message = missing_data_message(args.data_root, suites)
    if message:
        sys.exit(message)
    print('threads:', fix_threads(args.threads))
    for name in suites:
        SUITES[name](args.data_root)


if __name__ == '__main__':
    main()
