"""Farthest-point sampling and k-nearest neighbours on the points' device."""
from typing import Optional

import numba
import numpy as np
import torch
from torch import Tensor


@numba.njit(cache=True, nogil=True)
def _xy_grid(pts: np.ndarray, g: int):
    """Bucket (N, 3) points into a g × g grid over their (x, y) extent (counting sort).

    Returns lo_x, lo_y, size_x, size_y, ``first`` (g·g + 1,): the points of cell c = cx·g + cy
    are ``order[first[c]:first[c + 1]]``, and ``order`` (N,).
    """
    n = pts.shape[0]
    lo_x, lo_y = pts[:, 0].min(), pts[:, 1].min()
    size_x = max((pts[:, 0].max() - lo_x) / g, 1e-6)
    size_y = max((pts[:, 1].max() - lo_y) / g, 1e-6)
    cell = np.empty(n, np.int64)
    first = np.zeros(g * g + 1, np.int64)
    for i in range(n):
        cx = min(max(int((pts[i, 0] - lo_x) / size_x), 0), g - 1)
        cy = min(max(int((pts[i, 1] - lo_y) / size_y), 0), g - 1)
        cell[i] = cx * g + cy
        first[cell[i] + 1] += 1
    for c in range(g * g):
        first[c + 1] += first[c]
    order = np.empty(n, np.int64)
    fill = first[:-1].copy()
    for i in range(n):
        order[fill[cell[i]]] = i
        fill[cell[i]] += 1
    return lo_x, lo_y, size_x, size_y, first, order


@numba.njit(cache=True, nogil=True)
def _fps_grid_kernel(xyz: np.ndarray, m: int, start: int) -> np.ndarray:
    """Exact FPS on CPU, pruned by an (x, y) grid of cells with bounding boxes.

    A new centre only visits the cells within the largest current distance of it (no point is
    farther from its nearest centre), and skips a cell whose box is farther than the cell's
    own largest current distance: none of its points can move closer. Distances are float32
    sums in the same order as the torch path, and ties go to the lowest index, as ``argmax``
    does, so both paths pick the same points.
    """
    n = xyz.shape[0]
    g = max(1, int(np.sqrt(n / 48.0)))  # ~48 points per cell
    lo_x, lo_y, size_x, size_y, first, order = _xy_grid(xyz, g)
    num = g * g
    box = np.empty((num, 6))
    for c in range(num):
        box[c, :3] = np.inf
        box[c, 3:] = -np.inf
        for s in range(first[c], first[c + 1]):
            for a in range(3):
                box[c, a] = min(box[c, a], xyz[order[s], a])
                box[c, 3 + a] = max(box[c, 3 + a], xyz[order[s], a])
    mind = np.full(n, np.inf, np.float32)               # indexed by sorted position
    cmax = np.full(num, -np.inf, np.float32)
    carg = np.full(num, n, np.int64)
    out = np.empty(m, np.int64)
    out[0] = start
    reach = np.inf                     # no point is farther than this from its nearest centre
    for it in range(1, m):
        c0, c1, c2 = xyz[out[it - 1], 0], xyz[out[it - 1], 1], xyz[out[it - 1], 2]
        # only cells within ``reach`` of the new centre in x and y can change
        r = reach * (1.0 + 1e-5) + 1e-6
        x_lo, x_hi, y_lo, y_hi = 0, g - 1, 0, g - 1
        if r < np.inf:
            x_lo = min(max(int(np.floor((c0 - r - lo_x) / size_x)), 0), g - 1)
            x_hi = min(max(int(np.floor((c0 + r - lo_x) / size_x)), 0), g - 1)
            y_lo = min(max(int(np.floor((c1 - r - lo_y) / size_y)), 0), g - 1)
            y_hi = min(max(int(np.floor((c1 + r - lo_y) / size_y)), 0), g - 1)
        for ix in range(x_lo, x_hi + 1):
            for iy in range(y_lo, y_hi + 1):
                c = ix * g + iy
                if first[c] == first[c + 1]:
                    continue
                gap = 0.0
                for a, v in ((0, c0), (1, c1), (2, c2)):
                    if v < box[c, a]:
                        gap += (box[c, a] - v) ** 2
                    elif v > box[c, 3 + a]:
                        gap += (v - box[c, 3 + a]) ** 2
                if gap * (1.0 - 1e-5) >= cmax[c] and carg[c] < n:
                    continue
                best, arg = np.float32(-np.inf), n
                for s in range(first[c], first[c + 1]):
                    i = order[s]
                    dx, dy, dz = xyz[i, 0] - c0, xyz[i, 1] - c1, xyz[i, 2] - c2
                    d = dx * dx + dy * dy + dz * dz
                    if d < mind[s]:
                        mind[s] = d
                    if mind[s] > best or (mind[s] == best and i < arg):
                        best, arg = mind[s], i
                cmax[c], carg[c] = best, arg
        best, arg = np.float32(-np.inf), n
        for c in range(num):
            if carg[c] < n and (cmax[c] > best or (cmax[c] == best and carg[c] < arg)):
                best, arg = cmax[c], carg[c]
        out[it] = arg
        reach = np.sqrt(np.float64(best))
    return out


