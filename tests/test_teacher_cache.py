import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from afov_plugin.vocabulary import load_class_dictionary
from afov_plugin.teachers import (CacheError, SimulatedOVTeacher, TeacherCache, TeacherOutput,
                                  decode_entry, encode_entry, image_key)


def _output(k=5, d=512, h=60, w=80, seed=0):
    rng = np.random.default_rng(seed)
    feat = rng.standard_normal((k, d)).astype(np.float32)
    feat /= np.linalg.norm(feat, axis=1, keepdims=True)
    region_map = rng.integers(0, k + 1, (h, w)).astype(np.uint8)
    return TeacherOutput(region_map, rng.integers(0, 175, k), feat)


def test_entry_round_trip():
    out = _output()
    back = decode_entry(encode_entry(out))
    np.testing.assert_array_equal(back.region_map, out.region_map)
    np.testing.assert_array_equal(back.region_prompt, out.region_prompt)
    assert back.region_feat.dtype == np.float16
    np.testing.assert_allclose(back.region_feat.astype(np.float32), out.region_feat, atol=1e-3)
    back32 = decode_entry(encode_entry(out, 'float32'))
    np.testing.assert_array_equal(back32.region_feat, out.region_feat)


def test_many_regions_use_uint16_maps():
    out = _output(k=300, d=8)
    out.region_map = np.arange(300 * 2).reshape(20, 30) % 301
    back = decode_entry(encode_entry(out))
    assert back.region_map.dtype == np.uint16 and back.region_map.max() == 300


def test_corrupt_entries_are_refused():
    import zlib
    from safetensors.numpy import load, save
    from afov_plugin.teachers.cache import ENTRY_MAGIC
    data = encode_entry(_output())
    with pytest.raises(CacheError, match='corrupt, truncated'):
        decode_entry(data[: len(data) // 2], 'half.safetensors')
    # change one array inside a well-formed file: the checksum catches it
    arrays = load(zlib.decompress(data[len(ENTRY_MAGIC):]))
    arrays['region_runs'][0] += 1
    with pytest.raises(CacheError, match='fails its checksum'):
        decode_entry(ENTRY_MAGIC + zlib.compress(save(arrays)), 'tampered.safetensors')


def test_entry_carrying_a_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / 'ran'

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), 'w'))

    for payload in (pickle.dumps({'region_map': Evil()}), _npz_with_object_array(Evil())):
        with pytest.raises(CacheError, match='not an AFOV cache entry'):
            decode_entry(payload, 'evil.safetensors')
    assert not marker.exists()


def _npz_with_object_array(obj) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, region_prompt=np.array([obj], dtype=object))
    assert zipfile.is_zipfile(io.BytesIO(buf.getvalue()))
    return buf.getvalue()


def _cache(tmp_path, dictionary='nuscenes'):
    teacher = SimulatedOVTeacher(dictionary=dictionary, feature_dim=16)
    return teacher, TeacherCache.create(str(tmp_path / 'cache'), teacher,
                                        load_class_dictionary(dictionary))


def test_cache_write_read_verify_and_text_bank(tmp_path):
    teacher, cache = _cache(tmp_path)
    key = image_key('samples/CAM_FRONT/a.jpg')
    assert key == 'samples__CAM_FRONT__a'
    out = _output(d=16)
    size = cache.write(key, out)
    assert size == os.path.getsize(cache.entry_path(key)) and cache.has(key, verify=True)
    reopened = TeacherCache.open(cache.root, load_class_dictionary('nuscenes'))
    np.testing.assert_array_equal(reopened.read(key).region_map, out.region_map)
    np.testing.assert_array_equal(reopened.text_bank(), teacher.text_bank())
    assert reopened.verify() == dict(entries=1, bytes=size, bad=[])
    with open(cache.entry_path(key), 'r+b') as f:  # flip bytes on disk
        f.seek(size // 2)
        f.write(b'\x00\x01\x02\x03')
    assert reopened.verify()['bad'] == [cache.entry_path(key)]
    assert not reopened.has(key, verify=True)


def test_dictionary_and_format_mismatch_are_refused(tmp_path):
    _, cache = _cache(tmp_path)
    with pytest.raises(CacheError, match="made with class dictionary 'nuscenes'.*semantickitti"):
        TeacherCache.open(cache.root, load_class_dictionary('semantickitti'))
    with pytest.raises(CacheError, match='holds teacher'):
        TeacherCache.open(cache.root, teacher_name='MMSegOVTeacher')
    manifest = open(TeacherCache.manifest_path(cache.root)).read()
    assert '"version": 2' in manifest and '"entry_layout": "sha1-2hex"' in manifest
    with open(TeacherCache.manifest_path(cache.root), 'w') as f:
        f.write(manifest.replace('"version": 2', '"version": 7'))
    with pytest.raises(CacheError, match='version 7'):
        TeacherCache.open(cache.root)
    with pytest.raises(CacheError, match='missing manifest.json'):
        TeacherCache.open(str(tmp_path / 'nowhere'))


def test_failed_write_leaves_no_entry_and_no_temp_file(tmp_path, monkeypatch):
    _, cache = _cache(tmp_path)

    def disk_full(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'replace', disk_full)
    with pytest.raises(OSError, match='No space left'):
        cache.write('k', _output(d=16))
    monkeypatch.undo()
    # no entry, no temp file (the entry's subfolder may be left, empty)
    assert [f for _, _, files in os.walk(os.path.join(cache.root, 'entries')) for f in files] \
        == []


def test_permission_denied_is_a_clear_error(tmp_path):
    if os.geteuid() == 0:
        # root ignores permission bits; a path under a regular file fails the same way
        _, cache = _cache(tmp_path)
        blocker = os.path.dirname(cache.entry_path('k'))  # a file where its subfolder goes
        open(blocker, 'w').close()
        with pytest.raises(OSError):
            cache.write('k', _output(d=16))
        assert not cache.has('k')
    else:
        _, cache = _cache(tmp_path)
        os.chmod(os.path.join(cache.root, 'entries'), 0o500)
        with pytest.raises(PermissionError):
            cache.write('k', _output(d=16))


def test_invalid_teacher_output_is_refused(tmp_path):
    _, cache = _cache(tmp_path)
    bad = _output(d=16)
    bad.region_prompt = bad.region_prompt + 1000
    with pytest.raises(ValueError, match='region_prompt outside'):
        cache.write('k', bad)


def test_stale_temp_files_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    import socket
    import subprocess
    import sys
    from afov_plugin.fileio import atomic_write_bytes, remove_stale_temp_files
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    host = socket.gethostname()
    stale = tmp_path / f'.tmp_{dead.pid}~{host}~abcsamples__X.safetensors'
    live = tmp_path / f'.tmp_{os.getpid()}~{host}~defsamples__Y.safetensors'
    remote = tmp_path / f'.tmp_{dead.pid}~another-host~ghisamples__Z.safetensors'
    for f in (stale, live, remote):
        f.write_bytes(b'partial')
    atomic_write_bytes(str(tmp_path / 'done.safetensors'), b'whole')
    assert remove_stale_temp_files(str(tmp_path)) == [str(stale)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, remote.name, 'done.safetensors'])
    assert remove_stale_temp_files(str(tmp_path / 'absent')) == []
