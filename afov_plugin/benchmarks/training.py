"""The ``stage2`` and ``tmp`` suites: a training iteration of one config vs another's on the
same scans, timed in interleaved pairs (:class:`TrainLoop`, :func:`compare_iterations`)."""
import copy
from typing import Tuple

from mmengine.config import Config

from .data import STAGE2_CONFIG as STAGE2
from .data import repo_path
from .report import save
from .timing import interleaved_ratio, peak_rss_mb, ratio_fields

PAIRS = 5
WARMUP = 1
BATCH = 2
SUPERVISED = 'configs/afov/stage2/minkunet18-w16_supervised_synthetic-nuscenes.py'
TMP = 'configs/afov/tmp/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes.py'


def load_configs(root: str, *paths: str) -> Tuple[Config, ...]:
    """The configs at ``paths`` on the data root ``root``, their settings filled in."""
    from mmengine.registry import init_default_scope
    from ..engine import load_config
    init_default_scope('mmdet3d')
    return tuple(load_config(repo_path(p), root) for p in paths)


class TrainLoop:
    """A model, its AdamW optimiser and ``batches`` fixed batches of its dataset (samples
    0, 1, 2, ...); each call runs one training iteration (preprocess, loss, backward, step)
    on the next batch, cycling, so two loops called alternately see the same scans."""

    def __init__(self, model_cfg: dict, ds_cfg: dict, batches: int) -> None:
        import torch
        from mmengine.dataset import pseudo_collate
        from mmdet3d.registry import DATASETS, MODELS
        torch.manual_seed(0)
        self.model = MODELS.build(copy.deepcopy(model_cfg))
        self.dataset = DATASETS.build(ds_cfg)
        self.optim = torch.optim.AdamW(self.model.parameters(), lr=1e-3)
        self.batches = [pseudo_collate([self.dataset[BATCH * i + j] for j in range(BATCH)])
                        for i in range(batches)]
        self.calls = 0

    def __call__(self) -> None:
        data = self.model.data_preprocessor(self.batches[self.calls % len(self.batches)],
                                            training=True)
        self.calls += 1
        loss = sum(self.model.loss(**data).values())
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()

    def load_sample(self) -> dict:
        """Load (pipeline included) the first sample of the dataset."""
        return self.dataset[0]


def compare_iterations(candidate: TrainLoop, baseline: TrainLoop) -> dict:
    """Iteration and sample-load times of ``candidate`` vs ``baseline`` (interleaved) and
    the peak memory of one more iteration of each."""
    return dict(iteration=interleaved_ratio(candidate, baseline, PAIRS, WARMUP),
                sample_load=interleaved_ratio(candidate.load_sample, baseline.load_sample,
                                              PAIRS, WARMUP),
                candidate_peak_mb=peak_rss_mb(candidate), baseline_peak_mb=peak_rss_mb(baseline))


def _result(c: dict, candidate: str, baseline: str, target: float) -> dict:
    """The suite's JSON figures: ``<name>_iter_s``, ``iter_ratio`` (+ min/max) and the rest."""
    it, load = c['iteration'], c['sample_load']
    return {f'{baseline}_iter_s': round(it['baseline_s'], 3),
            f'{candidate}_iter_s': round(it['candidate_s'], 3), **ratio_fields('iter_ratio', it),
            f'{baseline}_sample_load_s': round(load['baseline_s'], 4),
            f'{candidate}_sample_load_s': round(load['candidate_s'], 4),
            **ratio_fields('sample_load_ratio', load),
            f'peak_mem_mb_{baseline}': c['baseline_peak_mb'],
            f'peak_mem_mb_{candidate}': c['candidate_peak_mb'],
            'target_iter_ratio': target, 'pairs': PAIRS, 'batch': BATCH}


def bench_stage2(root: str) -> dict:
    """Iteration time of AFOV stage 2 vs plain mmdet3d MinkUNet (mmdet3d's own
    Det3DDataPreprocessor cannot run on CPU, so the plain run uses ours with GT labels and
    mmdet3d's MinkUNetHead + CrossEntropyLoss: the comparison isolates AFOV's pipeline)."""
    cfg, sup = load_configs(root, STAGE2, SUPERVISED)
    plain_model = copy.deepcopy(sup.model)
    plain_model.decode_head = dict(type='MinkUNetHead', channels=48,
                                   num_classes=len(sup.class_names),
                                   ignore_index=sup.ignore_index, dropout_ratio=0,
                                   loss_decode=dict(type='mmdet.CrossEntropyLoss',
                                                    avg_non_ignore=True))
    n = PAIRS + WARMUP
    plain = TrainLoop(plain_model, sup.train_dataloader.dataset, n)
    afov = TrainLoop(cfg.model, cfg.train_dataloader.dataset, n)
    result = _result(compare_iterations(afov, plain), 'afov', 'plain', 1.10)
    save('stage2', result)
    return result


def bench_tmp(root: str) -> dict:
    """TMP iteration (tri-modal head and losses, superpoints, text bank) vs a stage-2
    iteration of the same trunk on the same scans."""
    s2, tmp = load_configs(root, STAGE2, TMP)
    n = PAIRS + WARMUP
    stage2 = TrainLoop(s2.model, s2.train_dataloader.dataset, n)
    tmp_loop = TrainLoop(tmp.model, tmp.train_dataloader.dataset, n)
    result = _result(compare_iterations(tmp_loop, stage2), 'tmp', 'stage2', 1.3)
    save('tmp', result)
    return result
