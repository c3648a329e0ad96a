"""Linear warm-up then cosine decay in one scheduler whose length is the run's."""
import math

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import INF, _ParamScheduler
from mmengine.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class WarmupCosineLR(LRSchedulerMixin, _ParamScheduler):
    """mmengine's ``LinearLR(start_factor, end=warmup_iters)`` followed by
    ``CosineAnnealingLR(begin=warmup_iters, T_max=end - warmup_iters, eta_min)``, as one
    scheduler (the same learning rates, closed form).

    ``end`` left out = the train loop's ``max_iters`` (mmengine's default), so a config's
    length is the one key ``train_cfg.max_iters``; a run no longer than the warm-up (a smoke
    test) warms up over half of it instead of failing.
    """

    def __init__(self, optimizer, warmup_iters: int = 30, start_factor: float = 0.1,
                 eta_min: float = 0.0, begin: int = 0, end: int = INF, last_step: int = -1,
                 by_epoch: bool = False, verbose: bool = False) -> None:
        self.warmup_iters = warmup_iters
        self.start_factor = start_factor
        self.eta_min = eta_min
        super().__init__(optimizer, begin=begin, end=end, last_step=last_step,
                         by_epoch=by_epoch, verbose=verbose)

    def _get_value(self):
        total = self.end - self.begin
        warm = self.warmup_iters if total > self.warmup_iters else total // 2
        t = self.last_step
        if t < warm:
            f = self.start_factor + (1 - self.start_factor) * t / max(warm - 1, 1)
            return [base * f for base in self.base_values]
        c = (1 + math.cos(math.pi * (t - warm) / max(total - warm, 1))) / 2
        return [self.eta_min + (base - self.eta_min) * c for base in self.base_values]
