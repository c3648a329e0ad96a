import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)


@pytest.fixture(scope='session')
def repo_root() -> str:
    return ROOT


@pytest.fixture(scope='session')
def tiny_semantickitti(tmp_path_factory) -> str:
    """A tiny synthetic SemanticKITTI set (2 sequences × 3 scans, sparse LiDAR) with infos."""
    from afov_plugin.converters import create_semantickitti_infos
    from afov_plugin.synthetic import write_semantickitti
    root = str(tmp_path_factory.mktemp('skitti'))
    write_semantickitti(root, num_scenes=2, frames=3, seed=1, azimuth_steps=256)
    create_semantickitti_infos(root, root)
    return root


@pytest.fixture
def one_thread():
    """spconv's multi-threaded CPU kernels are not bitwise repeatable: two forward passes of
    one network may differ in a few points; on one thread they agree."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def load_tool(name: str):
    """``tools/<name>.py`` as a module (its ``main(argv)`` runs in-process)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'_tool_{name}',
                                                  osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(args, cwd=ROOT, timeout=900) -> subprocess.CompletedProcess:
    """Run a tool with this interpreter from the repository root, without PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run([sys.executable] + args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return proc


NUS_VERSION = 'v1.0-trainval'  # the synthetic configs' version folder, as tools/demo.sh


@pytest.fixture(scope='session')
def tiny_nuscenes(tmp_path_factory) -> str:
    """A tiny synthetic nuScenes-lidarseg set (v1.0-trainval names, 2 scenes × 2 key frames:
    1 train + 1 val, images at 1/4 scale) with info pkls."""
    from afov_plugin.converters import create_nuscenes_infos
    from afov_plugin.synthetic.nuscenes_writer import write_nuscenes
    root = str(tmp_path_factory.mktemp('nus'))
    write_nuscenes(root, num_scenes=2, frames=2, seed=3, image_scale=0.25, version=NUS_VERSION)
    create_nuscenes_infos(root, root, version=NUS_VERSION)
    return root


STAGE2 = 'configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py'
SMALL = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
         'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
         'default_hooks.logger.interval=1', 'log_processor.window_size=1']


@pytest.fixture(scope='session')
def cached_nuscenes(tiny_nuscenes):
    """``tiny_nuscenes`` with the simulated SAN teacher cached (tools/cache_teacher.py)."""
    proc = run_tool(['tools/cache_teacher.py', STAGE2, '--data-root', tiny_nuscenes,
                     '--batch-size', '2'])
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tiny_nuscenes


STAGE2_RUN_ITERS = 12


@pytest.fixture(scope='session')
def stage2_run(cached_nuscenes, tmp_path_factory):
    """One short stage-2 training through tools/train.py on ``cached_nuscenes`` (the config's
    own schedule, val at the end), shared by the tests that read its log, its learning rates
    and its checkpoint: (work dir, stdout + stderr)."""
    iters = STAGE2_RUN_ITERS
    work = str(tmp_path_factory.mktemp('stage2_run'))
    proc = run_tool(['tools/train.py', STAGE2, '--data-root', cached_nuscenes, '--work-dir',
                     work, '--cfg-options', f'train_cfg.max_iters={iters}',
                     f'train_cfg.val_interval={iters}',
                     f'default_hooks.checkpoint.interval={iters}'] + SMALL)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    return work, out
