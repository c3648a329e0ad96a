from .afov_minkunet import AFOVMinkUNet
from .self_training_teacher import SelfTrainingTeacher
from .tmp_minkunet import TMPMinkUNet

__all__ = ['AFOVMinkUNet', 'TMPMinkUNet', 'SelfTrainingTeacher']
