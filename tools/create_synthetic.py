"""Generate the synthetic driving world in a real dataset layout.

Example: python tools/create_synthetic.py --format semantickitti --out data/synthetic_semantickitti
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from afov_plugin.synthetic import write_semantickitti  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--format', choices=['semantickitti'], default='semantickitti',
                        help='on-disk layout to write (nuScenes lands with the data issue)')
    parser.add_argument('--out', required=True, help='dataset root to write')
    parser.add_argument('--scenes', type=int, default=4,
                        help='number of scenes (the last one is the validation sequence 08)')
    parser.add_argument('--frames', type=int, default=20, help='scans per scene')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--azimuth-steps', type=int, default=None,
                        help='LiDAR columns per sweep (default: the sensor model\'s, 2048 for '
                        'the KITTI-like HDL-64); fewer for faster, sparser scans')
    args = parser.parse_args()
    start = time.time()
    paths = write_semantickitti(args.out, args.scenes, args.frames, args.seed,
                                azimuth_steps=args.azimuth_steps)
    print(f'wrote {len(paths)} scans to {args.out} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
