import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import afov_plugin  # noqa: F401
from afov_plugin import compat


def test_spconv_backward_on_cpu():
    import spconv.pytorch as spconv
    torch.manual_seed(0)
    coords = torch.unique(torch.randint(0, 12, (300, 3)), dim=0).int()
    indices = torch.cat([torch.zeros(len(coords), 1, dtype=torch.int32), coords], 1)
    feats = torch.randn(len(coords), 4, requires_grad=True)
    x = spconv.SparseConvTensor(feats, indices, [12, 12, 12], 1)
    net = spconv.SparseSequential(spconv.SubMConv3d(4, 8, 3, indice_key='s1'),
                                  spconv.SparseConv3d(8, 8, 3, stride=2))
    out = net(x)
    out.features.square().sum().backward()
    assert feats.grad is not None and feats.grad.abs().sum() > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_spconv_patch_only_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert compat.patch_spconv_cpu_stream() is False
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert compat.patch_spconv_cpu_stream() is True


def _runner_like_checkpoint(path):
    hub = MessageHub.get_instance('afov_test_hub')
    for v in (1.0, 0.5, 0.25):
        hub.update_scalar('train/loss', v)
    hub.update_info('iter', 3)
    ckpt = dict(meta=dict(epoch=0, iter=3, seed=0, dataset_meta=dict(classes=('a', 'b'))),
                state_dict={'w': torch.arange(4.0)},
                message_hub=hub.state_dict(),
                optimizer={'state': {}, 'param_groups': [{'lr': np.float64(0.1)}]})
    torch.save(ckpt, path)


def test_runner_checkpoint_loads_with_weights_only(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    _runner_like_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError):  # what stock torch.load does on it
        torch.load(path, weights_only=True)
    ckpt = compat.safe_torch_load(path, map_location='cpu')
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.current() == 0.25 and np.isclose(buf.mean(), 1.75 / 3)
    assert ckpt['meta']['iter'] == 3 and torch.equal(ckpt['state_dict']['w'], torch.arange(4.0))
    # mmengine's own loader goes through the same path
    from mmengine.runner.checkpoint import _load_checkpoint
    assert _load_checkpoint(path, map_location='cpu')['meta']['iter'] == 3


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))  # would create a file when unpickled


class _GetattrPayload:
    def __reduce__(self):  # a getattr the stand-in must not resolve
        return (getattr, (HistoryBuffer, '__init__'))


def test_code_carrying_checkpoint_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': _Payload(str(marker))}, path)
    with pytest.raises(compat.UnsafeCheckpointError, match='evil.pth'):
        compat.safe_torch_load(path)
    assert not marker.exists()
    from mmengine.runner.checkpoint import _load_checkpoint
    with pytest.raises(compat.UnsafeCheckpointError, match='--trust-checkpoint'):
        _load_checkpoint(path)
    assert not marker.exists()


def test_getattr_stand_in_only_resolves_history_buffer_methods(tmp_path):
    path = str(tmp_path / 'getattr.pth')
    torch.save({'x': _GetattrPayload()}, path)
    with pytest.raises(compat.UnsafeCheckpointError, match='getattr'):
        compat.safe_torch_load(path)
    with pytest.raises(compat.UnsafeCheckpointError):
        compat._history_buffer_getattr(HistoryBuffer, '__init__')
    assert compat._history_buffer_getattr(HistoryBuffer, 'max') is HistoryBuffer.max


def test_trusted_file_opt_in_is_per_file(tmp_path):
    marker = tmp_path / 'made_by_trusted_pickle'
    trusted, other = str(tmp_path / 'trusted.pth'), str(tmp_path / 'other.pth')
    torch.save({'x': _Payload(str(marker))}, trusted)
    torch.save({'x': _Payload(str(marker))}, other)
    compat.trust_checkpoint(trusted)
    try:
        compat.safe_torch_load(trusted)
        assert marker.exists()  # full pickle ran, as the user asked for this file only
        with pytest.raises(compat.UnsafeCheckpointError):
            compat.safe_torch_load(other)
    finally:
        compat._TRUSTED_FILES.clear()
