"""Freeze sub-modules for linear probing."""
from typing import Sequence

from mmengine.hooks import Hook

from mmdet3d.registry import HOOKS


@HOOKS.register_module()
class FreezeModulesHook(Hook):
    """Freeze ``modules`` (attribute paths of the model, e.g. ``['backbone']``): no gradient,
    no parameter update, BatchNorm statistics kept (eval mode at every training iteration).
    Linear probing = ``FreezeModulesHook(modules=['backbone'])`` + a pretrained ``load_from``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, modules: Sequence[str] = ('backbone', )) -> None:
        self.modules = list(modules)

    def _get(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        out = []
        for path in self.modules:
            m = model
            for part in path.split('.'):
                if not hasattr(m, part):
                    raise AttributeError(f'FreezeModulesHook: the model has no "{path}"')
                m = getattr(m, part)
            out.append(m)
        return out

    def before_train(self, runner) -> None:
        for m in self._get(runner):
            for p in m.parameters():
                p.requires_grad_(False)
            m.eval()

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        for m in self._get(runner):
            m.eval()
