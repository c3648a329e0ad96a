"""Pictures of text-query scores: bird's-eye view and a camera image, points coloured by the
cosine score (viridis, the scan's 1st-99th percentile)."""
import numpy as np

from ..datasets.camera_geometry import project_points


def _norm(score: np.ndarray):
    import matplotlib
    lo, hi = np.percentile(score, [1, 99]) if score.size else (0.0, 1.0)
    return matplotlib.colors.Normalize(vmin=lo, vmax=max(hi, lo + 1e-6))


def draw_score_bev(path: str, xyz: np.ndarray, score: np.ndarray, title: str,
                   extent: float = 50.0) -> None:
    """(N, 3) points, (N,) scores → PNG, highest scores drawn last (on top)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    keep = np.flatnonzero((np.abs(xyz[:, 0]) < extent) & (np.abs(xyz[:, 1]) < extent))
    keep = keep[np.argsort(score[keep])]
    fig, ax = plt.subplots(figsize=(7, 6))
    sc = ax.scatter(xyz[keep, 0], xyz[keep, 1], c=score[keep], cmap='viridis',
                    norm=_norm(score), s=1.0, linewidths=0)
    fig.colorbar(sc, ax=ax, label='cosine score')
    ax.set_title(f'{title}: bird\'s-eye view')
    ax.set_aspect('equal')
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def draw_score_camera(path: str, image: np.ndarray, xyz: np.ndarray, score: np.ndarray,
                      lidar2img: np.ndarray, title: str) -> None:
    """The scores of the points landing in ``image`` (RGB (H, W, 3)) as a heat map on it."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    h, w = image.shape[:2]
    uv, depth = project_points(xyz, lidar2img)
    inside = np.flatnonzero((depth > 1) & (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0)
                            & (uv[:, 1] < h))
    inside = inside[np.argsort(score[inside])]
    fig = plt.figure(figsize=(w / 100, h / 100), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(image)
    ax.scatter(uv[inside, 0], uv[inside, 1], c=score[inside], cmap='viridis',
               norm=_norm(score[inside]), s=3, linewidths=0)
    ax.text(5, 15, title, color='white', fontsize=9)
    ax.set_axis_off()
    fig.savefig(path)
    plt.close(fig)
