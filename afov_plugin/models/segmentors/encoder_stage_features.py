"""Per-point features of an intermediate encoder stage of mmdet3d's MinkUNet (spconv)."""
from contextlib import contextmanager
from typing import Iterator, List, Tuple

import torch
from torch import Tensor, nn

from mmdet3d.structures.det3d_data_sample import SampleList


@contextmanager
def capture_output(module: nn.Module) -> Iterator[list]:
    """Inside the block, the outputs of ``module``'s forward calls are appended to the
    yielded list."""
    out: list = []
    handle = module.register_forward_hook(lambda _m, _i, o: out.append(o))
    try:
        yield out
    finally:
        handle.remove()


def stage_point_features(stage_out, coors: Tensor, data_samples: SampleList,
                         stride: int) -> Tuple[List[Tensor], List[Tensor]]:
    """Per sample (N_i, C) the stage's feature of each point's cell and (N_i,) bool whether
    it has one: no for points whose voxel was dropped (``point2voxel_map`` -1) or lies in the
    last row of an odd grid extent, which spconv's unpadded stride-2 convolutions leave out
    (their features are zeros).

    Args:
        stage_out: the stage's spconv ``SparseConvTensor`` (``indices`` (M, 4) = batch, x, y,
            z; ``features`` (M, C)).
        coors: (V, 4) the input voxels' (batch, x, y, z), rows in batch order.
        data_samples: with ``point2voxel_map`` (N_i,) into the sample's voxels.
        stride: the stage's stride over the input voxels (MinkUNet: 2^(stage + 1), its
            downsampling convolutions have kernel 2, stride 2, so a voxel's cell is
            ``coordinate // stride``).
    """
    if not hasattr(stage_out, 'indices'):
        raise TypeError('MCFA reads spconv sparse tensors: use the spconv backend '
                        "(sparseconv_backend='spconv', configs/_base_/models/minkunet_spconv.py)")
    idx = stage_out.indices.long()
    cell = coors.long().clone()
    cell[:, 1:] = torch.div(cell[:, 1:], stride, rounding_mode='floor')
    dims = torch.maximum(idx.max(0).values, cell.max(0).values) + 1

    def key(t: Tensor) -> Tensor:
        return ((t[:, 0] * dims[1] + t[:, 1]) * dims[2] + t[:, 2]) * dims[3] + t[:, 3]

    sorted_keys, order = key(idx).sort()
    k = key(cell)
    pos = torch.searchsorted(sorted_keys, k).clamp_max(sorted_keys.numel() - 1)
    found = sorted_keys[pos] == k                                                 # (V,)
    if found.float().mean() < 0.5:
        raise ValueError(f'encoder stage cells are not the voxels // {stride}: the backbone '
                         'is not MinkUNet with kernel-2 stride-2 downsampling; set the stage')
    voxel_feat = stage_out.features[order[pos]] * found[:, None]                  # (V, C)
    feats, valid, start = [], [], 0
    for s in data_samples:
        v = s.batch_idx.numel()  # the sample's voxels
        m = s.point2voxel_map
        ok = (m >= 0) & found[start:start + v][m.clamp_min(0)]
        feats.append(voxel_feat[start:start + v][m.clamp_min(0)] * ok[:, None])
        valid.append(ok)
        start += v
    return feats, valid
