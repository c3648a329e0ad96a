"""AFOV: annotation-free open-vocabulary LiDAR segmentation as an MMDetection3D plugin.

Importing the package applies the compatibility fixes of :mod:`afov_plugin.compat` and
registers every component in mmdet3d's registries.
"""
from . import compat

compat.apply()

from . import (datasets, engine, evaluation, models, post_processing,  # noqa: E402,F401
               teachers, visualization)

from .version import __version__  # noqa: E402,F401
