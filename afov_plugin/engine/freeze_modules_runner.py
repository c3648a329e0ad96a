"""A Runner that freezes modules before DDP wraps the model (linear probing on many GPUs)."""
from typing import Dict, List, Union

from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from torch import nn


def frozen_module_paths(cfg) -> List[str]:
    """The ``modules`` of every ``FreezeModulesHook`` in ``cfg.custom_hooks``."""
    paths: List[str] = []
    for hook in cfg.get('custom_hooks') or []:
        if hook.get('type') == 'FreezeModulesHook':
            paths += list(hook.get('modules', ('backbone', )))
    return paths


def get_submodule(model: nn.Module, path: str) -> nn.Module:
    """``model.a.b`` for ``'a.b'``, or an AttributeError naming the path."""
    m = model
    for part in path.split('.'):
        if not hasattr(m, part):
            raise AttributeError(f'FreezeModulesHook: the model has no "{path}"')
        m = getattr(m, part)
    return m


@RUNNERS.register_module()
class FreezeModulesRunner(Runner):
    """mmengine's Runner, except that the modules named by the config's ``FreezeModulesHook``
    lose their gradients right after the model is built, before ``wrap_model``: DDP then
    registers only the trainable parameters, so a frozen trunk trains on k ranks. Select it
    with ``runner_type = 'FreezeModulesRunner'`` (the linear-probing configs do); the hook
    still keeps the frozen BatchNorm layers in eval mode.
    """

    def build_model(self, model: Union[nn.Module, Dict]) -> nn.Module:
        model = super().build_model(model)
        for path in frozen_module_paths(self.cfg):
            get_submodule(model, path).requires_grad_(False)
        return model
