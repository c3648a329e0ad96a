from .formatting import PackAFOVInputs
from .loading import AFOVLoadAnnotations3D, AFOVLoadPointsFromFile
from .pair_crop import RandomPairCrop
from .pairing import PointPixelPairing, occlusion_mask, project_points
from .pseudo_labels import PseudoLabelsAndSuperpoints
from .teacher_cache import LoadTeacherCache

__all__ = ['PointPixelPairing', 'project_points', 'occlusion_mask', 'AFOVLoadPointsFromFile',
           'AFOVLoadAnnotations3D', 'LoadTeacherCache', 'PseudoLabelsAndSuperpoints',
           'PackAFOVInputs', 'RandomPairCrop']
