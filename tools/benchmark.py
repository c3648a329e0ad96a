"""Benchmarks: every figure is a ratio against a baseline measured in the same run.

  python tools/benchmark.py [--data-root data/synthetic_nuscenes] [--only cache,pairing,...]

Run from the repository root. --data-root: a synthetic nuScenes set with its infos and the
simulated-san teacher cache (tools/demo.sh steps 1-4; when it is missing the tool prints the
commands that write it). Writes work_dirs/benchmark/<name>.json and prints a summary. Suites:
  cache     bytes per image and six-image read time of the cache vs the reference layout
            (uint8 PNG + float32 tensor file + JSON) and vs decoding the six JPEGs; the
            teacher pass (tiny random SAN, CPU): caching throughput vs the teacher's bare
            forward on the same JPEGs, and its peak memory with 175 vs 20 prompts
  pairing   PointPixelPairing + pseudo-labels of a frame vs nuscenes-devkit's per-camera
            map_pointcloud_to_image on the same frame (identical pixels checked)
  synthetic generation time of one nuScenes-like frame (full 1600x900 images)
  stage2    stage-2 training iteration vs plain mmdet3d MinkUNet (same data, GT labels)
  tmp       TMP training iteration vs stage-2 training iteration (same data, same trunk)
  afi       AFI on a nuScenes-sized scan vs a forward of the stage-2 MinkUNet on the same scan;
            4x the points; repair of 20 % label noise on a ground-and-wall scene; peak memory
"""
import argparse
import json
import os
import os.path as osp
import pickle
import sys
import time
import tracemalloc

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402

OUT = 'work_dirs/benchmark'


def timeit(fn, repeat=5):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def peak_mb(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return round(peak / 1e6, 1)


def peak_rss_mb(fn) -> float:
    """Peak resident memory (MB) of the process while ``fn`` runs, sampled every 2 ms: what
    the step needs on top of the interpreter, libraries and model (tracemalloc does not see
    torch's allocations, and a warmed-up allocator reuses freed memory, so a figure "above the
    start" would read 0)."""
    import threading

    def rss():
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    base, peak, done = rss(), [0], threading.Event()

    def poll():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)
    t = threading.Thread(target=poll)
    t.start()
    try:
        fn()
    finally:
        done.set()
        t.join()
    return round(max(peak[0], base) / 1e6, 1)


def save(name, result):
    from afov_plugin.fileio import atomic_write_text
    os.makedirs(OUT, exist_ok=True)
    atomic_write_text(osp.join(OUT, f'{name}.json'), json.dumps(result, indent=1))
    print(f'[{name}]', json.dumps({k: v for k, v in result.items() if not isinstance(v, dict)}))


def frame_info(root):
    infos = pickle.load(open(osp.join(root, 'nuscenes_infos_val.pkl'), 'rb'))['data_list']
    return infos[0]


def bench_cache(root):
    import cv2
    import torch
    from afov_plugin.teachers import TeacherCache, image_key
    cache_dir = osp.join(root, 'teacher_cache/simulated-san')
    cache = TeacherCache.open(cache_dir)
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
        json.dump({str(i + 1): dict(prompt=int(p), area=int((out.region_map == i + 1).sum()))
                   for i, p in enumerate(out.region_prompt)},
                  open(osp.join(ref_dir, k + '.json'), 'w'))
        ref_bytes += sum(os.path.getsize(osp.join(ref_dir, k + e))
                         for e in ('.png', '.pt', '.json'))

    def read_ours():
        return [cache.read(k) for k in keys]

    def read_reference():
        return [(cv2.imread(osp.join(ref_dir, k + '.png'), cv2.IMREAD_UNCHANGED),
                 torch.load(osp.join(ref_dir, k + '.pt')),
                 json.load(open(osp.join(ref_dir, k + '.json')))) for k in keys]

    def decode_jpegs():
        return [cv2.imread(p) for p in jpgs]

    t_ours, t_ref, t_jpg = timeit(read_ours), timeit(read_reference), timeit(decode_jpegs)
    h, w = cache.read(keys[0]).region_map.shape
    save('cache', dict(
        image_size=f'{w}x{h}', images=len(keys), bytes_per_image=ours_bytes // len(keys),
        reference_bytes_per_image=ref_bytes // len(keys),
        bytes_ratio_vs_reference=round(ours_bytes / ref_bytes, 3),
        read_six_s=round(t_ours, 4), reference_read_six_s=round(t_ref, 4),
        jpeg_decode_six_s=round(t_jpg, 4), read_ratio_vs_jpeg=round(t_ours / t_jpg, 3),
        peak_mb=peak_mb(read_ours), **bench_cache_pass(root)))


