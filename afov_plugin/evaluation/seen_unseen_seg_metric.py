"""The zero-shot protocol's metric: mIoU over the seen classes, the unseen classes and all, and
their harmonic mean hmIoU = 2·S·U / (S + U) (seed 002), on all points and in-view /
out-of-view."""
from typing import Dict, Sequence

import numpy as np
from mmengine.logging import MMLogger

from mmdet3d.registry import METRICS

from .functional import iou_from_confusion
from .in_view_seg_metric import InViewSegMetric


def harmonic_miou(seen: float, unseen: float) -> float:
    """2·S·U / (S + U); 0 when both are 0."""
    return 2 * seen * unseen / (seen + unseen) if seen + unseen > 0 else 0.0


@METRICS.register_module()
class SeenUnseenSegMetric(InViewSegMetric):
    """:class:`InViewSegMetric`'s keys plus, for each of all points / in-view / out-of-view
    (suffix ``''`` / ``'_in_view'`` / ``'_out_of_view'``), ``miou_seen<suffix>``,
    ``miou_unseen<suffix>`` and ``hmiou<suffix>``. Each mean runs over the classes of its
    group with a non-empty union (as ``miou``). Fractions (0..1).

    Args:
        unseen_classes: names of the unseen classes (filled from the dataset base's
            ``unseen_classes`` by the class setting); the others are seen.
    """

    def __init__(self, unseen_classes: Sequence[str] = None, **kwargs) -> None:
        if not unseen_classes:
            raise ValueError('SeenUnseenSegMetric needs unseen_classes (the dataset base '
                             'states them; engine/class_setting.py fills them in)')
        super().__init__(**kwargs)
        self.unseen_classes = list(unseen_classes)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics(results)
        names = [self.dataset_meta['label2cat'][i] for i in range(self._num_classes())]
        unknown = [n for n in self.unseen_classes if n not in names]
        if unknown:
            raise ValueError(f'SeenUnseenSegMetric: unseen classes {unknown} are not among the '
                             f'dataset classes {names}')
        unseen = np.isin(names, self.unseen_classes)
        in_hist, out_hist = results[0]
        for suffix, hist in (('', in_hist + out_hist), ('_in_view', in_hist),
                             ('_out_of_view', out_hist)):
            iou = iou_from_confusion(hist)
            s = float(np.nanmean(iou[~unseen])) if np.isfinite(iou[~unseen]).any() else 0.0
            u = float(np.nanmean(iou[unseen])) if np.isfinite(iou[unseen]).any() else 0.0
            metrics.update({f'miou_seen{suffix}': s, f'miou_unseen{suffix}': u,
                            f'hmiou{suffix}': harmonic_miou(s, u)})
        MMLogger.get_current_instance().info(
            f"seen mIoU {metrics['miou_seen']:.4f} / unseen {metrics['miou_unseen']:.4f} / "
            f"hmIoU {metrics['hmiou']:.4f} (unseen: {', '.join(self.unseen_classes)})")
        return metrics
