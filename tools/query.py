"""Text queries against a trained student: per-point scores of each text on the val scans.

    python tools/query.py CONFIG CHECKPOINT --text "child" "bike rack" --out DIR
        [--data-root D] [--pictures 2] [--max-scans N] [--retrieval]

The texts are encoded by the config's teacher (SAN: mmseg's CLIP text encoder over its
templates; the simulated teacher only its dictionary's prompts). Writes DIR/scores/<scan>.npz
(scores (N, Q) float16, texts; no pickle), DIR/pictures/ (bird's-eye view and front camera
heat maps of the first scans) and DIR/queries.json; --retrieval adds the nuScenes categories
finer than the 16 classes (child, construction worker, animal, debris, bicycle rack, ...):
average precision of the scores per category against the teacher's projection and the
prevalence (DIR/retrieval.json).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import afov_plugin  # noqa: E402,F401  (compat fixes + registration)
from afov_plugin import compat  # noqa: E402
from mmengine.config import DictAction  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--text', nargs='+', default=[], help='query texts')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--data-root', default=None)
    p.add_argument('--pictures', type=int, default=2, help='scans with pictures')
    p.add_argument('--max-scans', type=int, default=None)
    p.add_argument('--retrieval', action='store_true',
                   help='also measure retrieval of the fine nuScenes categories')
    p.add_argument('--trust-checkpoint', action='store_true')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None)
    return p.parse_args(argv)


def main(argv=None) -> None:
    from mmdet3d.utils import register_all_modules
    from afov_plugin.engine import load_config
    from afov_plugin.evaluation.text_query import run_text_queries
    args = parse_args(argv)
    if not os.path.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint {args.checkpoint} not found')
    if args.trust_checkpoint:
        compat.trust_checkpoint(args.checkpoint)
    register_all_modules(init_default_scope=True)
    cfg = load_config(args.config, args.data_root, args.cfg_options)
    try:
        summary = run_text_queries(cfg, args.checkpoint, args.text, args.out,
                                   pictures=args.pictures, max_scans=args.max_scans,
                                   retrieval=args.retrieval)
    except (ValueError, TypeError) as e:
        raise SystemExit(f'query: {e}')
    for name, row in summary.get('categories', {}).items():
        print(f"{name:<22} AP {row['ap']:>6} projection {row['ap_projection']:>6} "
              f"prevalence {row['prevalence']:>8} ({row['points']} points, \"{row['query']}\")")
    if 'query_map' in summary:
        print(f"mAP {summary['query_map']}  projection {summary['query_map_projection']}  "
              f"prevalence {summary['query_prevalence']}")
    print(f'[query] {summary["scans"]} scans, {len(args.text)} texts -> {args.out}')


if __name__ == '__main__':
    main()
