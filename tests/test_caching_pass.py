"""The teacher pass of issue 17 item 2: DataLoader-decoded images, writer threads, the
prompt-chunked argmax, the subfolder layout (and the version-1 flat one), parallel verify."""
import json
import os
import shutil
import threading

import cv2
import numpy as np
import pytest
import torch

from afov_plugin.vocabulary import load_class_dictionary
from afov_plugin.teachers import (BaseOVTeacher, CacheError, TeacherCache, TeacherOutput,
                                  run_teacher_pass, verify_cache)
from afov_plugin.teachers.caching import EntryWriter, image_loader
from afov_plugin.teachers.mmseg_ov import chunked_argmax

DIM = 8


class ImageTeacher(BaseOVTeacher):
    """Outputs computed from the pixels (so a wrong image or order shows in the entries);
    records the keys in the order the forwards saw them."""
    name = 'image-teacher'
    feature_dim = DIM
    config_text = 'image-teacher'
    checkpoint_sha256 = 'image-teacher'

    def __init__(self):
        self.dictionary = load_class_dictionary('nuscenes')
        self.seen = []

    def text_bank(self):
        rng = np.random.default_rng(0)
        t = rng.standard_normal((len(self.dictionary.prompts), DIM)).astype(np.float32)
        return t / np.linalg.norm(t, axis=1, keepdims=True)

    def predict(self, images, metas):
        outs = []
        for img, meta in zip(images, metas):
            self.seen.append(meta['key'])
            region = (img[..., 0] // 64 + 1).astype(np.uint8)                   # 1..4
            feat = np.stack([img[..., c].mean() for c in range(3)] * 3)[:DIM]
            feat = np.tile(feat.astype(np.float32), (4, 1)) + np.arange(4)[:, None]
            outs.append(TeacherOutput(region, np.array([3, 1, 4, 1]) + int(img[0, 0, 1]) % 7,
                                      feat / np.linalg.norm(feat, axis=1, keepdims=True)))
        return outs


def _images(folder, n, bad=()):
    """n small images (keys img_000..), ``bad``: indices made missing / not an image."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    items = []
    for i in range(n):
        path = os.path.join(folder, f'img_{i:03d}.png')
        if i in bad:
            if i % 2:
                with open(path, 'wb') as f:
                    f.write(b'not an image at all')
        else:
            img = rng.integers(0, 256, (12 + i % 3, 20, 3), dtype=np.uint8)
            cv2.imwrite(path, img)
        items.append((f'img_{i:03d}', path))
    return items


def _cache(root, teacher=None):
    teacher = teacher or ImageTeacher()
    return TeacherCache.create(str(root), teacher, teacher.dictionary)


def _same_entries(a: TeacherCache, b: TeacherCache):
    assert list(a.keys()) == list(b.keys())
    for key in a.keys():
        x, y = a.read(key), b.read(key)
        np.testing.assert_array_equal(x.region_map, y.region_map)
        np.testing.assert_array_equal(x.region_prompt, y.region_prompt)
        np.testing.assert_array_equal(x.region_feat, y.region_feat)


# ------------------------------------------------------------------ chunked argmax
@pytest.mark.parametrize('chunk', [1, 2, 3, 7, 16, 175, 400])
def test_chunked_argmax_equals_argmax_with_ties(chunk):
    g = torch.Generator().manual_seed(0)
    # few distinct values: most pixels have tied maxima, often across chunk boundaries
    scores = torch.randint(0, 4, (2, 175, 9, 11), generator=g).float()
    scores[0, :, 0, 0] = 1.0                    # all tied: index 0
    scores[1, :, 0, 0] = 0.0
    scores[1, [20, 100, 174], 0, 0] = 5.0       # tied in different chunks: the first
    ref = scores.argmax(1)
    got = chunked_argmax(lambda lo, hi: scores[:, lo:hi], 175, chunk)
    assert got.dtype == ref.dtype and torch.equal(got, ref)
    assert got[1, 0, 0] == 20
    # NaN counts as the maximum, the first NaN wins (as torch.argmax)
    scores[0, [40, 90], 1, 1] = float('nan')
    scores[1, 174, 2, 2] = float('nan')
    got = chunked_argmax(lambda lo, hi: scores[:, lo:hi], 175, chunk)
    assert torch.equal(got, scores.argmax(1))
    assert got[0, 1, 1] == 40 and got[1, 2, 2] == 174


def test_chunked_argmax_on_real_scores_and_other_dim():
    g = torch.Generator().manual_seed(1)
    cls = torch.rand(3, 10, 175, generator=g).softmax(-1)
    masks = torch.rand(3, 10, 16, 24, generator=g)
    ref = torch.einsum('bqn,bqhw->bnhw', cls, masks).argmax(1)
    ct, flat = cls.transpose(1, 2).contiguous(), masks.flatten(2)
    got = chunked_argmax(lambda lo, hi: torch.bmm(ct[:, lo:hi], flat), 175, 16)
    assert torch.equal(got.view(3, 16, 24), ref)
    x = torch.randint(0, 3, (5, 40), generator=g).float()
    assert torch.equal(chunked_argmax(lambda lo, hi: x[:, lo:hi], 40, 6, dim=1), x.argmax(1))
    xt = x.T.contiguous()
    assert torch.equal(chunked_argmax(lambda lo, hi: xt[lo:hi], 40, 6, dim=0), x.argmax(1))
    with pytest.raises(ValueError):
        chunked_argmax(lambda lo, hi: x[:, lo:hi], 40, 0)


def test_san_teacher_chunked_labels_identical_to_one_chunk(repo_root):
    from afov_plugin.teachers import MMSegOVTeacher
    from afov_plugin.teachers.mmseg_ov import seeded_clip_text_init
    from test_mmseg_teacher import CONFIG, _image
    torch.manual_seed(0)
    teacher = MMSegOVTeacher(f'{repo_root}/{CONFIG}', None, 'nuscenes', short_side=96,
                             device='cpu', init_fn=seeded_clip_text_init)
    assert teacher.prompt_chunk == 16
    images = [_image(s) for s in range(3)]
    metas = [dict(img_path=str(i), key=str(i)) for i in range(3)]
    outs = {}
    for chunk in (175, 16, 7):
        teacher.prompt_chunk = chunk
        outs[chunk] = teacher.predict(images, metas)
    for chunk in (16, 7):
        for a, b in zip(outs[chunk], outs[175]):
            np.testing.assert_array_equal(a.region_map, b.region_map)
            np.testing.assert_array_equal(a.region_prompt, b.region_prompt)
            np.testing.assert_array_equal(a.region_feat, b.region_feat)
    with pytest.raises(ValueError, match='prompt_chunk'):
        MMSegOVTeacher(f'{repo_root}/{CONFIG}', None, 'nuscenes', prompt_chunk=0,
                       device='cpu', init_fn=seeded_clip_text_init)


# ------------------------------------------------------------------ the pass
def test_pass_with_workers_writes_the_same_entries_as_without(tmp_path):
    items = _images(tmp_path / 'imgs', 23, bad=(4, 9))  # 4: missing, 9: not an image
    reports, caches, seen = {}, {}, {}
    for workers in (0, 2):
        teacher = ImageTeacher()
        cache = _cache(tmp_path / f'cache_{workers}', teacher)
        reports[workers] = run_teacher_pass(teacher, cache, items, batch_size=4,
                                            workers=workers, show_progress=False)
        caches[workers], seen[workers] = cache, teacher.seen
    good = [k for i, (k, _) in enumerate(items) if i not in (4, 9)]
    for workers, rep in reports.items():
        assert (rep.images, rep.written, rep.skipped) == (23, 21, 0)
        assert len(rep.failures) == 2 and 'img_004.png' in rep.failures[0] \
            and 'img_009.png' in rep.failures[1]
        assert seen[workers] == good                     # forwards in image order
        assert list(caches[workers].keys()) == good
        assert rep.bytes == sum(os.path.getsize(caches[workers].entry_path(k)) for k in good)
    assert reports[0].failures == reports[2].failures
    _same_entries(caches[0], caches[2])
    # entries are in subfolders named by sha1(key)[:2], none flat; no temp files left
    top = os.listdir(caches[2].entries_dir)
    assert top and all(len(d) == 2 and os.path.isdir(os.path.join(caches[2].entries_dir, d))
                       for d in top)
    for k in good:
        assert os.path.basename(os.path.dirname(caches[2].entry_path(k))) == \
            TeacherCache.entry_subfolder(k)
    assert not [f for _, _, fs in os.walk(caches[2].entries_dir) for f in fs
                if f.startswith('.tmp_')]
    # resumed: everything written is skipped (verified in parallel), the bad ones retried
    again = run_teacher_pass(ImageTeacher(), caches[2], items, workers=2, show_progress=False)
    assert (again.written, again.skipped, len(again.failures)) == (0, 21, 2)


def test_image_loader_keeps_order_and_reports_bad_images(tmp_path):
    items = _images(tmp_path / 'imgs', 7, bad=(2, 3))
    for workers in (0, 2):
        batches = list(image_loader(items, 3, workers))
        assert [len(b) for b in batches] == [3, 3, 1]
        flat = [x for b in batches for x in b]
        assert [x[0] for x in flat] == [k for k, _ in items]
        for i, (key, path, img, failure) in enumerate(flat):
            if i in (2, 3):
                assert img is None and path in failure and 'rerun' in failure
            else:
                assert failure is None and img.dtype == np.uint8 and img.shape[2] == 3
                np.testing.assert_array_equal(img, cv2.imread(path)[:, :, ::-1])
    with pytest.raises(ValueError, match='workers'):
        image_loader(items, 3, -1)


def test_writer_error_surfaces_in_the_pass_and_the_others_are_written(tmp_path, monkeypatch):
    items = _images(tmp_path / 'imgs', 12)
    teacher = ImageTeacher()
    cache = _cache(tmp_path / 'cache', teacher)
    real_write = TeacherCache.write
    writers = set()

    def write(self, key, output):
        writers.add(threading.current_thread().name)
        if key == 'img_005':
            raise OSError(28, 'No space left on device')
        return real_write(self, key, output)

    monkeypatch.setattr(TeacherCache, 'write', write)
    with pytest.raises(OSError, match='No space left'):
        run_teacher_pass(teacher, cache, items, batch_size=2, workers=0, show_progress=False)
    assert writers and threading.current_thread().name not in writers  # off the main thread
    written = set(cache.keys())
    assert 'img_005' not in written
    # everything handed to the writers before the error was seen is written (nothing lost)
    assert {k for k, _ in items[:5]} <= written
    monkeypatch.undo()
    rep = run_teacher_pass(teacher, cache, items, workers=0, show_progress=False)
    assert rep.written == 12 - len(written) and list(cache.keys()) == [k for k, _ in items]


def test_entry_writer_raises_on_submit_and_close_and_flushes(tmp_path):
    cache = _cache(tmp_path / 'cache')
    good = ImageTeacher().predict([np.full((4, 5, 3), 100, np.uint8)], [dict(key='a')])[0]
    bad = TeacherOutput(good.region_map, good.region_prompt + 1000, good.region_feat)
    writer = EntryWriter(cache, threads=2, max_pending=2)
    writer.submit('bad', bad)
    for i in range(6):
        try:
            writer.submit(f'k{i}', good)
        except ValueError:
            break
    with pytest.raises(ValueError, match='region_prompt outside'):
        writer.close()
    # every output accepted by submit was written
    assert writer.written == len([k for k in cache.keys()]) and 'bad' not in set(cache.keys())
    w = EntryWriter(cache, threads=1, max_pending=1)
    for i in range(5):
        w.submit(f'z{i}', good)
    w.close()
    assert w.written == 5 and all(cache.has(f'z{i}', verify=True) for i in range(5))
    with pytest.raises(ValueError, match='threads'):
        EntryWriter(cache, threads=0)


# ------------------------------------------------------------------ layout, verify
def _to_version_1(cache: TeacherCache) -> None:
    """Turn a cache into what AFOV wrote before the subfolders: version 1, flat entries."""
    for key in list(cache.keys()):
        os.replace(cache.entry_path(key), os.path.join(cache.entries_dir, key + '.safetensors'))
    for folder in cache.entry_folders()[1:]:
        os.rmdir(folder)
    path = TeacherCache.manifest_path(cache.root)
    manifest = json.load(open(path))
    manifest['version'] = 1
    del manifest['entry_layout']
    with open(path, 'w') as f:
        json.dump(manifest, f)


def test_old_flat_layout_is_read_and_resumed_flat(tmp_path):
    items = _images(tmp_path / 'imgs', 10)
    teacher = ImageTeacher()
    new = _cache(tmp_path / 'new', teacher)
    run_teacher_pass(teacher, new, items[:6], workers=0, show_progress=False)
    assert new.manifest['version'] == 2 and new.layout == 'sha1-2hex'
    shutil.copytree(new.root, tmp_path / 'old')
    old = TeacherCache.open(str(tmp_path / 'old'), teacher.dictionary)
    _to_version_1(old)
    old = TeacherCache.open(str(tmp_path / 'old'), teacher.dictionary)
    assert old.layout == 'flat'
    assert sorted(os.listdir(old.entries_dir)) == [k + '.safetensors' for k, _ in items[:6]]
    _same_entries(old, new)
    assert old.verify(workers=3) == dict(new.verify(), bad=[])
    assert verify_cache(old, items, workers=2)['missing'] == [k for k, _ in items[6:]]
    # resuming an old cache keeps its layout (one layout per manifest)
    reopened = TeacherCache.create(old.root, teacher, teacher.dictionary)
    rep = run_teacher_pass(teacher, reopened, items, workers=2, show_progress=False)
    assert (rep.written, rep.skipped) == (4, 6)
    assert sorted(os.listdir(old.entries_dir)) == [k + '.safetensors' for k, _ in items]
    assert json.load(open(TeacherCache.manifest_path(old.root)))['version'] == 1
    # a version-2 cache also finds an entry left flat (e.g. copied in from a version-1 one)
    flat = os.path.join(old.entries_dir, 'img_009.safetensors')
    shutil.copy(flat, os.path.join(new.entries_dir, 'img_009.safetensors'))
    assert new.entry_path('img_009') == os.path.join(new.entries_dir, 'img_009.safetensors')
    assert new.has('img_009', verify=True) and 'img_009' in list(new.keys())
    np.testing.assert_array_equal(new.read('img_009').region_map,
                                  old.read('img_009').region_map)
    # an unknown layout is refused with the fix
    path = TeacherCache.manifest_path(new.root)
    manifest = json.load(open(path))
    manifest['entry_layout'] = 'sha1-3hex'
    with open(path, 'w') as f:
        json.dump(manifest, f)
    with pytest.raises(CacheError, match="unknown entry_layout 'sha1-3hex'.*recreate"):
        TeacherCache.open(new.root)


def test_parallel_verify_equals_serial_and_finds_corrupt_entries(tmp_path):
    cache = _cache(tmp_path / 'cache')
    teacher = ImageTeacher()
    rng = np.random.default_rng(3)
    keys = [f'samples__CAM__{i:04d}' for i in range(300)]  # > one block of the thread pool
    for key in keys:
        img = rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)
        cache.write(key, teacher.predict([img], [dict(key=key)])[0])
    serial = cache.verify()
    assert serial['entries'] == 300 and serial['bad'] == []
    assert cache.verify(workers=4) == serial
    flipped, cut = cache.entry_path(keys[7]), cache.entry_path(keys[250])
    with open(flipped, 'r+b') as f:
        f.seek(os.path.getsize(flipped) // 2)
        f.write(b'\x00\x01\x02\x03')
    with open(cut, 'r+b') as f:
        f.truncate(os.path.getsize(cut) // 3)
    serial = cache.verify(workers=0)
    assert serial['bad'] == [flipped, cut] and serial['entries'] == 300
    for workers in (2, 4, 7):
        assert cache.verify(workers=workers) == serial
    items = [(k, 'unused') for k in keys] + [('samples__CAM__absent', 'unused')]
    assert verify_cache(cache, items, workers=3) == dict(serial, missing=['samples__CAM__absent'])
    assert cache.has_many(keys[:10], verify=True, workers=3) == \
        [i != 7 for i in range(10)]
