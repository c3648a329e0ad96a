"""The ``pairing`` suite: PointPixelPairing + pseudo-labels of a frame vs nuscenes-devkit's
per-camera ``map_pointcloud_to_image`` on the same frame (identical pixels checked)."""
import os.path as osp

import numpy as np

from .data import frame_info, teacher_cache_folder
from .report import save
from .timing import interleaved_ratio, peak_mb, ratio_fields, timeit

PAIRS = 10
NUMBER = 5  # calls per timed sample (ours takes about a millisecond)


def bench_pairing(root: str) -> dict:
    """Speed-up of our pairing + pseudo-labels over the devkit's projections (per
    interleaved pair), and whether both give the same pixels."""
    from nuscenes import NuScenes
    from ..datasets.transforms import (PointPixelPairing, PseudoLabelsAndSuperpoints,
                                       point_regions, project_points)
    from ..teachers import TeacherCache, image_key
    version = next(v for v in ('v1.0-trainval', 'v1.0-mini') if osp.isdir(osp.join(root, v)))
    nusc = NuScenes(version, root, verbose=False)
    info = frame_info(root)
    sample = nusc.get('sample', info['token'])
    pts = np.fromfile(osp.join(root, 'samples/LIDAR_TOP', info['lidar_points']['lidar_path']),
                      dtype=np.float32).reshape(-1, 5)
    names = list(info['images'])
    l2i = np.stack([np.asarray(info['images'][c]['lidar2img']) for c in names])
    sizes = np.array([[info['images'][c]['height'], info['images'][c]['width']] for c in names])
    cache = TeacherCache.open(teacher_cache_folder(root))
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

    r = interleaved_ratio(ours, devkit, PAIRS, number=NUMBER)
    t_pair = timeit(lambda: pairing.pair(pts[:, :3], l2i, sizes), 20)  # a part of ``ours``
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
    result = dict(points=len(pts), cameras=len(names), ours_s=round(r['candidate_s'], 5),
                  ours_pairing_only_s=round(t_pair, 5), devkit_s=round(r['baseline_s'], 4),
                  **ratio_fields('speedup', r, invert=True, digits=2), pairs=PAIRS,
                  identical_pixels=identical, target_speedup=10, peak_mb=peak_mb(ours))
    save('pairing', result)
    return result
