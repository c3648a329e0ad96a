from .loading import AFOVLoadAnnotations3D, AFOVLoadPointsFromFile
from .pairing import PointPixelPairing, occlusion_mask, project_points

__all__ = ['PointPixelPairing', 'project_points', 'occlusion_mask', 'AFOVLoadPointsFromFile',
           'AFOVLoadAnnotations3D']
