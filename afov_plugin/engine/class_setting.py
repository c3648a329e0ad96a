"""One class setting per dataset: ``class_names`` and ``ignore_index``, stated in the dataset
base config; every model part that takes ``num_classes`` or ``ignore_index`` (the decode head,
its loss, the AFI post-processor) is filled from them, so a model base needs no dataset. The
zero-shot protocol's split, ``unseen_classes`` (also in the dataset base), is filled the same
way into the pipeline steps and metrics that take it."""
import inspect
from typing import Optional

from mmengine.config import Config

from mmdet3d.registry import MODELS

# the model parts that may take the class count or the ignore index (paths in cfg.model, and
# the keys filled there); a loss gets the ignore index from its head at call time (mmdet3d)
PARTS = ((('decode_head', ), ('num_classes', 'ignore_index')),
         (('decode_head', 'loss_decode'), ('num_classes', )),
         (('test_cfg', 'postprocess'), ('num_classes', 'ignore_index')))


def accepts(type_name: str, arg: str, registry=MODELS) -> bool:
    """Whether the class ``type_name`` of ``registry`` (default: models) takes the keyword
    ``arg`` (through ``**kwargs`` to its bases included, as mmdet3d's heads pass theirs on)."""
    cls = registry.get(type_name)
    if cls is None:
        return False
    for klass in cls.__mro__:
        if klass is object:
            break
        params = inspect.signature(klass.__init__).parameters
        if arg in params:
            return True
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return False
    return False


def _part(model: dict, path: tuple) -> Optional[dict]:
    for key in path:
        model = model.get(key) if isinstance(model, dict) else None
    return model if isinstance(model, dict) and 'type' in model else None


def apply_class_setting(cfg: Config) -> Config:
    """Fill ``num_classes`` (``len(class_names)``) and ``ignore_index`` into every model part
    of :data:`PARTS` that takes them. A part that states another value is an error naming
    the key and the fix; a config without ``class_names`` (a teacher's) is left as it is."""
    names, model = cfg.get('class_names'), cfg.get('model')
    if names is None or model is None:
        return cfg
    wanted = dict(num_classes=len(names), ignore_index=cfg.get('ignore_index', len(names)))
    for path, keys in PARTS:
        part = _part(model, path)
        if part is None:
            continue
        for key in keys:
            value = wanted[key]
            if not accepts(part['type'], key):
                continue
            if part.get(key) is not None and part[key] != value:
                raise ValueError(
                    f'{cfg.filename}: model.{".".join(path)}.{key}={part[key]!r}, the dataset '
                    f'says {value!r} (class_names has {len(names)} classes, ignore_index='
                    f'{wanted["ignore_index"]}); leave {key} out of the model (or set it to '
                    'None): it is filled from the dataset base (one class setting per dataset)')
            part[key] = value
    return apply_class_split(cfg)


def apply_class_split(cfg: Config) -> Config:
    """Fill ``class_names``, ``unseen_classes`` and ``ignore_index`` into every pipeline step,
    every evaluator and the model's ``self_training`` teacher when they take
    ``unseen_classes`` (the zero-shot protocol's parts). A part
    stating another value, or one used where the dataset base states no split, is an error."""
    from mmdet3d.registry import METRICS, TRANSFORMS
    from .teacher_setting import _pipelines
    names = list(cfg.get('class_names'))
    wanted = dict(class_names=names, unseen_classes=cfg.get('unseen_classes'),
                  ignore_index=cfg.get('ignore_index', len(names)))
    parts = [(step, TRANSFORMS) for pipeline in _pipelines(cfg) for step in pipeline
             if isinstance(step, dict)]
    for name in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(name)
        parts += [(e, METRICS) for e in (ev if isinstance(ev, list) else [ev])
                  if isinstance(e, dict)]
    teacher = _part(cfg.get('model') or {}, ('self_training', ))
    if teacher is not None:
        parts.append((teacher, MODELS))
    for part, registry in parts:
        if not accepts(part.get('type', ''), 'unseen_classes', registry):
            continue
        if wanted['unseen_classes'] is None:
            raise ValueError(f'{cfg.filename}: a {part["type"]} needs the zero-shot split: set '
                             'unseen_classes in the dataset base (one place per dataset)')
        for key, value in wanted.items():
            if not accepts(part['type'], key, registry):
                continue
            current = part.get(key)
            if current is not None and (list(current) if isinstance(value, list)
                                        else current) != value:
                raise ValueError(f'{cfg.filename}: a {part["type"]} sets {key}={part[key]!r}, '
                                 f'the dataset base says {value!r}; leave {key} out of it')
            part[key] = value
    return cfg
