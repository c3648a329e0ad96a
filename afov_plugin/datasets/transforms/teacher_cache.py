"""Read the teacher cache at the pixels the points are paired with."""
import os
from typing import Dict, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

from ...engine.runtime import resolve_cache_dir
from ..camera_geometry import image_size
from ...teachers.cache import CacheError, TeacherCache, image_key
from ...vocabulary import load_class_dictionary


def point_regions(cam: np.ndarray, pixel: np.ndarray,
                  region_maps: Sequence[Optional[np.ndarray]],
                  num_regions: Sequence[int]) -> np.ndarray:
    """Per point, the teacher region at its paired pixel, numbered across the cameras.

    Args:
        cam: (N,) camera index per point (-1: unpaired); pixel: (N, 2) (u, v);
        region_maps: per camera an (H, W) map (0 = no region, k = region k) or None when no
            point is paired with that camera; num_regions: per camera its number of
            regions (the numbering offset of the next camera).
    Returns:
        (N,) int64: region index into the concatenation of the cameras' regions, -1 when the
        point is unpaired or falls on no region.
    """
    out = np.full(cam.shape[0], -1, dtype=np.int64)
    offset = 0
    for c, (region_map, k) in enumerate(zip(region_maps, num_regions)):
        if region_map is None:
            offset += k
            continue
        idx = np.flatnonzero(cam == c)
        h, w = region_map.shape
        region = region_map[np.clip(pixel[idx, 1], 0, h - 1),
                            np.clip(pixel[idx, 0], 0, w - 1)].astype(np.int64)
        has = region > 0
        out[idx[has]] = region[has] - 1 + offset
        offset += k
    return out


@TRANSFORMS.register_module()
class LoadTeacherCache(BaseTransform):
    """Per point, the teacher region (superpixel) at its paired pixel.

    ``cache_dir``, ``dictionary`` and ``teacher`` come from the config's one teacher setting
    (``teacher``, ``dictionary``, ``teacher_cache_dir``): AFOV's tools fill them in
    (:func:`afov_plugin.engine.apply_teacher_setting`); leave them out of pipelines.

    Args:
        cache_dir: the cache folder written by ``tools/cache_teacher.py``; a relative path is
            relative to the dataset root (so a dataset folder carries its caches).
        data_root: the dataset's root (cache keys are image paths relative to it); by default
            the ``data_root`` that AFOV's datasets put in every sample.
        dictionary: the class dictionary the cache must have been made with (refused
            otherwise).
        teacher: the teacher name the cache must hold (refused otherwise).
        with_text_bank: also add ``text_bank`` (P, D) float32, the cache's prompt embeddings
            (TMP's text loss).
        with_region_maps: also add ``region_maps``, per camera of ``pair_cameras`` its (H, W)
            region map (0 = no region, k = the camera's region k) or None where no point is
            paired (:class:`MCFATargets` reads and removes them).

    Required keys: ``pts_cam`` (N,) int8, ``pts_pixel`` (N, 2) int32 and ``pair_cameras`` from
    :class:`PointPixelPairing`; ``images`` {cam: {img_path}}.
    Added keys: ``pts_region`` (N,) int64, index into the sample's regions (-1: unpaired or
    no region); ``region_prompt`` (R,) int64; ``region_feat`` (R, D) float32;
    ``region_camera`` (R,) int64 camera index of each region.
    """

    def __init__(self, cache_dir: Optional[str] = None, dictionary: Optional[str] = None,
                 data_root: Optional[str] = None, teacher: Optional[str] = None,
                 with_text_bank: bool = False, with_region_maps: bool = False) -> None:
        if cache_dir is None or dictionary is None:
            raise ValueError('LoadTeacherCache has no cache_dir / dictionary: build the '
                             'dataset through tools/train.py, tools/test.py or '
                             'afov_plugin.engine.apply_teacher_setting(cfg), which set them '
                             "from the config's teacher, dictionary and teacher_cache_dir")
        self.with_text_bank = with_text_bank
        self.with_region_maps = with_region_maps
        self.cache_dir = cache_dir
        self.data_root = data_root
        self.dictionary = load_class_dictionary(dictionary)
        self.teacher = teacher
        self._cache: Optional[TeacherCache] = None

    def cache(self, root: str) -> TeacherCache:
        if self._cache is None:  # opened lazily: dataloader workers each open their own
            self._cache = TeacherCache.open(resolve_cache_dir(self.cache_dir, root),
                                            self.dictionary, self.teacher)
        return self._cache

    def transform(self, results: Dict) -> Dict:
        cams = results['pts_cam']
        pix = results['pts_pixel']
        names = results['pair_cameras']
        prompts, feats, region_cam, maps = [], [], [], []
        if self.data_root is None and not results.get('data_root'):
            raise KeyError('LoadTeacherCache needs data_root: use an AFOV dataset '
                           '(NuScenesSegDataset, SemanticKittiMMDataset) or set data_root')
        root = os.path.abspath(self.data_root or results['data_root'])
        for c, name in enumerate(names):
            if not (cams == c).any():
                maps.append(None)
                prompts.append(np.zeros(0, np.int64))
                continue
            path = os.path.abspath(results['images'][name]['img_path'])
            key = image_key(os.path.relpath(path, root))
            out = self.cache(root).read(key)
            image = results['images'][name]
            size = image_size(image, name)
            if tuple(out.region_map.shape) != size:
                raise CacheError(
                    f'teacher cache entry {key} in {self.cache(root).root}: region map '
                    f'{out.region_map.shape[1]}x{out.region_map.shape[0]}, image {size[1]}x'
                    f'{size[0]} ({path}); the cache was written at another image scale: '
                    'rerun tools/cache_teacher.py on these images into a new cache folder')
            maps.append(out.region_map)
            prompts.append(out.region_prompt)
            feats.append(out.region_feat.astype(np.float32))
            region_cam.append(np.full(out.num_regions, c, dtype=np.int64))
        pts_region = point_regions(cams, pix, maps, [len(p) for p in prompts])
        dim = self.cache(root).manifest['feature_dim']
        results['pts_region'] = pts_region
        results['region_prompt'] = np.concatenate(prompts) if prompts else np.zeros(0, np.int64)
        results['region_feat'] = np.concatenate(feats) if feats else np.zeros(
            (0, dim), np.float32)
        results['region_camera'] = np.concatenate(region_cam) if region_cam else \
            np.zeros(0, np.int64)
        if self.with_text_bank:
            results['text_bank'] = self.cache(root).text_bank()
        if self.with_region_maps:
            results['region_maps'] = maps
        return results
