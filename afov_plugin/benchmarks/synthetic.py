"""The ``synthetic`` suite: generation time of nuScenes-like frames (full 1600x900 images vs
half-size ones, interleaved) and of SemanticKITTI-like scans; reads no data root."""
import tempfile

from .report import save
from .timing import interleaved_ratio, peak_rss_mb, ratio_fields, timeit

PAIRS = 3
FRAMES = 2  # frames per timed call (the scene's world is built once per call)


def _nuscenes_frame(image_scale: float):
    """A call that writes one scene of ``FRAMES`` frames into a fresh temporary folder."""
    from ..synthetic import write_nuscenes

    def run():
        with tempfile.TemporaryDirectory() as d:
            write_nuscenes(d, num_scenes=1, frames=FRAMES, seed=1, image_scale=image_scale)
    return run


def bench_synthetic(_root: str = '') -> dict:
    """Seconds per generated frame at full and half image size (interleaved pairs), per
    SemanticKITTI scan, and the peak memory of a full-size frame."""
    from ..synthetic import write_nuscenes, write_semantickitti
    r = interleaved_ratio(_nuscenes_frame(1.0), _nuscenes_frame(0.5), PAIRS)

    def kitti():
        with tempfile.TemporaryDirectory() as d:
            write_semantickitti(d, num_scenes=1, frames=FRAMES, seed=1)
    t_kitti = timeit(kitti, 1) / FRAMES
    with tempfile.TemporaryDirectory() as d:
        peak = peak_rss_mb(lambda: write_nuscenes(d, num_scenes=1, frames=1, seed=2,
                                                  image_scale=1.0))
    result = dict(nuscenes_frame_full_res_s=round(r['candidate_s'] / FRAMES, 2),
                  nuscenes_frame_half_res_s=round(r['baseline_s'] / FRAMES, 2),
                  **ratio_fields('full_res_over_half_res', r), pairs=PAIRS,
                  frames_per_call=FRAMES, peak_mem_mb_full_res=peak,
                  semantickitti_scan_with_image_s=round(t_kitti, 2),
                  target_nuscenes_frame_s=2.0)
    save('synthetic', result)
    return result
