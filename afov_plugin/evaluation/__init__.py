from .functional import confusion, iou_from_confusion, miou_report
from .in_view_seg_metric import InViewSegMetric

__all__ = ['InViewSegMetric', 'confusion', 'iou_from_confusion', 'miou_report']
