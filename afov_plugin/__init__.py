"""AFOV: annotation-free open-vocabulary LiDAR segmentation as an MMDetection3D plugin.

Importing the package applies the compatibility fixes of :mod:`afov_plugin.compat` and
registers every component in mmdet3d's registries.
"""
from . import compat

compat.apply()

from . import datasets, engine, evaluation, models, teachers, visualization  # noqa: E402,F401,E501

__version__ = '0.1.0'
