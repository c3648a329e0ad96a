#!/usr/bin/env bash
# The main job on a fresh machine: set up, generate a synthetic SemanticKITTI-format set,
# index it, train MinkUNet (spconv) through tools/train.py and evaluate through tools/test.py.
# Reruns reuse the data already generated (set AFOV_DEMO_REGENERATE=1 to rebuild it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY=.venv/bin/python
DATA=${AFOV_DEMO_DATA:-data/synthetic_semantickitti}
WORK=${AFOV_DEMO_WORK_DIR:-work_dirs/demo}
CONFIG=configs/foundation/minkunet18-w16_spconv_short_synthetic-semantickitti.py
SCENES=${AFOV_DEMO_SCENES:-4}
FRAMES=${AFOV_DEMO_FRAMES:-12}
ITERS=${AFOV_DEMO_ITERS:-150}
START=$(date +%s)

if [[ "${AFOV_DEMO_REGENERATE:-0}" == 1 || ! -f "$DATA/semantickitti_infos_val.pkl" ]]; then
  $PY tools/create_synthetic.py --format semantickitti --out "$DATA" --scenes "$SCENES" \
    --frames "$FRAMES" --azimuth-steps 1024
  $PY tools/create_data.py semantickitti --root-path "$DATA" --out-dir "$DATA"
else
  echo "[demo] reusing $DATA"
fi
$PY tools/train.py "$CONFIG" --work-dir "$WORK" \
  --cfg-options "train_dataloader.dataset.data_root=$DATA/" "val_dataloader.dataset.data_root=$DATA/" \
  "test_dataloader.dataset.data_root=$DATA/" "train_cfg.max_iters=$ITERS" "train_cfg.val_interval=$ITERS"
CKPT="$WORK/iter_${ITERS}.pth"
$PY tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK/test" \
  --cfg-options "test_dataloader.dataset.data_root=$DATA/" | tee "$WORK/test.log"
$PY - "$WORK" "$DATA" "$CONFIG" "$CKPT" "$START" <<'PYEOF'
import glob, json, os, sys, time
work, data, config, ckpt, start = sys.argv[1:]
logs = sorted(glob.glob(os.path.join(work, 'test', '*', '*.json')))
metrics = json.load(open(logs[-1])) if logs else {}
summary = dict(supervised_miou=round(100 * metrics.get('miou', float('nan')), 2),
               supervised_acc=round(100 * metrics.get('acc', float('nan')), 2),
               data_root=data, config=config, checkpoint=ckpt,
               seconds=round(time.time() - float(start), 1))
json.dump(summary, open(os.path.join(work, 'summary.json'), 'w'), indent=2)
print('\n[demo] summary (' + os.path.join(work, 'summary.json') + ')')
for k, v in summary.items():
    print(f'  {k:>16}: {v}')
PYEOF
