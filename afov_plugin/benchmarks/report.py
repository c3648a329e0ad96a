"""Where the benchmarks write: work_dirs/benchmark/<suite>.json, plus a one-line summary."""
import json
import os.path as osp

from ..fileio import atomic_write_text

OUT = 'work_dirs/benchmark'


def save(name: str, result: dict, out: str = OUT) -> str:
    """Write ``result`` (with ``threads``, torch's thread count, unless it has one) to
    ``<out>/<name>.json`` atomically and print its scalar figures. Returns the path."""
    import torch
    result = dict(result)
    result.setdefault('threads', torch.get_num_threads())
    path = osp.join(out, f'{name}.json')
    atomic_write_text(path, json.dumps(result, indent=1))
    print(f'[{name}]', json.dumps({k: v for k, v in result.items()
                                   if not isinstance(v, (dict, list))}))
    return path
