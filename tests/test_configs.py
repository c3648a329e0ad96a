"""Every AFOV config parses, inherits mmdet3d's bases and builds its model."""
import copy
import glob
import os.path as osp

import pytest
from mmdet3d.registry import MODELS, TRANSFORMS
from mmdet3d.utils import register_all_modules

import afov_plugin  # noqa: F401
from afov_plugin.engine import load_config

CONFIGS = sorted(glob.glob(osp.join(osp.dirname(osp.dirname(__file__)), 'configs', 'afov',
                                    'stage2', '*.py')))


def test_plugin_components_are_registered():
    for name in ('AFOVMinkUNetDataPreprocessor', 'AFOVMinkUNetHead', 'PseudoLabelLoss',
                 'SimulatedOVTeacher', 'MMSegOVTeacher'):
        assert MODELS.get(name) is not None, name
    for name in ('PointPixelPairing', 'LoadTeacherCache', 'PseudoLabelsAndSuperpoints',
                 'PackAFOVInputs', 'AFOVLoadPointsFromFile', 'AFOVLoadAnnotations3D'):
        assert TRANSFORMS.get(name) is not None, name
    from mmdet3d.registry import DATASETS, HOOKS, METRICS
    assert DATASETS.get('NuScenesSegDataset') and DATASETS.get('SemanticKittiMMDataset')
    assert METRICS.get('InViewSegMetric') and HOOKS.get('SegPicturesHook')


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.basename(c) for c in CONFIGS])
def test_stage2_configs_build(path):
    register_all_modules(init_default_scope=True)
    cfg = load_config(path)
    assert cfg.custom_imports['imports'] == ['afov_plugin']
    model = MODELS.build(copy.deepcopy(cfg.model))
    assert model.decode_head.num_classes == len(cfg.class_names if 'class_names' in cfg
                                                else cfg.train_dataloader.dataset.metainfo[
                                                    'classes'])
    assert cfg.val_evaluator.type == 'InViewSegMetric'
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    if 'supervised' not in path:
        assert types[1:4] == ['PointPixelPairing', 'LoadTeacherCache',
                              'PseudoLabelsAndSuperpoints']
        # the pseudo-labels are the packed pts_semantic_mask: no ground truth is loaded
        assert not any('LoadAnnotations' in t for t in types)
        assert 'pts_semantic_mask' in cfg.train_dataloader.dataset.pipeline[-1]['keys']
    else:
        assert 'AFOVLoadAnnotations3D' in types and 'LoadTeacherCache' not in types
