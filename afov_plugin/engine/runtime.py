"""Runtime settings that depend on the machine or the data location, not the experiment."""
import os
from typing import Optional

import torch
from mmengine.config import Config


def adapt_runtime_cfg(cfg: Config) -> Config:
    """Use the gloo backend for distributed runs when no GPU is present (nccl needs CUDA)."""
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    return cfg


def set_data_root(cfg: Config, data_root: Optional[str]) -> Config:
    """Point every dataloader's dataset (wrappers included) at ``data_root``."""
    if not data_root:
        return cfg
    data_root = data_root.rstrip('/') + '/'
    cfg.data_root = data_root
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg.get(name, {}).get('dataset') if cfg.get(name) else None
        while ds is not None:
            if 'data_root' in ds or 'ann_file' in ds:
                ds['data_root'] = data_root
            ds = ds.get('dataset')
    return cfg


def resolve_cache_dir(cache_dir: str, data_root: Optional[str]) -> str:
    """A teacher cache path relative to the dataset root unless absolute."""
    if os.path.isabs(cache_dir) or not data_root:
        return cache_dir
    return os.path.join(data_root, cache_dir)


def load_tool_config(config: str, launcher: str = 'none', data_root: Optional[str] = None,
                     cfg_options: Optional[dict] = None, work_dir: Optional[str] = None,
                     ceph: bool = False) -> Config:
    """The config as tools/train.py and tools/test.py see it: launcher, machine-dependent
    settings, ``--data-root``, ``--cfg-options`` (applied last) and the work dir."""
    cfg = Config.fromfile(config)
    if ceph:
        from mmdet3d.utils import replace_ceph_backend
        cfg = replace_ceph_backend(cfg)
    cfg.launcher = launcher
    adapt_runtime_cfg(cfg)
    set_data_root(cfg, data_root)
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = os.path.join('./work_dirs', os.path.splitext(os.path.basename(config))[0])
    return cfg
