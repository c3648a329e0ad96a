"""Pictures of dataset statistics (:mod:`afov_plugin.evaluation.dataset_statistics`)."""
from typing import Dict

import numpy as np


def plot_class_shares(stats: Dict[str, object], reference: Dict[str, object],
                      path: str) -> None:
    """Bar chart of the per-class point shares of ``stats`` and ``reference`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = sorted(reference['class_share'], key=lambda k: -reference['class_share'][k])
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.bar(x - 0.2, [stats['class_share'].get(k, 0) for k in names], 0.4, label='this set')
    ax.bar(x + 0.2, [reference['class_share'][k] for k in names], 0.4,
           label='nuScenes-lidarseg (real)')
    ax.set_xticks(x, names, rotation=45, ha='right')
    ax.set_ylabel('% of points')
    ax.set_title(f"points per scan {stats['points_per_scan']} / {reference['points_per_scan']}"
                 f"; inside some camera {stats['camera_share']} % / "
                 f"{reference['camera_share']} %")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
