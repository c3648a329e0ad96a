"""Packaging: requirements/*.txt ranges vs the pins of requirements/stack.env, the installed
environment vs runtime.txt, `pip install -e .` into this environment pulls nothing new, one
version string, and tools/setup_env.sh's device variants (plan mode, nothing installed)."""
import importlib.metadata as md
import json
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REQ_FILES = ('runtime.txt', 'optional.txt', 'tests.txt')
# stack.env variable -> distribution name, for the NAME_VERSION=x.y.z pins
VERSION_VARS = dict(TORCH_VERSION='torch', MMENGINE_VERSION='mmengine', MMCV_VERSION='mmcv',
                    MMDET_VERSION='mmdet', MMDET3D_VERSION='mmdet3d',
                    MMSEG_VERSION='mmsegmentation')
# pinned by the stack but deliberately not install requirements (requirements/runtime.txt)
NOT_REQUIRED = {'torch', 'setuptools'}
PROBE_VERSIONS = ['1.0', '1.21.6', '1.22.0', '1.24.4', '1.26.4', '2.0.0', '2.1.0', '2.3.0',
                  '3.0.0', '70.0.0', '77.0.0', '81.0.0']


def parse_stack_env(path=osp.join(ROOT, 'requirements', 'stack.env')) -> dict:
    """NAME=value lines of the shell file (quotes removed as the shell does)."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            m = re.fullmatch(r'([A-Z_][A-Z0-9_]*)=(.*)', line)
            assert m, f'stack.env: not a NAME=value line: {line!r}'
            words = shlex.split(m.group(2), comments=True)
            assert len(words) <= 1, f'stack.env: {line!r} is not one shell word'
            out[m.group(1)] = words[0] if words else ''
    return out


def read_requirements(name: str) -> list:
    """The Requirements of requirements/<name>, as setup.py reads them."""
    with open(osp.join(ROOT, 'requirements', name)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [Requirement(line) for line in lines if line and not line.startswith('-')]


def ranges() -> dict:
    """canonical name -> (file, Requirement) over requirements/*.txt; a name is listed once."""
    out = {}
    for name in REQ_FILES:
        for req in read_requirements(name):
            key = canonicalize_name(req.name)
            assert key not in out, f'{req.name} is listed in both {out[key][0]} and {name}'
            out[key] = (name, req)
    return out


def stack_pins() -> dict:
    """canonical name -> (stack.env variable, SpecifierSet) of every versioned entry."""
    env = parse_stack_env()
    pins = {}
    for var, value in env.items():
        if var in VERSION_VARS:
            pins[VERSION_VARS[var]] = (var, SpecifierSet(f'=={value}'))
        elif var.endswith('_SPEC') or var.endswith('_PACKAGE'):
            req = Requirement(value)
            pins[canonicalize_name(req.name)] = (var, req.specifier)
    return pins


def exact(spec: SpecifierSet):
    """The version of an ``==x.y.z`` specifier set, else None."""
    specs = list(spec)
    if len(specs) == 1 and specs[0].operator in ('==', '==='):
        return Version(specs[0].version)
    return None


def test_stack_env_parses_and_pins_what_setup_env_installs():
    env = parse_stack_env()
    for var in list(VERSION_VARS) + ['SETUPTOOLS_SPEC', 'NUMPY_SPEC', 'SPCONV_CPU_PACKAGE',
                                     'SPCONV_CUDA_PACKAGE', 'EXTRA_PACKAGES']:
        assert env.get(var), f'requirements/stack.env has no {var}'
    for var in VERSION_VARS:
        Version(env[var])  # an exact version, not a range


def test_requirement_files_parse_and_leave_out_torch_and_setuptools():
    runtime = {canonicalize_name(r.name) for r in read_requirements('runtime.txt')}
    for name in ('mmengine', 'mmcv', 'mmdet', 'mmdet3d', 'mmsegmentation', 'numpy'):
        assert name in runtime, f'requirements/runtime.txt does not list {name}'
    everything = ranges()  # also: no package in two files
    for name in NOT_REQUIRED:
        assert name not in everything, (
            f'{name} must not be an install requirement (torch 2.13 wants setuptools>=77, the '
            f'stack needs setuptools<70: `pip install -e .` could not resolve); it is listed in '
            f'requirements/{everything[name][0]}' if name in everything else '')


def test_every_stack_pin_satisfies_the_requirement_ranges():
    listed = ranges()
    problems, checked = [], 0
    for name, (var, pin) in stack_pins().items():
        if name in NOT_REQUIRED:
            continue
        if name not in listed:
            # only a device variant of a listed package may be absent (spconv-cu120 vs spconv)
            base = re.sub(r'-cu\d+$', '', name)
            if base != name and base in listed:
                continue
            problems.append(f'{var} pins {name}, which no requirements/*.txt lists')
            continue
        file, req = listed[name]
        version = exact(pin)
        if version is not None:
            checked += 1
            if not req.specifier.contains(version, prereleases=True):
                problems.append(f'{var}={version} is outside {req} of requirements/{file}')
        elif len(pin):
            # a range of the stack (NUMPY_SPEC): the requirement must be no looser than it, and
            # both must leave a version
            checked += 1
            looser = [v for v in PROBE_VERSIONS if req.specifier.contains(v, prereleases=True)
                      and not pin.contains(v, prereleases=True)]
            both = [v for v in PROBE_VERSIONS if req.specifier.contains(v, prereleases=True)
                    and pin.contains(v, prereleases=True)]
            if looser or not both:
                problems.append(f'{var}="{name}{pin}" vs {req} of requirements/{file}: '
                                f'allowed by the requirement only {looser}, by both {both}')
    assert checked >= 7, f'only {checked} pins checked: parse of stack.env broken?'
    assert not problems, '\n'.join(problems)


def test_every_versioned_runtime_requirement_that_the_stack_pins_agrees():
    pins = stack_pins()
    env = parse_stack_env()
    extra = {canonicalize_name(n) for n in env['EXTRA_PACKAGES'].split()}
    listed = ranges()
    missing = sorted(extra - set(listed))
    assert not missing, f'stack.env EXTRA_PACKAGES installs {missing}: list them in requirements/'
    for req in read_requirements('runtime.txt'):
        name = canonicalize_name(req.name)
        if name in pins and req.specifier:
            var, pin = pins[name]
            version = exact(pin)
            if version is not None:
                assert req.specifier.contains(version, prereleases=True), (var, str(req))
    # the OpenMMLab family is a closed range in runtime.txt: an upper bound for every one
    for req in read_requirements('runtime.txt'):
        if canonicalize_name(req.name) in VERSION_VARS.values():
            assert any(s.operator in ('<', '<=', '~=', '==') for s in req.specifier), (
                f'{req} in runtime.txt has no upper bound')


def test_setup_py_reads_the_same_requirements_and_version():
    """setup.py's own parse (run as `setup.py --version` / its functions), not a copy of it."""
    proc = subprocess.run([sys.executable, 'setup.py', '--version'], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    setup_version = proc.stdout.strip().splitlines()[-1]
    from afov_plugin.version import __version__
    assert setup_version == __version__
    code = ('import runpy, setuptools, json, sys\n'
            'seen = {}\n'
            'setuptools.setup = lambda **kw: seen.update(kw)\n'
            'runpy.run_path("setup.py", run_name="__main__")\n'
            'print(json.dumps(dict(install_requires=seen["install_requires"], '
            'extras_require=seen["extras_require"], version=seen["version"])))')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    meta = json.loads(proc.stdout.strip().splitlines()[-1])

    def same(lines, name):
        return [str(Requirement(r)) for r in lines] == [str(r) for r in read_requirements(name)]
    assert same(meta['install_requires'], 'runtime.txt'), meta['install_requires']
    assert not {canonicalize_name(Requirement(r).name) for r in meta['install_requires']} & \
        NOT_REQUIRED
    assert same(meta['extras_require']['tests'], 'tests.txt')
    assert same(meta['extras_require']['optional'], 'optional.txt')
    assert meta['version'] == __version__


def test_installed_environment_satisfies_runtime_requirements():
    problems = []
    for req in read_requirements('runtime.txt') + read_requirements('tests.txt'):
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = md.version(req.name)
        except md.PackageNotFoundError:
            problems.append(f'{req.name} is not installed ({req})')
            continue
        if not req.specifier.contains(version, prereleases=True):
            problems.append(f'{req.name} {version} installed, {req} required')
    assert not problems, '\n'.join(problems) + '\n(rerun bash tools/setup_env.sh)'


def test_exactly_one_spconv_variant_installed_in_the_optional_range():
    names = {canonicalize_name(d.metadata['Name']): d.version for d in md.distributions()}
    variants = {n: v for n, v in names.items() if re.fullmatch(r'spconv(-cu\d+)?', n)}
    assert len(variants) == 1, f'spconv variants installed: {variants} (need exactly one)'
    (name, version), = variants.items()
    req = {canonicalize_name(r.name): r for r in read_requirements('optional.txt')}['spconv']
    # the cuXXX builds share spconv's version numbers: the same range applies
    assert req.specifier.contains(version, prereleases=True), f'{name} {version} vs {req}'


def test_installed_afov_plugin_version_is_version_py():
    import afov_plugin
    from afov_plugin.version import __version__
    assert afov_plugin.__version__ == __version__
    installed = md.version('afov_plugin')
    assert installed == __version__, (
        f'installed afov_plugin metadata says {installed}, afov_plugin/version.py says '
        f'{__version__}: reinstall (.venv/bin/python -m pip install --no-deps '
        '--no-build-isolation -e .)')
    # the installed metadata declares the ranges of runtime.txt (so it was built from them)
    requires = [Requirement(r) for r in (md.requires('afov_plugin') or [])]
    runtime = {canonicalize_name(r.name): r.specifier for r in requires if r.marker is None}
    for req in read_requirements('runtime.txt'):
        assert runtime.get(canonicalize_name(req.name)) == req.specifier, (
            f'installed afov_plugin metadata lacks {req}: reinstall it (see above)')


def _copy_project(dst: str) -> str:
    """setup.py, requirements/ and the package (no .venv, data, work dirs): pip builds the
    metadata in the copy, so no build/egg-info lands in the working tree."""
    os.makedirs(dst)
    shutil.copy(osp.join(ROOT, 'setup.py'), dst)
    shutil.copytree(osp.join(ROOT, 'requirements'), osp.join(dst, 'requirements'))
    shutil.copytree(osp.join(ROOT, 'afov_plugin'), osp.join(dst, 'afov_plugin'),
                    ignore=shutil.ignore_patterns('__pycache__', '*.egg-info'))
    return dst


def _dry_run_report(project: str, tmp_path, *extra) -> dict:
    report = tmp_path / 'report.json'
    cmd = [sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-build-isolation',
           '--no-index', '--disable-pip-version-check', '--quiet', '--report', str(report),
           *extra, '-e', project]
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, f'{" ".join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}'
    return json.loads(report.read_text())


@pytest.mark.timeout(600)
def test_editable_install_into_this_environment_pulls_nothing_new(tmp_path):
    """`pip install -e .` with the full dependency resolution (no --no-deps) and no index at
    all: every requirement must already be satisfied here; the only install is afov_plugin."""
    project = _copy_project(str(tmp_path / 'project'))
    report = _dry_run_report(project, tmp_path)
    installs = [(i['metadata']['name'], i['metadata']['version']) for i in report['install']]
    assert [canonicalize_name(n) for n, _ in installs] == ['afov-plugin'], installs
    from afov_plugin.version import __version__
    assert installs[0][1] == __version__
    requires = [Requirement(r) for r in report['install'][0]['metadata'].get('requires_dist', [])]
    assert {canonicalize_name(r.name) for r in requires if r.marker is None} == \
        {canonicalize_name(r.name) for r in read_requirements('runtime.txt')}


@pytest.mark.timeout(600)
def test_editable_install_dry_run_fails_on_an_unsatisfiable_requirement(tmp_path):
    """The check above can fail: a runtime range the environment does not meet makes the same
    offline dry run fail (nothing to install it from)."""
    project = _copy_project(str(tmp_path / 'project'))
    with open(osp.join(project, 'requirements', 'runtime.txt'), 'a') as f:
        f.write('mmdet3d>=99\n')  # a second, impossible constraint on a listed package
    cmd = [sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-build-isolation',
           '--no-index', '--disable-pip-version-check', '-e', project]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert 'ResolutionImpossible' in proc.stderr and 'mmdet3d>=99' in proc.stdout + proc.stderr


# ---------------------------------------------------------------- tools/setup_env.sh plan mode
def setup_plan(tmp_path, **env) -> dict:
    full = {k: v for k, v in os.environ.items() if not k.startswith('AFOV_')}
    full.update(AFOV_SETUP_PLAN='1', AFOV_WHEEL_CACHE=str(tmp_path / 'wheels'), **env)
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'setup_env.sh')], env=full,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return dict(line.split('=', 1) for line in proc.stdout.splitlines() if '=' in line)


def test_setup_env_sh_is_valid_bash():
    proc = subprocess.run(['bash', '-n', osp.join(ROOT, 'tools', 'setup_env.sh')],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_setup_env_plan_cpu_and_cuda_variants_differ(tmp_path):
    env = parse_stack_env()
    default = setup_plan(tmp_path)
    cpu = setup_plan(tmp_path, AFOV_DEVICE='cpu')
    cuda = setup_plan(tmp_path, AFOV_DEVICE='cuda')
    assert default == cpu  # cpu unless AFOV_DEVICE says otherwise, GPU or not
    assert (cpu['device'], cpu['force_cuda'], cpu['spconv_package']) == \
        ('cpu', '0', env['SPCONV_CPU_PACKAGE'])
    assert (cuda['device'], cuda['force_cuda'], cuda['spconv_package']) == \
        ('cuda', '1', env['SPCONV_CUDA_PACKAGE'])
    wheels = str(tmp_path / 'wheels')
    assert cpu['wheel_dir'].startswith(wheels) and cuda['wheel_dir'].startswith(wheels)
    assert cpu['wheel_dir'] != cuda['wheel_dir']
    assert cpu['wheel_dir'].endswith('-cpu') and cuda['wheel_dir'].endswith('-cuda')
    assert f"mmcv-{env['MMCV_VERSION']}-torch" in cuda['wheel_dir']
    assert cpu['stamp'] != cuda['stamp']
    override = setup_plan(tmp_path, AFOV_DEVICE='cuda', AFOV_SPCONV_PACKAGE='spconv-cu118')
    assert override['spconv_package'] == 'spconv-cu118' and override['force_cuda'] == '1'
    assert override['stamp'] != cuda['stamp']


def test_setup_env_plan_reuses_an_unsuffixed_wheel_dir_as_cpu(tmp_path):
    env = parse_stack_env()
    cpu = setup_plan(tmp_path, AFOV_DEVICE='cpu')
    legacy = cpu['wheel_dir'][:-len('-cpu')]  # the folder name before variants existed
    os.makedirs(legacy)
    open(osp.join(legacy, f"mmcv-{env['MMCV_VERSION']}-cp311-cp311-linux_x86_64.whl"),
         'w').close()
    assert setup_plan(tmp_path, AFOV_DEVICE='cpu')['wheel_dir'] == legacy
    assert setup_plan(tmp_path, AFOV_DEVICE='cuda')['wheel_dir'] == legacy + '-cuda'
    # a wheel of the suffixed cpu folder wins over the legacy one
    os.makedirs(cpu['wheel_dir'])
    open(osp.join(cpu['wheel_dir'], f"mmcv-{env['MMCV_VERSION']}-cp311-cp311-linux_x86_64.whl"),
         'w').close()
    assert setup_plan(tmp_path, AFOV_DEVICE='cpu')['wheel_dir'] == cpu['wheel_dir']


def test_setup_env_refuses_an_unknown_device(tmp_path):
    full = {k: v for k, v in os.environ.items() if not k.startswith('AFOV_')}
    full.update(AFOV_SETUP_PLAN='1', AFOV_DEVICE='tpu', AFOV_WHEEL_CACHE=str(tmp_path))
    proc = subprocess.run(['bash', osp.join(ROOT, 'tools', 'setup_env.sh')], env=full,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and 'AFOV_DEVICE' in proc.stderr, (proc.returncode, proc.stderr)


def test_setup_env_stamp_covers_the_requirement_files():
    text = open(osp.join(ROOT, 'tools', 'setup_env.sh')).read()
    stamp = text[text.index('STAMP_VALUE='):]
    stamp = stamp[:stamp.index('sha1sum')]
    for name in ('requirements/stack.env', 'setup.py') + tuple(f'requirements/{n}'
                                                               for n in REQ_FILES):
        assert name in stamp, f'the setup stamp does not cover {name}'
    assert '$DEVICE' in stamp
