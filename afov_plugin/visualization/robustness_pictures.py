"""Pictures of the Robo3D protocol: mIoU per corruption and severity (one bar per model), and
one scan under every corruption in bird's-eye view."""
from typing import Dict, Sequence

import numpy as np


def plot_robustness(summaries: Dict[str, dict], path: str) -> None:
    """One panel per severity; per corruption one bar per model (``summaries``: model name →
    :func:`afov_plugin.evaluation.robustness.evaluate_robustness` output); the clean mIoU as
    a dashed line per model."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(summaries)
    corruptions = list(next(iter(summaries.values()))['cells'])
    severities = sorted(next(iter(summaries.values()))['cells'][corruptions[0]])
    fig, axes = plt.subplots(len(severities), 1, figsize=(12, 3.2 * len(severities)),
                             squeeze=False)
    width = 0.8 / len(names)
    colors = matplotlib.colormaps['tab10'](np.arange(len(names)) % 10)
    for ax, s in zip(axes[:, 0], severities):
        for j, name in enumerate(names):
            cells = summaries[name]['cells']
            values = [100 * cells[c][s] for c in corruptions]
            ax.bar(np.arange(len(corruptions)) + (j - (len(names) - 1) / 2) * width, values,
                   width, color=colors[j], label=name)
            ax.axhline(100 * summaries[name]['clean_miou'], color=colors[j], ls='--', lw=0.8)
        ax.set_xticks(np.arange(len(corruptions)))
        ax.set_xticklabels([c.replace('_', ' ') for c in corruptions])
        ax.set_ylabel(f'mIoU, severity {s}')
    axes[0, 0].legend(ncol=len(names), fontsize=8, loc='upper right')
    axes[0, 0].set_title('Robo3D corruptions (dashed: clean mIoU)')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def draw_corruption_examples(path: str, scans: Dict[str, np.ndarray],
                             labels: Dict[str, np.ndarray], ignore_index: int,
                             order: Sequence[str] = (), extent: float = 40.0) -> None:
    """A grid of bird's-eye views, one per entry of ``scans`` (name → (N, >=3) points,
    ``labels`` name → (N,)): points with the ignore label (added or moved by a corruption,
    or unlabelled) in red."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keys = list(order) or list(scans)
    cols = 3
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 4 * rows), squeeze=False)
    for ax, k in zip(axes.ravel(), keys):
        xyz, lab = scans[k], labels[k]
        near = (np.abs(xyz[:, 0]) < extent) & (np.abs(xyz[:, 1]) < extent)
        bad = near & (lab == ignore_index)
        ax.scatter(xyz[near & ~bad, 0], xyz[near & ~bad, 1], s=0.3, c='0.3', linewidths=0)
        ax.scatter(xyz[bad, 0], xyz[bad, 1], s=0.5, c='red', linewidths=0)
        ax.set_title(f'{k} ({xyz.shape[0]} points)', fontsize=9)
        ax.set_aspect('equal')
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.ravel()[len(keys):]:
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
