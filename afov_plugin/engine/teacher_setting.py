"""One teacher setting per config: ``teacher`` (what made the cache), ``dictionary`` and
``teacher_cache_dir``, read by every pipeline, ``tools/cache_teacher.py`` and the reports."""
import os
from typing import Iterator, Optional

from mmengine.config import Config

from mmdet3d.registry import MODELS

# the steps that read the setting: the cache loader (folder, dictionary, teacher) and the
# pseudo-label step (dictionary: prompt → class)
LABEL_TRANSFORMS = ('PseudoLabelsAndSuperpoints', 'MCFATargets')
CACHE_TRANSFORMS = ('LoadTeacherCache', ) + LABEL_TRANSFORMS


def teacher_name(teacher_cfg: dict) -> str:
    """The name a teacher built from ``teacher_cfg`` records in its cache manifest, without
    building it (no weights are loaded)."""
    kwargs = {k: v for k, v in teacher_cfg.items() if k != 'type'}
    return MODELS.get(teacher_cfg['type']).name_from_config(**kwargs)


def teacher_cache_dir(cfg: Config, data_root: Optional[str] = None) -> str:
    """The config's cache folder: ``teacher_cache_dir``, or ``teacher_cache/<teacher name>``
    when it is None; relative paths are relative to ``data_root`` (default: the train set's
    root), so a dataset folder carries its caches."""
    path = cache_setting(cfg)['cache_dir']
    root = data_root if data_root is not None else cfg.train_dataloader.dataset.get(
        'data_root')
    return path if os.path.isabs(path) or not root else os.path.join(root, path)


def _nested(pipeline: list) -> Iterator[list]:
    """A pipeline and the pipelines inside its steps (LaserMix / PolarMix ``pre_transform``,
    ``RandomChoice`` / ``Compose`` ``transforms``)."""
    yield pipeline
    for step in pipeline:
        if not isinstance(step, dict):
            continue
        for key in ('pre_transform', 'transforms'):
            inner = step.get(key)
            if isinstance(inner, list):
                if inner and isinstance(inner[0], list):  # RandomChoice: a list of pipelines
                    for branch in inner:
                        yield from _nested(branch)
                else:
                    yield from _nested(inner)


def _pipelines(cfg: Config) -> Iterator[list]:
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = (cfg.get(name) or {}).get('dataset')
        while ds is not None:
            if ds.get('pipeline') is not None:
                yield from _nested(ds['pipeline'])
            for inner in ds.get('datasets', []) or []:  # ConcatDataset
                if inner.get('pipeline') is not None:
                    yield from _nested(inner['pipeline'])
            ds = ds.get('dataset')


def cache_setting(cfg: Config) -> dict:
    """The config's ``LoadTeacherCache`` arguments: ``cache_dir`` (unresolved),
    ``dictionary`` and the expected ``teacher`` name."""
    cache_dir = cfg.get('teacher_cache_dir') or os.path.join('teacher_cache',
                                                             teacher_name(cfg.teacher))
    return dict(cache_dir=cache_dir, dictionary=cfg.dictionary,
                teacher=teacher_name(cfg.teacher))


def apply_teacher_setting(cfg: Config) -> Config:
    """Point every teacher-cache transform of every dataloader at the config's one setting.

    Each ``LoadTeacherCache`` gets ``cache_dir`` (``teacher_cache_dir``, unresolved: the
    transform joins it with its dataset's root), ``dictionary`` and the expected ``teacher``
    name, so a cache of another teacher is refused when it is opened; each
    ``PseudoLabelsAndSuperpoints`` and ``MCFATargets`` get ``dictionary``; a decode head that takes
    ``text_cache`` (:class:`TextEmbeddingHead`) gets ``dictionary``, ``teacher`` and the
    folder resolved against the train set's root (always set from the setting: change it
    with ``teacher_cache_dir``). A pipeline that names another folder or dictionary, or a
    head another dictionary or teacher, is an error: the setting lives in one place.
    """
    if cfg.get('teacher') is None:
        return cfg
    wanted = cache_setting(cfg)
    for pipeline in _pipelines(cfg):
        for step in pipeline:
            if step.get('type') not in CACHE_TRANSFORMS:
                continue
            keys = ('dictionary', ) if step['type'] in LABEL_TRANSFORMS else wanted
            for key in keys:
                value = wanted[key]
                if step.get(key) not in (None, value):
                    raise ValueError(
                        f'{cfg.filename}: a {step["type"]} step sets {key}={step[key]!r}, the '
                        f'config says {value!r}; leave {key} out of the pipeline and set '
                        f"{'teacher_cache_dir' if key == 'cache_dir' else key} instead (one "
                        'teacher setting per config)')
                step[key] = value
    _fill_head(cfg, dict(wanted, text_cache=teacher_cache_dir(cfg)))
    return cfg


def _fill_head(cfg: Config, wanted: dict) -> None:
    from .class_setting import accepts
    head = (cfg.get('model') or {}).get('decode_head')
    if not isinstance(head, dict) or not accepts(head.get('type', ''), 'text_cache'):
        return
    for key in ('text_cache', 'dictionary', 'teacher'):
        if key != 'text_cache' and head.get(key) not in (None, wanted[key]):
            raise ValueError(f'{cfg.filename}: model.decode_head.{key}={head[key]!r}, the '
                             f'config says {wanted[key]!r}; leave it out of the head (one '
                             'teacher setting per config)')
        head[key] = wanted[key]
