"""The teacher pass: run a teacher over a dataset's camera images into a cache (sharded,
resumable, verified). Driven by ``tools/cache_teacher.py``."""
import inspect
import os
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import cv2
import torch
from mmengine.logging import print_log
from mmdet3d.registry import MODELS
from tqdm import tqdm

from ..fileio import remove_stale_temp_files
from .cache import TeacherCache, image_key


@dataclass
class CacheReport:
    images: int = 0
    written: int = 0
    skipped: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failures: List[str] = field(default_factory=list)

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return dict(images=self.images, written=self.written, skipped=self.skipped,
                    bytes=self.bytes, seconds=round(self.seconds, 2),
                    images_per_second=round(self.images_per_second, 2),
                    failures=self.failures)


def teacher_config_for_device(teacher_cfg: dict, device: torch.device) -> dict:
    """``teacher_cfg`` set to run on this rank's ``device`` when the teacher takes a device
    and the config leaves it open (None or plain 'cuda'); an explicit 'cpu' or 'cuda:k' is
    kept."""
    cfg = dict(teacher_cfg)
    params = inspect.signature(MODELS.get(cfg['type'])).parameters
    if 'device' in params and cfg.get('device') in (None, 'cuda'):
        cfg['device'] = str(device)
    return cfg


def dataset_images(dataset) -> List[Tuple[str, str]]:
    """(cache key, absolute path) of every camera image of an mmdet3d dataset built with
    ``modality.use_camera=True`` (paths are joined with the data prefixes by the dataset)."""
    root = os.path.abspath(dataset.data_root or '')
    out = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        for cam in info.get('images', {}).values():
            if 'img_path' not in cam:
                continue
            path = os.path.abspath(cam['img_path'])  # already joined with data_root
            out[image_key(os.path.relpath(path, root))] = path
    return sorted(out.items())


def shard(items: list, index: int, count: int) -> list:
    if not 0 <= index < count:
        raise ValueError(f'shard {index}/{count}: index must be in 0..{count - 1}')
    return items[index::count]


def run_teacher_pass(teacher, cache: TeacherCache, images: List[Tuple[str, str]],
                     batch_size: int = 4, verify_existing: bool = True,
                     show_progress: bool = True, desc: str = 'teacher') -> CacheReport:
    """Write the cache entry of every image not yet cached (done entries are skipped after
    their checksum is verified; corrupt ones are rewritten)."""
    report = CacheReport(images=len(images))
    for path in remove_stale_temp_files(os.path.join(cache.root, 'entries')):
        print_log(f'removed {path}, left by a writer that was killed', logger='current')
    todo = []
    for key, path in images:
        if cache.has(key, verify=verify_existing):
            report.skipped += 1
        else:
            todo.append((key, path))
    start = time.time()
    bar = tqdm(total=len(todo), desc=desc, disable=not show_progress, unit='img')
    for b in range(0, len(todo), batch_size):
        batch = todo[b:b + batch_size]
        imgs, metas = [], []
        for key, path in batch:
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                msg = f'{path}: missing or unreadable image (skipped; restore it and rerun)'
                report.failures.append(msg)
                print_log(msg, logger='current', level=30)
                continue
            imgs.append(img[:, :, ::-1])
            metas.append(dict(img_path=path, key=key))
        if imgs:
            for meta, out in zip(metas, teacher.predict(imgs, metas)):
                report.bytes += cache.write(meta['key'], out)
                report.written += 1
        bar.update(len(batch))
    bar.close()
    report.seconds = time.time() - start
    return report


def verify_cache(cache: TeacherCache, images: Optional[List[Tuple[str, str]]] = None) -> dict:
    """Verify every entry; with ``images``, also list the ones missing."""
    result = cache.verify()
    if images is not None:
        result['missing'] = [k for k, _ in images if not os.path.isfile(cache.entry_path(k))]
    return result