CACHE_PASS_SHORT_SIDE = 224   # the tiny SAN's input short side in the pass benchmark
CACHE_PASS_IMAGES = 48        # camera JPEGs of --data-root (eight nuScenes frames): the
#                               DataLoader's start (fork, first batch) is in the pass's time
CACHE_PASS_BATCH = 6


def _cache_pass_jpegs(root, n=CACHE_PASS_IMAGES):
    """n (key, path) of the camera JPEGs of ``root`` (cycled, with new keys, if fewer)."""
    import glob
    from afov_plugin.teachers import image_key
    paths = sorted(glob.glob(osp.join(root, 'samples', 'CAM_*', '*.jpg')))[:n]
    assert paths, f'no samples/CAM_*/*.jpg under {root}'
    return [(image_key(osp.relpath(paths[i % len(paths)], root)) +
             (f'~{i // len(paths)}' if i >= len(paths) else ''), paths[i % len(paths)])
            for i in range(n)]


def _tiny_san(dictionary='nuscenes', prompt_chunk=16):
    import torch
    from afov_plugin.teachers import MMSegOVTeacher
    tests = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tests')
    sys.path.insert(0, tests)
    from test_mmseg_teacher import CONFIG, fill_clip_text
    torch.manual_seed(0)
    return MMSegOVTeacher(osp.join(osp.dirname(tests), CONFIG), None, dictionary,
                          short_side=CACHE_PASS_SHORT_SIDE, device='cpu',
                          init_fn=fill_clip_text, batch_size=CACHE_PASS_BATCH,
                          prompt_chunk=prompt_chunk)


def cache_pass_memory(root, dictionary, prompt_chunk, out_dir):
    """(Run in a fresh process started with a fixed MALLOC_MMAP_THRESHOLD_, so that every
    large buffer is mapped on allocation and unmapped on free: RSS then follows what is
    live.) Peak RSS of the teacher pass (one batch, DataLoader workers=0 so that decoding is
    in this process too) above the RSS just before it, in MB, after a warm-up pass and
    malloc_trim."""
    import ctypes
    from afov_plugin.teachers import TeacherCache, run_teacher_pass
    teacher = _tiny_san(dictionary, prompt_chunk)
    items = _cache_pass_jpegs(root, CACHE_PASS_BATCH)
    for name in ('warmup', 'measured'):
        cache = TeacherCache.create(osp.join(out_dir, name), teacher, teacher.dictionary)
        ctypes.CDLL('libc.so.6').malloc_trim(0)
        with open('/proc/self/statm') as f:
            before = int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 1e6
        peak = peak_rss_mb(lambda: run_teacher_pass(teacher, cache, items, CACHE_PASS_BATCH,
                                                    workers=0, show_progress=False))
    return dict(prompts=len(teacher.dictionary.prompts), prompt_chunk=prompt_chunk,
                rss_before_mb=round(before, 1), peak_rss_mb=peak,
                pass_peak_above_start_mb=round(peak - before, 1))