def farthest_point_sample_batch(xyz: Tensor, m: int, lengths: Optional[Tensor] = None,
                                start: Optional[Tensor] = None) -> Tensor:
    """Exact FPS of a padded batch of scans in one call, (B, m) indices.

    Args:
        xyz: (B, N, 3), scan b in ``xyz[b, :lengths[b]]`` (the rest is padding, never picked).
        m: centres per scan. A scan of n_b ≤ m points has its n_b points among its first
            n_b indices only while they are distinct; take ``[:min(m, n_b)]`` per scan.
        lengths: (B,) points per scan (default: N each). start: (B,) first centre (default 0).

    The loop over the m centres runs a fixed number of batched tensor ops per step: no step
    reads a value back to the host (no ``.item()`` / ``.tolist()``), so on CUDA it queues
    without synchronising. Distances are float32 sums in the order of the CPU kernel
    (dx² + dy², then + dz²) and ties go to the lowest index (``argmax``), so every scan gets
    the same indices as :func:`farthest_point_sample` on it alone.
    """
    b, n, _ = xyz.shape
    dev = xyz.device
    pts = xyz.detach().float()
    if lengths is None:
        lengths = torch.full((b, ), n, dtype=torch.long, device=dev)
    if start is None:
        start = torch.zeros(b, dtype=torch.long, device=dev)
    valid = torch.arange(n, device=dev)[None] < lengths.to(dev)[:, None]
    mind = torch.full((b, n), float('inf'), device=dev).masked_fill_(~valid, float('-inf'))
    x, y, z = (pts[..., c] for c in range(3))                           # (B, N) each
    rows = torch.arange(b, device=dev)
    out = torch.empty(b, m, dtype=torch.long, device=dev)
    cur = start.to(dev).long()
    out[:, 0] = cur
    d, tmp = torch.empty_like(x), torch.empty_like(x)
    for it in range(1, m):
        c = pts[rows, cur]                                                  # (B, 3)
        torch.sub(x, c[:, 0:1], out=d)
        d.mul_(d)
        torch.sub(y, c[:, 1:2], out=tmp)
        tmp.mul_(tmp)
        d.add_(tmp)
        torch.sub(z, c[:, 2:3], out=tmp)
        tmp.mul_(tmp)
        d.add_(tmp)
        torch.minimum(mind, d, out=mind)         # padding stays -inf
        cur = mind.argmax(1)
        out[:, it] = cur
    return out


_MMCV_OPS: dict = {}


def _mmcv_op(name: str):
    """mmcv.ops' CUDA ``furthest_point_sample`` / ``knn``, or None where mmcv lacks them.
    Only called for CUDA tensors."""
    if name not in _MMCV_OPS:
        try:
            import mmcv.ops as ops
            _MMCV_OPS[name] = getattr(ops, name)
        except Exception:  # no mmcv, or mmcv built without its ops
            _MMCV_OPS[name] = None
    return _MMCV_OPS[name]


def farthest_point_sample(xyz: Tensor, m: int, start: int = 0, backend: str = 'auto') -> Tensor:
    """Indices (m,) of ``m`` farthest points of ``xyz`` (N, 3), starting at ``start``.

    Exact FPS. CPU (``backend='auto'``): a compiled loop that skips the grid cells a new
    centre cannot reach. CUDA (``'auto'``): mmcv's ``furthest_point_sample`` where mmcv has
    it (it always starts at point 0, so the points are rolled to put ``start`` first; like
    pointnet2's kernel it never picks a point within 3 cm of the sensor origin), else the
    torch loop. ``backend='torch'`` on any device: :func:`farthest_point_sample_batch`
    with one scan. CPU and torch give the same indices.
    """
    n = xyz.shape[0]
    if m >= n:
        return torch.arange(n, device=xyz.device)
    pts = xyz.detach().float()
    if xyz.device.type == 'cpu' and backend == 'auto':
        idx = _fps_grid_kernel(np.ascontiguousarray(pts.numpy()), int(m), int(start))
        return torch.from_numpy(idx)
    if xyz.is_cuda and backend == 'auto' and _mmcv_op('furthest_point_sample') is not None:
        rolled = torch.roll(pts, -int(start), 0).contiguous()
        idx = _mmcv_op('furthest_point_sample')(rolled[None], int(m))[0].long()
        return (idx + int(start)) % n
    first = torch.full((1, ), int(start), dtype=torch.long, device=xyz.device)
    return farthest_point_sample_batch(pts[None], int(m), start=first)[0]


