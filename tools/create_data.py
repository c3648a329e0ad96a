"""Write mmdet3d info pkls for a dataset root (real or synthetic, same layout).

Examples:
  python tools/create_data.py nuscenes --root-path data/nuscenes --out-dir data/nuscenes \
      --version v1.0-trainval
  python tools/create_data.py semantickitti --root-path data/semantickitti \
      --out-dir data/semantickitti
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from afov_plugin.converters import (create_nuscenes_infos,  # noqa: E402
                                    create_semantickitti_infos)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('dataset', choices=['nuscenes', 'semantickitti'])
    parser.add_argument('--root-path', required=True)
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--version', default='v1.0-trainval', help='nuScenes version')
    parser.add_argument('--extra-tag', default=None, help='prefix of the pkl names')
    args = parser.parse_args(argv)
    if args.dataset == 'nuscenes':
        paths = create_nuscenes_infos(args.root_path, args.out_dir, args.version,
                                      args.extra_tag or 'nuscenes')
    else:
        paths = create_semantickitti_infos(args.root_path, args.out_dir,
                                           args.extra_tag or 'semantickitti')
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
