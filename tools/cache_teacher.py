"""Run a config's 2D teacher over its dataset's camera images into the teacher cache.

Examples:
  python tools/cache_teacher.py CONFIG                       # train + val splits
  python tools/cache_teacher.py CONFIG --shard 0/4           # one of four shards
  torchrun --nproc_per_node 2 tools/cache_teacher.py CONFIG --launcher pytorch
  python tools/cache_teacher.py CONFIG --verify              # check every entry, write nothing
  python tools/cache_teacher.py CONFIG --workers 8           # 8 image decoders / verifiers
Images are decoded by --workers DataLoader processes and entries written by writer threads
while the teacher runs its forwards. Resumable: entries already written and verified are
skipped; a killed run leaves only complete entries (atomic writes). Ends with a report (JSON
next to the cache with --report).
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import afov_plugin  # noqa: E402,F401
from afov_plugin.vocabulary import load_class_dictionary  # noqa: E402
from afov_plugin.engine import rank_and_device, set_data_root, teacher_cache_dir  # noqa: E402
from afov_plugin.teachers import (TeacherCache, config_images, run_teacher_pass,  # noqa: E402
                                  shard, teacher_config_for_device, verify_cache)
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmdet3d.registry import MODELS  # noqa: E402


def int_at_least(low: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f'must be >= {low}, got {value}')
        return value
    return parse


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'],
                        choices=['train', 'val', 'test'])
    parser.add_argument('--cache-dir', help="the config's teacher_cache_dir (same as "
                        '--cfg-options teacher_cache_dir=DIR)')
    parser.add_argument('--data-root', help='point every dataloader at this dataset root')
    parser.add_argument('--shard', default=None, help='i/n: process every n-th image from i')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='with pytorch/slurm each rank takes the shard rank/world_size')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--workers', type=int_at_least(0), default=2,
                        help='DataLoader processes decoding the images (0: in the main '
                        'process); with --verify, threads checking entries (default 2)')
    parser.add_argument('--writer-threads', type=int_at_least(1), default=2,
                        help='threads encoding and writing entries (default 2)')
    parser.add_argument('--verify', action='store_true', help='only verify the cache')
    parser.add_argument('--no-verify-existing', action='store_true',
                        help='skip existing entries without re-reading them')
    parser.add_argument('--report', help='write the run report as JSON to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    set_data_root(cfg, args.data_root)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope('mmdet3d')
    # set before the teacher is built: one device per rank
    rank, world, device = rank_and_device(args.launcher, args.shard)
    dictionary = load_class_dictionary(cfg.dictionary)
    if args.cache_dir:  # the same setting as --cfg-options teacher_cache_dir=...
        cfg.teacher_cache_dir = osp.abspath(args.cache_dir)
    cache_dir = teacher_cache_dir(cfg)
    images = config_images(cfg, args.splits)
    if args.verify:
        result = verify_cache(TeacherCache.open(cache_dir, dictionary), images,
                              workers=args.workers)
        print(json.dumps(dict(result, bad=result['bad'][:20], missing=result['missing'][:20],
                              num_bad=len(result['bad']),
                              num_missing=len(result['missing'])), indent=1))
        sys.exit(1 if result['bad'] or result['missing'] else 0)
    teacher = MODELS.build(teacher_config_for_device(cfg.teacher, device))
    cache = TeacherCache.create(cache_dir, teacher, dictionary)
    mine = shard(images, rank, world)
    report = run_teacher_pass(teacher, cache, mine, batch_size=args.batch_size,
                              verify_existing=not args.no_verify_existing,
                              workers=args.workers, writer_threads=args.writer_threads,
                              desc=f'{teacher.name} [{rank}/{world}]',
                              show_progress=rank == 0 or args.shard is not None)
    summary = dict(report.as_dict(), cache_dir=cache_dir, shard=f'{rank}/{world}')
    print(f'[cache_teacher] shard {rank}/{world}: {report.images} images, {report.written} '
          f'written, {report.skipped} already cached, {report.bytes / 1e6:.1f} MB, '
          f'{report.images_per_second:.1f} images/s, {len(report.failures)} failures')
    if args.report:
        from afov_plugin.fileio import atomic_write_text
        atomic_write_text(args.report, json.dumps(summary, indent=1))
    sys.exit(1 if report.failures else 0)


if __name__ == '__main__':
    main()
