"""The eight LiDAR corruptions of the Robo3D protocol (nuScenes-C / SemanticKITTI-C) as test
transforms, three severities each, on the points only. Labels follow the points that survive;
points a corruption adds or moves onto something else (fog, snow and crosstalk returns) carry
the ignore label, as Robo3D's extra labels are not evaluated.

Severity parameters are Robo3D's (its generator scripts); where Robo3D publishes no value we
say so and give ours. Fog, wet ground and snow are simplified physical models written for this
plugin (Robo3D runs the full simulations of Hahner et al. 2021 / 2022); each class docstring
says where it departs. Place a corruption right after the points and annotations are loaded
and before pairing (:func:`insert_corruption`).
"""
import hashlib
from typing import Dict, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmdet3d.registry import TRANSFORMS

# per sensor: beam elevations (min, max degrees), beams, intensity full scale, the classes
# incomplete echo thins (dataset label ids) and the ground classes wet ground acts on
SENSORS = {
    'nuscenes': dict(elevation=(-30.67, 10.67), beams=32, intensity_scale=255.0,
                     vehicles=(1, 2, 3, 4, 5, 8, 9), ground=(10, 11, 12)),
    'semantickitti': dict(elevation=(-24.9, 2.0), beams=64, intensity_scale=1.0,
                          vehicles=(0, 1, 2, 3, 4), ground=(8, 9, 10, 11)),
}


def beam_index(xyz: np.ndarray, sensor: dict) -> np.ndarray:
    """(N,) ring of each point from its elevation angle (the sensor at the origin, beams
    evenly spaced between the sensor's extreme elevations)."""
    lo, hi = sensor['elevation']
    el = np.degrees(np.arctan2(xyz[:, 2], np.hypot(xyz[:, 0], xyz[:, 1])))
    b = sensor['beams']
    return np.clip(np.round((el - lo) / (hi - lo) * (b - 1)), 0, b - 1).astype(np.int64)


class LiDARCorruption(BaseTransform):
    """Base: ``severity`` 1-3 (light, moderate, heavy), ``seed`` (with the scan's file name it
    seeds each scan's draw, so every model sees the same corrupted scan), ``sensor``
    (``'nuscenes'`` or ``'semantickitti'``) and ``ignore_index`` (label of the points a
    corruption adds; default: 255, set it to the dataset's).

    Subclasses implement :meth:`corrupt`: (N, C) points (x, y, z, intensity, ...), (N,)
    labels or None, a numpy generator → (M, C) points and (M,) source index (the input point
    each output point keeps the label of; -1: ignore label).
    """

    name = ''

    def __init__(self, severity: int = 1, seed: int = 0, sensor: str = 'nuscenes',
                 ignore_index: int = 255) -> None:
        if severity not in (1, 2, 3):
            raise ValueError(f'{type(self).__name__}: severity must be 1, 2 or 3, got '
                             f'{severity!r}')
        if sensor not in SENSORS:
            raise ValueError(f'{type(self).__name__}: sensor must be one of {list(SENSORS)}, '
                             f'got {sensor!r}')
        self.severity = severity
        self.seed = seed
        self.sensor_name = sensor
        self.sensor = SENSORS[sensor]
        self.ignore_index = ignore_index

    def level(self, values: Tuple) -> float:
        return values[self.severity - 1]

    def rng(self, results: Dict) -> np.random.Generator:
        key = f'{self.name}/{self.severity}/{self.seed}/{results.get("lidar_path", "")}'
        return np.random.default_rng(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))

    def corrupt(self, points: np.ndarray, labels: Optional[np.ndarray],
                rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def transform(self, results: Dict) -> Dict:
        points = results['points']
        arr = points.tensor.numpy()
        labels = results.get('pts_semantic_mask')
        out, src = self.corrupt(arr.copy(), None if labels is None else np.asarray(labels),
                                self.rng(results))
        results['points'] = points.new_point(out.astype(arr.dtype))
        for key in ('pts_semantic_mask', 'pts_instance_mask'):
            if key in results:
                results[key] = self._follow(np.asarray(results[key]), src)
        ann = results.get('eval_ann_info')
        if ann is not None and ann.get('pts_semantic_mask') is not None:
            ann['pts_semantic_mask'] = self._follow(np.asarray(ann['pts_semantic_mask']), src)
        results.setdefault('corruptions', []).append(f'{self.name}/{self.severity}')
        return results

    def _follow(self, values: np.ndarray, src: np.ndarray) -> np.ndarray:
        out = np.full(src.shape[0], self.ignore_index, dtype=values.dtype)
        out[src >= 0] = values[src[src >= 0]]
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}(severity={self.severity}, sensor={self.sensor_name!r})'


