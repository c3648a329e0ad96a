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
