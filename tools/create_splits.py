"""Write few-label info files: 1 / 5 / 10 % of the training scans, by scan and by scene.

  python tools/create_splits.py data/nuscenes/nuscenes_infos_train.pkl [--fractions 1 5 10]
      [--by scan scene] [--seed 0]

Writes <stem>_<p>pct_<by>.pkl next to the input (e.g. nuscenes_infos_train_1pct_scan.pkl);
use it as train_dataloader.dataset.ann_file of a fine-tuning config.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from afov_plugin.datasets.splits import load_infos, scene_of, split_infos  # noqa: E402
from afov_plugin.fileio import atomic_dump_pickle_info  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('info')
    parser.add_argument('--fractions', type=float, nargs='+', default=[1, 5, 10],
                        help='percentages')
    parser.add_argument('--by', nargs='+', default=['scan', 'scene'], choices=['scan', 'scene'])
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    infos = load_infos(args.info)
    stem = osp.splitext(args.info)[0]
    for by in args.by:
        for pct in args.fractions:
            subset = split_infos(infos['data_list'], pct / 100.0, by, args.seed)
            out = f'{stem}_{pct:g}pct_{by}.pkl'
            atomic_dump_pickle_info(dict(metainfo=dict(infos['metainfo'], split=f'{pct:g}% by '
                                                       f'{by}, seed {args.seed}'),
                                         data_list=subset), out)
            print(f'{out}: {len(subset)} scans from {len({scene_of(d) for d in subset})} '
                  f'scenes')


if __name__ == '__main__':
    main()
