"""Statistics of a nuScenes-lidarseg or SemanticKITTI layout set (real or synthetic) and, for
nuScenes, the real nuScenes-lidarseg figures beside them: points per scan, share of points
inside some camera image, point share per class and raw category.

Example (the demo's set):
  python tools/dataset_stats.py data/synthetic_nuscenes --out work_dirs/dataset_stats
writes stats.json, stats.md and (nuScenes) class_shares.png under --out.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import afov_plugin  # noqa: E402,F401
from afov_plugin.evaluation.dataset_statistics import (comparison_markdown,  # noqa: E402
                                                       nuscenes_reference, scan_statistics)
from afov_plugin.visualization.dataset_pictures import plot_class_shares  # noqa: E402
from afov_plugin.fileio import atomic_write_text  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('root', help='dataset root holding the info pkls of tools/create_data.py')
    parser.add_argument('--infos', nargs='+',
                        help='info pkls under root (default: every *_infos_{train,val}.pkl)')
    parser.add_argument('--max-scans', type=int, help='first N scans of each info pkl')
    parser.add_argument('--out', help='folder for stats.json, stats.md, class_shares.png')
    args = parser.parse_args()
    infos = args.infos or sorted(osp.basename(p) for split in ('train', 'val')
                                 for p in glob.glob(osp.join(args.root, f'*_infos_{split}.pkl')))
    if not infos:
        sys.exit(f'no *_infos_train.pkl / *_infos_val.pkl in {args.root}: run '
                 'tools/create_data.py first')
    results = {name: scan_statistics(args.root, name, args.max_scans) for name in infos}
    reference = nuscenes_reference()
    text = ''
    for name, stats in results.items():
        print(f"{name}: {stats['scans']} scans, {stats['points_per_scan']} points per scan, "
              f"{stats['camera_share']} % inside some camera")
        if 'class_share' in stats:
            text += f'## {name}\n\n' + comparison_markdown(stats, reference) + '\n'
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        atomic_write_text(osp.join(args.out, 'stats.json'), json.dumps(
            dict(sets=results, reference=reference), indent=1))
        atomic_write_text(osp.join(args.out, 'stats.md'), text)
        first = next((s for s in results.values() if 'class_share' in s), None)
        if first is not None:
            plot_class_shares(first, reference, osp.join(args.out, 'class_shares.png'))
        print(f'wrote {args.out}/stats.json, stats.md' +
              (', class_shares.png' if first is not None else ''))
    elif text:
        print(text)


if __name__ == '__main__':
    main()
