"""Procedural street scenes: a road along +x with flat zones beside it and boxes on it.

A scene is a set of flat ground zones (bands in y) and oriented boxes, each tagged with a
*kind* from :data:`KINDS`. A kind carries its raw label id in each dataset's own label space
(SemanticKITTI raw ids, nuScenes lidarseg raw ids) and a material reflectance used for LiDAR
intensity. Nothing here knows about file formats; writers translate kinds to raw ids.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np


@dataclass(frozen=True)
class Kind:
    """A surface kind: raw SemanticKITTI id (and its moving variant, 0 if none), raw nuScenes
    lidarseg id, and material reflectance."""
    name: str
    kitti_id: int
    nuscenes_id: int
    reflectance: float
    kitti_moving_id: int = 0


# Riders count with their vehicle in nuScenes (its boxes include the rider) and as
# bicyclist / motorcyclist in SemanticKITTI. 'ego' is only seen by the nuScenes LiDAR.
KINDS: Dict[str, Kind] = {k.name: k for k in [
    Kind('road', 40, 24, 0.10),
    Kind('lane_marking', 60, 24, 0.85),
    Kind('parking', 44, 24, 0.12),
    Kind('other_ground', 49, 25, 0.22),
    Kind('sidewalk', 48, 26, 0.25),
    Kind('terrain', 72, 27, 0.30),
    Kind('building', 50, 28, 0.35),
    Kind('fence', 51, 28, 0.40),
    Kind('static_other', 52, 29, 0.40),
    Kind('vegetation', 70, 30, 0.45),
    Kind('trunk', 71, 30, 0.30),
    Kind('pole', 80, 28, 0.50),
    Kind('traffic_sign', 81, 28, 0.90),
    Kind('car', 10, 17, 0.60, 252),
    Kind('truck', 18, 23, 0.55, 258),
    Kind('bus', 13, 16, 0.55, 257),
    Kind('trailer', 20, 22, 0.50, 259),
    Kind('construction_vehicle', 20, 18, 0.50, 259),
    Kind('pedestrian', 30, 2, 0.20, 254),
    Kind('child', 30, 3, 0.20, 254),
    Kind('construction_worker', 30, 4, 0.60, 254),
    Kind('bicycle', 11, 14, 0.40),
    Kind('bicyclist', 31, 14, 0.25, 253),
    Kind('motorcycle', 15, 21, 0.45),
    Kind('motorcyclist', 32, 21, 0.25, 255),
    Kind('barrier', 52, 9, 0.70),
    Kind('traffic_cone', 99, 12, 0.80),
    Kind('bicycle_rack', 99, 13, 0.50),
    Kind('debris', 99, 10, 0.30),
    Kind('animal', 99, 1, 0.20),
    Kind('ego', 0, 31, 0.50),
]}


@dataclass
class Box:
    """An oriented box: centre (3,), size (dx, dy, dz), yaw about z, kind, instance id."""
    center: np.ndarray
    size: np.ndarray
    yaw: float
    kind: str
    instance: int
    moving: bool = False


@dataclass
class Scene:
    """Ground bands (|y| ranges → kind) and boxes, in world coordinates (z = 0 is ground)."""
    length: float
    boxes: List[Box] = field(default_factory=list)
    # (y_min_abs, y_max_abs, kind): bands symmetric about the road axis
    bands: List[Tuple[float, float, str]] = field(default_factory=list)
    ground_patches: List[Tuple[float, float, float, float, str]] = field(default_factory=list)

    def ground_kind_ids(self, xy: np.ndarray) -> np.ndarray:
        """Index into ``list(KINDS)`` of the ground kind under each (x, y) point. (N, 2) → (N,)."""
        names = list(KINDS)
        out = np.full(len(xy), names.index('terrain'), dtype=np.int64)
        ay = np.abs(xy[:, 1])
        for y0, y1, kind in self.bands:
            out[(ay >= y0) & (ay < y1)] = names.index(kind)
        marking = (np.abs(xy[:, 1]) < 0.1) & (np.mod(xy[:, 0], 6.0) < 3.0)
        out[marking & (out == names.index('road'))] = names.index('lane_marking')
        for x0, x1, y0, y1, kind in self.ground_patches:
            inside = (xy[:, 0] >= x0) & (xy[:, 0] < x1) & (xy[:, 1] >= y0) & (xy[:, 1] < y1)
            out[inside] = names.index(kind)
        return out


# (kind, size range low, size range high) for objects
_OBJECT_SIZES = {
    'car': ((3.9, 1.7, 1.4), (4.8, 2.0, 1.7)),
    'truck': ((6.0, 2.3, 2.8), (9.0, 2.6, 3.5)),
    'bus': ((10.0, 2.5, 3.0), (12.5, 2.8, 3.4)),
    'trailer': ((7.0, 2.4, 3.0), (11.0, 2.6, 3.8)),
    'construction_vehicle': ((5.0, 2.5, 2.8), (7.0, 3.0, 3.6)),
    'pedestrian': ((0.5, 0.5, 1.6), (0.8, 0.8, 1.9)),
    'bicycle': ((1.6, 0.5, 1.0), (1.9, 0.7, 1.3)),
    'motorcycle': ((1.9, 0.7, 1.2), (2.3, 0.9, 1.5)),
    'barrier': ((1.8, 0.4, 0.9), (2.5, 0.6, 1.1)),
    'traffic_cone': ((0.35, 0.35, 0.6), (0.45, 0.45, 0.9)),
    'child': ((0.4, 0.4, 1.0), (0.5, 0.5, 1.3)),
    'construction_worker': ((0.5, 0.5, 1.7), (0.8, 0.8, 1.9)),
    'bicycle_rack': ((2.0, 0.5, 0.8), (3.0, 0.7, 1.0)),
    'debris': ((0.3, 0.3, 0.15), (0.8, 0.6, 0.3)),
    'animal': ((0.6, 0.3, 0.4), (1.0, 0.4, 0.7)),
    'static_other': ((0.5, 0.5, 0.9), (1.8, 0.7, 1.4)),
}
# The data-collection car (a Renault Zoe) in the nuScenes ego frame: x forward from the rear
# axle, z up from the ground; (x0, x1, half width, z0, z1) per part. Body, a stepped cabin for
# the sloping windscreen and rear window, the roof, and the sensor platform under the LiDAR
# (mounted at x = 0.94 m, z = 1.84 m). Its lowest beams hit the car, as in nuScenes-lidarseg,
# where 'vehicle.ego' holds 28 % of all points.
EGO_PARTS = (
    (-0.66, 3.42, 0.86, 0.30, 0.95),
    (-0.45, 2.35, 0.78, 0.95, 1.25),
    (0.00, 1.65, 0.62, 1.25, 1.56),
    (0.60, 1.30, 0.30, 1.56, 1.66),
)


def ego_boxes(x: float, y: float, yaw: float) -> List[Box]:
    """The data-collection car at ego pose (x, y, yaw), for the LiDAR's own returns."""
    c, s = np.cos(yaw), np.sin(yaw)
    out = []
    for x0, x1, half_w, z0, z1 in EGO_PARTS:
        cx = (x0 + x1) / 2
        out.append(Box(np.array([x + cx * c, y + cx * s, (z0 + z1) / 2]),
                       np.array([x1 - x0, 2 * half_w, z1 - z0]), yaw, 'ego', 0))
    return out


