"""Runtime settings that depend on the machine or the data location, not the experiment."""
import os
from typing import Optional, Tuple

import torch
from mmengine.config import Config


def adapt_runtime_cfg(cfg: Config) -> Config:
    """Distributed runs without a GPU: the gloo backend (nccl needs CUDA) and DDP over CPU
    modules (``device_ids=None``; mmengine would pass the local rank as a CUDA device)."""
    if cfg.get('launcher', 'none') != 'none' and not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        wrapper = cfg.get('model_wrapper_cfg') or dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
    return cfg


def rank_and_device(launcher: str = 'none',
                    shard: Optional[str] = None) -> Tuple[int, int, torch.device]:
    """(rank, world size, device) of this process for a sharded tool (teacher caching).

    ``shard='i/n'``: one of n independent jobs. ``launcher`` 'pytorch' (torchrun: RANK,
    WORLD_SIZE, LOCAL_RANK) or 'slurm' (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID). With CUDA,
    each process takes ``cuda:LOCAL_RANK`` (modulo the visible devices) and makes it the
    current device, so that anything built afterwards with the device 'cuda' lands there
    rather than on GPU 0.
    """
    rank, world, local = 0, 1, 0
    if shard:
        rank, world = (int(v) for v in shard.split('/'))
    elif launcher == 'pytorch':
        rank, world = int(os.environ.get('RANK', 0)), int(os.environ.get('WORLD_SIZE', 1))
        local = int(os.environ.get('LOCAL_RANK', 0))
    elif launcher == 'slurm':
        rank = int(os.environ.get('SLURM_PROCID', 0))
        world = int(os.environ.get('SLURM_NTASKS', 1))
        local = int(os.environ.get('SLURM_LOCALID', 0))
    if not torch.cuda.is_available():
        return rank, world, torch.device('cpu')
    device = torch.device('cuda', local % torch.cuda.device_count())
    torch.cuda.set_device(device)
    return rank, world, device


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


def complete_config(cfg: Config, data_root: Optional[str] = None,
                    cfg_options: Optional[dict] = None) -> Config:
    """``--data-root``, then ``--cfg-options``, then the settings a config states once and its
    parts read: the teacher setting (every cache step) and the class setting (every model part
    that takes the class count or ignore index)."""
    from .class_setting import apply_class_setting  # registries filled by then
    from .teacher_setting import apply_teacher_setting
    set_data_root(cfg, data_root)
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    return apply_class_setting(apply_teacher_setting(cfg))


def load_config(config: str, data_root: Optional[str] = None,
                cfg_options: Optional[dict] = None) -> Config:
    """A config file as the plugin's parts read it (:func:`complete_config`); what tools,
    benchmarks and tests build models and datasets from."""
    return complete_config(Config.fromfile(config), data_root, cfg_options)


def set_test_vocabulary(cfg: Config, vocabulary: str) -> None:
    """``tools/test.py --vocabulary``: the text classifier's test-time vocabulary, a class
    dictionary (built-in name or ``.json`` path) or comma-separated class names. A config
    whose head has no text classifier is an error naming it."""
    from ..vocabulary.class_dictionary import BUILTIN
    from .class_setting import accepts
    head = cfg.model.get('decode_head') or {}
    if not accepts(head.get('type', ''), 'vocabulary'):
        raise SystemExit(f'--vocabulary: the decode head of {cfg.filename} '
                         f'({head.get("type")}) has no text classifier; use a config with '
                         'TextEmbeddingHead')
    is_dictionary = vocabulary in BUILTIN or vocabulary.endswith('.json')
    head['vocabulary'] = vocabulary if is_dictionary else \
        [c.strip() for c in vocabulary.split(',') if c.strip()]


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
    complete_config(cfg, data_root, cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = os.path.join('./work_dirs', os.path.splitext(os.path.basename(config))[0])
    return cfg


def finish_distributed() -> None:
    """Leave a distributed run cleanly: wait for every rank, then tear the group down (a rank
    that exits while another still talks to it makes gloo abort the other)."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
