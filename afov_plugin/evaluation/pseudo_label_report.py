"""Pseudo-label statistics against ground truth (paper Tab. 4 style) and the teacher-projection
baseline (the teacher's pseudo-labels as the prediction, unlabelled points counted wrong)."""
import copy
from typing import Dict, List, Sequence

import numpy as np
from tqdm import tqdm

from .functional import confusion, iou_from_confusion, miou_report

# transforms of the train pipeline that turn paired points into pseudo-labels
PSEUDO_LABEL_TRANSFORMS = ('LoadTeacherCache', 'PseudoLabelsAndSuperpoints')


def report_pipeline(cfg, split: str = 'val') -> List[dict]:
    """Loading + pairing of the test pipeline, then the train pipeline's pseudo-labelling."""
    test = cfg.test_dataloader.dataset.pipeline
    train = cfg.train_dataloader.dataset.pipeline
    packers = ('PackAFOVInputs', 'Pack3DDetInputs')
    steps = [copy.deepcopy(t) for t in test if t['type'] not in packers]
    steps += [copy.deepcopy(t) for t in train if t['type'] in PSEUDO_LABEL_TRANSFORMS]
    return steps


def split_pseudo_label_report(cfg, split: str = 'val',
                              show_progress: bool = True) -> Dict[str, object]:
    """:func:`pseudo_label_statistics` of a (completed) config's cached pseudo-labels on its
    ``train`` or ``val`` infos, through :func:`report_pipeline`: what
    ``tools/pseudo_label_report.py`` prints and writes."""
    from mmdet3d.registry import DATASETS
    loader = cfg.train_dataloader if split == 'train' else cfg.val_dataloader
    ds_cfg = loader.dataset.copy()
    ds_cfg.ann_file = loader.dataset.ann_file
    ds_cfg.pipeline = report_pipeline(cfg)
    ds_cfg.test_mode = True
    dataset = DATASETS.build(ds_cfg)
    stats = pseudo_label_statistics(dataset, dataset.metainfo['classes'], dataset.ignore_index,
                                    show_progress=show_progress)
    stats['scans'] = len(dataset)
    return stats


def pseudo_label_statistics(dataset, class_names: Sequence[str], ignore_index: int,
                            show_progress: bool = True) -> Dict[str, object]:
    """Coverage, accuracy, per-class precision/recall and teacher-projection mIoU.

    ``dataset`` yields dicts with ``eval_ann_info['pts_semantic_mask']`` (ground truth) and
    ``pts_semantic_mask`` (the pseudo-labels, ``pts_semantic_mask_source == 'teacher'``).
    Coverage = share of all points that get a pseudo-label, as paper Tab. 4 counts it over
    whole scans (in nuScenes these include the ~28 % 'vehicle.ego' points, which no camera
    sees); ``coverage_labelled`` = the same among points with a valid ground-truth label;
    accuracy = share of the pseudo-labels on those points that are right (all in %).
    """
    c = len(class_names)
    hist = np.zeros((c, c + 1), np.int64)
    all_points = all_labelled = 0
    for i in tqdm(range(len(dataset)), desc='pseudo-labels', disable=not show_progress):
        item = dataset[i]
        if item.get('pts_semantic_mask_source') != 'teacher':
            raise KeyError('pseudo_label_statistics: the pipeline made no pseudo-labels '
                           '(PseudoLabelsAndSuperpoints after the test pipeline loading)')
        pseudo = np.asarray(item['pts_semantic_mask'])
        all_points += pseudo.size
        all_labelled += int(((pseudo >= 0) & (pseudo < c)).sum())
        hist += confusion(np.asarray(item['eval_ann_info']['pts_semantic_mask']), pseudo, c,
                          ignore_index)
    total = hist.sum()
    labelled = hist[:, :c].sum()
    correct = np.trace(hist[:, :c])
    with np.errstate(divide='ignore', invalid='ignore'):
        precision = np.diag(hist[:, :c]) / hist[:, :c].sum(0)
        recall = np.diag(hist[:, :c]) / hist.sum(1)  # unlabelled points count as missed
    iou = iou_from_confusion(hist)
    per_class = {name: dict(precision=_pct(precision[k]), recall=_pct(recall[k]),
                            iou=_pct(iou[k]), points=int(hist[k].sum()))
                 for k, name in enumerate(class_names)}
    return dict(points=int(all_points), coverage=_pct(all_labelled / max(all_points, 1)),
                labelled_points=int(total), coverage_labelled=_pct(labelled / max(total, 1)),
                accuracy=_pct(correct / max(labelled, 1)),
                teacher_projection_miou=_pct(miou_report(hist)['miou']),
                per_class=per_class)


def _pct(v: float) -> float:
    return round(float(v) * 100, 2) if np.isfinite(v) else float('nan')