def object_size(rng: np.random.Generator, kind: str) -> np.ndarray:
    """A random (dx, dy, dz) within the kind's size range."""
    lo, hi = _OBJECT_SIZES[kind]
    return rng.uniform(lo, hi)


def rider(rng: np.random.Generator, vehicle: str, x: float, y: float,
          vehicle_height: float) -> Tuple[str, Tuple[float, float, float], np.ndarray]:
    """(kind, centre, size) of the rider sitting on a bicycle / motorcycle at (x, y)."""
    size = np.array([0.6, 0.5, rng.uniform(0.8, 1.0)])
    return ('bicyclist' if vehicle == 'bicycle' else 'motorcyclist',
            (x, y, vehicle_height + size[2] / 2 - 0.3), size)


def generate_scene(rng: np.random.Generator, length: float = 120.0,
                   every_object_class: bool = False, shaped_objects: bool = False) -> Scene:
    """A street of ``length`` metres along +x, starting at x = -30.

    Options (off by default, which keeps the worlds the demo's numbers were measured on):
    ``every_object_class`` adds to the scene each object class the random draw left out
    (:func:`_ensure_object_kinds`); ``shaped_objects`` builds cars and large vehicles from
    parts (:data:`VEHICLE_PARTS`) and kerbs the traffic islands 15 cm high.
    """
    road_half = rng.uniform(4.5, 7.0)
    walk = rng.uniform(2.5, 4.0)
    scene = Scene(length=length, bands=[
        (0.0, road_half, 'road'),
        (road_half, road_half + walk, 'sidewalk'),
        (road_half + walk, 60.0, 'terrain'),
    ])
    inst = 1
    x_lo, x_hi = -30.0, length - 30.0

    def add(kind: str, center, size, yaw: float = 0.0, moving: bool = False) -> None:
        nonlocal inst
        scene.boxes.append(Box(np.asarray(center, float), np.asarray(size, float), yaw, kind,
                               inst, moving))
        inst += 1

    # parking patches beside the sidewalk
    for x in np.arange(x_lo, x_hi, 40.0):
        if rng.random() < 0.6:
            side = rng.choice([-1, 1])
            y0 = road_half + walk
            ys = (y0, y0 + 5.0) if side > 0 else (-y0 - 5.0, -y0)
            scene.ground_patches.append((x, x + rng.uniform(10, 20), ys[0], ys[1], 'parking'))
        if rng.random() < 0.35:  # a painted (or kerbed) traffic island in the road centre
            x0, x1 = x + 22, x + 22 + rng.uniform(6, 12)
            scene.ground_patches.append((x0, x1, -0.9, 0.9, 'other_ground'))
            if shaped_objects:
                add('other_ground', ((x0 + x1) / 2, 0.0, 0.075), (x1 - x0, 1.8, 0.15))
    # buildings, fences and vegetation behind the sidewalks
    for side in (-1, 1):
        x = x_lo
        while x < x_hi:
            kind = rng.choice(['building', 'building', 'fence', 'vegetation'])
            w = rng.uniform(6, 20)
            set_back = road_half + walk + rng.uniform(6, 12)
            if kind == 'building':
                depth, height = rng.uniform(8, 15), rng.uniform(5, 18)
            elif kind == 'fence':
                depth, height = 0.2, rng.uniform(1.2, 2.2)
            else:
                depth, height = rng.uniform(2, 5), rng.uniform(1.0, 3.0)
            add(kind, (x + w / 2, side * (set_back + depth / 2), height / 2), (w, depth, height))
            x += w + rng.uniform(0.5, 4.0)
        # trees, poles and signs on the sidewalk edge
        for x in np.arange(x_lo, x_hi, rng.uniform(8, 14)):
            y = side * (road_half + walk - 0.6)
            r = rng.random()
            if r < 0.45:
                th = rng.uniform(2.0, 3.0)
                add('trunk', (x, y, th / 2), (0.35, 0.35, th))
                crown = rng.uniform(2.5, 4.0)
                add('vegetation', (x, y, th + crown / 2), (crown, crown, crown))
            elif r < 0.8:
                ph = rng.uniform(4.0, 7.0)
                add('pole', (x, y, ph / 2), (0.2, 0.2, ph))
                if rng.random() < 0.5:
                    add('traffic_sign', (x, y, ph - 0.5), (0.1, 0.8, 0.8))
            else:
                add('traffic_sign', (x, y, 2.4), (0.1, 0.7, 0.7))
                add('pole', (x, y, 1.0), (0.1, 0.1, 2.0))
    # vehicles on the road (both directions), riders and pedestrians; cars dominate as in
    # real streets (a 2-scene split may lack a rare class: see `every_object_class`)
    vehicles = ['car'] * 5 + ['truck', 'bus', 'bus', 'trailer', 'construction_vehicle',
                              'motorcycle', 'motorcycle', 'bicycle', 'bicycle']
    for x in np.arange(x_lo + 5, x_hi, rng.uniform(7, 11)):
        if rng.random() < 0.7:
            kind = str(rng.choice(vehicles))
            size = object_size(rng, kind)
            lane = rng.choice([-1, 1]) * road_half / 2
            if abs(lane) < 1.0 + size[1] / 2:
                lane = np.sign(lane) * (1.0 + size[1] / 2) if lane else 1.0 + size[1] / 2
            yaw = float(rng.normal(0, 0.05)) + (np.pi if lane < 0 else 0.0)
            moving = bool(rng.random() < 0.5)
            cx = x + rng.uniform(-1, 1)
            add(kind, (cx, lane, size[2] / 2), size, yaw=yaw, moving=moving)
            if kind in ('bicycle', 'motorcycle'):
                add(*rider(rng, kind, cx, lane, size[2]), yaw=yaw, moving=moving)
    for x in np.arange(x_lo, x_hi, rng.uniform(4, 8)):
        side = rng.choice([-1, 1])
        r = rng.random()
        if r < 0.45:
            kind = str(rng.choice(['pedestrian'] * 6 + ['child', 'construction_worker']))
            size = object_size(rng, kind)
            y = side * (road_half + rng.uniform(0.5, walk - 0.5))
            add(kind, (x, y, size[2] / 2), size, yaw=float(rng.uniform(0, np.pi)),
                moving=bool(rng.random() < 0.5))
        elif r < 0.65:
            kind = str(rng.choice(['barrier', 'traffic_cone']))
            size = object_size(rng, kind)
            y = side * (road_half - rng.uniform(0.3, 1.0))
            add(kind, (x, y, size[2] / 2), size)
        elif r < 0.75:
            kind = str(rng.choice(['bicycle_rack', 'static_other']))
            size = object_size(rng, kind)
            y = side * (road_half + walk - rng.uniform(0.5, 1.2))
            add(kind, (x, y, size[2] / 2), size)
        elif r < 0.82:
            kind = str(rng.choice(['animal', 'debris']))
            size = object_size(rng, kind)
            y = side * (road_half + walk + rng.uniform(1.0, 5.0)) if kind == 'animal' else \
                side * rng.uniform(0.5, road_half - 0.5)
            add(kind, (x, y, size[2] / 2), size, yaw=float(rng.uniform(0, np.pi)))
    if every_object_class:  # a child stream: scenes holding every class stay as they were
        _ensure_object_kinds(scene, rng.spawn(1)[0], road_half, walk, inst)
    if shaped_objects:
        scene.boxes = [part for box in scene.boxes for part in vehicle_parts(box)]
    return scene


