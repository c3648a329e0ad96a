"""Text queries: per-point scores of text against a trained student's embeddings, written
per scan, and their retrieval quality on nuScenes categories finer than the 16 classes."""
import io
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..fileio import atomic_write_bytes, atomic_write_text

# nuScenes-lidarseg categories inside a benchmark class (pedestrian) or inside "ignore":
# the dictionary group of each; its raw ids come from the raw-id table, its query text is the
# group's first prompt
FINE_GROUPS = ('child', 'construction worker', 'police officer', 'stroller', 'wheelchair',
               'personal mobility', 'animal', 'debris', 'pushable pullable', 'bicycle rack',
               'ambulance', 'police vehicle')
# the score of a point without a teacher region in the projection baseline (below any cosine)
UNPAIRED_SCORE = -2.0


def fine_categories(dictionary) -> Dict[str, Tuple[List[int], str]]:
    """{group: (raw nuScenes ids, query text)} for the groups of :data:`FINE_GROUPS`."""
    from ..teachers.simulated import NUSCENES_GT_GROUPS
    out = {}
    for group in FINE_GROUPS:
        if group not in dictionary.group_names:
            continue
        g = dictionary.group_names.index(group)
        prompt = dictionary.prompts[int(np.flatnonzero(dictionary.prompt_group == g)[0])]
        out[group] = ([r for r, n in NUSCENES_GT_GROUPS.items() if n == group], prompt)
    return out


def average_precision(scores: np.ndarray, positive: np.ndarray) -> float:
    """Σ_k (R_k − R_{k−1}) · P_k over the distinct score thresholds from high to low (points
    of equal score enter together); NaN without positives."""
    positive = np.asarray(positive, bool)
    if not positive.any():
        return float('nan')
    order = np.argsort(-np.asarray(scores, np.float64), kind='stable')
    s, y = np.asarray(scores, np.float64)[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]   # end of each tie block
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def point_embeddings(model, data: dict) -> List[torch.Tensor]:
    """Per scan of a preprocessed batch, (N_i, D) unit point embeddings of the student's
    text-space head (``decode_head.embed``)."""
    if not hasattr(model.decode_head, 'embed'):
        raise TypeError(f'{type(model.decode_head).__name__} has no text space: text queries '
                        'need a model with TextEmbeddingHead (configs/afov/stage2/*text-head*, '
                        'configs/afov/zero_shot/)')
    with torch.no_grad():
        voxel = model.decode_head.embed(model.extract_feat(data['inputs']))
    out, start = [], 0
    for s in data['data_samples']:
        v = s.batch_idx.numel()
        out.append(voxel[start:start + v][s.point2voxel_map])
        start += v
    return out


def _save_scores(path: str, scores: np.ndarray, texts: Sequence[str], lidar_path: str) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, scores=scores.astype(np.float16), texts=np.asarray(texts),
                        lidar_path=np.asarray(lidar_path))
    atomic_write_bytes(path, buf.getvalue())


def load_scores(path: str) -> dict:
    """A scan's query scores as written by ``tools/query.py`` (no pickle)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _projection_dataset(cfg):
    """The val scans through the test pipeline's loading and pairing and the teacher cache."""
    import copy
    from mmdet3d.registry import DATASETS
    from ..engine.teacher_setting import cache_setting
    ds = copy.deepcopy(cfg.test_dataloader.dataset)
    ds.pipeline = [t for t in ds.pipeline if not t['type'].startswith('Pack')] + [
        dict(type='LoadTeacherCache', **cache_setting(cfg))]
    ds.test_mode = True
    return DATASETS.build(ds)


