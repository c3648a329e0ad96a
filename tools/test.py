"""Test (evaluate) a checkpoint. Same command line as mmdet3d's ``tools/test.py``."""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # no PYTHONPATH needed

import afov_plugin  # noqa: E402,F401  (compat fixes + registration)
from afov_plugin import compat  # noqa: E402
from afov_plugin.engine import (finish_distributed, load_tool_config,  # noqa: E402
                                set_test_vocabulary)
from mmengine.config import Config, ConfigDict, DictAction  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a 3D segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the file containing '
                        'evaluation metrics')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load CHECKPOINT with full pickle. Only for legacy files you '
                        'trust: it can run code stored in the file')
    parser.add_argument('--ceph', action='store_true', help='use ceph as data storage backend')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='directory where painted results will be saved')
    parser.add_argument('--score-thr', type=float, default=0.1, help='bbox score threshold')
    parser.add_argument('--task', type=str, default='lidar_seg',
                        choices=['mono_det', 'multi-view_det', 'lidar_det', 'lidar_seg',
                                 'multi-modality_det'],
                        help='determine the visualization method depending on the task')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--save-preds', metavar='DIR',
                        help='AFOV: write each scan\'s points and predicted labels to '
                        'DIR/<sample_idx>.npz (input of tools/afi.py)')
    parser.add_argument('--data-root', help='AFOV: point every dataloader at this dataset root')
    parser.add_argument('--vocabulary', metavar='V',
                        help='AFOV: test-time vocabulary of a TextEmbeddingHead: a class '
                        'dictionary (built-in name or JSON path) or comma-separated class '
                        'names (model.decode_head.vocabulary)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, xxx=yyy format')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg: Config, args: argparse.Namespace) -> Config:
    if args.task == 'lidar_seg' and args.show_dir:
        # AFOV: matplotlib pictures (BEV prediction | GT | errors, camera overlay), headless
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='SegPicturesHook', out_dir=args.show_dir)]
        return cfg
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError('VisualizationHook must be included in default_hooks. Refer to '
                           "the usage 'visualization=dict(type='VisualizationHook')'")
    visualizer_hook = default_hooks['visualization']
    visualizer_hook['draw'] = True
    if args.show:
        visualizer_hook['show'] = True
        visualizer_hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualizer_hook['test_out_dir'] = args.show_dir
    visualizer_hook['vis_task'] = args.task
    visualizer_hook['score_thr'] = args.score_thr
    return cfg


def build_config(args: argparse.Namespace) -> Config:
    cfg = load_tool_config(args.config, args.launcher, args.data_root, args.cfg_options,
                           args.work_dir, args.ceph)
    cfg.load_from = args.checkpoint
    if args.vocabulary:
        set_test_vocabulary(cfg, args.vocabulary)
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.save_preds:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
            dict(type='SavePredictionsHook', out_dir=args.save_preds)]
    if args.tta:
        assert 'tta_model' in cfg, 'Cannot find ``tta_model`` in config.'
        assert 'tta_pipeline' in cfg, 'Cannot find ``tta_pipeline`` in config.'
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = ConfigDict(**cfg.tta_model)
    return cfg


def main() -> None:
    args = parse_args()
    cfg = build_config(args)
    if args.trust_checkpoint:
        compat.trust_checkpoint(args.checkpoint)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.test()
    finish_distributed()


if __name__ == '__main__':
    main()