@numba.njit(cache=True, nogil=True, parallel=True)
def _grid_knn_kernel(ref: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """Exact k nearest ``ref`` points of each query through an (x, y) grid of ``ref``.

    Rings of cells around the query's cell are visited until the k-th best distance is
    shorter than the distance to the unvisited cells. Neighbours come nearest first (ties:
    lower index first). Queries are split in chunks over numba's threads; the result does
    not depend on the number of threads.
    """
    n, num_q = ref.shape[0], query.shape[0]
    g = max(1, int(np.sqrt(n / 2.0)))  # ~2 reference points per cell
    lo_x, lo_y, size_x, size_y, first, order = _xy_grid(ref, g)
    # the reference points in cell order: a cell's points are read contiguously
    cref = np.empty((n, 3), np.float32)
    for s in range(n):
        cref[s] = ref[order[s]]
    out = np.empty((num_q, k), np.int64)
    chunk = 512
    for b in numba.prange((num_q + chunk - 1) // chunk):
        best_d = np.empty(k, np.float32)
        best_i = np.empty(k, np.int64)
        for j in range(b * chunk, min((b + 1) * chunk, num_q)):
            x, y, z = query[j, 0], query[j, 1], query[j, 2]
            qx = int(np.floor((x - lo_x) / size_x))
            qy = int(np.floor((y - lo_y) / size_y))
            qx, qy = min(max(qx, 0), g - 1), min(max(qy, 0), g - 1)
            found = 0
            r = 0
            while True:
                for ix in range(max(qx - r, 0), min(qx + r, g - 1) + 1):
                    edge = ix == qx - r or ix == qx + r
                    for iy in range(max(qy - r, 0), min(qy + r, g - 1) + 1):
                        if not edge and iy != qy - r and iy != qy + r:
                            continue
                        c = ix * g + iy
                        for s in range(first[c], first[c + 1]):
                            dx, dy, dz = cref[s, 0] - x, cref[s, 1] - y, cref[s, 2] - z
                            d = dx * dx + dy * dy + dz * dz
                            if found == k and d > best_d[k - 1]:
                                continue
                            i = order[s]
                            if found == k and d == best_d[k - 1] and i > best_i[k - 1]:
                                continue
                            pos = found if found < k else k - 1
                            while pos > 0 and (best_d[pos - 1] > d or
                                               (best_d[pos - 1] == d and best_i[pos - 1] > i)):
                                if pos < k:
                                    best_d[pos] = best_d[pos - 1]
                                    best_i[pos] = best_i[pos - 1]
                                pos -= 1
                            best_d[pos], best_i[pos] = d, i
                            found = min(found + 1, k)
                if qx - r <= 0 and qy - r <= 0 and qx + r >= g - 1 and qy + r >= g - 1:
                    break
                if found == k:   # xy distance to the cells not visited yet
                    margin = min(x - (lo_x + (qx - r) * size_x),
                                 lo_x + (qx + r + 1) * size_x - x,
                                 y - (lo_y + (qy - r) * size_y),
                                 lo_y + (qy + r + 1) * size_y - y)
                    if margin > 0 and margin * margin > best_d[k - 1]:
                        break
                r += 1
            out[j] = best_i
    return out


def knn(ref: Tensor, query: Tensor, k: int, chunk: int = 4096, backend: str = 'auto') -> Tensor:
    """Indices (Q, k) of the ``k`` nearest ``ref`` (N, 3) points of each ``query`` (Q, 3),
    nearest first. CPU: a compiled grid search; CUDA (``backend='auto'``, k < 100): mmcv's
    ``knn`` where mmcv has it; otherwise or ``backend='torch'``: cdist + topk."""
    k = min(k, ref.shape[0])
    if k == 0 or query.shape[0] == 0:
        return torch.empty(query.shape[0], k, dtype=torch.long, device=ref.device)
    if ref.device.type == 'cpu' and backend == 'auto':
        return torch.from_numpy(_grid_knn_kernel(
            np.ascontiguousarray(ref.detach().float().numpy()),
            np.ascontiguousarray(query.detach().float().numpy()), int(k)))
    if ref.is_cuda and backend == 'auto' and k < 100 and _mmcv_op('knn') is not None:
        idx = _mmcv_op('knn')(int(k), ref.detach().float()[None].contiguous(),
                              query.detach().float()[None].contiguous(), False)
        return idx[0].transpose(0, 1).long()                                # (Q, k)
    out = []
    for q in query.split(chunk):
        out.append(torch.cdist(q, ref).topk(k, dim=1, largest=False).indices)
    return torch.cat(out)
