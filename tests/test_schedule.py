"""The one schedule base through mmengine's real runner: the learning rate of every iteration
follows the warm-up + cosine law for the run's own length (train_cfg.max_iters)."""
import glob
import json
import math
import os.path as osp

import pytest

from conftest import SMALL, STAGE2, run_tool


def expected_lr(t: int, total: int, base=0.01, warmup=30, start=0.1, eta_min=1e-5) -> float:
    warm = warmup if total > warmup else total // 2
    if t < warm:
        return base * (start + (1 - start) * t / max(warm - 1, 1))
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (t - warm) / (total - warm))) / 2


def test_runner_steps_the_schedule_every_iteration(cached_nuscenes, tmp_path):
    iters = 6
    proc = run_tool(['tools/train.py', STAGE2, '--data-root', cached_nuscenes, '--work-dir',
                     str(tmp_path), '--cfg-options', f'train_cfg.max_iters={iters}',
                     f'train_cfg.val_interval={iters + 1}',
                     f'default_hooks.checkpoint.interval={iters}'] + SMALL)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    rows = [json.loads(line) for line in open(glob.glob(
        osp.join(str(tmp_path), '*', 'vis_data', 'scalars.json'))[0])]
    lrs = [r['lr'] for r in rows if 'lr' in r]
    assert len(lrs) == iters
    # mmengine logs the rate an iteration ran with; a 6-iteration run warms up over 3
    assert lrs == pytest.approx([expected_lr(t, iters) for t in range(iters)], rel=1e-6)
    assert lrs[2] == pytest.approx(0.01) and lrs[-1] < 0.003
