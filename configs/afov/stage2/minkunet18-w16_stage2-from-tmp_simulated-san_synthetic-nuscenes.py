# Stage 2 initialised from TMP: the trunk comes from the TMP checkpoint, the classification
# head (decode_head.conv_seg) starts fresh. Everything else as the plain stage-2 config.
#   python tools/train.py THIS_CONFIG --cfg-options load_from=work_dirs/demo/tmp/iter_600.pth
_base_ = ['./minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py']

load_from = 'work_dirs/demo/tmp/iter_600.pth'
