"""The Robo3D robustness protocol for a trained model: mIoU on every corruption × severity of
the val scans (the config's own metric, as tools/test.py), CE / mCE against a baseline, RR /
mRR, a picture and example scans.

    python tools/robustness.py CONFIG CHECKPOINT [--corruptions fog snow ...]
        [--severities 1 2 3] [--baseline-json BASELINE.json] [--out F.json] [--data-root D]
        [--compare NAME=F.json ...]

Writes F.json (default: robustness.json beside the checkpoint), F.png (mIoU per corruption and
severity, one bar per model: this one and each --compare) and F_examples.png (the first val
scan under every corruption at the heaviest severity, bird's-eye view).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import afov_plugin  # noqa: E402,F401  (compat fixes + registration)
from mmengine.config import DictAction  # noqa: E402

from afov_plugin.datasets.transforms.lidar_corruptions import CORRUPTIONS  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--corruptions', nargs='+', default=list(CORRUPTIONS),
                   choices=list(CORRUPTIONS))
    p.add_argument('--severities', nargs='+', type=int, default=[1, 2, 3], choices=[1, 2, 3])
    p.add_argument('--baseline-json', default=None,
                   help="this tool's output for the baseline model (CE / mCE against it)")
    p.add_argument('--compare', nargs='*', default=[], metavar='NAME=F.json',
                   help='other models\' outputs drawn beside this one')
    p.add_argument('--name', default='model', help='this model\'s name in the picture')
    p.add_argument('--out', default=None)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--data-root', default=None)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None)
    return p.parse_args(argv)


def main(argv=None) -> dict:
    import json

    from mmdet3d.utils import register_all_modules
    from afov_plugin.engine import load_config
    from afov_plugin.evaluation.robustness import evaluate_robustness, example_scans
    from afov_plugin.visualization.robustness_pictures import (draw_corruption_examples,
                                                               plot_robustness)
    args = parse_args(argv)
    if not os.path.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint {args.checkpoint} not found')
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.data_root, args.cfg_options)
    out = args.out or os.path.join(os.path.dirname(args.checkpoint), 'robustness.json')
    try:
        summary = evaluate_robustness(cfg, args.checkpoint, out, args.corruptions,
                                      args.severities, args.seed, args.baseline_json)
    except ValueError as e:
        raise SystemExit(f'robustness: {e}')
    others = dict(c.split('=', 1) for c in args.compare)
    plot_robustness({args.name: summary, **{k: json.load(open(v)) for k, v in others.items()}},
                    os.path.splitext(out)[0] + '.png')
    scans, labels = example_scans(cfg, args.corruptions, max(args.severities), args.seed)
    draw_corruption_examples(os.path.splitext(out)[0] + '_examples.png', scans, labels,
                             cfg.get('ignore_index', 255))
    print(f"clean mIoU {100 * summary['clean_miou']:.2f}  mRR {summary['mrr']}" +
          (f"  mCE {summary['mce']}" if 'mce' in summary else ''))
    for c, cells in summary['cells'].items():
        row = ' '.join(f'{100 * v:6.2f}' for _, v in sorted(cells.items()))
        ce = f"  CE {summary['ce'][c]}" if 'ce' in summary else ''
        print(f"{c:<16} {row}  RR {summary['rr'][c]}{ce}")
    print(f'[robustness] {out}')
    return summary


if __name__ == '__main__':
    main()
