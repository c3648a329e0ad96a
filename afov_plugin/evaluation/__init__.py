from .functional import confusion, iou_from_confusion, miou_report
from .seen_unseen_metric import SeenUnseenSegMetric

__all__ = ['SeenUnseenSegMetric', 'confusion', 'iou_from_confusion', 'miou_report']
