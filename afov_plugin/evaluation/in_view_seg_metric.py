"""mIoU over all points, and separately over points a camera sees (in-view) and points none
sees (out-of-view), accumulated as confusion matrices: memory does not grow with the number
of evaluated scans."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import all_reduce, get_dist_info
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdet3d.registry import METRICS

from .functional import confusion, miou_report


@METRICS.register_module()
class InViewSegMetric(BaseMetric):
    """mmdet3d's ``SegMetric`` keys (per-class IoU by class name, ``miou``, ``acc``,
    ``acc_cls``, over all points) plus ``miou_in_view`` / ``miou_out_of_view``,
    ``acc_in_view`` / ``acc_out_of_view`` and ``in_view_ratio`` (share of evaluated points
    inside some camera image). Values are fractions (0..1) like SegMetric's.

    Needs ``gt_pts_seg.pts_cam`` (N,) in the data samples (camera index, -1 out-of-view; pack
    it with ``PackAFOVInputs`` after ``PointPixelPairing`` in the test pipeline).

    Each scan adds a (2, C, C + 1) confusion matrix (in-view, out-of-view; column C = a
    prediction outside 0..C-1) to a running sum, so the state is O(C²) whatever the number
    of scans; ranks sum theirs with one ``all_reduce``. The scans mmengine's
    ``DefaultSampler`` repeats to pad the last distributed batch (at most one per rank, the
    last it evaluates) are left out, so a k-rank evaluation counts every val scan once, as a
    1-rank one does.
    """

    def __init__(self, collect_device: str = 'cpu', prefix: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, **kwargs)
        self._reset()

    def _reset(self) -> None:
        self._sum: Optional[np.ndarray] = None  # every scan but the last one processed
        self._last: Optional[np.ndarray] = None
        self._count = 0

    def _num_classes(self) -> int:
        return len(self.dataset_meta['label2cat'])

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        c, ignore = self._num_classes(), self.dataset_meta['ignore_index']
        for sample in data_samples:
            if 'pts_cam' not in sample['gt_pts_seg']:
                raise KeyError('InViewSegMetric needs gt_pts_seg.pts_cam: add '
                               "PointPixelPairing and PackAFOVInputs(keys=[..., 'pts_cam']) to "
                               'the test pipeline')
            pred = sample['pred_pts_seg']['pts_semantic_mask'].to('cpu').numpy()
            in_view = sample['gt_pts_seg']['pts_cam'].to('cpu').numpy() >= 0
            gt = np.asarray(sample['eval_ann_info']['pts_semantic_mask'])
            if gt.shape != pred.shape or in_view.shape != pred.shape:
                raise ValueError(f'InViewSegMetric: {gt.shape[0]} labels, {pred.shape[0]} '
                                 f'predictions and {in_view.shape[0]} camera indices for scan '
                                 f"{sample.get('lidar_path', '?')}: they must match")
            hist = np.stack([confusion(gt[in_view], pred[in_view], c, ignore),
                             confusion(gt[~in_view], pred[~in_view], c, ignore)])
            if self._last is not None:
                self._sum = self._last if self._sum is None else self._sum + self._last
            self._last = hist
            self._count += 1

    def evaluate(self, size: int) -> Dict[str, float]:
        """Sum the ranks' confusion matrices (padding scans left out) and report."""
        rank, world = get_dist_info()
        c = self._num_classes()
        total = np.zeros((2, c, c + 1), np.int64) if self._sum is None else self._sum.copy()
        kept = self._count
        # DefaultSampler: this rank's k-th scan is global position rank + k * world; the
        # positions >= size repeat earlier scans.
        if self._last is not None:
            if rank + (self._count - 1) * world < size:
                total += self._last
            else:
                kept -= 1
        stats = torch.from_numpy(np.concatenate([total.ravel(), [kept]]).astype(np.int64))
        all_reduce(stats)
        stats = stats.numpy()
        if int(stats[-1]) != size:
            raise RuntimeError(f'InViewSegMetric evaluated {int(stats[-1])} scans, the dataset '
                               f'has {size}: the val dataloader must use a DefaultSampler '
                               '(shuffle=False), whose padding this metric knows how to drop')
        self._reset()
        metrics = self.compute_metrics([stats[:-1].reshape(2, c, c + 1)])
        if self.prefix:
            metrics = {f'{self.prefix}/{k}': v for k, v in metrics.items()}
        return metrics

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """``results``: one (2, C, C + 1) confusion matrix (in-view, out-of-view)."""
        in_hist, out_hist = results[0]
        names = [self.dataset_meta['label2cat'][i] for i in range(self._num_classes())]
        both = in_hist + out_hist
        metrics = miou_report(both, names)
        with np.errstate(divide='ignore', invalid='ignore'):
            metrics['acc_cls'] = float(np.nanmean(np.diag(both[:, :-1]) / both.sum(1)))
        in_view, out_of_view = miou_report(in_hist), miou_report(out_hist)
        metrics.update(
            miou_in_view=in_view['miou'], acc_in_view=in_view['acc'],
            miou_out_of_view=out_of_view['miou'], acc_out_of_view=out_of_view['acc'],
            in_view_ratio=float(in_hist.sum() / max(both.sum(), 1)))
        logger = MMLogger.get_current_instance()
        logger.info('per-class IoU: ' + ', '.join(f'{n} {metrics[n]:.4f}' for n in names))
        logger.info(f"mIoU {metrics['miou']:.4f} (acc {metrics['acc']:.4f}); in-view "
                    f"{metrics['miou_in_view']:.4f} / out-of-view "
                    f"{metrics['miou_out_of_view']:.4f} (in-view points "
                    f"{metrics['in_view_ratio']:.3f})")
        return metrics
