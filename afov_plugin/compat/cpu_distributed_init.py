"""mmengine's pytorch launcher on a machine without CUDA (gloo process group)."""
import torch

__all__ = ['patch_cpu_distributed_init']


def patch_cpu_distributed_init() -> None:
    """mmengine's pytorch launcher calls ``torch.cuda.set_device`` unconditionally, which
    fails on a machine without CUDA; there (only) the process group is initialised without it
    (gloo backend, chosen by :func:`afov_plugin.engine.adapt_runtime_cfg`)."""
    if torch.cuda.is_available():
        return
    import mmengine.dist.utils as dist_utils
    import torch.distributed as torch_dist
    if getattr(dist_utils._init_dist_pytorch, '_afov_cpu', False):
        return

    def _init_dist_pytorch_cpu(backend, init_backend='torch', **kwargs) -> None:
        if init_backend != 'torch':
            raise RuntimeError(f'init_backend={init_backend!r} needs GPUs; on CPU only torch '
                               'distributed (gloo) is supported')
        torch_dist.init_process_group(backend=backend, **kwargs)

    _init_dist_pytorch_cpu._afov_cpu = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch_cpu
