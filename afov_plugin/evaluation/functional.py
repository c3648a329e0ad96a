"""Confusion-matrix mIoU shared by the metric, the baselines and the pseudo-label report."""
from typing import Dict, Optional, Sequence

import numpy as np


def confusion(gt: np.ndarray, pred: np.ndarray, num_classes: int, ignore_index: int) -> np.ndarray:
    """(C, C + 1) counts: rows = ground truth, columns = prediction; column C collects
    predictions outside 0..C-1 (e.g. "no label"), which count as wrong."""
    keep = gt != ignore_index
    gt, pred = gt[keep].astype(np.int64), pred[keep].astype(np.int64)
    pred = np.where((pred >= 0) & (pred < num_classes), pred, num_classes)
    return np.bincount(gt * (num_classes + 1) + pred,
                       minlength=num_classes * (num_classes + 1)).reshape(
                           num_classes, num_classes + 1)


def iou_from_confusion(hist: np.ndarray) -> np.ndarray:
    """(C,) IoU per class, NaN for classes absent from both ground truth and prediction."""
    c = hist.shape[0]
    tp = np.diag(hist[:, :c]).astype(np.float64)
    fn = hist.sum(1) - tp
    fp = hist[:, :c].sum(0) - tp
    with np.errstate(divide='ignore', invalid='ignore'):
        return tp / (tp + fn + fp)


def miou_report(hist: np.ndarray, class_names: Optional[Sequence[str]] = None,
                prefix: str = '') -> Dict[str, float]:
    """mIoU, accuracy and per-class IoU. As mmdet3d's ``seg_eval``, the mean runs over the
    classes with a non-empty union: a class predicted but absent from the ground truth counts
    with IoU 0."""
    iou = iou_from_confusion(hist)
    present = np.isfinite(iou)
    out = {f'{prefix}miou': float(np.nanmean(iou)) if present.any() else float('nan'),
           f'{prefix}acc': float(np.trace(hist[:, :hist.shape[0]]) / max(hist.sum(), 1))}
    if class_names is not None:
        for name, v in zip(class_names, iou):
            out[f'{prefix}{name}'] = float(v) if present[list(class_names).index(name)] \
                else float('nan')
    return out
