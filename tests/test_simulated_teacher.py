import numpy as np
import pytest

from afov_plugin.teachers import SimulatedOVTeacher

ZERO = dict(p_confuse=0.0, p_unknown=0.0, p_void=0.0, p_miss_small=0.0, bleed=0, p_patch=0.0)


def _scene(h=90, w=160):
    """Road (24) at the bottom, manmade (28) above, sky (255) on top, two cars (17)."""
    cls = np.full((h, w), 255, np.uint8)
    cls[30:60] = 28
    cls[60:] = 24
    inst = np.zeros((h, w), np.uint16)
    cls[50:75, 20:60], inst[50:75, 20:60] = 17, 1
    cls[55:70, 100:130], inst[55:70, 100:130] = 17, 2
    return cls, inst


def test_text_bank_groups_cluster():
    t = SimulatedOVTeacher(feature_dim=64)
    bank = t.text_bank()
    assert bank.shape == (175, 64) and np.allclose(np.linalg.norm(bank, axis=1), 1, atol=1e-5)
    g = t.dictionary.prompt_group
    sim = bank @ bank.T
    same = (g[:, None] == g[None]) & ~np.eye(len(g), dtype=bool)
    other = ~same & ~np.eye(len(g), dtype=bool)
    for j in np.flatnonzero(same.any(1)):  # every prompt is closer to its own group
        assert sim[j, same[j]].mean() > sim[j, other[j]].mean() + 0.3
    assert sim[same].mean() > 0.5 and abs(sim[other].mean()) < 0.1


def test_without_errors_every_pixel_keeps_its_group():
    t = SimulatedOVTeacher(feature_dim=32, overrides=ZERO)
    cls, inst = _scene()
    out = t.simulate(cls, inst, 'img')
    d = t.dictionary
    group_of = {17: 'car', 24: 'driveable surface', 28: 'manmade', 255: 'sky and unknown'}
    assert (out.region_map > 0).all()
    prompt = out.region_prompt[out.region_map.astype(int) - 1]
    for raw, name in group_of.items():
        groups = d.prompt_group[prompt[cls == raw]]
        assert (np.array(d.group_names)[groups] == name).all()
    # semantic granularity: the two cars with one prompt share a region
    assert out.num_regions == len(np.unique(out.region_prompt))
    np.testing.assert_allclose(np.linalg.norm(out.region_feat, axis=1), 1, atol=1e-5)


def test_panoptic_profile_keeps_instances_apart():
    t = SimulatedOVTeacher(profile='fcclip', feature_dim=8, overrides=ZERO)
    cls, inst = _scene()
    out = t.simulate(cls, inst, 'img')
    assert out.region_map[60, 30] != out.region_map[60, 110]


def test_bleeding_grows_objects_by_the_configured_pixels():
    t = SimulatedOVTeacher(feature_dim=8, overrides=dict(ZERO, bleed=3))
    cls, inst = _scene(900, 1600)  # bleed is in 1600x900 pixels
    out = t.simulate(cls, inst, 'img')
    d = t.dictionary
    car = np.array(d.group_names)[d.prompt_group[out.region_prompt[
        out.region_map.astype(int) - 1]]] == 'car'
    assert car[50:75, 17:63].all() and not car[50:75, 16].any() and not car[50:75, 63].any()


def test_deterministic_per_key_and_profiles_differ():
    cls, inst = _scene()
    a = SimulatedOVTeacher(profile='maskclip', feature_dim=8)
    np.testing.assert_array_equal(a.simulate(cls, inst, 'k').region_map,
                                  a.simulate(cls, inst, 'k').region_map)
    other = [a.simulate(cls, inst, f'k{i}').region_prompt.tolist() for i in range(5)]
    assert len({tuple(o) for o in other}) > 1
    with pytest.raises(ValueError, match='unknown simulated teacher profile'):
        SimulatedOVTeacher(profile='gpt')


def _one_car(col: int, instance: int, h=90, w=160):
    """Road below, manmade above, one car (17) of ``instance`` with its left edge at ``col``."""
    cls = np.full((h, w), 28, np.uint8)
    cls[60:] = 24
    inst = np.zeros((h, w), np.uint16)
    cls[50:75, col:col + 40], inst[50:75, col:col + 40] = 17, instance
    return cls, inst


def _region_of(out, y, x):
    return int(out.region_map[y, x]) - 1


