"""One class setting per dataset: ``class_names`` / ``ignore_index`` of the dataset base are
filled into every model part that takes them (head, loss, AFI); another value is refused."""
import glob
import os.path as osp

import pytest
from mmdet3d.datasets import SemanticKittiDataset
from mmdet3d.registry import MODELS
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401
from afov_plugin.datasets import NuScenesSegDataset
from afov_plugin.engine import apply_class_setting, load_config
from conftest import ROOT

CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'afov', '*', '*.py')) +
                 glob.glob(osp.join(ROOT, 'configs', 'baselines', '*.py')))
# the dataset classes (mmdet3d's for SemanticKITTI) say how many classes each dataset has
CLASSES = {'nuscenes': len(NuScenesSegDataset.METAINFO['classes']),
           'semantickitti': len(SemanticKittiDataset.METAINFO['classes'])}


def _dataset(path: str) -> str:
    return 'semantickitti' if 'semantickitti' in osp.basename(path) else 'nuscenes'


@pytest.mark.parametrize('path', [c for c in CONFIGS if '/teachers/' not in c],
                         ids=lambda c: osp.basename(c))
def test_every_model_part_gets_its_datasets_classes(path):
    register_all_modules(init_default_scope=True)
    cfg = load_config(path)
    n = CLASSES[_dataset(path)]
    assert len(cfg.class_names) == n and cfg.get('ignore_index', n) == n
    head = cfg.model.decode_head
    if head.type != 'TriModalContrastiveHead':  # TMP scores the dictionary's prompts
        assert (head.num_classes, head.ignore_index) == (n, n)
    loss = head.get('loss_decode', {})
    if loss.get('type') == 'PseudoLabelLoss':
        assert loss.num_classes == n
    post = cfg.model.get('test_cfg', {}).get('postprocess')
    if post:
        assert (post.num_classes, post.ignore_index) == (n, n)
        afi = MODELS.build(post)
        assert afi.num_classes == n


def test_a_model_that_states_other_classes_is_refused():
    register_all_modules(init_default_scope=True)
    path = osp.join(ROOT, 'configs/afov/stage2/'
                    'minkunet18-w16_stage2_simulated-san_synthetic-semantickitti.py')
    cfg = load_config(path)
    cfg.model.decode_head.num_classes = 16  # nuScenes' count in a SemanticKITTI config
    with pytest.raises(ValueError, match=r'model\.decode_head\.num_classes=16, the dataset '
                                         r'says 19'):
        apply_class_setting(cfg)
    cfg = load_config(path)
    cfg.model.decode_head.loss_decode.num_classes = None  # "fill me" is allowed
    assert apply_class_setting(cfg).model.decode_head.loss_decode.num_classes == 19
    # an mmdet loss without num_classes gets none
    cfg = load_config(osp.join(ROOT, 'configs/baselines/minkunet18-w16_supervised-mmdet3d-'
                               'pipeline_synthetic-semantickitti.py'))
    assert 'num_classes' not in cfg.model.decode_head.loss_decode
