"""Class dictionaries: the teacher's vocabulary (prompts) grouped into dataset classes.

A dictionary file (JSON) has ``eval_classes`` (the dataset's class names, in the dataset's
order), ``ignore_index`` (0) and ``groups``: ``{name, eval_class_id, prompts}`` where
``eval_class_id`` is 1-based (0 = ignore). Loaded, prompt ``j`` maps to dataset class
``eval_class_id - 1`` (0-based, mmdet3d's convention) or to ``ignore`` (= number of classes).
Duplicate prompts are allowed (the reference has two); the first occurrence wins for the
prompt → class map, as an argmax over prompts would.
"""
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import List, Sequence

import numpy as np

DICTIONARY_DIR = os.path.join(os.path.dirname(__file__), 'dictionaries')
BUILTIN = {'nuscenes': 'nuscenes.json', 'semantickitti': 'semantickitti.json'}


class DictionaryError(ValueError):
    """A class dictionary file is malformed or does not fit the dataset."""


@dataclass
class ClassDictionary:
    name: str
    path: str
    eval_classes: List[str]
    group_names: List[str]
    group_class: np.ndarray  # (G,) 0-based class or ignore
    prompts: List[str]
    prompt_group: np.ndarray  # (P,) group index
    notes: List[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.eval_classes)

    @property
    def ignore_index(self) -> int:
        return len(self.eval_classes)

    @property
    def prompt_class(self) -> np.ndarray:
        """(P,) dataset class of each prompt (``ignore_index`` for ignore groups)."""
        return self.group_class[self.prompt_group]

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical content (prompts, groups, classes): what a cache depends on."""
        canon = json.dumps(dict(classes=self.eval_classes, groups=self.group_names,
                                group_class=self.group_class.tolist(), prompts=self.prompts,
                                prompt_group=self.prompt_group.tolist()), sort_keys=True)
        return hashlib.sha256(canon.encode()).hexdigest()

    def check_classes(self, dataset_classes: Sequence[str]) -> None:
        """Refuse a dictionary written for another dataset."""
        if list(dataset_classes) != list(self.eval_classes):
            raise DictionaryError(
                f'class dictionary {self.path} is for classes {self.eval_classes[:4]}... '
                f'({self.num_classes}) but the dataset has {list(dataset_classes)[:4]}... '
                f'({len(dataset_classes)}): use the dictionary of this dataset')


def load_class_dictionary(name_or_path: str) -> ClassDictionary:
    """Load and validate ``nuscenes`` / ``semantickitti`` (built in) or a JSON file path."""
    path = os.path.join(DICTIONARY_DIR, BUILTIN[name_or_path]) \
        if name_or_path in BUILTIN else name_or_path
    if not os.path.isfile(path):
        raise DictionaryError(f'class dictionary {path} not found; built-in ones: '
                              f'{sorted(BUILTIN)}')
    try:
        with open(path) as f:
            raw = json.load(f)
    except json.JSONDecodeError as err:
        raise DictionaryError(f'class dictionary {path} is not valid JSON: {err}') from None
    for key in ('eval_classes', 'groups'):
        if key not in raw:
            raise DictionaryError(f'class dictionary {path} lacks {key!r}')
    classes = list(raw['eval_classes'])
    group_names, group_class, prompts, prompt_group = [], [], [], []
    for g_idx, group in enumerate(raw['groups']):
        missing = {'name', 'eval_class_id', 'prompts'} - set(group)
        if missing:
            raise DictionaryError(f'{path}: group #{g_idx} lacks {sorted(missing)}')
        cid = group['eval_class_id']
        if not isinstance(cid, int) or not 0 <= cid <= len(classes):
            raise DictionaryError(f'{path}: group {group["name"]!r} has eval_class_id {cid!r}; '
                                  f'expected 0 (ignore) .. {len(classes)}')
        if not group['prompts'] or not all(isinstance(p, str) and p.strip()
                                           for p in group['prompts']):
            raise DictionaryError(f'{path}: group {group["name"]!r} needs non-empty prompts')
        group_names.append(group['name'])
        group_class.append(cid - 1 if cid > 0 else len(classes))
        for prompt in group['prompts']:
            prompts.append(prompt.strip())
            prompt_group.append(g_idx)
    covered = {c for c in group_class if c < len(classes)}
    if covered != set(range(len(classes))):
        lost = [classes[c] for c in sorted(set(range(len(classes))) - covered)]
        raise DictionaryError(f'{path}: classes {lost} have no prompt group')
    name = os.path.splitext(os.path.basename(path))[0]
    return ClassDictionary(name, path, classes, group_names, np.array(group_class),
                           prompts, np.array(prompt_group), list(raw.get('notes', [])))
