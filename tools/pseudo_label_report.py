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
from afov_plugin.evaluation.pseudo_label_report import (  # noqa: E402
    pseudo_label_statistics, report_pipeline)
from afov_plugin.fileio import atomic_write_text  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmdet3d.registry import DATASETS  # noqa: E402


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
    loader = cfg.train_dataloader if args.split == 'train' else cfg.val_dataloader
    ds_cfg = loader.dataset.copy()
    ds_cfg.ann_file = cfg.val_dataloader.dataset.ann_file if args.split == 'val' else \
        cfg.train_dataloader.dataset.ann_file
    ds_cfg.pipeline = report_pipeline(cfg)
    ds_cfg.test_mode = True
    dataset = DATASETS.build(ds_cfg)
    classes = dataset.metainfo['classes']
    stats = pseudo_label_statistics(dataset, classes, dataset.ignore_index)
    stats.update(config=args.config, split=args.split, teacher=cfg.get('teacher', {}).get('type'))
    print(f"{'class':>22} {'precision':>9} {'recall':>7} {'IoU':>7} {'points':>9}")
    for name, row in stats['per_class'].items():
        print(f"{name:>22} {row['precision']:>9} {row['recall']:>7} {row['iou']:>7} "
              f"{row['points']:>9}")
    print(f"coverage {stats['coverage']} %  accuracy {stats['accuracy']} %  "
          f"teacher-projection mIoU {stats['teacher_projection_miou']} %  "
          f"({stats['points']} points, {len(dataset)} scans)")
    if args.out:
        atomic_write_text(args.out, json.dumps(stats, indent=1))


if __name__ == '__main__':
    main()
