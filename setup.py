"""afov_plugin's packaging: metadata from afov_plugin/version.py and requirements/*.txt.

``pip install -e .`` takes the runtime RANGES of requirements/runtime.txt; the exact stack
tested here (requirements/stack.env) is installed by tools/setup_env.sh, which builds mmcv
with ops from source, something pip's dependency resolution cannot express. torch and
setuptools are deliberately not install requirements (see requirements/runtime.txt).
Extras: ``[optional]`` (the CPU spconv build; see requirements/optional.txt for CUDA),
``[tests]``, ``[all]``.
"""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    """``__version__`` of afov_plugin/version.py, parsed: importing the package would import
    mmdet3d, which need not be installed yet when pip builds the metadata."""
    with open(osp.join(HERE, 'afov_plugin', 'version.py')) as f:
        match = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", f.read(), re.M)
    if not match:
        raise RuntimeError('no __version__ = "..." line in afov_plugin/version.py')
    return match.group(1)


def parse_requirements(name: str) -> list:
    """Requirement lines of requirements/<name> (comments, blank lines and pip options such
    as ``-r`` dropped)."""
    with open(osp.join(HERE, 'requirements', name)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


OPTIONAL = parse_requirements('optional.txt')
TESTS = parse_requirements('tests.txt')

setup(
    name='afov_plugin',
    version=read_version(),
    description='AFOV: annotation-free open-vocabulary LiDAR segmentation for MMDetection3D',
    packages=find_packages(include=['afov_plugin', 'afov_plugin.*']),
    package_data={'afov_plugin': ['**/*.json']},
    python_requires='>=3.8',
    install_requires=parse_requirements('runtime.txt'),
    extras_require=dict(optional=OPTIONAL, tests=TESTS, all=OPTIONAL + TESTS),
)
