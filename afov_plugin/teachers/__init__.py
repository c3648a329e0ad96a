from .base import BaseOVTeacher, TeacherOutput, regions_from_labels
from .cache import (FORMAT_NAME, FORMAT_VERSION, CacheError, TeacherCache, decode_entry,
                    encode_entry, image_key)
from .caching import (CacheReport, config_images, dataset_images, run_teacher_pass, shard,
                      teacher_config_for_device, verify_cache)
from .mmseg_ov import MMSegOVTeacher
from .simulated import PROFILES, SimulatedOVTeacher, simulated_text_bank

__all__ = ['teacher_config_for_device', 'BaseOVTeacher', 'TeacherOutput',
           'regions_from_labels', 'TeacherCache', 'CacheError', 'image_key', 'encode_entry',
           'decode_entry', 'FORMAT_NAME', 'FORMAT_VERSION', 'SimulatedOVTeacher', 'PROFILES',
           'simulated_text_bank', 'CacheReport', 'config_images', 'dataset_images',
           'run_teacher_pass', 'shard', 'verify_cache', 'MMSegOVTeacher']
