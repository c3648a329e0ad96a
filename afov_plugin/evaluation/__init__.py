from .functional import confusion, iou_from_confusion, miou_report
from .in_view_seg_metric import InViewSegMetric
from .seen_unseen_seg_metric import SeenUnseenSegMetric, harmonic_miou

__all__ = ['InViewSegMetric', 'SeenUnseenSegMetric', 'confusion', 'harmonic_miou',
           'iou_from_confusion', 'miou_report']
