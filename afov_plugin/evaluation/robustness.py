"""The Robo3D protocol: a model evaluated on every corruption × severity of the val scans with
the config's own metric, corruption error against a baseline model and resilience.

CE_i = Σ_l (1 − mIoU_{i,l}) / Σ_l (1 − mIoU^base_{i,l}),  mCE = mean_i CE_i;
RR_i = Σ_l mIoU_{i,l} / (L × clean mIoU),                 mRR = mean_i RR_i
(L severities; Robo3D: L = 3, baseline a supervised MinkUNet18)."""
import copy
import json
import os.path as osp
import time
from typing import Dict, Optional, Sequence

import numpy as np

from ..datasets.transforms.lidar_corruptions import CORRUPTIONS, insert_corruption
from ..fileio import atomic_write_text

# dataset type → the corruptions' sensor model
SENSOR_OF_DATASET = {'NuScenesSegDataset': 'nuscenes', 'SemanticKittiMMDataset': 'semantickitti'}


def corruption_error(miou: Sequence[float], baseline: Sequence[float]) -> float:
    """CE of one corruption from the mIoU (0-1) at each severity and the baseline's."""
    den = sum(1 - b for b in baseline)
    if den <= 0:
        raise ValueError('the baseline scores mIoU 1 at every severity: CE is undefined')
    return sum(1 - m for m in miou) / den


def resilience(miou: Sequence[float], clean: float) -> float:
    """RR of one corruption: mean mIoU over the severities relative to the clean mIoU."""
    return sum(miou) / (len(miou) * clean) if clean > 0 else float('nan')


def robustness_summary(cells: Dict[str, Dict[str, float]], clean: float,
                       baseline: Optional[dict] = None) -> dict:
    """cells {corruption: {severity: mIoU}} (0-1) → RR_i, mRR and, with a baseline summary
    of the same corruptions and severities, CE_i and mCE (in %, as Robo3D reports)."""
    out = dict(rr={c: round(100 * resilience(list(s.values()), clean), 2)
                   for c, s in cells.items()})
    out['mrr'] = round(float(np.mean(list(out['rr'].values()))), 2)
    if baseline is not None:
        base = baseline['cells']
        missing = [c for c in cells if c not in base or set(base[c]) != set(cells[c])]
        if missing:
            raise ValueError(f'the baseline has no matching cells for {missing}: evaluate it '
                             'on the same corruptions and severities')
        out['ce'] = {c: round(100 * corruption_error([s[k] for k in sorted(s)],
                                                     [base[c][k] for k in sorted(s)]), 2)
                     for c, s in cells.items()}
        out['mce'] = round(float(np.mean(list(out['ce'].values()))), 2)
    return out


def _test(cfg, checkpoint: str, pipeline: list, work_dir: str) -> dict:
    from mmengine.runner import Runner
    cfg = copy.deepcopy(cfg)
    cfg.load_from = checkpoint
    cfg.work_dir = work_dir
    cfg.test_dataloader.dataset.pipeline = pipeline
    cfg.default_hooks.pop('visualization', None)
    cfg.log_level = 'WARNING'
    return Runner.from_cfg(cfg).test()


def evaluate_robustness(cfg, checkpoint: str, out: str,
                        corruptions: Sequence[str] = tuple(CORRUPTIONS),
                        severities: Sequence[int] = (1, 2, 3), seed: int = 0,
                        baseline_json: Optional[str] = None, work_dir: str = None,
                        show_progress: bool = True) -> dict:
    """Evaluate ``checkpoint`` clean and on every corruption × severity; write the summary
    JSON to ``out`` (mIoU per cell, all points and in-view / out-of-view, RR_i, mRR, and with
    ``baseline_json`` (this function's output for the baseline model) CE_i and mCE)."""
    from tqdm import tqdm
    unknown = [c for c in corruptions if c not in CORRUPTIONS]
    if unknown:
        raise ValueError(f'unknown corruptions {unknown}; known: {list(CORRUPTIONS)}')
    sensor = SENSOR_OF_DATASET.get(cfg.test_dataloader.dataset.type)
    if sensor is None:
        raise ValueError(f'no sensor model for dataset {cfg.test_dataloader.dataset.type}: '
                         f'known {list(SENSOR_OF_DATASET)}')
    baseline = json.load(open(baseline_json)) if baseline_json else None
    start = time.time()
    work_dir = work_dir or osp.join(osp.dirname(osp.abspath(out)), 'robustness_runs')
    pipeline = cfg.test_dataloader.dataset.pipeline
    metrics = dict(clean=_test(cfg, checkpoint, pipeline, work_dir))
    cells, views = {}, {}
    jobs = [(c, s) for c in corruptions for s in severities]
    for c, s in tqdm(jobs, desc='corruptions', disable=not show_progress):
        step = dict(type=CORRUPTIONS[c].__name__, severity=s, seed=seed, sensor=sensor,
                    ignore_index=cfg.get('ignore_index', 255))
        m = _test(cfg, checkpoint, insert_corruption(pipeline, step), work_dir)
        cells.setdefault(c, {})[str(s)] = m['miou']
        views.setdefault(c, {})[str(s)] = {k: m[k] for k in ('miou_in_view', 'miou_out_of_view')
                                           if k in m}
    clean = metrics['clean']['miou']
    summary = dict(checkpoint=checkpoint, sensor=sensor, seed=seed, clean_miou=clean,
                   clean={k: v for k, v in metrics['clean'].items()
                          if k.startswith(('miou', 'hmiou'))},
                   cells=cells, views=views,
                   **robustness_summary(cells, clean, baseline),
                   baseline=baseline_json, seconds=round(time.time() - start, 1))
    atomic_write_text(out, json.dumps(summary, indent=1))
    return summary


def example_scans(cfg, corruptions: Sequence[str], severity: int, seed: int = 0):
    """The first val scan clean and under each corruption: ({name: (N, C) points},
    {name: (N,) labels}) for :func:`draw_corruption_examples`."""
    from mmdet3d.registry import DATASETS
    sensor = SENSOR_OF_DATASET[cfg.test_dataloader.dataset.type]
    ds = copy.deepcopy(cfg.test_dataloader.dataset)
    ds.pipeline = [t for t in ds.pipeline if not t['type'].startswith('Pack')]
    ds.test_mode = True
    base = ds.pipeline
    scans, labels = {}, {}
    for name in ('clean', ) + tuple(corruptions):
        ds.pipeline = base if name == 'clean' else insert_corruption(base, dict(
            type=CORRUPTIONS[name].__name__, severity=severity, seed=seed, sensor=sensor,
            ignore_index=cfg.get('ignore_index', 255)))
        item = DATASETS.build(copy.deepcopy(ds))[0]
        scans[name] = item['points'].tensor.numpy()
        labels[name] = np.asarray(item['pts_semantic_mask'])
    return scans, labels
