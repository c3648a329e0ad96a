"""Offline AFI over predictions saved by ``tools/test.py --save-preds PRED_DIR``.

  python tools/afi.py CONFIG PRED_DIR [--out OUT_DIR] [--report R.json] [--cfg-options ...]

CONFIG gives the AFI settings (``model.test_cfg.postprocess``, e.g.
configs/afov/afi/*.py) and the class names. Writes the refined labels to OUT_DIR (same
``.npz`` layout, ``pred`` refined, ``pred_network`` the input) and, where the files carry
ground truth, mIoU before / after over all points, in-view (some camera sees them) and
out-of-view points.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402

import afov_plugin  # noqa: E402,F401
from afov_plugin.engine import load_prediction, save_prediction  # noqa: E402
from afov_plugin.evaluation import confusion, miou_report  # noqa: E402
from afov_plugin.fileio import atomic_write_text  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('pred_dir')
    parser.add_argument('--out', help='directory for refined predictions (default: none)')
    parser.add_argument('--report', help='JSON report (default: PRED_DIR/afi_report.json)')
    parser.add_argument('--device', default='cpu')
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def build_afi(cfg):
    from mmdet3d.registry import MODELS
    post = cfg.model.get('test_cfg', {}).get('postprocess')
    if not post:
        raise SystemExit(f'{cfg.filename}: no model.test_cfg.postprocess; use an AFI config, '
                         'e.g. configs/afov/afi/minkunet18-w16_stage2-afi_simulated-san_'
                         'synthetic-nuscenes.py')
    names = list(cfg.class_names)  # the dataset base's, as the AFI's num_classes
    return MODELS.build(post), names, cfg.get('ignore_index', len(names))


def main():
    import torch
    from tqdm import tqdm
    args = parse_args()
    from afov_plugin.engine import load_config
    cfg = load_config(args.config, cfg_options=args.cfg_options)
    afi, names, ignore = build_afi(cfg)
    files = sorted(glob.glob(osp.join(args.pred_dir, '*.npz')))
    if not files:
        raise SystemExit(f'{args.pred_dir}: no .npz predictions; write them with tools/test.py '
                         'CONFIG CKPT --save-preds DIR')
    c = len(names)
    hists = {k: np.zeros((c, c + 1), np.int64) for k in
             ('before', 'after', 'before_in_view', 'after_in_view', 'before_out_of_view',
              'after_out_of_view')}
    has_gt, seconds = True, 0.0
    for path in tqdm(files, desc='AFI', unit='scan'):
        scan = load_prediction(path)
        pts = torch.from_numpy(scan['points']).to(args.device)
        pred = torch.from_numpy(scan['pred'].astype(np.int64)).to(args.device)
        pseudo = scan.get('pseudo_label')
        pseudo = None if pseudo is None else torch.from_numpy(pseudo.astype(np.int64))
        t = time.perf_counter()
        out = afi.refine(pts, pred, pseudo).cpu().numpy()
        seconds += time.perf_counter() - t
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            save_prediction(osp.join(args.out, osp.basename(path)),
                            **dict(scan, pred=out.astype(np.int16), pred_network=scan['pred']))
        if 'gt' not in scan:
            has_gt = False
            continue
        gt = scan['gt']
        in_view = scan["cam"] >= 0 if 'cam' in scan else np.ones(len(gt), bool)
        for tag, p in (('before', scan['pred']), ('after', out)):
            hists[tag] += confusion(gt, p, c, ignore)
            hists[f'{tag}_in_view'] += confusion(gt[in_view], p[in_view], c, ignore)
            hists[f'{tag}_out_of_view'] += confusion(gt[~in_view], p[~in_view], c, ignore)
    report = dict(scans=len(files), afi_seconds_per_scan=round(seconds / len(files), 4))
    if has_gt:
        for tag, h in hists.items():
            report[f'miou_{tag}'] = round(100 * miou_report(h)['miou'], 2)
        report['per_class_after'] = {k: v for k, v in miou_report(hists['after'], names).items()
                                     if k not in ('miou', 'acc')}
    path = args.report or osp.join(args.pred_dir, 'afi_report.json')
    atomic_write_text(path, json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != 'per_class_after'}, indent=1))
    print(f'report: {path}')


if __name__ == '__main__':
    main()
