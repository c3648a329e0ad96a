"""MinkUNet voxelization on the input's device, with a correct point→voxel map.

mmdet3d's ``Det3DDataPreprocessor(voxel_type='minkunet')`` moves its indices to CUDA with a
hard-coded ``.cuda()`` (fails on CPU), and when ``max_voxels`` subsamples voxels during
training its ``point2voxel_map`` still points at the voxels that were dropped
(``../shared/STACK.md`` trap 2). This subclass keeps mmdet3d's semantics otherwise:

- voxel coordinates ``round(xyz / voxel_size) - min``, unique voxels in lexicographic
  (x, y, z) order (the order of mmdet3d's ravel hash + ``np.unique``);
- a voxel's feature is its **first** point (same as ``np.unique(return_index=True)``);
- ``voxel_semantic_mask`` is the first point's ``pts_semantic_mask`` (ground truth, or the
  teacher's pseudo-labels in stage 2).

One addition: mmdet3d's spconv ``MinkUNetBackbone`` sets the spatial shape to the largest
voxel coordinate + 1, and spconv refuses a shape that its four stride-2 stages bring down to 0,
so a flat scan (less than 16 voxels of height: 1.6 m at 0.1 m voxels) crashed. Along an axis
where a scan spans fewer than ``min_grid_extent`` voxels, its coordinates are shifted to end at
``min_grid_extent`` − 1: the shape is then exactly ``min_grid_extent`` and each stride-2 stage
halves it without dropping a voxel (a shift by 16 instead left a 22-voxel shape, which lost
every voxel by the third stage at 0.2 m).
"""
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmdet3d.models.data_preprocessors import Det3DDataPreprocessor
from mmdet3d.registry import MODELS
from mmdet3d.structures.det3d_data_sample import SampleList


def unique_voxels(coords: Tensor) -> Tuple[Tensor, Tensor]:
    """Unique voxels of integer coordinates.

    Args:
        coords: (N, 3) int voxel coordinates, all >= 0.

    Returns:
        first_index: (M,) long, index of the first point of each voxel; voxels sorted
            lexicographically by (x, y, z).
        inverse: (N,) long, voxel index of every point.
    """
    coords = coords.long()
    extent = coords.max(0)[0] + 1
    key = (coords[:, 0] * extent[1] + coords[:, 1]) * extent[2] + coords[:, 2]
    _, inverse = torch.unique(key, sorted=True, return_inverse=True)
    num_voxels = int(inverse.max()) + 1 if inverse.numel() else 0
    order = torch.arange(coords.shape[0], device=coords.device)
    first_index = torch.full((num_voxels, ), coords.shape[0], dtype=torch.long,
                             device=coords.device)
    first_index.scatter_reduce_(0, inverse, order, reduce='amin')
    return first_index, inverse


def subsample_voxels(first_index: Tensor, inverse: Tensor, max_voxels: int,
                     generator: torch.Generator = None) -> Tuple[Tensor, Tensor]:
    """Keep ``max_voxels`` random voxels and remap points to the kept ones.

    Returns:
        first_index: (K,) first point of each kept voxel, kept voxels in their original order.
        point2voxel_map: (N,) index into the kept voxels, -1 for points whose voxel was dropped.
    """
    num_voxels = first_index.shape[0]
    if num_voxels <= max_voxels:
        return first_index, inverse
    perm = torch.randperm(num_voxels, generator=generator, device='cpu')
    keep = perm[:max_voxels].sort()[0].to(first_index.device)
    remap = torch.full((num_voxels, ), -1, dtype=torch.long, device=first_index.device)
    remap[keep] = torch.arange(max_voxels, device=first_index.device)
    return first_index[keep], remap[inverse]


@MODELS.register_module()
class AFOVMinkUNetDataPreprocessor(Det3DDataPreprocessor):
    """``Det3DDataPreprocessor`` whose ``minkunet`` voxelization is device-agnostic.

    Same arguments as :class:`Det3DDataPreprocessor`. For each sample it sets
    ``data_sample.point2voxel_map`` ((N,) long, ``-1`` where the point's voxel was dropped by
    ``max_voxels``), ``data_sample.batch_idx`` ((M,) int) and, when ``gt_pts_seg`` holds
    ``pts_semantic_mask``, ``gt_pts_seg.voxel_semantic_mask`` ((M,) long, the first point's
    label), as mmdet3d's preprocessor does.
    """

    def __init__(self, *args, min_grid_extent: int = 16, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        assert min_grid_extent > 0 and min_grid_extent & (min_grid_extent - 1) == 0, \
            f'min_grid_extent must be a power of two, got {min_grid_extent}'
        self.min_grid_extent = min_grid_extent

    @torch.no_grad()
    def voxelize(self, points: List[Tensor], data_samples: SampleList) -> Dict[str, Tensor]:
        if self.voxel_type != 'minkunet':
            return super().voxelize(points, data_samples)
        voxels, coors = [], []
        voxel_size = points[0].new_tensor(self.voxel_layer.voxel_size)
        for i, (res, data_sample) in enumerate(zip(points, data_samples)):
            if res.shape[0] == 0:
                raise ValueError(f'empty point cloud in batch sample {i} '
                                 f'({data_sample.metainfo.get("lidar_path", "unknown file")})')
            res_coors = torch.round(res[:, :3] / voxel_size).int()
            res_coors -= res_coors.min(0)[0]
            extent = res_coors.max(0)[0] + 1
            short = extent < self.min_grid_extent
            res_coors[:, short] += self.min_grid_extent - extent[short]
            first_index, point2voxel_map = unique_voxels(res_coors)
            if self.training and self.max_voxels is not None:
                first_index, point2voxel_map = subsample_voxels(
                    first_index, point2voxel_map, self.max_voxels)
            gt_pts_seg = data_sample.gt_pts_seg if 'gt_pts_seg' in data_sample else None
            if gt_pts_seg is not None and 'pts_semantic_mask' in gt_pts_seg:
                gt_pts_seg.voxel_semantic_mask = gt_pts_seg.pts_semantic_mask[first_index]
            res_voxel_coors = res_coors[first_index]
            if self.batch_first:
                res_voxel_coors = F.pad(res_voxel_coors, (1, 0), mode='constant', value=i)
                data_sample.batch_idx = res_voxel_coors[:, 0]
            else:
                res_voxel_coors = F.pad(res_voxel_coors, (0, 1), mode='constant', value=i)
                data_sample.batch_idx = res_voxel_coors[:, -1]
            data_sample.point2voxel_map = point2voxel_map
            voxels.append(res[first_index])
            coors.append(res_voxel_coors)
        return dict(voxels=torch.cat(voxels, dim=0), coors=torch.cat(coors, dim=0))
