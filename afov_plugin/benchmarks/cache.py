"""The ``cache`` suite: the teacher cache's size and read time vs the reference layout and
vs decoding the JPEGs, and the teacher pass (tiny random SAN, CPU) vs its bare forward."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
from typing import List, Tuple

import numpy as np
import torch

from .data import REPO, frame_info, repo_path, teacher_cache_folder
from .report import OUT, save
from .timing import interleaved_ratio, peak_mb, peak_rss_mb, ratio_fields, rss_mb

TINY_SAN_CONFIG = 'configs/afov/teachers/san-tiny_random_mmseg.py'
CACHE_PASS_SHORT_SIDE = 224   # the tiny SAN's input short side in the pass benchmark
CACHE_PASS_IMAGES = 48        # camera JPEGs of --data-root (eight nuScenes frames): the
#                               DataLoader's start (fork, first batch) is in the pass's time
CACHE_PASS_BATCH = 6
CACHE_PASS_WORKERS = 2
READ_PAIRS = 10               # interleaved pairs of the read figures (5 reads per sample)
PASS_PAIRS = 3                # interleaved pairs of the pass vs the bare forward


def bench_cache(root: str) -> dict:
    """Bytes per image and six-image read time of the cache vs the reference layout (uint8
    PNG + float32 tensor file + JSON) and vs decoding the six JPEGs (interleaved pairs),
    then :func:`bench_cache_pass`."""
    import cv2
    from ..teachers import TeacherCache, image_key
    cache = TeacherCache.open(teacher_cache_folder(root))
    info = frame_info(root)
    keys, jpgs = [], []
    for cam, c in info['images'].items():
        rel = osp.join('samples', cam, c['img_path'])
        keys.append(image_key(rel))
        jpgs.append(osp.join(root, rel))
    ref_dir = osp.join(OUT, 'reference_layout')
    os.makedirs(ref_dir, exist_ok=True)
    ours_bytes = ref_bytes = 0
    for k in keys:
        out = cache.read(k)
        ours_bytes += os.path.getsize(cache.entry_path(k))
        # the reference layout: uint8 PNG + float32 (K+1)xD tensor (torch.save) + JSON
        cv2.imwrite(osp.join(ref_dir, k + '.png'), out.region_map.astype(np.uint8))
        feat = np.vstack([np.zeros((1, out.region_feat.shape[1])), out.region_feat])
        torch.save(torch.from_numpy(feat.astype(np.float32)), osp.join(ref_dir, k + '.pt'))
        with open(osp.join(ref_dir, k + '.json'), 'w') as f:
            json.dump({str(i + 1): dict(prompt=int(p), area=int((out.region_map == i + 1).sum()))
                       for i, p in enumerate(out.region_prompt)}, f)
        ref_bytes += sum(os.path.getsize(osp.join(ref_dir, k + e))
                         for e in ('.png', '.pt', '.json'))

    def read_ours():
        return [cache.read(k) for k in keys]

    def read_json(path):
        with open(path) as f:
            return json.load(f)

    def read_reference():
        return [(cv2.imread(osp.join(ref_dir, k + '.png'), cv2.IMREAD_UNCHANGED),
                 torch.load(osp.join(ref_dir, k + '.pt')),
                 read_json(osp.join(ref_dir, k + '.json'))) for k in keys]

    def decode_jpegs():
        return [cv2.imread(p) for p in jpgs]

    vs_jpeg = interleaved_ratio(read_ours, decode_jpegs, READ_PAIRS, number=5)
    vs_ref = interleaved_ratio(read_ours, read_reference, READ_PAIRS, number=5)
    h, w = cache.read(keys[0]).region_map.shape
    result = dict(
        image_size=f'{w}x{h}', images=len(keys), bytes_per_image=ours_bytes // len(keys),
        reference_bytes_per_image=ref_bytes // len(keys),
        bytes_ratio_vs_reference=round(ours_bytes / ref_bytes, 3),
        read_six_s=round(vs_jpeg['candidate_s'], 4),
        reference_read_six_s=round(vs_ref['baseline_s'], 4),
        jpeg_decode_six_s=round(vs_jpeg['baseline_s'], 4),
        **ratio_fields('read_ratio_vs_jpeg', vs_jpeg),
        **ratio_fields('read_ratio_vs_reference', vs_ref),
        pairs=READ_PAIRS, peak_mb=peak_mb(read_ours), **bench_cache_pass(root))
    save('cache', result)
    return result


def tiny_san(dictionary: str = 'nuscenes', prompt_chunk: int = 16):
    """The tiny random-weight SAN teacher of the pass benchmark (CPU, seeded)."""
    from ..teachers import MMSegOVTeacher
    from ..teachers.mmseg_ov import seeded_clip_text_init
    torch.manual_seed(0)
    return MMSegOVTeacher(repo_path(TINY_SAN_CONFIG), None, dictionary,
                          short_side=CACHE_PASS_SHORT_SIDE, device='cpu',
                          init_fn=seeded_clip_text_init, batch_size=CACHE_PASS_BATCH,
                          prompt_chunk=prompt_chunk)


def cache_pass_jpegs(root: str, n: int = CACHE_PASS_IMAGES) -> List[Tuple[str, str]]:
    """n (key, path) of the camera JPEGs of ``root`` (cycled, with new keys, if fewer)."""
    import glob
    from ..teachers import image_key
    paths = sorted(glob.glob(osp.join(root, 'samples', 'CAM_*', '*.jpg')))[:n]
    assert paths, f'no samples/CAM_*/*.jpg under {root}'
    return [(image_key(osp.relpath(paths[i % len(paths)], root)) +
             (f'~{i // len(paths)}' if i >= len(paths) else ''), paths[i % len(paths)])
            for i in range(n)]


def cache_pass_memory(root: str, dictionary: str, prompt_chunk: int, out_dir: str) -> dict:
    """(Run in a fresh process started with a fixed MALLOC_MMAP_THRESHOLD_, so that every
    large buffer is mapped on allocation and unmapped on free: RSS then follows what is
    live.) Peak RSS of the teacher pass (one batch, DataLoader workers=0 so that decoding is
    in this process too) above the RSS just before it, in MB, after a warm-up pass and
    malloc_trim."""
    import ctypes
    from ..teachers import TeacherCache, run_teacher_pass
    teacher = tiny_san(dictionary, prompt_chunk)
    items = cache_pass_jpegs(root, CACHE_PASS_BATCH)
    for name in ('warmup', 'measured'):
        cache = TeacherCache.create(osp.join(out_dir, name), teacher, teacher.dictionary)
        ctypes.CDLL('libc.so.6').malloc_trim(0)
        before = rss_mb()
        peak = peak_rss_mb(lambda: run_teacher_pass(teacher, cache, items, CACHE_PASS_BATCH,
                                                    workers=0, show_progress=False))
    return dict(prompts=len(teacher.dictionary.prompts), prompt_chunk=prompt_chunk,
                rss_before_mb=round(before, 1), peak_rss_mb=peak,
                pass_peak_above_start_mb=round(peak - before, 1))


def _small_dictionary(path: str, prompts: int = 20) -> str:
    """Write a ``prompts``-prompt version of the nuScenes dictionary (one prompt of the first
    group of each class, then of the next groups) to ``path``."""
    from ..vocabulary import BUILTIN, DICTIONARY_DIR
    with open(osp.join(DICTIONARY_DIR, BUILTIN['nuscenes'])) as f:
        raw = json.load(f)
    first = {}
    for i, g in enumerate(raw['groups']):
        first.setdefault(g['eval_class_id'], i)
    keep = set(first.values())
    keep |= set([i for i in range(len(raw['groups'])) if i not in keep][:prompts - len(keep)])
    raw['groups'] = [dict(g, prompts=g['prompts'][:1]) for i, g in enumerate(raw['groups'])
                     if i in keep]
    with open(path, 'w') as f:
        json.dump(raw, f)
    return path


def _memory_in_fresh_process(root: str, dictionary: str, chunk: int, out_dir: str) -> dict:
    """:func:`cache_pass_memory` in a child interpreter (same thread count as this one)."""
    code = (f'import sys, json; sys.path.insert(0, {REPO!r}); '
            'from afov_plugin.benchmarks.timing import fix_threads; '
            'from afov_plugin.benchmarks.cache import cache_pass_memory; '
            f'fix_threads({torch.get_num_threads()}); '
            'print("RESULT", json.dumps(cache_pass_memory('
            f'{root!r}, {dictionary!r}, {chunk}, {out_dir!r})))')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=1200, env=dict(os.environ, MALLOC_MMAP_THRESHOLD_='131072'))
    line = [x for x in proc.stdout.splitlines() if x.startswith('RESULT ')]
    assert proc.returncode == 0 and line, proc.stderr[-2000:]
    return json.loads(line[-1][len('RESULT '):])


def bench_cache_pass(root: str) -> dict:
    """The teacher pass of tools/cache_teacher.py (DataLoader with 2 workers, writer threads)
    vs the bare forward of the same teacher on the same, already decoded, images
    (interleaved pairs); and the pass's memory with the nuScenes dictionary (175 prompts) vs
    a 20-prompt one, each in a fresh process (:func:`cache_pass_memory`: peak RSS above the
    RSS before the pass; tracemalloc does not see torch's allocations), also with the prompts
    in one chunk (the unchunked argmax's memory) for contrast."""
    import cv2
    from ..teachers import TeacherCache, run_teacher_pass
    items = cache_pass_jpegs(root)
    teacher = tiny_san()
    images = [cv2.imread(p)[:, :, ::-1].copy() for _, p in items]
    metas = [dict(img_path=p, key=k) for k, p in items]
    b = CACHE_PASS_BATCH

    def forward():
        for i in range(0, len(images), b):
            teacher.predict(images[i:i + b], metas[i:i + b])
    tmp = tempfile.mkdtemp(prefix='afov_cache_pass_')
    try:
        # one fresh cache folder per pass, made before the timing
        caches = iter([TeacherCache.create(osp.join(tmp, f'pass{r}'), teacher,
                                           teacher.dictionary) for r in range(PASS_PAIRS + 1)])
        reports = []

        def cache_pass():
            report = run_teacher_pass(teacher, next(caches), items, b,
                                      workers=CACHE_PASS_WORKERS, show_progress=False)
            assert report.written == len(items) and not report.failures, report.as_dict()
            reports.append(report)
        r = interleaved_ratio(cache_pass, forward, PASS_PAIRS, warmup=1)
        timed = reports[1:]  # the warm-up pass is not timed
        typical = timed[int(np.argsort(r['candidate_times'])[len(timed) // 2])]
        small = _small_dictionary(osp.join(tmp, 'dictionary_20_prompts.json'))
        mem = {name: _memory_in_fresh_process(root, dictionary, chunk,
                                              osp.join(tmp, 'mem_' + name))
               for name, dictionary, chunk in (('175', 'nuscenes', 16), ('20', small, 16),
                                               ('175_one_chunk', 'nuscenes', 175))}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    m175, m20 = mem['175']['pass_peak_above_start_mb'], mem['20']['pass_peak_above_start_mb']
    return dict(
        pass_teacher=f'tiny random SAN ({TINY_SAN_CONFIG}), CPU',
        pass_images=len(items), pass_image_size=f'{images[0].shape[1]}x{images[0].shape[0]}',
        pass_short_side=CACHE_PASS_SHORT_SIDE, pass_batch=b, pass_workers=CACHE_PASS_WORKERS,
        bare_forward_images_per_s=round(len(items) / r['baseline_s'], 2),
        pass_images_per_s=round(len(items) / r['candidate_s'], 2),
        # throughput ratio: forward seconds / pass seconds, per interleaved pair
        **ratio_fields('pass_over_forward', r, invert=True), pass_pairs=PASS_PAIRS,
        target_pass_over_forward=0.9,
        # seen from the forward's thread in the pass of median time: the share of the pass
        # spent in forwards (1 = never idle) and the forward's own speed there (other stages
        # share the CPU here; on a GPU they do not slow the device)
        pass_forward_busy=round(typical.forward_busy, 3),
        pass_input_wait_s=round(typical.input_wait_seconds, 2),
        pass_writer_wait_s=round(typical.writer_wait_seconds, 2),
        pass_forward_images_per_s=round(typical.written / typical.forward_seconds, 2),
        pass_timing=f'{PASS_PAIRS} interleaved pairs (ABBA) after a warm-up of each (whole '
                    'run_teacher_pass call, DataLoader start included; forward: '
                    'teacher.predict on decoded images); medians, min/max per pair',
        pass_memory_method='peak RSS above the RSS before the pass (sampled every 2 ms), '
                           'fresh process each with MALLOC_MMAP_THRESHOLD_=131072, after a '
                           'warm-up pass and malloc_trim; DataLoader workers=0, 6 images in '
                           'one batch',
        pass_peak_mb_175_prompts=m175, pass_peak_mb_20_prompts=m20,
        pass_peak_ratio_175_vs_20=round(m175 / m20, 3) if m20 > 0 else None,
        target_peak_ratio=1.2,
        pass_peak_mb_175_prompts_one_chunk=mem['175_one_chunk']['pass_peak_above_start_mb'],
        pass_memory=mem)
