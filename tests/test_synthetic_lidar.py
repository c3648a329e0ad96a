import numpy as np

from afov_plugin.synthetic import KINDS, Box, LidarModel, Scene, cast_rays, scan


def _scene_with_box(distance: float) -> Scene:
    scene = Scene(length=100.0, bands=[(0.0, 100.0, 'sidewalk')])
    scene.boxes.append(Box(np.array([distance + 1.0, 0.0, 1.0]), np.array([2.0, 2.0, 2.0]),
                           0.0, 'car', 7))
    return scene


def test_ray_hits_box_face_and_ground_at_known_distances():
    scene = _scene_with_box(10.0)
    origin = np.array([0.0, 0.0, 1.0])
    dirs = np.array([[1.0, 0.0, 0.0],  # straight at the box face at x = 10
                     [0.0, 1.0, 0.0],  # along y: nothing (box is on the x axis)
                     [np.cos(np.deg2rad(-30)), 0.0, np.sin(np.deg2rad(-30))],  # ground first
                     [-np.cos(np.deg2rad(-10)), 0.0, np.sin(np.deg2rad(-10))]])
    t, kind, inst, cos_inc = cast_rays(scene, origin, dirs, max_range=50.0)
    names = list(KINDS)
    assert np.isclose(t[0], 10.0) and names[kind[0]] == 'car' and inst[0] == 7
    assert np.isclose(cos_inc[0], 1.0)
    assert np.isinf(t[1]) and kind[1] == -1
    assert np.isclose(t[2], 1.0 / np.sin(np.deg2rad(30))) and names[kind[2]] == 'sidewalk'
    assert np.isclose(t[3], 1.0 / np.sin(np.deg2rad(10))) and inst[3] == 0


def test_rotated_box_is_hit_at_its_rotated_extent():
    scene = Scene(length=100.0, bands=[(0.0, 100.0, 'road')])
    # a 4 x 0.2 slab rotated by 90°: seen end-on from the origin it is 4 m deep along y only
    scene.boxes.append(Box(np.array([5.0, 0.0, 2.0]), np.array([4.0, 0.2, 4.0]), np.pi / 2,
                           'fence', 1))
    t, kind, _, _ = cast_rays(scene, np.array([0.0, 0.0, 2.0]), np.array([[1.0, 0.0, 0.0]]),
                              50.0)
    assert np.isclose(t[0], 4.9)


def test_scan_returns_sensor_frame_points_on_the_ground_plane():
    scene = Scene(length=100.0, bands=[(0.0, 100.0, 'terrain')])
    model = LidarModel(-20.0, -5.0, 4, 64, 60.0, 0.5, 2.0)
    out = scan(scene, model, (3.0, 1.0, 0.3), np.random.default_rng(0), range_noise=0.0,
               dropout=0.0)
    assert out['points'].shape == (4 * 64, 3) and out['points'].dtype == np.float32
    np.testing.assert_allclose(out['points'][:, 2], -2.0, atol=1e-4)  # ground is 2 m below
    assert set(np.unique(out['ring'])) == {0.0, 1.0, 2.0, 3.0}
    assert ((out['intensity'] >= 0) & (out['intensity'] <= 1)).all()


def test_every_evaluation_class_occurs_in_a_few_scenes():
    from afov_plugin.datasets import NUSCENES_LIDARSEG_MAPPING
    from afov_plugin.synthetic import NUSCENES_HDL32, generate_scene
    from afov_plugin.synthetic.raycast import KIND_NAMES
    seen = set()
    for s in range(6):
        rng = np.random.default_rng([0, s])
        scene = generate_scene(rng)
        for f in range(0, 20, 5):
            out = scan(scene, NUSCENES_HDL32, (f * 2.5, 0.0, 0.0), rng)
            seen |= {KIND_NAMES[k] for k in np.unique(out['kind'])}
    nus = {KINDS[n].nuscenes_id for n in seen}
    assert set(NUSCENES_LIDARSEG_MAPPING.values()) == {NUSCENES_LIDARSEG_MAPPING[i] for i in nus
                                                       if i in NUSCENES_LIDARSEG_MAPPING}
    kitti = {KINDS[n].kitti_id for n in seen}
    kitti_classes = {10, 11, 15, 18, 30, 31, 32, 40, 44, 48, 49, 50, 51, 70, 71, 72, 80, 81}
    assert kitti_classes <= kitti and kitti & {13, 20}  # + other-vehicle
    assert {1, 10, 13} <= nus  # ignored raw ids occur too (animal, debris, bicycle rack)


