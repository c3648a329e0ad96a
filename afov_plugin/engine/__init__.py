from .freeze_hook import FreezeModulesHook
from .freeze_modules_runner import FreezeModulesRunner
from .class_setting import apply_class_setting
from .runtime import (adapt_runtime_cfg, complete_config, finish_distributed, load_config,
                      load_tool_config, rank_and_device, resolve_cache_dir, set_data_root,
                      set_test_vocabulary)
from .teacher_setting import apply_teacher_setting, teacher_cache_dir, teacher_name
from .warmup_cosine_lr import WarmupCosineLR
from .rank_zero_logger_hook import RankZeroLoggerHook
from .save_predictions_hook import SavePredictionsHook, load_prediction, save_prediction

__all__ = ['adapt_runtime_cfg', 'finish_distributed', 'set_data_root', 'resolve_cache_dir',
           'load_tool_config', 'load_config', 'complete_config', 'apply_class_setting',
           'set_test_vocabulary',
           'rank_and_device', 'SavePredictionsHook', 'save_prediction', 'load_prediction',
           'FreezeModulesHook', 'FreezeModulesRunner', 'apply_teacher_setting',
           'teacher_cache_dir', 'teacher_name', 'WarmupCosineLR', 'RankZeroLoggerHook']
