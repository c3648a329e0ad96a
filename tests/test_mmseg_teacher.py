"""The mmseg SAN teacher through the real mmseg code path (a tiny random-weight SAN)."""
import numpy as np
import pytest
import torch
from mmseg.structures import SegDataSample

from afov_plugin.vocabulary import load_class_dictionary
from afov_plugin.teachers import MMSegOVTeacher, TeacherCache
from afov_plugin.teachers.mmseg_ov import seeded_clip_text_init

CONFIG = 'configs/afov/teachers/san-tiny_random_mmseg.py'


@pytest.fixture(scope='module')
def teacher(repo_root):
    torch.manual_seed(0)
    return MMSegOVTeacher(f'{repo_root}/{CONFIG}', None, 'nuscenes', short_side=96,
                          device='cpu', init_fn=seeded_clip_text_init)


def _image(seed=0):
    rng = np.random.default_rng(seed)
    img = np.zeros((90, 160, 3), np.uint8)
    img[:45] = (90, 140, 210)
    img[45:] = (70, 70, 75)
    img[50:80, 20:70] = (30, 60, 160)
    return np.clip(img + rng.normal(0, 5, img.shape), 0, 255).astype(np.uint8)


def test_vocabulary_is_the_dictionary(teacher):
    d = load_class_dictionary('nuscenes')
    assert teacher.model.text_encoder.vocabulary == d.prompts
    bank = teacher.text_bank()
    assert bank.shape == (175, 32) and np.allclose(np.linalg.norm(bank, axis=1), 1, atol=1e-5)
    emb = teacher.model.text_encoder()[:175]
    np.testing.assert_allclose(bank, torch.nn.functional.normalize(emb, dim=-1).detach().numpy(),
                               atol=1e-6)


def test_labels_match_mmseg_own_inference(teacher):
    img = _image()
    out = teacher.predict([img], [dict(img_path='x', key='x')])[0]
    assert out.region_map.shape == (90, 160) and out.region_map.min() >= 1
    label = out.region_prompt[out.region_map.astype(int) - 1]
    h, w = 96, int(round(160 * 96 / 90))
    inputs = teacher._normalise([img], h, w)
    sample = SegDataSample(metainfo=dict(img_shape=inputs.shape[-2:], ori_shape=(h, w),
                                         pad_shape=inputs.shape[-2:]))
    with torch.no_grad():
        logits = teacher.model.encode_decode(inputs, [sample.metainfo])[0, :, :h, :w]
    ref = logits.argmax(0).numpy()
    ref_full = torch.nn.functional.interpolate(
        torch.from_numpy(ref[None, None].astype(np.float32)), size=(90, 160),
        mode='nearest')[0, 0].numpy().astype(int)
    np.testing.assert_array_equal(label, ref_full)
    np.testing.assert_allclose(np.linalg.norm(out.region_feat, axis=1), 1, atol=1e-5)


def test_checkpoint_round_trip_and_cache(teacher, tmp_path, repo_root):
    ckpt = str(tmp_path / 'san_tiny.pth')
    torch.save({'state_dict': teacher.model.state_dict(), 'meta': {'mmseg_version': '1.2.2'}},
               ckpt)
    again = MMSegOVTeacher(f'{repo_root}/{CONFIG}', ckpt, 'nuscenes', short_side=96,
                           device='cpu')
    img = _image(1)
    a = teacher.predict([img], [dict(img_path='x', key='x')])[0]
    b = again.predict([img], [dict(img_path='x', key='x')])[0]
    np.testing.assert_array_equal(a.region_map, b.region_map)
    np.testing.assert_allclose(a.region_feat, b.region_feat, atol=1e-5)
    assert len(again.checkpoint_sha256) == 64
    cache = TeacherCache.create(str(tmp_path / 'cache'), again, again.dictionary)
    cache.write('img', b)
    back = TeacherCache.open(cache.root, again.dictionary).read('img')
    np.testing.assert_array_equal(back.region_map, b.region_map)
    assert cache.manifest['teacher']['checkpoint_sha256'] == again.checkpoint_sha256
    assert cache.manifest['feature_dim'] == 32


def test_batched_forward_equals_one_image_at_a_time(teacher):
    """Six same-size images (a nuScenes frame) in one forward, plus one of another size:
    the same outputs, in input order, as one image per forward."""
    imgs = [_image(s) for s in range(6)]
    other = np.ascontiguousarray(_image(9)[:, :120])
    images = imgs[:3] + [other] + imgs[3:]
    metas = [dict(img_path=str(i), key=str(i)) for i in range(len(images))]
    assert teacher.batch_size == 6
    batched = teacher.predict(images, metas)
    teacher.batch_size = 1
    try:
        single = [teacher.predict([im], [m])[0] for im, m in zip(images, metas)]
    finally:
        teacher.batch_size = 6
    assert batched[3].region_map.shape == (90, 120)
    for a, b in zip(batched, single):
        assert a.region_map.shape == b.region_map.shape
        la = a.region_prompt[a.region_map.astype(int) - 1]
        lb = b.region_prompt[b.region_map.astype(int) - 1]
        assert (la == lb).mean() > 0.999               # float ties aside, identical labels
        if np.array_equal(la, lb):
            np.testing.assert_allclose(a.region_feat, b.region_feat, atol=1e-4)


def test_text_queries_by_mmseg_clip_text_encoder(teacher):
    from mmseg.models.text_encoder.clip_text_encoder import tokenizer
    d = load_class_dictionary('nuscenes')
    got = teacher.encode_text([d.prompts[3], 'a dog on the sidewalk'])
    np.testing.assert_allclose(got[0], teacher.text_bank()[3], atol=1e-5)  # a prompt: its row
    te = teacher.model.text_encoder  # the foreign text by hand: each template, then the mean
    with torch.no_grad():
        rows = [torch.nn.functional.normalize(te.encode_text(tokenizer.tokenize(
            [t.format('a dog on the sidewalk')])), dim=-1)[0] for t in te.templates]
    want = torch.nn.functional.normalize(torch.stack(rows).mean(0), dim=0).numpy()
    np.testing.assert_allclose(got[1], want, atol=1e-5)
    assert np.abs(teacher.text_bank() @ got[1]).max() < 0.9999  # not any prompt's embedding
