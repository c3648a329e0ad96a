"""Text queries (tools/query.py): average precision against scikit-learn's, the simulated
teacher's text encoding, the saved scores against the text head's own class logits, the
retrieval counts against the lidarseg files, and the refusal of text it cannot encode."""
import copy
import glob
import json
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmdet3d.registry import MODELS
from mmdet3d.utils import register_all_modules
from mmengine.registry import init_default_scope

import afov_plugin  # noqa: F401
from afov_plugin.engine import load_config
from afov_plugin.evaluation.text_query import (average_precision, fine_categories,
                                               load_scores)
from afov_plugin.teachers import SimulatedOVTeacher
from afov_plugin.vocabulary import load_class_dictionary
from conftest import ROOT, load_tool

ZERO_SHOT = 'configs/afov/zero_shot/minkunet18-w16_zero-shot_simulated-san_synthetic-nuscenes.py'
register_all_modules(init_default_scope=False)


def test_average_precision_is_scikit_learns():
    from sklearn.metrics import average_precision_score
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(5, 300))
        y = rng.random(n) < rng.uniform(0.05, 0.5)
        y[0] = True
        s = np.round(rng.normal(size=n) + y, 1)  # rounded: many ties
        assert average_precision(s, y) == pytest.approx(average_precision_score(y, s))
    assert np.isnan(average_precision(np.ones(3), np.zeros(3, bool)))


def test_simulated_teacher_encodes_its_prompts_only():
    teacher = SimulatedOVTeacher('nuscenes')
    d = load_class_dictionary('nuscenes')
    np.testing.assert_array_equal(teacher.encode_text([d.prompts[5], d.prompts[0]]),
                                  teacher.text_bank()[[5, 0]])
    with pytest.raises(ValueError, match='encodes only the prompts'):
        teacher.encode_text(['a purple giraffe'])
    cats = fine_categories(d)
    assert cats['child'] == ([3], 'walking child') and cats['animal'][0] == [1]
    assert all(q in d.prompts for _, q in cats.values())


def test_query_tool_scores_and_retrieval(cached_nuscenes, tmp_path, one_thread):
    query = load_tool('query')
    torch.manual_seed(0)
    init_default_scope('mmdet3d')
    cfg = load_config(osp.join(ROOT, ZERO_SHOT), cached_nuscenes)
    model = MODELS.build(copy.deepcopy(cfg.model))
    ckpt = str(tmp_path / 'zs.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    d = load_class_dictionary('nuscenes')
    car = d.eval_classes.index('car')
    car_prompts = [p for p, c in zip(d.prompts, d.prompt_class) if c == car]
    out = str(tmp_path / 'q')
    query.main([osp.join(ROOT, ZERO_SHOT), ckpt, '--text', *car_prompts, '--out', out,
                '--data-root', cached_nuscenes, '--retrieval', '--pictures', '1'])
    summary = json.load(open(osp.join(out, 'queries.json')))
    files = sorted(glob.glob(osp.join(out, 'scores', '*.npz')))
    assert summary['scans'] == len(files) >= 1
    assert glob.glob(osp.join(out, 'pictures', '*_bev.png'))
    assert glob.glob(osp.join(out, 'pictures', '*_camera.png'))
    # the car prompts' scores give the head's own car logit: cos(point, e_car) with e_car the
    # normalised mean of the normalised prompt embeddings
    from mmdet3d.registry import DATASETS
    from mmengine.dataset import pseudo_collate
    model.eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    bank = torch.nn.functional.normalize(model.decode_head.text_bank, dim=1)
    rows = [d.prompts.index(p) for p in car_prompts]
    norm = float(bank[rows].mean(0).norm())
    for i in range(len(dataset)):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
        with torch.no_grad():
            logits = model.predict(data['inputs'], data['data_samples'])[0] \
                .pts_seg_logits.pts_seg_logits
        idx = str(data['data_samples'][0].metainfo['sample_idx'])
        saved = load_scores(osp.join(out, 'scores', f'{idx}.npz'))
        assert list(saved['texts']) == car_prompts
        want = logits[car].numpy() if logits.shape[0] == 16 else logits[:, car].numpy()
        got = saved['scores'].astype(np.float64).mean(1) / norm / model.decode_head.tau
        close = np.abs(got - want) <= 0.05  # float16 scores
        assert close.mean() >= 0.99, np.abs(got - want).max()
    # retrieval: the points and prevalence of each category, counted in the lidarseg files
    retrieval = json.load(open(osp.join(out, 'retrieval.json')))
    infos = pickle.load(open(osp.join(cached_nuscenes, 'nuscenes_infos_val.pkl'), 'rb'))
    raw = np.concatenate([np.fromfile(glob.glob(osp.join(
        cached_nuscenes, 'lidarseg', '*', info['pts_semantic_mask_path']))[0], np.uint8)
        for info in infos['data_list']])
    cats = fine_categories(d)
    present = {n for n, (ids, _) in cats.items() if np.isin(raw, ids).any()}
    assert set(retrieval['categories']) == present
    for name, row in retrieval['categories'].items():
        hits = np.isin(raw, cats[name][0])
        assert row['points'] == int(hits.sum())
        assert row['prevalence'] == pytest.approx(100 * hits.mean(), abs=1e-4)
        assert 0 <= row['ap'] <= 100 and 0 <= row['ap_projection'] <= 100
    if present:
        assert retrieval['query_map'] == pytest.approx(
            np.mean([r['ap'] for r in retrieval['categories'].values()]), abs=0.01)
    with pytest.raises(SystemExit, match='encodes only the prompts'):
        query.main([osp.join(ROOT, ZERO_SHOT), ckpt, '--text', 'a purple giraffe', '--out',
                    str(tmp_path / 'q2'), '--data-root', cached_nuscenes])
