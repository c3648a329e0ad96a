import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    """``__version__`` of afov_plugin/version.py, parsed (importing the package needs mmdet3d)."""
    with open(osp.join(HERE, 'afov_plugin', 'version.py')) as f:
        match = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", f.read(), re.M)
    if not match:
        raise RuntimeError('no __version__ in afov_plugin/version.py')
    return match.group(1)


def parse_requirements(name: str) -> list:
    """Requirement lines of requirements/<name>.txt (comments and blank lines dropped)."""
    with open(osp.join(HERE, 'requirements', name)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


setup(
    name='afov_plugin',
    version=read_version(),
    description='AFOV: annotation-free open-vocabulary LiDAR segmentation for MMDetection3D',
    packages=find_packages(include=['afov_plugin', 'afov_plugin.*']),
    package_data={'afov_plugin': ['**/*.json']},
    python_requires='>=3.8',
    # Ranges; the exact tested pins are in requirements/stack.env, installed by
    # tools/setup_env.sh (mmcv must be built from source with ops, which pip cannot express).
    install_requires=parse_requirements('runtime.txt'),
    extras_require=dict(optional=parse_requirements('optional.txt'),
                        tests=parse_requirements('tests.txt'),
                        all=parse_requirements('optional.txt') + parse_requirements('tests.txt')),
)
