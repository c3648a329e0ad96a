"""Freeze sub-modules for linear probing."""
from typing import Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet3d.registry import HOOKS

from .freeze_modules_runner import get_submodule


@HOOKS.register_module()
class FreezeModulesHook(Hook):
    """Freeze ``modules`` (attribute paths of the model, e.g. ``['backbone']``): no gradient,
    no parameter update, BatchNorm statistics kept (eval mode at every training iteration).
    Linear probing = ``FreezeModulesHook(modules=['backbone'])`` + a pretrained ``load_from``.

    Gradients must be off before DDP wraps the model (DDP fixes the set of parameters it
    reduces when it is built), which a hook cannot do: distributed configs set
    ``runner_type = 'FreezeModulesRunner'``, which freezes them at build time. Under DDP
    without it this hook stops with a message saying so; on one process it freezes here.
    """

    priority = 'VERY_HIGH'

    def __init__(self, modules: Sequence[str] = ('backbone', )) -> None:
        self.modules = list(modules)

    def _get(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return [get_submodule(model, path) for path in self.modules]

    def before_train(self, runner) -> None:
        for path, m in zip(self.modules, self._get(runner)):
            trainable = any(p.requires_grad for p in m.parameters())
            if trainable and is_model_wrapper(runner.model):
                raise RuntimeError(
                    f'FreezeModulesHook: "{path}" still has gradients although DDP already '
                    "wraps the model; add runner_type = 'FreezeModulesRunner' to the config "
                    '(it freezes the modules before wrapping)')
            m.requires_grad_(False)
            m.eval()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        for m in self._get(runner):
            m.eval()