def bench_cache_pass(root):
    """The teacher pass of tools/cache_teacher.py (DataLoader with 2 workers, writer threads)
    vs the bare forward of the same teacher on the same, already decoded, images; and the
    pass's memory with the nuScenes dictionary (175 prompts) vs a 20-prompt one, each in a
    fresh process (:func:`cache_pass_memory`: peak RSS above the RSS before the pass;
    tracemalloc does not see torch's allocations), also with the prompts in one chunk (the
    unchunked argmax's memory) for contrast."""
    import shutil
    import subprocess
    import tempfile
    import cv2
    from afov_plugin.datasets.class_dictionary import DICTIONARY_DIR, BUILTIN
    from afov_plugin.teachers import TeacherCache, run_teacher_pass
    items = _cache_pass_jpegs(root)
    teacher = _tiny_san()
    images = [cv2.imread(p)[:, :, ::-1].copy() for _, p in items]
    metas = [dict(img_path=p, key=k) for k, p in items]
    b = CACHE_PASS_BATCH

    def forward():
        for i in range(0, len(images), b):
            teacher.predict(images[i:i + b], metas[i:i + b])
    tmp = tempfile.mkdtemp(prefix='afov_cache_pass_')
    try:
        forward()  # warm-up
        t_fwd, t_pass, reports = [], [], []
        for r in range(3):  # interleaved, best of 3: the machine may be shared
            t = time.perf_counter()
            forward()
            t_fwd.append(time.perf_counter() - t)
            cache = TeacherCache.create(osp.join(tmp, f'pass{r}'), teacher, teacher.dictionary)
            t = time.perf_counter()
            report = run_teacher_pass(teacher, cache, items, b, workers=2,
                                      show_progress=False)
            t_pass.append(time.perf_counter() - t)
            assert report.written == len(items) and not report.failures, report.as_dict()
            reports.append(report)
        best = reports[int(np.argmin(t_pass))]
        fwd_ips = len(items) / min(t_fwd)
        pass_ips = len(items) / min(t_pass)
        raw = json.load(open(osp.join(DICTIONARY_DIR, BUILTIN['nuscenes'])))
        # 20 prompts: one of the first group of each class, then one of the next groups
        first = {}
        for i, g in enumerate(raw['groups']):
            first.setdefault(g['eval_class_id'], i)
        keep = set(first.values())
        keep |= set([i for i in range(len(raw['groups'])) if i not in keep][:20 - len(keep)])
        raw['groups'] = [dict(g, prompts=g['prompts'][:1]) for i, g in
                         enumerate(raw['groups']) if i in keep]
        small = osp.join(tmp, 'dictionary_20_prompts.json')
        with open(small, 'w') as f:
            json.dump(raw, f)
        mem = {}
        here = osp.dirname(osp.abspath(__file__))
        for name, dictionary, chunk in (('175', 'nuscenes', 16), ('20', small, 16),
                                        ('175_one_chunk', 'nuscenes', 175)):
            code = (f'import sys, json; sys.path.insert(0, {here!r}); '
                    f'sys.path.insert(0, {osp.dirname(here)!r}); import afov_plugin; '
                    'import benchmark; print("RESULT", json.dumps(benchmark.cache_pass_memory('
                    f'{root!r}, {dictionary!r}, {chunk}, {osp.join(tmp, "mem_" + name)!r})))')
            proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                                  timeout=1200,
                                  env=dict(os.environ, MALLOC_MMAP_THRESHOLD_='131072'))
            line = [x for x in proc.stdout.splitlines() if x.startswith('RESULT ')]
            assert proc.returncode == 0 and line, proc.stderr[-2000:]
            mem[name] = json.loads(line[-1][len('RESULT '):])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    m175, m20 = mem['175']['pass_peak_above_start_mb'], mem['20']['pass_peak_above_start_mb']
    return dict(
        pass_teacher='tiny random SAN (configs/afov/teachers/san-tiny_random_mmseg.py), CPU',
        pass_images=len(items), pass_image_size=f'{images[0].shape[1]}x{images[0].shape[0]}',
        pass_short_side=CACHE_PASS_SHORT_SIDE, pass_batch=b, pass_workers=2,
        bare_forward_images_per_s=round(fwd_ips, 2), pass_images_per_s=round(pass_ips, 2),
        pass_over_forward=round(pass_ips / fwd_ips, 3), target_pass_over_forward=0.9,
        # seen from the forward's thread in the best pass: the share of the pass spent in
        # forwards (1 = never idle) and the forward's own speed there (other stages share
        # the CPU here; on a GPU they do not slow the device)
        pass_forward_busy=round(best.forward_busy, 3),
        pass_input_wait_s=round(best.input_wait_seconds, 2),
        pass_writer_wait_s=round(best.writer_wait_seconds, 2),
        pass_forward_images_per_s=round(best.written / best.forward_seconds, 2),
        pass_timing='best of 3 interleaved rounds each (whole run_teacher_pass call, '
                    'DataLoader start included; forward: teacher.predict on decoded images)',
        pass_memory_method='peak RSS above the RSS before the pass (sampled every 2 ms), '
                           'fresh process each with MALLOC_MMAP_THRESHOLD_=131072, after a '
                           'warm-up pass and malloc_trim; DataLoader workers=0, 6 images in '
                           'one batch',
        pass_peak_mb_175_prompts=m175, pass_peak_mb_20_prompts=m20,
        pass_peak_ratio_175_vs_20=round(m175 / m20, 3) if m20 > 0 else None,
        target_peak_ratio=1.2,
        pass_peak_mb_175_prompts_one_chunk=mem['175_one_chunk']['pass_peak_above_start_mb'],
        pass_memory=mem)


