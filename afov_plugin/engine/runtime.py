"""Runtime settings that depend on the machine rather than on the experiment."""
import torch
from mmengine.config import Config


def adapt_runtime_cfg(cfg: Config) -> Config:
    """Use the gloo backend for distributed runs when no GPU is present (nccl needs CUDA)."""
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    return cfg
