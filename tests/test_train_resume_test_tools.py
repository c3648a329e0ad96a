"""A Runner training through tools/train.py, --resume, and tools/test.py, on a tiny set."""
import glob
import json
import os.path as osp
import re

import numpy as np
import torch

from afov_plugin import compat
from conftest import run_tool

CONFIG = 'configs/baselines/minkunet18-w16_supervised-mmdet3d-pipeline_synthetic-semantickitti.py'


def _options(data_root, max_iters):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={data_root}/',
        f'val_dataloader.dataset.data_root={data_root}/',
        f'test_dataloader.dataset.data_root={data_root}/',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=1', f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_interval={max_iters}', 'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1'
    ]


def _trained_iters(log_text):
    return [int(m) for m in re.findall(r'Iter\(train\) \[\s*(\d+)/\d+\]', log_text)]


def test_train_resume_and_test(tiny_semantickitti, tmp_path):
    work = str(tmp_path / 'run')
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', work] +
                    _options(tiny_semantickitti, 4))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'iter_2.pth')) and osp.isfile(osp.join(work, 'iter_4.pth'))
    assert _trained_iters(proc.stdout + proc.stderr) == [1, 2, 3, 4]

    # the Runner's checkpoint loads with weights_only=True kept
    ckpt = compat.safe_torch_load(osp.join(work, 'iter_2.pth'), map_location='cpu')
    assert ckpt['meta']['iter'] == 2 and 'message_hub' in ckpt and 'optimizer' in ckpt

    resumed = str(tmp_path / 'resumed')
    proc = run_tool(['tools/train.py', CONFIG, '--work-dir', resumed, '--resume',
                     osp.join(work, 'iter_2.pth')] + _options(tiny_semantickitti, 4))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'resumed epoch: 0, iter: 2' in out
    assert _trained_iters(out) == [3, 4]
    final = compat.safe_torch_load(osp.join(resumed, 'iter_4.pth'), map_location='cpu')
    assert final['meta']['iter'] == 4
    assert not osp.exists(osp.join(resumed, 'iter_2.pth'))

    preds = str(tmp_path / 'preds')
    proc = run_tool(['tools/test.py', CONFIG, osp.join(resumed, 'iter_4.pth'), '--work-dir',
                     str(tmp_path / 'test'), '--save-preds', preds] +
                    _options(tiny_semantickitti, 4))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    logs = glob.glob(str(tmp_path / 'test' / '*' / '*.json'))
    assert logs, 'tools/test.py wrote no metrics file'
    metrics = json.load(open(logs[0]))
    # the reported mIoU / accuracy = a numpy confusion matrix of the saved predictions
    import pickle
    val = pickle.load(open(osp.join(tiny_semantickitti, 'semantickitti_infos_val.pkl'), 'rb'))
    files = sorted(glob.glob(osp.join(preds, '*.npz')))
    assert len(files) == len(val['data_list']) > 0
    num_classes, ignore = 19, 19
    hist = np.zeros((num_classes, num_classes), np.int64)
    for f in files:
        with np.load(f) as z:
            pred, gt = z['pred'].astype(np.int64), z['gt'].astype(np.int64)
        assert pred.shape == gt.shape and pred.min() >= 0 and pred.max() < num_classes
        for g, p in zip(gt, pred):
            if g != ignore:
                hist[g, p] += 1
    tp = np.diag(hist).astype(float)
    union = hist.sum(0) + hist.sum(1) - tp
    iou = [t / u for t, u in zip(tp, union) if u > 0]   # classes in ground truth or prediction
    assert abs(metrics['miou'] - sum(iou) / len(iou)) < 1e-6, (metrics['miou'], iou)
    assert abs(metrics['acc'] - tp.sum() / hist.sum()) < 1e-6


def test_test_tool_refuses_code_carrying_checkpoint(tiny_semantickitti, tmp_path):
    marker = tmp_path / 'pwned'
    evil = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': _Evil(str(marker))}, evil)
    proc = run_tool(['tools/test.py', CONFIG, evil, '--work-dir', str(tmp_path / 'w')] +
                    _options(tiny_semantickitti, 4))
    assert proc.returncode != 0
    assert 'Refusing to load checkpoint' in proc.stderr and 'evil.pth' in proc.stderr
    assert not marker.exists()


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_teacher_sweep_ranking_agreement():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'teacher_sweep', osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                                  'teacher_sweep.py'))
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)

    def row(seed, teacher, student):
        return dict(seed=seed, teacher_projection_miou=teacher, student_miou=student)
    rows = [row(0, 37.5, 45.4), row(0, 32.1, 44.0), row(0, 26.4, 41.9), row(0, 15.8, 34.3),
            row(1, 30.0, 40.0), row(1, 20.0, 42.0), row(1, 10.0, 30.0)]
    got = sweep.ranking_agreement(rows)
    assert got['0'] == dict(same_order=True, spearman=1.0)
    # seed 1: the first two students swap places: d = (1, 1, 0) -> rho = 1 - 6*2/(3*8) = 0.5
    assert got['1'] == dict(same_order=False, spearman=0.5)
    assert sweep.ranks([3.0, 9.0, 1.0]) == [1, 0, 2]