def bench_pairing(root):
    from nuscenes import NuScenes
    from afov_plugin.datasets.transforms import (PointPixelPairing, PseudoLabelsAndSuperpoints,
                                                 point_regions, project_points)
    from afov_plugin.teachers import TeacherCache, image_key
    version = next(v for v in ('v1.0-trainval', 'v1.0-mini') if osp.isdir(osp.join(root, v)))
    nusc = NuScenes(version, root, verbose=False)
    info = frame_info(root)
    sample = nusc.get('sample', info['token'])
    pts = np.fromfile(osp.join(root, 'samples/LIDAR_TOP', info['lidar_points']['lidar_path']),
                      dtype=np.float32).reshape(-1, 5)
    names = list(info['images'])
    l2i = np.stack([np.asarray(info['images'][c]['lidar2img']) for c in names])
    sizes = np.array([[info['images'][c]['height'], info['images'][c]['width']] for c in names])
    cache = TeacherCache.open(osp.join(root, 'teacher_cache/simulated-san'))
    outs = [cache.read(image_key(osp.join('samples', c, info['images'][c]['img_path'])))
            for c in names]  # decoded teacher maps in memory: the cache suite times reading
    maps, counts = [o.region_map for o in outs], [o.num_regions for o in outs]
    prompts = np.concatenate([o.region_prompt for o in outs])
    lut = PseudoLabelsAndSuperpoints(cache.manifest['dictionary']['name']).prompt_to_label
    pairing = PointPixelPairing()
    pairing.pair(pts[:, :3], l2i, sizes)  # numba compiles (or loads its cache) once

    def ours():  # pairing + pseudo-labels of every point
        cam, pix, _ = pairing.pair(pts[:, :3], l2i, sizes)
        region = point_regions(cam, pix, maps, counts)
        return np.where(region >= 0, lut[prompts[np.maximum(region, 0)]], -1)

    def devkit():
        return [nusc.explorer.map_pointcloud_to_image(sample['data']['LIDAR_TOP'],
                                                      sample['data'][c]) for c in names]

    t_ours, t_dev = timeit(ours, 20), timeit(devkit, 5)
    t_pair = timeit(lambda: pairing.pair(pts[:, :3], l2i, sizes), 20)
    uv, depth = project_points(pts[:, :3], l2i)
    identical = True
    for c, (ref, _, im) in enumerate(devkit()):  # the devkit's own mask rule, per camera
        w, h = im.size
        m = (depth[c] > 1) & (uv[c, :, 0] > 1) & (uv[c, :, 0] < w - 1) & \
            (uv[c, :, 1] > 1) & (uv[c, :, 1] < h - 1)
        identical &= bool(m.sum() == ref.shape[1] and
                          np.allclose(uv[c, m], ref[:2].T, atol=1e-3))
    cam, _, pixf = pairing.pair(pts[:, :3], l2i, sizes)
    idx = np.flatnonzero(cam >= 0)  # our chosen pixels are the projections the check compared
    identical &= bool(np.allclose(pixf[idx], uv[cam[idx], idx], atol=1e-3))
    save('pairing', dict(points=len(pts), cameras=len(names), ours_s=round(t_ours, 5),
                         ours_pairing_only_s=round(t_pair, 5), devkit_s=round(t_dev, 4),
                         speedup=round(t_dev / t_ours, 2), identical_pixels=identical,
                         target_speedup=10, peak_mb=peak_mb(ours)))


