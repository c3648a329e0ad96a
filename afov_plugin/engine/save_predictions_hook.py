"""Save per-scan predictions of ``tools/test.py --save-preds DIR`` for offline tools (AFI)."""
import io
import os
import os.path as osp

import numpy as np
from mmengine.hooks import Hook

from mmdet3d.registry import HOOKS

from ..fileio import atomic_write_bytes
from ..models.segmentors.afov_minkunet import teacher_pseudo_label

PRED_KEYS = ('points', 'pred', 'gt', 'cam', 'pseudo_label')


def save_prediction(path: str, **arrays) -> None:
    """One scan as a pickle-free ``.npz``: points (N, 3) float32, pred (N,) int16 and, where
    known, gt (N,), cam (N,) (index of the camera that sees the point, -1 none),
    pseudo_label (N,), lidar_path (str)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: v for k, v in arrays.items() if v is not None})
    atomic_write_bytes(path, buf.getvalue())


def load_prediction(path: str) -> dict:
    """Inverse of :func:`save_prediction`; refuses anything that would need pickle."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(f'{path}: not a prediction file written by tools/test.py '
                         f'--save-preds ({e}); rerun tools/test.py to rewrite it') from e
    for key in ('points', 'pred'):
        if key not in out:
            raise ValueError(f'{path}: prediction file has no "{key}" array; rerun tools/test.py '
                             '--save-preds')
    if len(out['points']) != len(out['pred']):
        raise ValueError(f"{path}: {len(out['points'])} points but {len(out['pred'])} labels")
    return out


@HOOKS.register_module()
class SavePredictionsHook(Hook):
    """After each test iteration write ``<out_dir>/<sample_idx>.npz`` per scan (see
    :func:`save_prediction`). With an ``AFOVMinkUNet`` post-processor, ``pred`` is the
    network's own argmax (``pred_pts_seg_network``) so offline AFI starts from the same input."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        os.makedirs(self.out_dir, exist_ok=True)
        for points, sample in zip(data_batch['inputs']['points'], outputs):
            pred = sample.get('pred_pts_seg_network', sample.pred_pts_seg.pts_semantic_mask)
            gt_seg = sample.get('gt_pts_seg')
            ann = sample.get('eval_ann_info') or {}

            def field(name):
                return gt_seg.get(name).cpu().numpy() if gt_seg is not None and name in gt_seg \
                    else None
            gt = ann.get('pts_semantic_mask')
            pseudo = teacher_pseudo_label(sample)
            save_prediction(
                osp.join(self.out_dir, f"{sample.metainfo.get('sample_idx', batch_idx)}.npz"),
                points=points[:, :3].cpu().numpy().astype(np.float32),
                pred=pred.cpu().numpy().astype(np.int16),
                gt=None if gt is None else np.asarray(gt).astype(np.int16),
                cam=field('pts_cam'), pseudo_label=None if pseudo is None else
                pseudo.cpu().numpy().astype(np.int16),
                lidar_path=np.asarray(sample.metainfo.get('lidar_path', '')))
