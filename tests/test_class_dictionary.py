import json

import numpy as np
import pytest

from afov_plugin.datasets import NUSCENES_SEG_CLASSES
from afov_plugin.vocabulary import DictionaryError, load_class_dictionary


def test_nuscenes_dictionary_matches_the_reference_counts():
    d = load_class_dictionary('nuscenes')
    assert len(d.prompts) == 175 and len(d.group_names) == 31 and d.num_classes == 16
    assert d.eval_classes == list(NUSCENES_SEG_CLASSES)
    pc = d.prompt_class
    assert pc[d.prompts.index('sedan')] == d.eval_classes.index('car')
    assert pc[d.prompts.index('sky')] == d.ignore_index == 16
    assert pc[d.prompts.index('bonnet under the picture')] == 16
    # every class is reachable, ignore groups exist
    assert set(pc.tolist()) == set(range(17))


def test_semantickitti_dictionary_covers_its_19_classes():
    d = load_class_dictionary('semantickitti')
    assert d.num_classes == 19 and set(d.prompt_class.tolist()) == set(range(20))
    assert d.prompt_class[d.prompts.index('cyclist')] == d.eval_classes.index('bicyclist')
    assert d.prompt_class[d.prompts.index('lane marking')] == d.eval_classes.index('road')


def _write(tmp_path, content):
    p = tmp_path / 'dict.json'
    p.write_text(json.dumps(content) if not isinstance(content, str) else content)
    return str(p)


def test_fingerprint_changes_with_content(tmp_path):
    base = json.load(open(load_class_dictionary('nuscenes').path))
    a = load_class_dictionary(_write(tmp_path, base))
    assert a.fingerprint == load_class_dictionary('nuscenes').fingerprint
    base['groups'][0]['prompts'][0] = 'automobile'
    assert load_class_dictionary(_write(tmp_path, base)).fingerprint != a.fingerprint


@pytest.mark.parametrize('mutate,message', [
    (lambda d: d['groups'][0].update(eval_class_id=99), 'eval_class_id 99'),
    (lambda d: d['groups'][0].update(prompts=[]), 'non-empty prompts'),
    (lambda d: d['groups'][0].pop('prompts'), "lacks \\['prompts'\\]"),
    (lambda d: d.__setitem__('groups', [g for g in d['groups'] if g['eval_class_id'] != 4]),
     "classes \\['car'\\] have no prompt group"),
    (lambda d: d.pop('eval_classes'), "lacks 'eval_classes'"),
])
def test_malformed_dictionaries_are_refused(tmp_path, mutate, message):
    d = json.load(open(load_class_dictionary('nuscenes').path))
    mutate(d)
    with pytest.raises(DictionaryError, match=message):
        load_class_dictionary(_write(tmp_path, d))


def test_invalid_json_and_wrong_dataset(tmp_path):
    with pytest.raises(DictionaryError, match='not valid JSON'):
        load_class_dictionary(_write(tmp_path, '{"groups": ['))
    with pytest.raises(DictionaryError, match='use the dictionary of this dataset'):
        load_class_dictionary('semantickitti').check_classes(NUSCENES_SEG_CLASSES)
    with pytest.raises(DictionaryError, match='not found'):
        load_class_dictionary(str(tmp_path / 'nope.json'))
    assert np.all(load_class_dictionary('nuscenes').prompt_group >= 0)