def bench_synthetic(_root):
    import tempfile
    from afov_plugin.synthetic import write_nuscenes, write_semantickitti
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        write_nuscenes(d, num_scenes=1, frames=3, seed=1, image_scale=1.0)
        nus = (time.perf_counter() - t) / 3
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        write_nuscenes(d, num_scenes=1, frames=3, seed=1, image_scale=0.5)
        nus_half = (time.perf_counter() - t) / 3
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        write_semantickitti(d, num_scenes=1, frames=2, seed=1)
        kitti = (time.perf_counter() - t) / 2
    with tempfile.TemporaryDirectory() as d:
        peak = peak_rss_mb(lambda: write_nuscenes(d, num_scenes=1, frames=1, seed=2,
                                                  image_scale=1.0))
    save('synthetic', dict(nuscenes_frame_full_res_s=round(nus, 2), peak_mem_mb_full_res=peak,
                           nuscenes_frame_half_res_s=round(nus_half, 2),
                           semantickitti_scan_with_image_s=round(kitti, 2),
                           target_nuscenes_frame_s=2.0))


def train_iter_time(model_cfg, ds_cfg, iters=6):
    """Median time of a training iteration (batch 2: preprocess, loss, backward, step), of
    loading one sample, and the peak memory of one more iteration."""
    import copy
    import torch
    from mmengine.dataset import pseudo_collate
    from mmdet3d.registry import DATASETS, MODELS
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(model_cfg))
    ds = DATASETS.build(ds_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = [pseudo_collate([ds[2 * i], ds[2 * i + 1]]) for i in range(iters)]

    def step(b):
        data = model.data_preprocessor(b, training=True)
        loss = sum(model.loss(**data).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    times = []
    for b in batches:
        t = time.perf_counter()
        step(b)
        times.append(time.perf_counter() - t)
    return (float(np.median(times[1:])), timeit(lambda: ds[0], 3),
            peak_rss_mb(lambda: step(batches[0])))


def bench_stage2(root):
    """Iteration time of AFOV stage 2 vs plain mmdet3d MinkUNet (mmdet3d's own
    Det3DDataPreprocessor cannot run on CPU, so the plain run uses ours with GT labels and
    mmdet3d's MinkUNetHead + CrossEntropyLoss: the comparison isolates AFOV's pipeline)."""
    import copy
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from afov_plugin.engine import apply_teacher_setting, set_data_root
    init_default_scope('mmdet3d')
    cfg = Config.fromfile('configs/afov/stage2/minkunet18-w16_stage2_simulated-san_'
                          'synthetic-nuscenes.py')
    sup = Config.fromfile('configs/afov/stage2/minkunet18-w16_supervised_synthetic-nuscenes.py')
    apply_teacher_setting(set_data_root(cfg, root))
    apply_teacher_setting(set_data_root(sup, root))
    plain_model = copy.deepcopy(sup.model)
    plain_model.decode_head = dict(type='MinkUNetHead', channels=48, num_classes=16,
                                   ignore_index=16, dropout_ratio=0,
                                   loss_decode=dict(type='mmdet.CrossEntropyLoss',
                                                    avg_non_ignore=True))
    t_plain, d_plain, m_plain = train_iter_time(plain_model, sup.train_dataloader.dataset)
    t_afov, d_afov, m_afov = train_iter_time(cfg.model, cfg.train_dataloader.dataset)
    save('stage2', dict(plain_iter_s=round(t_plain, 3), afov_iter_s=round(t_afov, 3),
                        iter_ratio=round(t_afov / t_plain, 3), plain_sample_load_s=round(
                            d_plain, 4), afov_sample_load_s=round(d_afov, 4),
                        peak_mem_mb_plain=m_plain, peak_mem_mb_afov=m_afov,
                        target_iter_ratio=1.10))


def bench_tmp(root):
    """TMP iteration (tri-modal head and losses, superpoints, text bank) vs a stage-2
    iteration of the same trunk on the same scans."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from afov_plugin.engine import apply_teacher_setting, set_data_root
    init_default_scope('mmdet3d')
    s2 = Config.fromfile('configs/afov/stage2/minkunet18-w16_stage2_simulated-san_'
                         'synthetic-nuscenes.py')
    tmp = Config.fromfile('configs/afov/tmp/minkunet18-w16_tmp_simulated-san_'
                          'synthetic-nuscenes.py')
    apply_teacher_setting(set_data_root(s2, root))
    apply_teacher_setting(set_data_root(tmp, root))
    t_s2, d_s2, m_s2 = train_iter_time(s2.model, s2.train_dataloader.dataset)
    t_tmp, d_tmp, m_tmp = train_iter_time(tmp.model, tmp.train_dataloader.dataset)
    save('tmp', dict(stage2_iter_s=round(t_s2, 3), tmp_iter_s=round(t_tmp, 3),
                     iter_ratio=round(t_tmp / t_s2, 3), stage2_sample_load_s=round(d_s2, 4),
                     tmp_sample_load_s=round(d_tmp, 4), peak_mem_mb_stage2=m_s2,
                     peak_mem_mb_tmp=m_tmp, target_iter_ratio=1.3))


def bench_afi(root):
    """AFI (the demo's AFI config) on a val scan of the synthetic nuScenes set vs a forward
    (voxelization + MinkUNet + head) of the stage-2 model on the same scan."""
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmdet3d.registry import DATASETS, MODELS
    from afov_plugin.engine import apply_teacher_setting, set_data_root
    from afov_plugin.synthetic.afi_scenes import plane_wall_box_scene
    init_default_scope('mmdet3d')
    cfg = Config.fromfile('configs/afov/afi/minkunet18-w16_stage2-afi_simulated-san_'
                          'synthetic-nuscenes.py')
    apply_teacher_setting(set_data_root(cfg, root))
    ds = DATASETS.build(cfg.test_dataloader.dataset)
    model_cfg = cfg.model.copy()
    model_cfg.type = 'MinkUNet'
    model_cfg.test_cfg = dict()
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).eval()
    afi = MODELS.build(cfg.model.test_cfg.postprocess)
    batch = pseudo_collate([ds[0]])
    points = batch['inputs']['points'][0]

    def forward():
        with torch.no_grad():
            data = model.data_preprocessor(batch, False)
            return model.predict(data['inputs'], data['data_samples'])
    labels = forward()[0].pred_pts_seg.pts_semantic_mask
    # 4x the points: four sweeps of the scene stacked (each shifted by a few cm)
    four = torch.cat([pseudo_collate([ds[i]])['inputs']['points'][0] for i in range(4)])
    four[:, :3] += torch.randn(len(four), 3) * 0.02
    labels4 = labels.repeat(4)[:len(four)]
    if len(labels4) < len(four):
        labels4 = torch.cat([labels4, labels4[:len(four) - len(labels4)]])
    t_fwd = timeit(forward, 5)
    t_afi = timeit(lambda: afi.refine(points, labels), 5)
    t_afi4 = timeit(lambda: afi.refine(four, labels4), 3)
    xyz, truth, noisy = plane_wall_box_scene(n=34000, noise=0.2)
    plain = MODELS.build(dict(type='AFIPostProcessor', num_classes=3))
    repaired = plain.refine(xyz, noisy)
    save('afi', dict(
        points=int(len(points)), points_4x=int(len(four)), forward_s=round(t_fwd, 4),
        afi_s=round(t_afi, 4), afi_over_forward=round(t_afi / t_fwd, 3),
        target_afi_over_forward=0.25, afi_4x_s=round(t_afi4, 4),
        afi_4x_over_1x=round(t_afi4 / t_afi, 2), target_4x_over_1x=5.0,
        reference_cpu_s_34k=2.5, reference_cpu_s_136k=11.8,
        speedup_vs_reference_34k=round(2.5 / t_afi, 1),
        speedup_vs_reference_136k=round(11.8 / t_afi4, 1),
        noise_repair_acc_before=round(float((noisy == truth).float().mean()), 4),
        noise_repair_acc_after=round(float((repaired == truth).float().mean()), 4),
        peak_mem_mb_afi=peak_rss_mb(lambda: afi.refine(points, labels)),
        peak_mem_mb_afi_4x=peak_rss_mb(lambda: afi.refine(four, labels4)),
        peak_mem_mb_forward=peak_rss_mb(forward)))


SUITES = dict(cache=bench_cache, pairing=bench_pairing, synthetic=bench_synthetic,
              stage2=bench_stage2, tmp=bench_tmp, afi=bench_afi)
STAGE2_CONFIG = 'configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py'
TEACHER_CACHE = 'teacher_cache/simulated-san/manifest.json'
# what each suite reads from --data-root, in the order the commands below write it
NEEDS = dict(cache=('infos', 'teacher_cache'), pairing=('infos', 'teacher_cache'), synthetic=(),
             stage2=('infos', 'teacher_cache'), tmp=('infos', 'teacher_cache'), afi=('infos',))


def parse_suites(parser: argparse.ArgumentParser, only: str) -> list:
    """The suite names of ``--only`` (comma-separated, order kept); an unknown one is a usage
    error (exit 2) that lists the available suites."""
    names = list(dict.fromkeys(n.strip() for n in only.split(',') if n.strip()))
    unknown = [n for n in names if n not in SUITES]
    if unknown or not names:
        what = f"unknown suite(s) {', '.join(unknown)}" if unknown else 'no suite'
        parser.error(f"{what} in --only {only!r}; available suites: {', '.join(SUITES)}")
    return names


def missing_data_message(root: str, suites: list):
    """None when ``root`` holds what ``suites`` read, else what is missing and the commands
    that write it (those of tools/demo.sh steps 1-4, from the first missing step on)."""
    needed = {n for s in suites for n in NEEDS[s]}
    infos = osp.join(root, 'nuscenes_infos_val.pkl')
    missing = []
    if 'infos' in needed and not (osp.isfile(infos) and osp.isfile(
            osp.join(root, 'nuscenes_infos_train.pkl'))):
        missing.append('infos')
    if 'teacher_cache' in needed and not osp.isfile(osp.join(root, TEACHER_CACHE)):
        missing.append('teacher_cache')
    if not missing:
        return None
    users = ', '.join(s for s in suites if set(NEEDS[s]) & set(missing))
    steps = []
    if 'infos' in missing:
        what = (f'{root} does not exist' if not osp.isdir(root) else
                f'{root} has no nuscenes_infos_{{train,val}}.pkl')
        steps += [f'python tools/create_synthetic.py --format nuscenes --out {root} --scenes 20 '
                  '--frames 16 --image-scale 0.5',
                  f'python tools/create_data.py nuscenes --root-path {root} --out-dir {root}']
    else:
        what = f'{root} has no teacher cache {TEACHER_CACHE}'
    if 'teacher_cache' in needed:
        steps.append(f'python tools/cache_teacher.py {STAGE2_CONFIG} --data-root {root}')
    no_data = ', '.join(s for s in SUITES if not NEEDS[s])
    return (f'benchmark.py: {what} (read by suite(s) {users}). Create it with:\n  ' +
            '\n  '.join(steps) +
            f'\n(tools/demo.sh steps 1-4 write the same set to data/synthetic_nuscenes), pass '
            f'another --data-root, or run only suites that read no data: --only {no_data}')


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', default='data/synthetic_nuscenes',
                        help='synthetic nuScenes set with infos and the simulated-san teacher '
                        'cache (tools/demo.sh steps 1-4); the synthetic suite reads none')
    parser.add_argument('--only', default=','.join(SUITES),
                        help=f"comma-separated suites (default: all): {', '.join(SUITES)}")
    args = parser.parse_args()
    suites = parse_suites(parser, args.only)
    message = missing_data_message(args.data_root, suites)
    if message:
        sys.exit(message)
    import afov_plugin  # noqa: F401
    for name in suites:
        SUITES[name](args.data_root)


if __name__ == '__main__':
    main()
