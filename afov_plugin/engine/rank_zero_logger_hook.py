"""mmengine's LoggerHook with the test metrics file written by rank 0 only, atomically."""
import json
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook

from mmdet3d.registry import HOOKS

from ..fileio import atomic_write_text


@HOOKS.register_module()
class RankZeroLoggerHook(LoggerHook):
    """``LoggerHook`` whose ``after_test_epoch`` writes ``<log_dir>/<timestamp>.json`` on rank 0
    only, through a temporary file and a rename. mmengine 0.10 dumps it on every rank into the
    same (broadcast) log folder, so under ``tools/dist_test.sh`` the ranks' writes, whose
    timing fields differ, interleave into an invalid file."""

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)
        if is_main_process():
            atomic_write_text(osp.join(runner.log_dir, self.json_log_path),
                              json.dumps(self._process_tags(tag)))
