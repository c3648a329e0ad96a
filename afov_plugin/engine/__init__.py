from .freeze_hook import FreezeModulesHook
from .runtime import (adapt_runtime_cfg, finish_distributed, load_tool_config,
                      resolve_cache_dir, set_data_root)
from .save_predictions_hook import SavePredictionsHook, load_prediction, save_prediction

__all__ = ['adapt_runtime_cfg', 'finish_distributed', 'set_data_root', 'resolve_cache_dir',
           'load_tool_config', 'SavePredictionsHook', 'save_prediction', 'load_prediction',
           'FreezeModulesHook']
