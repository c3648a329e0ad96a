"""Property-based tests (hypothesis) of the loaders that read files from disk: point files
and cache entries either load exactly what was written or fail with a clear error that names
the file; nothing else escapes. Plus the remaining bad-input kinds (info pkls, prediction
files, configs asking for a vocabulary the cache was not made with)."""
import pickle
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmdet3d.registry import TRANSFORMS
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401
from afov_plugin.teachers import CacheError, TeacherOutput, decode_entry, encode_entry
from afov_plugin.teachers.cache import ENTRY_MAGIC

register_all_modules(init_default_scope=False)
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _load_points(path, load_dim):
    t = TRANSFORMS.build(dict(type='AFOVLoadPointsFromFile', coord_type='LIDAR',
                              load_dim=load_dim, use_dim=min(4, load_dim)))
    return t.transform(dict(lidar_points=dict(lidar_path=str(path))))


@SETTINGS
@given(n_floats=st.integers(0, 400), extra_bytes=st.integers(0, 3),
       load_dim=st.sampled_from([4, 5]), seed=st.integers(0, 2 ** 16))
def test_point_file_loads_exactly_or_names_the_file(tmp_path, n_floats, extra_bytes, load_dim,
                                                    seed):
    rng = np.random.default_rng(seed)
    data = rng.uniform(-50, 50, n_floats).astype(np.float32)
    path = tmp_path / f'scan_{seed}_{n_floats}_{extra_bytes}.bin'
    path.write_bytes(data.tobytes() + b'\0' * extra_bytes)
    ok = extra_bytes == 0 and n_floats > 0 and n_floats % load_dim == 0
    if ok:
        pts = _load_points(path, load_dim)['points'].tensor.numpy()
        expect = data.reshape(-1, load_dim)[:, :min(4, load_dim)]
        np.testing.assert_array_equal(pts, expect)
    else:
        with pytest.raises(ValueError, match=path.name):
            _load_points(path, load_dim)


@SETTINGS
@given(k=st.integers(0, 12), d=st.integers(1, 16), h=st.integers(1, 20), w=st.integers(1, 20),
       seed=st.integers(0, 2 ** 16))
def test_cache_entry_round_trips(k, d, h, w, seed):
    rng = np.random.default_rng(seed)
    out = TeacherOutput(rng.integers(0, k + 1, (h, w)).astype(np.uint8),
                        rng.integers(0, 175, k), rng.standard_normal((k, d)).astype(np.float32))
    back = decode_entry(encode_entry(out, 'float32'))
    np.testing.assert_array_equal(back.region_map, out.region_map)
    np.testing.assert_array_equal(back.region_prompt, out.region_prompt)
    np.testing.assert_array_equal(back.region_feat, out.region_feat)


@SETTINGS
@given(cut=st.floats(0.0, 0.999), flip=st.integers(0, 10 ** 6), mode=st.sampled_from(
    ['truncate', 'flip_byte', 'garbage', 'no_magic', 'bad_zlib']))
def test_damaged_cache_entries_raise_cache_error_naming_the_file(cut, flip, mode):
    rng = np.random.default_rng(flip)
    out = TeacherOutput(rng.integers(0, 4, (16, 16)).astype(np.uint8), rng.integers(0, 175, 3),
                        rng.standard_normal((3, 8)).astype(np.float32))
    data = bytearray(encode_entry(out))
    if mode == 'truncate':
        data = data[:int(cut * len(data))]
    elif mode == 'flip_byte':
        i = len(ENTRY_MAGIC) + flip % (len(data) - len(ENTRY_MAGIC))
        data[i] ^= 0xFF
    elif mode == 'garbage':
        data = bytearray(rng.integers(0, 256, 1 + flip % 500, dtype=np.uint8).tobytes())
    elif mode == 'no_magic':
        data = data[len(ENTRY_MAGIC):]
    else:
        data = bytearray(ENTRY_MAGIC + zlib.compress(b'not safetensors'))
    try:
        back = decode_entry(bytes(data), 'entry_x.safetensors')
    except CacheError as err:
        assert 'entry_x.safetensors' in str(err)
    else:  # a flipped byte inside zlib padding may leave the content intact: then exact
        np.testing.assert_array_equal(back.region_map, out.region_map)
        np.testing.assert_array_equal(back.region_prompt, out.region_prompt)


def test_bad_info_pkl_is_refused_with_the_fix(tmp_path):
    from afov_plugin.datasets.splits import load_infos
    bad = tmp_path / 'infos.pkl'
    bad.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(ValueError, match=r'infos.pkl: not an mmdet3d info file.*create_data'):
        load_infos(str(bad))


def test_config_vocabulary_mismatch_with_text_bank_is_refused():
    import torch
    from mmdet3d.structures import Det3DDataSample
    from afov_plugin.models.decode_heads import TriModalContrastiveHead
    head = TriModalContrastiveHead(channels=4, feature_dim=8, dictionary='semantickitti')
    s = Det3DDataSample()
    s.text_bank = torch.zeros(175, 8)       # a nuScenes-dictionary cache
    with pytest.raises(ValueError, match='cache and config disagree'):
        head._text([s])
