from setuptools import find_packages, setup

setup(
    name='afov_plugin',
    version='0.1.0',
    description='AFOV: annotation-free open-vocabulary LiDAR segmentation for MMDetection3D',
    packages=find_packages(include=['afov_plugin', 'afov_plugin.*']),
    package_data={'afov_plugin': ['**/*.json']},
    python_requires='>=3.8',
    # The pinned stack is installed by tools/setup_env.sh (requirements/stack.env): mmcv must be
    # built from source with ops, which pip's dependency resolution cannot express.
    install_requires=[],
)
