# Stage 2 initialised from TMP: the trunk comes from the TMP checkpoint, the classification
# head (decode_head.conv_seg) starts fresh. Everything else as the plain stage-2 config.
#   python tools/train.py configs/afov/tmp/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes.py
#   python tools/train.py THIS_CONFIG    (or --cfg-options load_from=ANOTHER_TMP_CHECKPOINT;
#   tools/demo.sh passes its own TMP checkpoint)
_base_ = ['./minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py']

# what the TMP config writes into its default work dir
load_from = 'work_dirs/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes/iter_600.pth'