def test_every_scene_holds_every_object_class():
    """With ``every_object_class`` a short val split scores every object class: each scene
    gets the object kinds it lacks, in free lane / roadside room, with contiguous instance ids,
    and keeps the objects it drew."""
    from afov_plugin.synthetic.world import (ROADSIDE_KINDS, VEHICLE_KINDS, _WELL_OBSERVED_X,
                                             _ensure_object_kinds, generate_scene)

    def boxes(scene):
        return [(b.kind, b.instance, tuple(b.center)) for b in scene.boxes]

    wanted = set(VEHICLE_KINDS + ROADSIDE_KINDS)
    for s in range(12):
        plain = generate_scene(np.random.default_rng([3, s]))  # the default: as drawn
        scene = generate_scene(np.random.default_rng([3, s]), every_object_class=True)
        kinds = [b.kind for b in scene.boxes]
        assert wanted <= set(kinds) and not wanted <= {b.kind for b in plain.boxes}
        assert boxes(scene)[:len(plain.boxes)] == boxes(plain)  # drawn objects kept as they are
        ids = sorted({b.instance for b in scene.boxes})  # a vehicle's parts share its id
        assert ids == list(range(1, len(ids) + 1))
    # a complete scene is left as it is
    before = boxes(scene)
    _ensure_object_kinds(scene, np.random.default_rng(0), 4.0, 3.0, len(before) + 1)
    assert boxes(scene) == before
    # take the trucks, motorcycles (and riders) and cones away: they come back, once each
    gone = ('truck', 'motorcycle', 'motorcyclist', 'traffic_cone')
    scene.boxes = [b for b in scene.boxes if b.kind not in gone]
    for i, b in enumerate(scene.boxes):
        b.instance = i + 1
    n = len(scene.boxes)
    _ensure_object_kinds(scene, np.random.default_rng(1), 4.0, 3.0, n + 1)
    added = scene.boxes[n:]
    assert sorted(b.kind for b in added) == sorted(gone)
    assert [b.instance for b in added] == list(range(n + 1, n + 5))
    lo, hi = _WELL_OBSERVED_X
    assert all(lo <= b.center[0] <= hi for b in added)
    truck = next(b for b in added if b.kind == 'truck')
    for b in scene.boxes[:n]:  # the truck's lane has room for it: no vehicle overlaps it
        if b.kind in VEHICLE_KINDS and np.sign(b.center[1]) == np.sign(truck.center[1]):
            assert abs(b.center[0] - truck.center[0]) >= (b.size[0] + truck.size[0]) / 2
    rider = next(b for b in added if b.kind == 'motorcyclist')
    bike = next(b for b in added if b.kind == 'motorcycle')
    np.testing.assert_allclose(rider.center[:2], bike.center[:2])


def test_vehicle_parts_fill_their_box_and_differ_in_shape():
    from afov_plugin.synthetic.world import VEHICLE_PARTS, Box, vehicle_parts
    size = np.array([8.0, 2.5, 3.2])
    fill = {}
    for kind in VEHICLE_PARTS:
        box = Box(np.array([5.0, -3.0, 1.6]), size, 0.7, kind, 9, True)
        parts = vehicle_parts(box)
        assert all((p.kind, p.instance, p.moving, p.yaw) == (kind, 9, True, 0.7) for p in parts)
        c, s = np.cos(-0.7), np.sin(-0.7)
        for p in parts:  # every corner of every part lies inside the whole box
            for dx in (-.5, .5):
                for dy in (-.5, .5):
                    lx, ly = p.center[0] - 5.0, p.center[1] + 3.0
                    lx, ly = c * lx - s * ly, s * lx + c * ly
                    x, y = lx + dx * p.size[0], ly + dy * p.size[1]
                    assert abs(x) <= size[0] / 2 + 1e-9 and abs(y) <= size[1] / 2 + 1e-9
            assert 0 <= p.center[2] - p.size[2] / 2 and p.center[2] + p.size[2] / 2 <= size[2]
        fill[kind] = sum(np.prod(p.size) for p in parts) / np.prod(size)
    assert vehicle_parts(Box(np.zeros(3), size, 0.0, 'barrier', 1)) != []
    assert fill['bus'] > 0.9 > fill['truck'] and fill['trailer'] < 0.8
    assert len({round(f, 3) for f in fill.values()}) == len(fill)  # shapes differ


def test_ego_car_returns_the_lowest_beams_as_vehicle_ego():
    """The nuScenes LiDAR sees its own car (nuScenes-lidarseg: 28 % of the points are
    'vehicle.ego'): the lowest beams end on it, close to the sensor; the upper ones pass."""
    from afov_plugin.synthetic import NUSCENES_HDL32
    from afov_plugin.synthetic.raycast import KIND_NAMES
    from afov_plugin.synthetic.world import ego_boxes
    scene = Scene(length=100.0, bands=[(0.0, 100.0, 'road')])
    scene.boxes.extend(ego_boxes(10.0, 2.0, 0.4))
    lidar_xy = np.array([10.0, 2.0]) + 0.943713 * np.array([np.cos(0.4), np.sin(0.4)])
    out = scan(scene, NUSCENES_HDL32, (lidar_xy[0], lidar_xy[1], 0.4),
               np.random.default_rng(0), dropout=0.0)
    ego = np.array([KIND_NAMES[k] == 'ego' for k in out['kind']])
    assert 0.2 < ego.mean() < 0.4, ego.mean()
    assert (np.linalg.norm(out['points'][ego, :2], axis=1) < 3.0).all()
    assert (np.linalg.norm(out['points'][ego], axis=1) >= NUSCENES_HDL32.min_range).all()
    assert ego[out['ring'] == 0].all()  # -30.7 deg: on the car all around
    assert not ego[out['ring'] >= 16].any()  # above -9.3 deg: past it
    # beyond the car the road is hit where a flat ground predicts (lidar 1.84 m up)
    road = ~ego
    np.testing.assert_allclose(out['points'][road, 2], -1.84, atol=0.06)
