"""Generate the synthetic driving world in a real dataset layout.

The defaults write what the synthetic configs and `tools/create_data.py` read: nuScenes
v1.0-trainval names (configs/_base_/datasets/synthetic-nuscenes_afov.py, create_data.py's
default --version), 10 scenes = 8 train + 2 val.

Examples:
  python tools/create_synthetic.py --format nuscenes --out data/synthetic_nuscenes --scenes 20 \
      --frames 16 --image-scale 0.5     # the demo's set (16 train + 4 val scenes)
  python tools/create_data.py nuscenes --root-path data/synthetic_nuscenes \
      --out-dir data/synthetic_nuscenes     # its info pkls
  python tools/create_synthetic.py --format semantickitti --out data/synthetic_semantickitti
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from afov_plugin.synthetic import write_nuscenes, write_semantickitti  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--format', choices=['nuscenes', 'semantickitti'], default='nuscenes')
    parser.add_argument('--out', required=True, help='dataset root to write')
    parser.add_argument('--scenes', type=int, default=10,
                        help='scenes (nuScenes: real scene names of --version, 1 in 5 in val; '
                        'SemanticKITTI: sequences, the last one is validation sequence 08)')
    parser.add_argument('--frames', type=int, default=20, help='key frames / scans per scene')
    parser.add_argument('--val-frames', type=int, default=None,
                        help='SemanticKITTI: scans of the validation sequence 08 (default: '
                        '--frames); a longer drive gives a val split that holds more objects')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--version', default='v1.0-trainval',
                        choices=['v1.0-trainval', 'v1.0-mini'],
                        help='nuScenes version folder and scene names (default: v1.0-trainval, '
                        'what the synthetic configs and tools/create_data.py read; v1.0-mini '
                        'has 8 train + 2 val scenes at most)')
    parser.add_argument('--image-scale', type=float, default=1.0,
                        help='image size relative to the real one (1600×900 / 1241×376); '
                        'intrinsics are scaled alike')
    parser.add_argument('--azimuth-steps', type=int, default=None,
                        help='LiDAR columns per sweep (default: the sensor model\'s)')
    parser.add_argument('--no-images', action='store_true', help='SemanticKITTI: skip image_2')
    parser.add_argument('--every-object-class', action='store_true',
                        help='add to each scene the object classes its random draw left out')
    parser.add_argument('--shaped-objects', action='store_true',
                        help='cars and large vehicles built from parts; kerbed traffic islands')
    return parser


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    scene_options = dict(every_object_class=args.every_object_class,
                         shaped_objects=args.shaped_objects)
    start = time.time()
    if args.format == 'nuscenes':
        from afov_plugin.synthetic.lidar import NUSCENES_HDL32, LidarModel
        lidar = NUSCENES_HDL32 if args.azimuth_steps is None else LidarModel(
            **{**NUSCENES_HDL32.__dict__, 'azimuth_steps': args.azimuth_steps})
        tables = write_nuscenes(args.out, args.scenes, args.frames, args.seed,
                                version=args.version, image_scale=args.image_scale, lidar=lidar,
                                **scene_options)
        n = len(tables['sample'])
    else:
        n = len(write_semantickitti(args.out, args.scenes, args.frames, args.seed,
                                    val_frames=args.val_frames,
                                    azimuth_steps=args.azimuth_steps,
                                    with_images=not args.no_images,
                                    image_scale=args.image_scale, **scene_options))
    took = time.time() - start
    print(f'wrote {n} frames ({args.format}) to {args.out} in {took:.1f} s '
          f'({took / max(n, 1):.2f} s per frame)')
    if args.format == 'nuscenes':
        version = '' if args.version == 'v1.0-trainval' else f' --version {args.version}'
        print(f'info pkls: python tools/create_data.py nuscenes --root-path {args.out} '
              f'--out-dir {args.out}{version}')
    else:
        print(f'info pkls: python tools/create_data.py semantickitti --root-path {args.out} '
              f'--out-dir {args.out}')


if __name__ == '__main__':
    main()