# Large vehicles as parts of their bounding box, so that their shapes tell them apart in 3D as
# real ones do (as single boxes, bus / truck / trailer / construction vehicle differ only in
# size ranges that overlap). Per part: (x0, x1, y0, y1, z0, z1) as fractions of the box's
# length, width and height, x forward, z up from the ground.
VEHICLE_PARTS = {
    'car': [(-.5, .5, -.5, .5, .1, .55),           # body
            (-.3, .2, -.45, .45, .55, 1.)],        # cabin
    'truck': [(.28, .5, -.5, .5, .1, .8),          # cab, lower than the cargo box
              (-.5, .25, -.5, .5, .3, 1.),         # cargo box on
              (-.5, .28, -.35, .35, .1, .3)],      # the chassis
    'bus': [(-.5, .5, -.5, .5, .08, 1.)],          # one long box, low clearance
    'trailer': [(-.5, .5, -.5, .5, .35, 1.),       # raised cargo box over
                (-.45, -.15, -.5, .5, 0., .35),    # the rear axles and
                (.3, .36, -.4, .4, 0., .35)],      # the landing gear, open in between
    'construction_vehicle': [(-.5, .5, -.5, .5, 0., .3),     # tracks
                             (-.5, .05, -.5, .5, .3, .65),   # engine body
                             (.05, .4, -.5, .1, .3, 1.),     # cab on one side
                             (-.1, .5, .2, .45, .62, .85)],  # boom on the other
}