def run_text_queries(cfg, checkpoint: str, texts: Sequence[str], out_dir: str,
                     pictures: int = 2, max_scans: Optional[int] = None,
                     retrieval: bool = False, show_progress: bool = True) -> dict:
    """Score every point of the val scans for each text; write ``scores/<scan>.npz`` (scores
    (N, Q) float16, texts), pictures of the first ``pictures`` scans (bird's-eye view and
    front camera, one per text) and ``queries.json``. With ``retrieval``, also the fine
    categories' queries: per category the average precision of the student's scores, of the
    teacher's projection (its region feature at the point's pixel; unpaired points last) and
    the prevalence, over all points of the scans (``retrieval.json``)."""
    from mmdet3d.registry import DATASETS, MODELS
    from mmengine.dataset import pseudo_collate
    from mmengine.runner import load_checkpoint
    from tqdm import tqdm
    from ..teachers.caching import teacher_config_for_device
    from ..vocabulary import load_class_dictionary
    start = time.time()
    texts = list(texts)
    categories = fine_categories(load_class_dictionary(cfg.dictionary)) if retrieval else {}
    queries = texts + [q for _, q in categories.values() if q not in texts]
    if not queries:
        raise ValueError('no query: give --text or --retrieval')
    teacher = MODELS.build(teacher_config_for_device(cfg.teacher, torch.device('cpu')))
    text = torch.as_tensor(teacher.encode_text(queries))                     # (Q, D)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.eval()
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    projection = _projection_dataset(cfg) if retrieval else None
    n = len(dataset) if max_scans is None else min(max_scans, len(dataset))
    os.makedirs(osp.join(out_dir, 'scores'), exist_ok=True)
    if pictures:
        os.makedirs(osp.join(out_dir, 'pictures'), exist_ok=True)
    kept = {k: dict(student=[], projection=[], positive=[]) for k in categories}
    for i in tqdm(range(n), desc='queries', disable=not show_progress):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
        sample = data['data_samples'][0]
        scores = (point_embeddings(model, data)[0] @ text.T).numpy()         # (N, Q)
        idx = str(sample.metainfo.get('sample_idx', i))
        lidar_path = sample.metainfo.get('lidar_path', '')
        _save_scores(osp.join(out_dir, 'scores', f'{idx}.npz'), scores[:, :len(texts)],
                     texts, lidar_path)
        if i < pictures:
            xyz = data['inputs']['points'][0][:, :3].numpy()
            _pictures(out_dir, idx, xyz, scores, texts, sample)
        if projection is not None:
            item = projection[i]
            if item['points'].shape[0] != scores.shape[0]:
                raise ValueError(f'scan {lidar_path}: {scores.shape[0]} points scored, '
                                 f'{item["points"].shape[0]} paired')
            region = item['pts_region']
            proj = np.full(scores.shape, UNPAIRED_SCORE, np.float32)
            proj[region >= 0] = item['region_feat'][region[region >= 0]] @ text.numpy().T
            raw = np.fromfile(item['pts_semantic_mask_path'], np.uint8)
            if raw.shape[0] != scores.shape[0]:
                raise ValueError(f'{item["pts_semantic_mask_path"]}: {raw.shape[0]} labels for '
                                 f'{scores.shape[0]} points of {lidar_path}')
            for name, (ids, query) in categories.items():
                q = queries.index(query)
                kept[name]['student'].append(scores[:, q])
                kept[name]['projection'].append(proj[:, q])
                kept[name]['positive'].append(np.isin(raw, ids))
    summary = dict(texts=texts, scans=n, checkpoint=checkpoint)
    if categories:
        rows = {}
        for name, parts in kept.items():
            positive = np.concatenate(parts['positive'])
            if not positive.any():
                continue  # not in these scans
            rows[name] = dict(
                query=categories[name][1], points=int(positive.sum()),
                ap=round(100 * average_precision(np.concatenate(parts['student']), positive), 2),
                ap_projection=round(100 * average_precision(
                    np.concatenate(parts['projection']), positive), 2),
                prevalence=round(100 * float(positive.mean()), 4))
        if rows:
            summary.update(query_map=round(float(np.mean([r['ap'] for r in rows.values()])), 2),
                           query_map_projection=round(float(np.mean(
                               [r['ap_projection'] for r in rows.values()])), 2),
                           query_prevalence=round(float(np.mean(
                               [r['prevalence'] for r in rows.values()])), 4))
        summary['categories'] = rows
        atomic_write_text(osp.join(out_dir, 'retrieval.json'), json.dumps(summary, indent=1))
    summary['seconds'] = round(time.time() - start, 1)
    atomic_write_text(osp.join(out_dir, 'queries.json'), json.dumps(summary, indent=1))
    return summary


def _pictures(out_dir, idx, xyz, scores, texts, sample) -> None:
    """Bird's-eye and front-camera heat maps of each text's scores on one scan."""
    import cv2
    from ..visualization.query_pictures import draw_score_bev as draw_bev
    from ..visualization.query_pictures import draw_score_camera as draw_camera
    paths = sample.metainfo.get('img_path')
    lidar2img = sample.metainfo.get('lidar2img')
    image = k = None
    if paths is not None and lidar2img is not None:
        paths = [paths] if isinstance(paths, str) else list(paths)
        fronts = [j for j, p in enumerate(paths) if 'CAM_FRONT' in p and 'LEFT' not in p
                  and 'RIGHT' not in p]
        k = fronts[0] if fronts else 0
        image = cv2.imread(paths[k])
    for q, t in enumerate(texts):
        slug = ''.join(c if c.isalnum() else '_' for c in t)[:40]
        draw_bev(osp.join(out_dir, 'pictures', f'{idx}_{slug}_bev.png'), xyz, scores[:, q],
                 f'"{t}"')
        if image is not None:
            lidar2img_k = np.asarray(lidar2img[k] if np.ndim(lidar2img) == 3 else lidar2img)
            draw_camera(osp.join(out_dir, 'pictures', f'{idx}_{slug}_camera.png'),
                        image[:, :, ::-1], xyz, scores[:, q], lidar2img_k, f'"{t}"')
