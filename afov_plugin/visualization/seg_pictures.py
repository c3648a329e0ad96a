"""Pictures of segmentation results: bird's-eye view (prediction | ground truth | errors) and
the prediction projected onto a camera image. Written by ``tools/test.py --show-dir D``."""
import os
from typing import Optional, Sequence

import numpy as np
from mmengine.hooks import Hook

from mmdet3d.registry import HOOKS

from ..datasets.camera_geometry import project_points


def _palette(n: int, palette: Optional[Sequence] = None) -> np.ndarray:
    if palette is not None and len(palette) >= n:
        return np.asarray(palette[:n], dtype=np.float32) / 255.0
    import matplotlib
    return np.asarray(matplotlib.colormaps['tab20'](np.arange(n) % 20))[:, :3]


def draw_bev(path: str, xyz: np.ndarray, pred: np.ndarray, gt: Optional[np.ndarray],
             class_names: Sequence[str], palette=None, ignore_index: int = -1,
             extent: float = 50.0) -> None:
    """(N, 3) points, (N,) prediction / ground truth → PNG with three BEV panels."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    colors = _palette(len(class_names), palette)
    panels = [('prediction', pred)] + ([('ground truth', gt)] if gt is not None else [])
    width = 6 * (len(panels) + 1)
    fig, axes = plt.subplots(1, len(panels) + (gt is not None), figsize=(width, 6))
    axes = np.atleast_1d(axes)
    keep = (np.abs(xyz[:, 0]) < extent) & (np.abs(xyz[:, 1]) < extent)
    for ax, (title, lab) in zip(axes, panels):
        valid = keep & (lab >= 0) & (lab < len(class_names))
        ax.scatter(xyz[valid, 0], xyz[valid, 1], c=colors[lab[valid]], s=1.0, linewidths=0)
        ax.set_title(title)
    if gt is not None:
        ax = axes[-1]
        valid = keep & (gt != ignore_index)
        wrong = valid & (pred != gt)
        ax.scatter(xyz[valid & ~wrong, 0], xyz[valid & ~wrong, 1], c='0.75', s=1.0,
                   linewidths=0)
        ax.scatter(xyz[wrong, 0], xyz[wrong, 1], c='red', s=1.5, linewidths=0)
        ax.set_title(f'errors in red ({100 * wrong.sum() / max(valid.sum(), 1):.1f} % of '
                     'labelled points)')
    for ax in axes:
        ax.set_aspect('equal')
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [plt.Line2D([], [], marker='o', ls='', color=colors[i], label=n)
               for i, n in enumerate(class_names)]
    fig.legend(handles=handles, loc='lower center', ncol=min(len(class_names), 8), fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def draw_camera(path: str, image: np.ndarray, xyz: np.ndarray, pred: np.ndarray,
                lidar2img: np.ndarray, class_names: Sequence[str], palette=None) -> None:
    """Prediction colours of the points that land in ``image`` (RGB (H, W, 3))."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    h, w = image.shape[:2]
    uv, depth = project_points(xyz, lidar2img)
    inside = (depth > 1) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
    colors = _palette(len(class_names), palette)
    fig = plt.figure(figsize=(w / 100, h / 100), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(image)
    ok = inside & (pred >= 0) & (pred < len(class_names))
    ax.scatter(uv[ok, 0], uv[ok, 1], c=colors[pred[ok]], s=2, linewidths=0)
    ax.set_axis_off()
    fig.savefig(path)
    plt.close(fig)


@HOOKS.register_module()
class SegPicturesHook(Hook):
    """After each test iteration, write BEV and camera pictures of the first ``max_samples``
    samples to ``out_dir`` (``<sample_idx>_bev.png``, ``<sample_idx>_<camera>.png``)."""

    def __init__(self, out_dir: str, max_samples: int = 6, camera_index: int = 0) -> None:
        self.out_dir = out_dir
        self.max_samples = max_samples
        self.camera_index = camera_index
        self._count = 0

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._count >= self.max_samples or outputs is None:
            return
        import cv2
        os.makedirs(self.out_dir, exist_ok=True)
        meta = runner.test_dataloader.dataset.metainfo
        names, palette = meta['classes'], meta.get('palette')
        ignore = meta.get('ignore_index', len(names))
        for points, sample in zip(data_batch['inputs']['points'], outputs):
            if self._count >= self.max_samples:
                return
            xyz = points[:, :3].cpu().numpy()
            pred = sample.pred_pts_seg.pts_semantic_mask.cpu().numpy()
            gt = sample.eval_ann_info.get('pts_semantic_mask') if sample.eval_ann_info else None
            idx = str(sample.metainfo.get('sample_idx', self._count))
            draw_bev(os.path.join(self.out_dir, f'{idx}_bev.png'), xyz, pred,
                     None if gt is None else np.asarray(gt), names, palette, ignore)
            img_paths = sample.metainfo.get('img_path')
            lidar2img = sample.metainfo.get('lidar2img')
            if img_paths is not None and lidar2img is not None:
                if isinstance(img_paths, str):
                    img_paths, lidar2img = [img_paths], [lidar2img]
                k = min(self.camera_index, len(img_paths) - 1)
                image = cv2.imread(img_paths[k])
                if image is not None:
                    cam = os.path.basename(os.path.dirname(img_paths[k]))
                    draw_camera(os.path.join(self.out_dir, f'{idx}_{cam}.png'),
                                image[:, :, ::-1], xyz, pred, np.asarray(lidar2img[k]), names,
                                palette)
            self._count += 1