def vehicle_parts(box: Box) -> List[Box]:
    """The parts of ``box`` (same kind, instance and motion) per :data:`VEHICLE_PARTS`, or
    ``[box]`` for other kinds; ``box`` is a whole vehicle standing on the ground."""
    if box.kind not in VEHICLE_PARTS:
        return [box]
    c, s = np.cos(box.yaw), np.sin(box.yaw)
    parts = []
    for x0, x1, y0, y1, z0, z1 in VEHICLE_PARTS[box.kind]:
        lx, ly = (x0 + x1) / 2 * box.size[0], (y0 + y1) / 2 * box.size[1]
        center = (box.center[0] + c * lx - s * ly, box.center[1] + s * lx + c * ly,
                  (z0 + z1) / 2 * box.size[2])
        size = ((x1 - x0) * box.size[0], (y1 - y0) * box.size[1], (z1 - z0) * box.size[2])
        parts.append(Box(np.array(center), np.array(size), box.yaw, box.kind, box.instance,
                         box.moving))
    return parts


# With `every_object_class`, each of these object kinds occurs in every scene, so that even a
# 2-scene val split scores every nuScenes object class (a class with no ground truth scores
# IoU 0 for any prediction).
VEHICLE_KINDS = ('car', 'truck', 'bus', 'trailer', 'construction_vehicle', 'motorcycle',
                 'bicycle')
