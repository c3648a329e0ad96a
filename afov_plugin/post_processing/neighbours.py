"""Farthest-point sampling and k-nearest neighbours on the points' device."""
import numpy as np
import torch
from torch import Tensor

try:  # a k-d tree is far faster than brute force on CPU; CUDA uses cdist + topk
    from scipy.spatial import cKDTree
except ImportError:  # pragma: no cover - scipy comes with mmdet3d
    cKDTree = None


def farthest_point_sample(xyz: Tensor, m: int, start: int = 0, backend: str = 'auto') -> Tensor:
    """Indices (m,) of ``m`` farthest points of ``xyz`` (N, 3), starting at ``start``.

    Exact FPS. The loop over ``m`` is inherent to FPS, so one step is kept to a few in-place
    vector ops on contiguous coordinate columns (numpy on CPU, where its argmax is ~5× faster
    than torch's; torch on other devices or with ``backend='torch'``).
    """
    n = xyz.shape[0]
    if m >= n:
        return torch.arange(n, device=xyz.device)
    lib = np if xyz.device.type == 'cpu' and backend == 'auto' else torch
    pts = xyz.detach().float()
    pts = pts.numpy() if lib is np else pts
    cols = [lib.ascontiguousarray(pts[:, c]) if lib is np else pts[:, c].contiguous()
            for c in range(3)]
    mind = cols[0] * 0 + float('inf')
    d, tmp = cols[0] * 0, cols[0] * 0
    idx = [int(start)]
    for _ in range(m - 1):
        centre = pts[idx[-1]].tolist()
        lib.subtract(cols[0], centre[0], out=d)
        lib.multiply(d, d, out=d)
        for c in (1, 2):
            lib.subtract(cols[c], centre[c], out=tmp)
            lib.multiply(tmp, tmp, out=tmp)
            lib.add(d, tmp, out=d)
        lib.minimum(mind, d, out=mind)
        idx.append(int(mind.argmax()))
    return torch.tensor(idx, dtype=torch.long, device=xyz.device)


def knn(ref: Tensor, query: Tensor, k: int, chunk: int = 4096, backend: str = 'auto') -> Tensor:
    """Indices (Q, k) of the ``k`` nearest ``ref`` (N, 3) points of each ``query`` (Q, 3),
    nearest first. CPU: a k-d tree; other devices or ``backend='torch'``: cdist + topk."""
    k = min(k, ref.shape[0])
    if ref.device.type == 'cpu' and cKDTree is not None and backend == 'auto':
        # threads pay off only for large query sets (their start-up costs ~ms)
        workers = -1 if query.shape[0] > 50000 else 1
        _, idx = cKDTree(ref.numpy()).query(query.numpy(), k=k, workers=workers)
        return torch.from_numpy(idx.reshape(query.shape[0], k)).long()
    out = []
    for q in query.split(chunk):
        out.append(torch.cdist(q, ref).topk(k, dim=1, largest=False).indices)
    return torch.cat(out) if out else torch.empty(0, k, dtype=torch.long, device=ref.device)
