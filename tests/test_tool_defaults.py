"""Tool defaults that must fit together: tools/create_synthetic.py's default nuScenes set is
what tools/create_data.py and the synthetic configs read; tools/benchmark.py's argument and
data-root errors; the launch scripts document PYTHON."""
import os
import os.path as osp
import pickle
import re
import shlex

import pytest
from conftest import ROOT, load_tool

SYNTHETIC_NUS_BASE = 'configs/_base_/datasets/synthetic-nuscenes_afov.py'


def config_version() -> str:
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, SYNTHETIC_NUS_BASE)).version


def test_create_synthetic_default_version_is_the_configs_and_create_datas():
    args = load_tool('create_synthetic').build_parser().parse_args(['--out', 'unused'])
    assert args.format == 'nuscenes'
    assert args.version == config_version() == 'v1.0-trainval'
    create_data = open(osp.join(ROOT, 'tools', 'create_data.py')).read()
    assert re.search(r"'--version', default='v1\.0-trainval'", create_data)
    # the default scene count gives both splits
    from afov_plugin.synthetic.nuscenes_writer import scene_names
    splits = [split for _, split in scene_names(args.version, args.scenes)]
    assert splits.count('train') > 0 and splits.count('val') > 0, splits


@pytest.mark.timeout(900)
def test_default_synthetic_nuscenes_set_is_read_by_create_data_and_the_configs(
        tmp_path, capsys):
    """create_synthetic with no --version, create_data with no --version: the info pkls and
    folders the synthetic configs name exist and are not empty (the default was v1.0-mini,
    whose set create_data refused and the configs could not read)."""
    from mmengine.config import Config
    root = str(tmp_path / 'synthetic_nuscenes')
    # only the size is made small: 2 scenes (1 train + 1 val) x 2 frames, 1/4-scale images
    # the tools' main functions in this process, with the command lines a user types
    load_tool('create_synthetic').main(['--format', 'nuscenes', '--out', root, '--scenes', '2',
                                        '--frames', '2', '--image-scale', '0.25'])
    assert 'tools/create_data.py nuscenes' in capsys.readouterr().out  # the next step
    load_tool('create_data').main(['nuscenes', '--root-path', root, '--out-dir', root])
    cfg = Config.fromfile(osp.join(ROOT, SYNTHETIC_NUS_BASE))
    checked = 0
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        info_path = osp.join(root, ds.ann_file)
        assert osp.isfile(info_path), f'{loader}: {ds.ann_file} not written by the defaults'
        with open(info_path, 'rb') as f:
            infos = pickle.load(f)
        assert infos['metainfo']['version'] == cfg.version
        assert len(infos['data_list']) == 2, (loader, len(infos['data_list']))
        for key, folder in ds.data_prefix.items():
            assert osp.isdir(osp.join(root, folder)), f'{loader}: data_prefix.{key}={folder}'
        info = infos['data_list'][0]
        assert osp.isfile(osp.join(root, ds.data_prefix['pts'],
                                   info['lidar_points']['lidar_path']))
        assert osp.isfile(osp.join(root, ds.data_prefix['pts_semantic_mask'],
                                   info['pts_semantic_mask_path']))
        checked += 1
    assert checked == 3


# ---------------------------------------------------------------------------- tools/benchmark.py
def _benchmark_main(argv, capsys):
    """tools/benchmark.py's main in this process (the usage / data checks come before any
    suite runs): (exit code, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        load_tool('benchmark').main(argv)
    code = exit_info.value.code
    err = capsys.readouterr().err
    if isinstance(code, str):  # sys.exit(message): Python prints it and exits with 1
        return 1, err + code
    return code, err


def test_benchmark_unknown_suite_is_a_usage_error_listing_the_suites(capsys):
    suites = list(load_tool('benchmark').SUITES)
    assert len(suites) >= 6
    code, err = _benchmark_main(['--only', 'nosuch'], capsys)
    assert code == 2, (code, err[-2000:])
    assert 'usage:' in err and 'nosuch' in err
    for name in suites:
        assert name in err, f'{name} not listed: {err}'
    # a known suite next to an unknown one: still refused, before anything runs
    code, err = _benchmark_main(['--only', 'synthetic,nosuch'], capsys)
    assert code == 2 and 'nosuch' in err


def test_benchmark_missing_data_root_names_the_commands_that_create_it(tmp_path, capsys):
    root = str(tmp_path / 'no_such_set')
    code, err = _benchmark_main(['--only', 'cache,afi', '--data-root', root], capsys)
    assert code == 1, (code, err[-2000:])
    assert root in err and 'does not exist' in err
    commands = [line.strip() for line in err.splitlines()
                if line.strip().startswith('python tools/')]
    tools = [c.split()[1] for c in commands]
    assert tools == ['tools/create_synthetic.py', 'tools/create_data.py',
                     'tools/cache_teacher.py'], commands
    # the printed commands are valid: create_synthetic's flags parse, its version is the
    # configs', the config given to cache_teacher exists, every one writes into --data-root
    args = load_tool('create_synthetic').build_parser().parse_args(shlex.split(commands[0])[2:])
    assert args.out == root and args.version == config_version()
    assert f'--root-path {root} --out-dir {root}' in commands[1]
    cache_args = shlex.split(commands[2])
    assert osp.isfile(osp.join(ROOT, cache_args[2])) and cache_args[-2:] == ['--data-root', root]
    assert not os.path.exists(root)  # nothing was created behind the user's back


def test_benchmark_data_check_asks_only_for_what_is_missing(tmp_path):
    bench = load_tool('benchmark')
    root = str(tmp_path / 'set')
    os.makedirs(root)
    assert bench.missing_data_message(root, ['synthetic']) is None  # reads no data root
    for split in ('train', 'val'):
        open(osp.join(root, f'nuscenes_infos_{split}.pkl'), 'wb').close()
    assert bench.missing_data_message(root, ['afi']) is None  # infos only
    message = bench.missing_data_message(root, ['cache', 'afi'])
    assert 'tools/cache_teacher.py' in message and 'tools/create_synthetic.py' not in message
    assert 'suite(s) cache)' in message
    os.makedirs(osp.join(root, 'teacher_cache', 'simulated-san'))
    open(osp.join(root, bench.TEACHER_CACHE), 'w').close()
    assert bench.missing_data_message(root, list(bench.SUITES)) is None
    os.remove(osp.join(root, 'nuscenes_infos_val.pkl'))
    assert 'tools/create_data.py' in bench.missing_data_message(root, ['afi'])


# -------------------------------------------------------------------------- launch scripts
@pytest.mark.parametrize('script', ['dist_train.sh', 'dist_test.sh', 'slurm_train.sh'])
def test_launch_scripts_document_and_use_python(script):
    lines = open(osp.join(ROOT, 'tools', script)).read().splitlines()
    header = []
    for line in lines[1:]:
        if not line.startswith('#'):
            break
        header.append(line)
    header = '\n'.join(header)
    assert re.search(r'^# PYTHON: ', header, re.M), f'{script}: header does not document PYTHON'
    assert re.search(r'^#\s+PYTHON=\S+ .*bash tools/' + re.escape(script), header, re.M), \
        f'{script}: no PYTHON=... example in the header'
    body = '\n'.join(lines)
    assert '${PYTHON:-$ROOT/.venv/bin/python}' in body