ROADSIDE_KINDS = ('pedestrian', 'barrier', 'traffic_cone')
_WELL_OBSERVED_X = (-10.0, 50.0)  # the ego drives x = 0 … 40 m in a default scene


def _ensure_object_kinds(scene: Scene, rng: np.random.Generator, road_half: float,
                         walk: float, inst: int) -> None:
    """Add each kind of :data:`VEHICLE_KINDS` / :data:`ROADSIDE_KINDS` that ``scene`` lacks:
    a missing vehicle goes where a lane has room for it (a two-wheeler gets a rider), a
    missing roadside object where its side of the road is emptiest; all within the stretch
    the ego observes well."""
    lo, hi = _WELL_OBSERVED_X

    def new_box(kind: str, center, size, yaw: float, moving: bool) -> Box:
        nonlocal inst
        inst += 1
        return Box(np.asarray(center, float), np.asarray(size, float), yaw, kind, inst - 1,
                   moving)

    present = {b.kind for b in scene.boxes}
    for kind in VEHICLE_KINDS:
        if kind in present:
            continue
        size = object_size(rng, kind)
        lane = max(road_half / 2, 1.0 + size[1] / 2)
        spots = []  # (side, x) where the lane is free for this vehicle plus 1 m either way
        for side in (-1.0, 1.0):
            ends = sorted((b.center[0] - b.size[0] / 2, b.center[0] + b.size[0] / 2)
                          for b in scene.boxes if b.kind in VEHICLE_KINDS
                          and np.sign(b.center[1]) == side)
            start = lo
            for a, b in ends + [(hi, hi)]:
                if a - start >= size[0] + 2.0:
                    half = 1.0 + size[0] / 2
                    spots.append((side, rng.uniform(start + half, a - half)))
                start = max(start, b)
        side, cx = spots[rng.integers(len(spots))] if spots else \
            (rng.choice([-1.0, 1.0]), rng.uniform(lo, hi))
        yaw, moving = float(rng.normal(0, 0.05)) + (np.pi if side < 0 else 0.0), \
            bool(rng.random() < 0.5)
        scene.boxes.append(new_box(kind, (cx, side * lane, size[2] / 2), size, yaw, moving))
        if kind in ('bicycle', 'motorcycle'):
            scene.boxes.append(new_box(*rider(rng, kind, cx, side * lane, size[2]), yaw,
                                       moving))
        present.add(kind)
    for kind in ROADSIDE_KINDS:
        if kind in present:
            continue
        side = rng.choice([-1.0, 1.0])
        taken = [b.center[0] for b in scene.boxes if np.sign(b.center[1]) == side
                 and abs(b.center[1]) < road_half + walk]
        xs = rng.uniform(lo, hi, 32)
        x = xs[np.argmax([min((abs(x - t) for t in taken), default=np.inf) for x in xs])]
        size = object_size(rng, kind)
        if kind == 'pedestrian':
            y = side * (road_half + rng.uniform(0.5, walk - 0.5))
        else:
            y = side * (road_half - rng.uniform(0.3, 1.0))
        scene.boxes.append(new_box(kind, (x, y, size[2] / 2), size,
                                   float(rng.uniform(0, np.pi)) if kind == 'pedestrian' else 0.0,
                                   False))
        present.add(kind)
