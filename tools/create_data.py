"""Write mmdet3d info pkls for a dataset root (real or synthetic, same layout).

Example: python tools/create_data.py semantickitti --root-path data/synthetic_semantickitti \
    --out-dir data/synthetic_semantickitti
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from afov_plugin.converters import create_semantickitti_infos  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('dataset', choices=['semantickitti'])
    parser.add_argument('--root-path', required=True)
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--extra-tag', default='semantickitti', help='prefix of the pkl names')
    args = parser.parse_args()
    paths = create_semantickitti_infos(args.root_path, args.out_dir, args.extra_tag)
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
