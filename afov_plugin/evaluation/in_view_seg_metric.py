"""mIoU over all points, and separately over points a camera sees and points none sees."""
from typing import Dict, Sequence

import numpy as np
from mmengine.logging import MMLogger

from mmdet3d.evaluation.metrics import SegMetric
from mmdet3d.registry import METRICS

from .functional import confusion, miou_report


@METRICS.register_module()
class SeenUnseenSegMetric(SegMetric):
    """mmdet3d's ``SegMetric`` (all points of the split) plus ``miou_seen`` / ``miou_unseen``.

    Needs ``gt_pts_seg.pts_cam`` in the data samples (pack it with ``PackAFOVInputs`` after
    ``PointPixelPairing`` in the test pipeline). Reports, besides SegMetric's keys:
    ``miou_seen``, ``miou_unseen``, ``acc_seen``, ``acc_unseen`` and ``seen_ratio`` (share of
    evaluated points inside some camera image). Values are fractions (0..1) like SegMetric's.
    """

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = sample['pred_pts_seg']['pts_semantic_mask'].to('cpu').numpy()
            cam = sample['gt_pts_seg']['pts_cam'].to('cpu').numpy() \
                if 'pts_cam' in sample['gt_pts_seg'] else None
            if cam is None:
                raise KeyError('SeenUnseenSegMetric needs gt_pts_seg.pts_cam: add '
                               "PointPixelPairing and PackAFOVInputs(keys=[..., 'pts_cam']) to "
                               'the test pipeline')
            self.results.append((sample['eval_ann_info'], dict(pts_semantic_mask=pred),
                                 cam >= 0))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics([(ann, pred) for ann, pred, _ in results])
        c = len(self.dataset_meta['label2cat'])
        ignore = self.dataset_meta['ignore_index']
        seen_hist = np.zeros((c, c + 1), np.int64)
        unseen_hist = np.zeros((c, c + 1), np.int64)
        for ann, pred, seen in results:
            gt = ann['pts_semantic_mask']
            p = pred['pts_semantic_mask']
            seen_hist += confusion(gt[seen], p[seen], c, ignore)
            unseen_hist += confusion(gt[~seen], p[~seen], c, ignore)
        seen, unseen = miou_report(seen_hist), miou_report(unseen_hist)
        metrics.update(
            miou_seen=seen['miou'], acc_seen=seen['acc'], miou_unseen=unseen['miou'],
            acc_unseen=unseen['acc'],
            seen_ratio=float(seen_hist.sum() / max(seen_hist.sum() + unseen_hist.sum(), 1)))
        MMLogger.get_current_instance().info(
            f"mIoU seen {metrics['miou_seen']:.4f} / unseen {metrics['miou_unseen']:.4f} "
            f"(seen points {metrics['seen_ratio']:.3f})")
        return metrics