def test_feature_knowledge_zero_gives_the_label_text_and_never_changes_labels():
    cls, inst = _scene()
    quiet = SimulatedOVTeacher(feature_dim=64, feature_knowledge=0.0,
                               overrides=dict(feat_noise=0.0))
    out = quiet.simulate(cls, inst, 'img')
    # κ = 0 without noise: each region's feature is its prompt's text embedding, exactly
    np.testing.assert_array_equal(out.region_feat, quiet.text_bank()[out.region_prompt])
    # every κ: the same regions and prompts (labels, so the Tab. 4 calibration, unchanged)
    for key in ('a', 'b', 'c'):
        ref = SimulatedOVTeacher(feature_dim=64, feature_knowledge=0.0).simulate(cls, inst, key)
        for kappa in (0.5, 0.9):
            other = SimulatedOVTeacher(feature_dim=64, feature_knowledge=kappa).simulate(
                cls, inst, key)
            np.testing.assert_array_equal(other.region_map, ref.region_map)
            np.testing.assert_array_equal(other.region_prompt, ref.region_prompt)
            assert not np.allclose(other.region_feat, ref.region_feat)


def test_a_wrongly_labelled_region_lies_between_its_label_and_its_true_class():
    cls, inst = _one_car(20, 1)
    kappa = 0.5
    # every segment switches to a confusable group: the car becomes truck / cv / other
    t = SimulatedOVTeacher(feature_dim=512, feature_knowledge=kappa,
                           overrides=dict(ZERO, p_confuse=1.0, feat_noise=0.0))
    d, bank = t.dictionary, t.text_bank()
    car_text = bank[np.flatnonzero(d.prompt_group == d.group_names.index('car'))[0]]
    out = t.simulate(cls, inst, 'img')
    r = _region_of(out, 60, 30)
    assert d.group_names[d.prompt_group[out.region_prompt[r]]] != 'car'
    f, label_text = out.region_feat[r], bank[out.region_prompt[r]]
    # by hand: f ∝ (1 - κ/2)·label + κ/2·car + κ·appearance, three near-orthogonal unit
    # vectors in 512-D (the car fills its region: no other true class inside it)
    norm = np.sqrt((1 - kappa / 2) ** 2 + (kappa / 2) ** 2 + kappa ** 2)
    assert abs(f @ car_text - (kappa / 2) / norm) < 0.08
    assert abs(f @ label_text - (1 - kappa / 2) / norm) < 0.08
    plain = SimulatedOVTeacher(feature_dim=512, feature_knowledge=0.0,
                               overrides=dict(ZERO, p_confuse=1.0, feat_noise=0.0))
    assert abs(plain.simulate(cls, inst, 'img').region_feat[r] @ car_text) < 0.15


def test_appearance_belongs_to_the_instance_not_the_image():
    t = SimulatedOVTeacher(feature_dim=512, feature_knowledge=0.5,
                           overrides=dict(ZERO, feat_noise=0.0))
    first = t.simulate(*_one_car(20, 7), 'frame0/CAM_FRONT')
    r0 = _region_of(first, 60, 30)
    # the same car elsewhere in other images; the one whose prompt is the first's (the prompt
    # is drawn per image) must have the same feature
    moved = [t.simulate(*_one_car(90, 7), f'frame{i}/CAM_BACK') for i in range(1, 9)]
    same = [m for m in moved if m.region_prompt[_region_of(m, 60, 100)] ==
            first.region_prompt[r0]]
    assert same
    np.testing.assert_allclose(first.region_feat[r0],
                               same[0].region_feat[_region_of(same[0], 60, 100)], atol=1e-6)
    other = t.simulate(*_one_car(20, 8), 'frame0/CAM_FRONT')  # another car, same place
    f0, f2 = first.region_feat[r0], other.region_feat[_region_of(other, 60, 30)]
    assert f0 @ f2 < 0.999  # another instance looks different ...
    road0 = first.region_feat[_region_of(first, 85, 5)]
    assert f0 @ f2 > f0 @ road0 + 0.3  # ... but more like a car than the road does


def test_feature_knowledge_names_its_cache_and_is_bounded():
    assert SimulatedOVTeacher.name_from_config('san') == 'simulated-san'
    assert SimulatedOVTeacher.name_from_config('san', feature_knowledge=0.5) == 'simulated-san'
    assert SimulatedOVTeacher.name_from_config('san', feature_knowledge=0) == 'simulated-san-fk0'
    assert SimulatedOVTeacher(feature_dim=8, feature_knowledge=0.9).name == 'simulated-san-fk0.9'
    with pytest.raises(ValueError, match=r'feature_knowledge must be in \[0, 1\)'):
        SimulatedOVTeacher(feature_dim=8, feature_knowledge=1.0)
