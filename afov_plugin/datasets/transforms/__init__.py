from .formatting import PackAFOVInputs
from .loading import AFOVLoadAnnotations3D, AFOVLoadPointsFromFile
from .lidar_corruptions import (CORRUPTIONS, BeamMissing, CrossSensor, Crosstalk, Fog,
                                IncompleteEcho, MotionBlur, Snow, WetGround, insert_corruption)
from .mcfa_targets import MCFATargets
from .pair_crop import RandomPairCrop
from .pairing import PointPixelPairing, project_points
from .pseudo_labels import PseudoLabelsAndSuperpoints
from .teacher_cache import LoadTeacherCache, point_regions
from .zero_shot_labels import SeenClassGroundTruth, ZeroShotLabels

__all__ = ['PointPixelPairing', 'project_points', 'AFOVLoadPointsFromFile',
           'AFOVLoadAnnotations3D', 'LoadTeacherCache', 'PseudoLabelsAndSuperpoints',
           'PackAFOVInputs', 'RandomPairCrop', 'point_regions', 'SeenClassGroundTruth',
           'ZeroShotLabels', 'MCFATargets', 'CORRUPTIONS', 'BeamMissing', 'CrossSensor',
           'Crosstalk', 'Fog', 'IncompleteEcho', 'MotionBlur', 'Snow', 'WetGround',
           'insert_corruption']
