"""The teacher pass: run a teacher over a dataset's camera images into a cache (sharded,
resumable, verified). Driven by ``tools/cache_teacher.py``. Images are decoded by DataLoader
workers and entries written by writer threads, so the forward runs back to back; where an
entry lives is :class:`TeacherCache`'s business only."""
import inspect
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import cv2
import numpy as np
import torch
from mmengine.logging import print_log
from mmdet3d.registry import MODELS
from torch.utils.data import DataLoader
from tqdm import tqdm

from .cache import TeacherCache, image_key


@dataclass
class CacheReport:
    images: int = 0
    written: int = 0
    skipped: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failures: List[str] = field(default_factory=list)
    # where the pass's time went, seen from the thread that runs the forwards: in the
    # teacher's forwards, waiting for decoded images, waiting for the writers (full queue,
    # final flush); forward_seconds / seconds near 1 means the teacher never waited
    forward_seconds: float = 0.0
    input_wait_seconds: float = 0.0
    writer_wait_seconds: float = 0.0

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    @property
    def forward_busy(self) -> float:
        return self.forward_seconds / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return dict(images=self.images, written=self.written, skipped=self.skipped,
                    bytes=self.bytes, seconds=round(self.seconds, 2),
                    images_per_second=round(self.images_per_second, 2),
                    forward_seconds=round(self.forward_seconds, 2),
                    input_wait_seconds=round(self.input_wait_seconds, 2),
                    writer_wait_seconds=round(self.writer_wait_seconds, 2),
                    forward_busy=round(self.forward_busy, 3), failures=self.failures)


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


def split_dataset_cfg(cfg, split: str) -> dict:
    """The dataset of a config's ``train`` / ``val`` / ``test`` loader, cameras on, no
    pipeline (only its infos are read)."""
    loader = {'train': cfg.train_dataloader, 'val': cfg.val_dataloader,
              'test': cfg.test_dataloader}[split]
    ds = loader.dataset.copy()
    ds.pipeline = []
    ds.modality = dict(ds.get('modality', {}), use_camera=True)
    ds.test_mode = True
    return ds


def config_images(cfg, splits=('train', 'val')) -> List[Tuple[str, str]]:
    """(cache key, absolute path) of every camera image of the config's ``splits``, sorted,
    each once: what ``tools/cache_teacher.py`` caches."""
    from mmdet3d.registry import DATASETS
    images = []
    for split in splits:
        images += dataset_images(DATASETS.build(split_dataset_cfg(cfg, split)))
    return sorted(dict(images).items())


def shard(items: list, index: int, count: int) -> list:
    if not 0 <= index < count:
        raise ValueError(f'shard {index}/{count}: index must be in 0..{count - 1}')
    return items[index::count]


class _ImageList(torch.utils.data.Dataset):
    """(key, path) → (key, path, RGB uint8 image or None, failure message or None): read
    and decoded in the DataLoader's workers. A missing or unreadable image is returned as a
    failure, never raised, so that one bad file does not stop the pass."""

    def __init__(self, items: List[Tuple[str, str]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        key, path = self.items[i]
        try:
            img = cv2.imread(path, cv2.IMREAD_COLOR)
        except Exception as err:  # cv2 raises on some malformed files instead of None
            img, why = None, f'{type(err).__name__}: {str(err)[:80]}'
        else:
            why = 'missing or unreadable image'
        if img is None:
            return key, path, None, f'{path}: {why} (skipped; restore it and rerun)'
        return key, path, np.ascontiguousarray(img[:, :, ::-1]), None


def _as_list(batch):
    return batch


def _worker_init(_):
    cv2.setNumThreads(1)  # one decode per worker process; the workers are the parallelism


def image_loader(items: List[Tuple[str, str]], batch_size: int, workers: int,
                 prefetch: int = 2) -> DataLoader:
    """Batches of decoded images in ``items`` order, read by ``workers`` processes (0: in this
    one), ``prefetch`` batches ahead per worker."""
    if workers < 0:
        raise ValueError(f'workers must be >= 0, got {workers}')
    extra = dict(prefetch_factor=prefetch, worker_init_fn=_worker_init) if workers else {}
    return DataLoader(_ImageList(items), batch_size=batch_size, shuffle=False,
                      num_workers=workers, collate_fn=_as_list, **extra)


class EntryWriter:
    """Encodes, checksums, compresses and writes entries (``TeacherCache.write``) on
    ``threads`` threads, fed through a queue of at most ``max_pending`` outputs (the forward
    waits when the writers fall behind, so memory stays bounded). The first write error is
    raised in the feeding thread by the next :meth:`submit` or by :meth:`close`; close
    writes everything submitted before it returns (also when the pass itself failed)."""

    def __init__(self, cache: TeacherCache, threads: int = 2, max_pending: int = 32) -> None:
        if threads < 1:
            raise ValueError(f'writer threads must be >= 1, got {threads}')
        self.cache = cache
        self.written = 0
        self.bytes = 0
        self.errors: List[Tuple[str, BaseException]] = []
        self._queue: 'queue.Queue' = queue.Queue(max(1, max_pending))
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f'afov-cache-writer-{i}',
                                          daemon=True) for i in range(threads)]
        self._closed = False
        for t in self._threads:
            t.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            key, output = item
            try:
                size = self.cache.write(key, output)
            except BaseException as err:  # noqa: B902 -- handed to the feeding thread
                with self._lock:
                    self.errors.append((key, err))
            else:
                with self._lock:
                    self.written += 1
                    self.bytes += size

    def raise_error(self) -> None:
        with self._lock:
            if not self.errors:
                return
            key, err = self.errors[0]
            more = len(self.errors) - 1
        print_log(f'writing the cache entry of {key} failed: {type(err).__name__}: {err}'
                  + (f' (and {more} more writes)' if more else ''), logger='current', level=40)
        raise err

    def submit(self, key: str, output) -> None:
        self.raise_error()
        self._queue.put((key, output))  # blocks while max_pending outputs wait

    def close(self, raise_error: bool = True) -> None:
        if not self._closed:
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)
            for t in self._threads:
                t.join()
        if raise_error:
            self.raise_error()


