"""Training labels of the zero-shot (seen / unseen classes) protocol: ground truth of the seen
classes, the teacher's pseudo-labels restricted to the unseen classes elsewhere (seed 002,
§3.5). Two steps, so that the unseen classes' ground truth is gone before the teacher's
labels arrive: nothing after :class:`SeenClassGroundTruth` can read it."""
from typing import Dict, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS


def class_ids(class_names: Sequence[str], names: Sequence[str], what: str) -> np.ndarray:
    """0-based ids of ``names`` in ``class_names``; an unknown name is an error."""
    unknown = [n for n in names if n not in class_names]
    if unknown or not names:
        raise ValueError(f'{what} {unknown or list(names)} are not dataset classes '
                         f'({list(class_names)}): name them as the dataset does')
    return np.asarray(sorted(class_names.index(n) for n in names), dtype=np.int64)


class _UnseenClasses(BaseTransform):
    def __init__(self, class_names: Sequence[str] = None, unseen_classes: Sequence[str] = None,
                 ignore_index: int = None) -> None:
        if class_names is None or unseen_classes is None or ignore_index is None:
            raise ValueError(f'{type(self).__name__} needs class_names, unseen_classes and '
                             'ignore_index: build it from a config (the class setting fills '
                             'them from the dataset base)')
        self.unseen = class_ids(list(class_names), list(unseen_classes), 'unseen classes')
        self.num_classes = len(class_names)
        self.ignore_index = ignore_index
        self.is_unseen = np.zeros(self.num_classes + 1, bool)
        self.is_unseen[self.unseen] = True


@TRANSFORMS.register_module()
class SeenClassGroundTruth(_UnseenClasses):
    """Keep the ground truth of the seen classes only: ``pts_semantic_mask`` (after
    ``LoadAnnotations3D`` + ``PointSegClassMapping``) becomes ``pts_seen_mask`` (N,) int64,
    the label on points of seen classes and ``ignore_index`` on every other point (unseen
    classes and ignored points alike, so they cannot be told apart), and
    ``pts_semantic_mask`` is removed. ``out_key='pts_semantic_mask'`` writes it back as the
    training target instead (the seen-only supervised lower bound).

    Args (the first three filled by the class setting, ``engine/class_setting.py``, from
    the dataset base):
        class_names: the dataset's classes; unseen_classes: names of the unseen ones;
        ignore_index: the dataset's ignore label; out_key: where the seen labels go.
    """

    def __init__(self, class_names: Sequence[str] = None, unseen_classes: Sequence[str] = None,
                 ignore_index: int = None, out_key: str = 'pts_seen_mask') -> None:
        super().__init__(class_names, unseen_classes, ignore_index)
        if out_key not in ('pts_seen_mask', 'pts_semantic_mask'):
            raise ValueError(f"out_key must be 'pts_seen_mask' or 'pts_semantic_mask', got "
                             f'{out_key!r}')
        self.out_key = out_key

    def transform(self, results: Dict) -> Dict:
        if 'pts_semantic_mask' not in results:
            raise KeyError('SeenClassGroundTruth needs the ground truth: put it after '
                           'LoadAnnotations3D and PointSegClassMapping')
        gt = np.asarray(results.pop('pts_semantic_mask')).astype(np.int64)
        known = (gt >= 0) & (gt < self.num_classes)
        seen = known & ~self.is_unseen[np.where(known, gt, self.num_classes)]
        results[self.out_key] = np.where(seen, gt, self.ignore_index)
        return results


@TRANSFORMS.register_module()
class ZeroShotLabels(_UnseenClasses):
    """``pts_semantic_mask`` = the seen classes' ground truth (``pts_seen_mask``) where it has
    a label; elsewhere the teacher's pseudo-label (``pts_semantic_mask`` from
    ``PseudoLabelsAndSuperpoints``) if it names an unseen class, else ``ignore_index``.

    "Background" (the seed's 2D label that is no unseen class) maps to ``ignore_index``: a
    point outside the seen ground truth whose teacher label is a seen class, an ignore prompt
    or nothing is not trained on. The cache keeps only each region's best prompt, so the
    restriction is of that label (the seed restricts the argmax itself to unseen classes +
    background). ``pts_semantic_mask_source`` becomes ``'seen_gt+teacher_unseen'``.
    """

    def transform(self, results: Dict) -> Dict:
        if 'pts_seen_mask' not in results or \
                results.get('pts_semantic_mask_source') != 'teacher':
            raise KeyError('ZeroShotLabels needs pts_seen_mask (SeenClassGroundTruth) and the '
                           "teacher's pseudo-labels (PseudoLabelsAndSuperpoints) before it")
        seen = results.pop('pts_seen_mask')
        teacher = np.asarray(results['pts_semantic_mask']).astype(np.int64)
        if seen.shape != teacher.shape:
            raise ValueError(f'ZeroShotLabels: {seen.shape[0]} seen labels, {teacher.shape[0]} '
                             'pseudo-labels: no step between SeenClassGroundTruth and it may '
                             'drop points')
        known = (teacher >= 0) & (teacher < self.num_classes)
        unseen = known & self.is_unseen[np.where(known, teacher, self.num_classes)]
        label = np.where(unseen, teacher, self.ignore_index)
        results['pts_semantic_mask'] = np.where(seen != self.ignore_index, seen, label)
        results['pts_semantic_mask_source'] = 'seen_gt+teacher_unseen'
        return results
