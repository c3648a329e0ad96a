"""Coverage, accuracy and per-class precision / recall of a config's cached pseudo-labels
against the ground truth (paper Tab. 4 style), plus the teacher-projection baseline mIoU.

Example: python tools/pseudo_label_report.py CONFIG --split val --out work_dirs/pl.json
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import afov_plugin  # noqa: E402,F401
from afov_plugin.engine import load_config  # noqa: E402
from afov_plugin.evaluation.pseudo_label_report import split_pseudo_label_report  # noqa: E402
from afov_plugin.fileio import atomic_write_text  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--split', choices=['train', 'val'], default='val')
    parser.add_argument('--data-root')
    parser.add_argument('--out', help='write the statistics as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    init_default_scope('mmdet3d')
    cfg = load_config(args.config, args.data_root, args.cfg_options)
    stats = split_pseudo_label_report(cfg, args.split)
    stats.update(config=args.config, split=args.split, teacher=cfg.get('teacher', {}).get('type'))
    print(f"{'class':>22} {'precision':>9} {'recall':>7} {'IoU':>7} {'points':>9}")
    for name, row in stats['per_class'].items():
        print(f"{name:>22} {row['precision']:>9} {row['recall']:>7} {row['iou']:>7} "
              f"{row['points']:>9}")
    print(f"coverage {stats['coverage']} %  accuracy {stats['accuracy']} %  "
          f"teacher-projection mIoU {stats['teacher_projection_miou']} %  "
          f"({stats['points']} points, {stats['scans']} scans)")
    if args.out:
        atomic_write_text(args.out, json.dumps(stats, indent=1))


if __name__ == '__main__':
    main()