def run_teacher_pass(teacher, cache: TeacherCache, images: List[Tuple[str, str]],
                     batch_size: int = 4, verify_existing: bool = True,
                     show_progress: bool = True, desc: str = 'teacher', workers: int = 2,
                     writer_threads: int = 2, max_pending: Optional[int] = None) -> CacheReport:
    """Write the cache entry of every image not yet cached (done entries are skipped after
    their checksum is verified; corrupt ones are rewritten).

    Three stages run at once so that the teacher's device never waits: ``workers``
    DataLoader processes read and decode the images (0: this process), this thread runs the
    forward, ``writer_threads`` threads encode and write the entries (bounded queue of
    ``max_pending`` outputs, default 4 batches). A missing or unreadable image is a failure
    in the report; a failed write is raised here (after the others are written)."""
    report = CacheReport(images=len(images))
    for path in cache.remove_stale_temp_files():
        print_log(f'removed {path}, left by a writer that was killed', logger='current')
    keys = [key for key, _ in images]
    done = cache.has_many(keys, verify=verify_existing, workers=workers)
    todo = [item for item, ok in zip(images, done) if not ok]
    report.skipped = len(images) - len(todo)
    start = time.time()
    bar = tqdm(total=len(todo), desc=desc, disable=not show_progress, unit='img')
    # the DataLoader forks its workers here, before the writer threads exist
    batches = iter(image_loader(todo, batch_size, workers) if todo else [])
    writer = EntryWriter(cache, writer_threads,
                         max_pending if max_pending is not None else 4 * batch_size)
    ok = False
    clock = time.perf_counter
    try:
        while True:
            t = clock()
            batch = next(batches, None)
            report.input_wait_seconds += clock() - t
            if batch is None:
                break
            imgs, metas = [], []
            for key, path, img, failure in batch:
                if img is None:
                    report.failures.append(failure)
                    print_log(failure, logger='current', level=30)
                    continue
                imgs.append(img)
                metas.append(dict(img_path=path, key=key))
            if imgs:
                t = clock()
                outs = teacher.predict(imgs, metas)
                report.forward_seconds += clock() - t
                t = clock()
                for meta, out in zip(metas, outs):
                    writer.submit(meta['key'], out)
                report.writer_wait_seconds += clock() - t
            bar.update(len(batch))
        ok = True
    finally:
        t = clock()
        writer.close(raise_error=ok)  # what was submitted is written; a pass error wins
        report.writer_wait_seconds += clock() - t
        bar.close()
        del batches  # stops the DataLoader workers
    report.written, report.bytes = writer.written, writer.bytes
    report.seconds = time.time() - start
    return report


def verify_cache(cache: TeacherCache, images: Optional[List[Tuple[str, str]]] = None,
                 workers: int = 0) -> dict:
    """Verify every entry (on ``workers`` threads); with ``images``, also list the ones
    missing."""
    result = cache.verify(workers=workers)
    if images is not None:
        result['missing'] = cache.missing(k for k, _ in images)
    return result
