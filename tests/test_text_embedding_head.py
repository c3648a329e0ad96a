"""TextEmbeddingHead: logits against a numpy computation from the dictionary file and the
cache's text bank file, the teacher setting filling it, test-time vocabularies, checkpoints."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, PointData
from mmdet3d.utils import register_all_modules
from safetensors.numpy import load_file

import afov_plugin  # noqa: F401
from afov_plugin.engine import load_config
from afov_plugin.vocabulary.class_dictionary import DICTIONARY_DIR

TEXT_HEAD = ('configs/afov/stage2/'
             'minkunet18-w16_stage2-text-head_simulated-san_synthetic-nuscenes.py')
DICT_FILE = osp.join(DICTIONARY_DIR, 'nuscenes.json')
register_all_modules(init_default_scope=False)


def _groups():
    """(class → its prompts' rows in the flattened prompt list, class names, prompts), read
    from the dictionary file itself."""
    raw = json.load(open(DICT_FILE))
    rows, prompts = {}, []
    for g in raw['groups']:
        for p in g['prompts']:
            if g['eval_class_id'] > 0:
                rows.setdefault(g['eval_class_id'] - 1, []).append(len(prompts))
            prompts.append(p)
    return rows, raw['eval_classes'], prompts


def _head(bank=None, **kwargs):
    head = MODELS.build(dict(type='TextEmbeddingHead', channels=6, num_classes=16, feature_dim=8,
                             dropout_ratio=0, ignore_index=16,
                             loss_decode=dict(type='PseudoLabelLoss'), **kwargs))
    if bank is not None:
        head.text_bank.copy_(torch.as_tensor(bank))
    return head


def _unit(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def _expected(head, x, bank, class_rows):
    """numpy: cos(W x + b, normalised mean of the class's normalised prompt rows) / τ."""
    w = head.conv_seg.weight.detach().numpy()
    b = head.conv_seg.bias.detach().numpy()
    f = _unit(x @ w.T + b)
    out = np.full((len(x), 16), -1e4)
    for k, rows in class_rows.items():
        out[:, k] = f @ _unit(_unit(bank[rows]).mean(0)) / head.tau
    return out


def test_logits_are_cosines_to_the_pooled_prompt_embeddings():
    rows, _, prompts = _groups()
    bank = np.random.default_rng(0).normal(size=(len(prompts), 8)).astype(np.float32) * 3
    head = _head(bank)
    x = np.random.default_rng(1).normal(size=(7, 6)).astype(np.float32)
    got = head(torch.as_tensor(x)).detach().numpy()
    assert sorted(rows) == list(range(16))
    np.testing.assert_allclose(got, _expected(head, x, bank, rows), rtol=1e-4, atol=1e-4)
    assert 'text_bank' not in dict(head.named_parameters())  # frozen: a buffer


def test_training_moves_the_projection_not_the_text():
    rows, _, prompts = _groups()
    bank = np.random.default_rng(0).normal(size=(len(prompts), 8)).astype(np.float32)
    head = _head(bank)
    opt = torch.optim.SGD(head.parameters(), lr=0.5)
    x = torch.randn(40, 6)
    s = Det3DDataSample()
    s.gt_pts_seg = PointData(voxel_semantic_mask=torch.arange(40) % 16)
    before = head.text_bank.clone()
    first = float(head.loss(x, [s], None)['loss_sem_seg'])
    for _ in range(30):
        opt.zero_grad()
        head.loss(x, [s], None)['loss_sem_seg'].backward()
        opt.step()
    assert float(head.loss(x, [s], None)['loss_sem_seg']) < first - 0.5
    assert torch.equal(head.text_bank, before)


def test_teacher_setting_points_the_head_at_the_cache(cached_nuscenes):
    cfg = load_config(TEXT_HEAD, cached_nuscenes)
    cache = osp.join(cached_nuscenes, 'teacher_cache', 'simulated-san')
    assert cfg.model.decode_head.text_cache == cache
    assert cfg.model.decode_head.dictionary == 'nuscenes'
    assert cfg.model.decode_head.num_classes == 16 and cfg.model.decode_head.ignore_index == 16
    model = MODELS.build(cfg.model)
    bank = load_file(osp.join(cache, 'text_bank.safetensors'))['text']
    np.testing.assert_array_equal(model.decode_head.text_bank.numpy(), bank)
    # a checkpoint carries the bank: a head built without a cache predicts the same
    state = model.state_dict()
    assert 'decode_head.text_bank' in state
    cfg.model.decode_head.text_cache = None
    other = MODELS.build(cfg.model)
    assert other.decode_head.text_bank.abs().sum() == 0
    with pytest.raises(RuntimeError, match='cache_teacher.py'):
        other.decode_head(torch.randn(3, 48))
    other.load_state_dict(state)
    x = torch.randn(5, 48)
    model.eval(), other.eval()
    assert torch.equal(model.decode_head(x), other.decode_head(x))


def test_teacher_setting_refuses_another_dictionary_in_the_head():
    with pytest.raises(ValueError, match='model.decode_head.dictionary'):
        load_config(TEXT_HEAD, cfg_options={'model.decode_head.dictionary': 'semantickitti'})


def test_test_time_vocabularies(tmp_path):
    rows, classes, prompts = _groups()
    bank = np.random.default_rng(2).normal(size=(len(prompts), 8)).astype(np.float32)
    x = np.random.default_rng(3).normal(size=(9, 6)).astype(np.float32)
    car, truck = classes.index('car'), classes.index('truck')
    # a class list: those classes only, with the dictionary's prompts
    head = _head(bank, vocabulary=['car', 'truck']).eval()
    want = _expected(head, x, bank, {car: rows[car], truck: rows[truck]})
    got = head(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert set(got.argmax(1)) <= {car, truck}
    # training mode ignores the vocabulary (the loss sees every class)
    assert (head.train()(torch.as_tensor(x)) > -1e3).all()
    # {class: prompts}: one prompt for car
    one = prompts[rows[car][-1]]
    head = _head(bank, vocabulary={'car': [one]}).eval()
    got = head(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, _expected(head, x, bank, {car: [rows[car][-1]]}),
                               rtol=1e-4, atol=1e-4)
    # another dictionary file (its own two classes): car by its last prompt only, truck as
    # before; classes matched by name
    raw = dict(eval_classes=['truck', 'car'], ignore_index=0, groups=[
        dict(name='car', eval_class_id=2, prompts=[one]),
        dict(name='truck', eval_class_id=1, prompts=[prompts[r] for r in rows[truck]])])
    path = tmp_path / 'two_classes.json'
    path.write_text(json.dumps(raw))
    head = _head(bank, vocabulary=str(path)).eval()
    got = head(torch.as_tensor(x)).detach().numpy()
    want = _expected(head, x, bank, {car: [rows[car][-1]], truck: rows[truck]})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # text the teacher never encoded, a class outside the dataset's
    with pytest.raises(ValueError, match='a red double-decker'):
        _head(bank, vocabulary={'bus': ['a red double-decker']}).eval()(torch.as_tensor(x))
    with pytest.raises(ValueError, match='giraffe'):
        _head(bank, vocabulary=['car', 'giraffe']).eval()(torch.as_tensor(x))


def test_test_tool_vocabulary_option_sets_the_head():
    from afov_plugin.engine import set_test_vocabulary
    cfg = load_config(TEXT_HEAD)
    set_test_vocabulary(cfg, 'car, truck,bus')
    assert cfg.model.decode_head.vocabulary == ['car', 'truck', 'bus']
    set_test_vocabulary(cfg, 'nuscenes')
    assert cfg.model.decode_head.vocabulary == 'nuscenes'
    set_test_vocabulary(cfg, '/some/where/coarse.json')
    assert cfg.model.decode_head.vocabulary == '/some/where/coarse.json'
    linear = load_config('configs/afov/stage2/'
                         'minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py')
    with pytest.raises(SystemExit, match='no text classifier'):
        set_test_vocabulary(linear, 'car')


def test_logits_stay_cosines_where_the_bias_cancels_the_projection():
    rows, _, prompts = _groups()
    bank = np.random.default_rng(4).normal(size=(len(prompts), 8)).astype(np.float32)
    head = _head(bank)
    gen = torch.Generator().manual_seed(0)
    x = torch.relu(torch.randn(6, 6, generator=gen)) * 5
    with torch.no_grad():
        head.conv_seg.weight.copy_(torch.randn(8, 6, generator=gen) * 0.01)
        # row 0: W·x + b nearly 0 (‖W·x + b‖ ≈ 1e-5 against ‖W·x‖ ≈ 0.1)
        head.conv_seg.bias.copy_(-(head.conv_seg.weight @ x[0]) +
                                 1e-5 * torch.randn(8, generator=gen))
    got = head(x).detach().numpy()
    w = head.conv_seg.weight.detach().numpy().astype(np.float64)
    b = head.conv_seg.bias.detach().numpy().astype(np.float64)
    f = _unit(x.numpy().astype(np.float64) @ w.T + b)
    emb = np.stack([_unit(_unit(bank[rows[k]].astype(np.float64)).mean(0)) for k in range(16)])
    assert np.abs(got).max() <= 1 / head.tau + 1e-3
    np.testing.assert_allclose(got[1:], f[1:] @ emb.T / head.tau, atol=1e-3)
    # the cancelled row: float32 keeps a few digits of W·x + b, so the cosine within 0.05
    np.testing.assert_allclose(got[0] * head.tau, f[0] @ emb.T, atol=0.05)
