"""Read the teacher cache at the pixels the points are paired with."""
import os
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

from ...engine.runtime import resolve_cache_dir
from ...teachers.cache import TeacherCache, image_key
from ..class_dictionary import load_class_dictionary


@TRANSFORMS.register_module()
class LoadTeacherCache(BaseTransform):
    """Per point, the teacher region (superpixel) at its paired pixel.

    Args:
        cache_dir: the cache folder written by ``tools/cache_teacher.py``; a relative path is
            relative to the dataset root (so a dataset folder carries its caches).
        data_root: the dataset's root (cache keys are image paths relative to it); by default
            the ``data_root`` that AFOV's datasets put in every sample.
        dictionary: the class dictionary the cache must have been made with (refused
            otherwise).
        teacher: optional teacher name the cache must hold.
        with_text_bank: also add ``text_bank`` (P, D) float32, the cache's prompt embeddings
            (TMP's text loss).

    Required keys: ``pts_cam`` (N,) int8, ``pts_pixel`` (N, 2) int32 and ``pair_cameras`` from
    :class:`PointPixelPairing`; ``images`` {cam: {img_path}}.
    Added keys: ``pts_region`` (N,) int64, index into the sample's regions (-1: unpaired or
    no region); ``region_prompt`` (R,) int64; ``region_feat`` (R, D) float32;
    ``region_camera`` (R,) int64 camera index of each region.
    """

    def __init__(self, cache_dir: str, dictionary: str, data_root: Optional[str] = None,
                 teacher: Optional[str] = None, with_text_bank: bool = False) -> None:
        self.with_text_bank = with_text_bank
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
        n = cams.shape[0]
        pts_region = np.full(n, -1, dtype=np.int64)
        prompts, feats, region_cam = [], [], []
        offset = 0
        if self.data_root is None and not results.get('data_root'):
            raise KeyError('LoadTeacherCache needs data_root: use an AFOV dataset '
                           '(NuScenesSegDataset, SemanticKittiMMDataset) or set data_root')
        root = os.path.abspath(self.data_root or results['data_root'])
        for c, name in enumerate(names):
            idx = np.flatnonzero(cams == c)
            if idx.size == 0:
                continue
            path = os.path.abspath(results['images'][name]['img_path'])
            out = self.cache(root).read(image_key(os.path.relpath(path, root)))
            h, w = out.region_map.shape
            u = np.clip(pix[idx, 0], 0, w - 1)
            v = np.clip(pix[idx, 1], 0, h - 1)
            region = out.region_map[v, u].astype(np.int64)  # 0 = none, k = region k
            has = region > 0
            pts_region[idx[has]] = region[has] - 1 + offset
            k = out.num_regions
            prompts.append(out.region_prompt)
            feats.append(out.region_feat.astype(np.float32))
            region_cam.append(np.full(k, c, dtype=np.int64))
            offset += k
        dim = self.cache(root).manifest['feature_dim']
        results['pts_region'] = pts_region
        results['region_prompt'] = np.concatenate(prompts) if prompts else np.zeros(0, np.int64)
        results['region_feat'] = np.concatenate(feats) if feats else np.zeros(
            (0, dim), np.float32)
        results['region_camera'] = np.concatenate(region_cam) if region_cam else \
            np.zeros(0, np.int64)
        if self.with_text_bank:
            results['text_bank'] = self.cache(root).text_bank()
        return results