def _keep(points: np.ndarray, mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(mask)
    return points[idx], idx


@TRANSFORMS.register_module()
class BeamMissing(LiDARCorruption):
    """All points of randomly drawn beams are lost. Robo3D: 8 / 16 / 24 beams of the 32 of
    nuScenes (drawn among beams 2-28), 16 / 32 / 48 of SemanticKITTI's 64 (among 4-58).
    Departure: drawn without replacement, so exactly that many beams go (Robo3D draws with
    replacement, so fewer may)."""
    name = 'beam_missing'

    def corrupt(self, points, labels, rng):
        if self.sensor['beams'] == 32:
            k, lo, hi = self.level((8, 16, 24)), 2, 28
        else:
            k, lo, hi = self.level((16, 32, 48)), 4, 58
        drop = rng.choice(np.arange(lo, hi + 1), int(k), replace=False)
        return _keep(points, ~np.isin(beam_index(points[:, :3], self.sensor), drop))


@TRANSFORMS.register_module()
class CrossSensor(LiDARCorruption):
    """A lower-resolution sensor: beams removed at regular intervals (nuScenes 8 / 16 / 24 of
    32, SemanticKITTI 16 / 32 / 48 of 64, as Robo3D), then every second point of each
    remaining beam in azimuth order (half the columns; Robo3D halves the points in file
    order)."""
    name = 'cross_sensor'

    def corrupt(self, points, labels, rng):
        beams = self.sensor['beams']
        remove = int(self.level((8, 16, 24) if beams == 32 else (16, 32, 48)))
        # keep beams evenly: beams - remove of them, starting at 0
        kept = np.unique(np.round(np.linspace(0, beams - 1, beams - remove)).astype(np.int64))
        ring = beam_index(points[:, :3], self.sensor)
        az = np.arctan2(points[:, 1], points[:, 0])
        order = np.lexsort((az, ring))
        rank = np.empty_like(order)
        first = np.searchsorted(ring[order], ring[order])  # start of each ring's run
        rank[order] = np.arange(order.size) - first
        return _keep(points, np.isin(ring, kept) & (rank % 2 == 0))


@TRANSFORMS.register_module()
class MotionBlur(LiDARCorruption):
    """Ego motion during the sweep: the whole scan shifted by N(0, σ) per axis, each point
    jittered by N(0, 0.1σ) in x, y and N(0, 0.05σ) in z, clipped to ±3σ (Robo3D's procedure).
    σ = 0.20 / 0.25 / 0.30 m (Robo3D's SemanticKITTI values; for nuScenes it publishes only
    the light 0.20, and we use the same three)."""
    name = 'motion_blur'

    def corrupt(self, points, labels, rng):
        sigma = self.level((0.20, 0.25, 0.30))
        shift = np.clip(rng.normal(0, sigma, 3), -3 * sigma, 3 * sigma)
        jitter = rng.normal(0, 1, (points.shape[0], 3)) * np.array([0.1, 0.1, 0.05]) * sigma
        points[:, :3] += shift + np.clip(jitter, -3 * sigma, 3 * sigma)
        return points, np.arange(points.shape[0])


@TRANSFORMS.register_module()
class Crosstalk(LiDARCorruption):
    """Returns of another LiDAR: a fraction of the points displaced by N(0, 3 m) per axis with
    a random intensity, labelled ignore. Fraction 0.006 / 0.008 / 0.010 (Robo3D,
    SemanticKITTI); nuScenes 0.03 / 0.04 / 0.05 (Robo3D publishes only the light 0.03; the
    other two are ours, the same steps relative to it)."""
    name = 'crosstalk'

    def corrupt(self, points, labels, rng):
        frac = self.level((0.03, 0.04, 0.05) if self.sensor['beams'] == 32
                          else (0.006, 0.008, 0.010))
        n = points.shape[0]
        hit = rng.choice(n, int(round(frac * n)), replace=False)
        points[hit, :3] += rng.normal(0, 3.0, (hit.size, 3))
        points[hit, 3] = rng.uniform(0, self.sensor['intensity_scale'], hit.size)
        src = np.arange(n)
        src[hit] = -1
        return points, src


@TRANSFORMS.register_module()
class IncompleteEcho(LiDARCorruption):
    """Dark, glossy vehicle paint returns no echo: a fraction 0.75 / 0.85 / 0.95 of the points
    of each vehicle class with more than 10 points in the scan is lost (Robo3D; its classes:
    nuScenes bicycle, bus, car, construction vehicle, motorcycle, trailer, truck;
    SemanticKITTI car, bicycle, motorcycle, truck, other-vehicle). Reads the scan's labels
    (the ground truth, as Robo3D does to make the corrupted sets)."""
    name = 'incomplete_echo'

    def corrupt(self, points, labels, rng):
        if labels is None:
            raise KeyError('IncompleteEcho needs the labels: put it after LoadAnnotations3D '
                           'and PointSegClassMapping')
        ratio = self.level((0.75, 0.85, 0.95))
        keep = np.ones(points.shape[0], bool)
        for c in self.sensor['vehicles']:
            idx = np.flatnonzero(labels == c)
            if idx.size > 10:
                keep[rng.choice(idx, int(round(ratio * idx.size)), replace=False)] = False
        return _keep(points, keep)


@TRANSFORMS.register_module()
class Fog(LiDARCorruption):
    """Fog, a simplified model of Hahner et al. (2021). Per scan an extinction coefficient α
    is drawn from {0, 0.005, 0.01, 0.02, 0.03, 0.06} m⁻¹ (Robo3D's set, at every severity);
    the severity is the backscattering coefficient β = 0.008 / 0.05 / 0.2 (Robo3D's). A
    point's return is ρ·exp(−2αR)/R² (ρ: its intensity as reflectivity, at least 0.02);
    the fog's backscatter peak is taken as K·β with K = 0.002. Where the return is weaker the
    point becomes a fog return at range U(1, min(R, 10)) m on its ray (label ignore); else it
    stays with its intensity attenuated by exp(−2αR). Departures: no pulse-shape integral and
    no range-dependent backscatter table (Hahner's); one constant K instead."""
    name = 'fog'
    K = 0.002

    def corrupt(self, points, labels, rng):
        beta = self.level((0.008, 0.05, 0.2))
        alpha = float(rng.choice([0.0, 0.005, 0.01, 0.02, 0.03, 0.06]))
        r = np.linalg.norm(points[:, :3], axis=1).clip(0.5)
        rho = (points[:, 3] / self.sensor['intensity_scale']).clip(0.02, 1.0)
        atten = np.exp(-2 * alpha * r)
        lost = rho * atten / r ** 2 < self.K * beta
        points[:, 3] *= atten
        new_r = rng.uniform(1.0, np.minimum(r[lost], 10.0).clip(1.0 + 1e-3))
        points[lost, :3] *= (new_r / r[lost])[:, None]
        points[lost, 3] = rng.uniform(0, 0.2, lost.sum()) * self.sensor['intensity_scale']
        src = np.arange(points.shape[0])
        src[lost] = -1
        return points, src


def fresnel_transmission(cos_i: np.ndarray, n1: float = 1.0003, n2: float = 1.33) -> np.ndarray:
    """Power transmittance from medium n1 into n2 at incidence cos θ_i (unpolarised: mean of
    s and p)."""
    sin_t = n1 / n2 * np.sqrt(np.clip(1 - cos_i ** 2, 0, 1))
    cos_t = np.sqrt(np.clip(1 - sin_t ** 2, 0, 1))
    rs = ((n1 * cos_i - n2 * cos_t) / (n1 * cos_i + n2 * cos_t)) ** 2
    rp = ((n1 * cos_t - n2 * cos_i) / (n1 * cos_t + n2 * cos_i)) ** 2
    return 1 - (rs + rp) / 2


@TRANSFORMS.register_module()
class WetGround(LiDARCorruption):
    """A water film on the ground (the ground classes: nuScenes driveable surface, other flat,
    sidewalk; SemanticKITTI road, parking, sidewalk, other-ground). A share w = h / 1.2 mm of
    the pavement's texture lies under water (h = 0.2 / 1.0 / 1.2 mm, Robo3D's water heights);
    its return passes the water surface twice, so a ground point's return scales by
    (1 − w) + w·T(θ)², T the Fresnel transmittance air → water at its incidence angle θ
    (n = 1.0003, 1.33; near 0 at grazing incidence, where the water mirrors the beam away).
    A point is lost when its return falls below the noise floor (0.2 / 0.3 / 0.7, Robo3D's
    floors for nuScenes; SemanticKITTI's light is 0.3) times the scan's weak dry ground
    returns (their 5th percentile). Scans with under 1000 ground points are left alone
    (Robo3D). Departures: the dry return is ρ·cos θ / R² with the point's intensity as ρ and
    the threshold a percentile (Robo3D fits laser power and threshold to the scan's ground
    intensities against range); no specular glints."""
    name = 'wet_ground'

    def corrupt(self, points, labels, rng):
        if labels is None:
            raise KeyError('WetGround needs the labels (the ground classes): put it after '
                           'LoadAnnotations3D and PointSegClassMapping')
        w = min(self.level((0.2, 1.0, 1.2)) / 1.2, 1.0)
        floor = self.level((0.2 if self.sensor['beams'] == 32 else 0.3, 0.3, 0.7))
        ground = np.isin(labels, self.sensor['ground'])
        if ground.sum() < 1000:
            return points, np.arange(points.shape[0])
        xyz = points[ground, :3]
        r = np.linalg.norm(xyz, axis=1).clip(0.5)
        cos_i = np.abs(xyz[:, 2]) / r  # the ground's normal is z
        rho = (points[ground, 3] / self.sensor['intensity_scale']).clip(0.02, 1.0)
        dry = rho * cos_i / r ** 2
        ratio = (1 - w) + w * fresnel_transmission(cos_i) ** 2
        keep = np.ones(points.shape[0], bool)
        idx = np.flatnonzero(ground)
        keep[idx[ratio * dry < floor * np.percentile(dry, 5)]] = False
        points[idx, 3] *= ratio
        return _keep(points, keep)


@TRANSFORMS.register_module()
class Snow(LiDARCorruption):
    """Snowfall, a simplified model of Hahner et al. (2022): along its ray each beam meets a
    snowflake before its target with probability 1 − exp(−λR), λ = 0.005 · rate m⁻¹ per mm/h
    (rate = 0.5 / 1.0 / 2.5 mm/h, Robo3D's snowfall rates); such a point becomes a snow
    return at a range drawn from that exponential law truncated to [1, R) m (label ignore);
    the others keep their position with intensity attenuated by exp(−2λR). Departures: no
    particle-size distribution, beam divergence or pulse integral (Hahner's), one λ per rate."""
    name = 'snow'

    def corrupt(self, points, labels, rng):
        lam = 0.005 * self.level((0.5, 1.0, 2.5))
        r = np.linalg.norm(points[:, :3], axis=1).clip(0.5)
        hit = rng.random(points.shape[0]) < 1 - np.exp(-lam * r)
        # inverse CDF of Exp(λ) truncated to [1, R)
        u = rng.random(hit.sum())
        lo, hi = np.exp(-lam * 1.0), np.exp(-lam * np.maximum(r[hit], 1.0 + 1e-3))
        new_r = -np.log(lo - u * (lo - hi)) / lam
        points[:, 3] *= np.exp(-2 * lam * r)
        points[hit, :3] *= (new_r / r[hit])[:, None]
        points[hit, 3] = rng.uniform(0.5, 0.9, hit.sum()) * self.sensor['intensity_scale']
        src = np.arange(points.shape[0])
        src[hit] = -1
        return points, src


def insert_corruption(pipeline: list, corruption: dict) -> list:
    """A copy of a test ``pipeline`` with ``corruption`` (a transform config) right after its
    loading steps (points, annotations, class mapping)."""
    loading = ('LoadPointsFromFile', 'LoadAnnotations3D', 'PointSegClassMapping')
    at = max(i for i, t in enumerate(pipeline) if t['type'].endswith(loading)) + 1
    return [dict(t) for t in pipeline[:at]] + [dict(corruption)] + \
        [dict(t) for t in pipeline[at:]]


CORRUPTIONS = {c.name: c for c in (Fog, WetGround, Snow, MotionBlur, BeamMissing, Crosstalk,
                                   IncompleteEcho, CrossSensor)}
