"""The one schedule base through mmengine's real runner: the learning rate of every iteration
follows the warm-up + cosine law for the run's own length (train_cfg.max_iters)."""
import glob
import json
import math
import os.path as osp

import pytest

from conftest import STAGE2_RUN_ITERS


def expected_lr(t: int, total: int, base=0.01, warmup=30, start=0.1, eta_min=1e-5) -> float:
    warm = warmup if total > warmup else total // 2
    if t < warm:
        return base * (start + (1 - start) * t / max(warm - 1, 1))
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (t - warm) / (total - warm))) / 2


def test_runner_steps_the_schedule_every_iteration(stage2_run):
    work, _ = stage2_run
    iters = STAGE2_RUN_ITERS
    rows = [json.loads(line) for line in open(glob.glob(
        osp.join(work, '*', 'vis_data', 'scalars.json'))[0])]
    lrs = [r['lr'] for r in rows if 'lr' in r]
    assert len(lrs) == iters
    # mmengine logs the rate an iteration ran with; a 12-iteration run warms up over 6
    assert lrs == pytest.approx([expected_lr(t, iters) for t in range(iters)], rel=1e-6)
    assert lrs[5] == pytest.approx(0.01) and lrs[-1] < 0.003
