#!/usr/bin/env bash
# The main job: annotation-free 3D segmentation end to end on a synthetic nuScenes set.
#   1. set up .venv (first run only)          5. stage 2: MinkUNet on pseudo-labels (train.py)
#   2. generate the synthetic nuScenes set    6. evaluate it (test.py): all / seen / unseen
#   3. write the info pkls                    7. baselines: teacher projection, supervised
#   4. cache the simulated SAN teacher        8. table + work_dirs/demo/summary.json
# Reruns reuse the data, the cache and finished trainings (AFOV_DEMO_FRESH=1 redoes all).
# Sizes: AFOV_DEMO_SCENES (10, v1.0-mini names: 8 train + 2 val), AFOV_DEMO_FRAMES (16),
# AFOV_DEMO_ITERS (1000), AFOV_DEMO_IMAGE_SCALE (0.5), AFOV_DEMO_PROFILE (san), AFOV_DEMO_SEED.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY=.venv/bin/python
START=$(date +%s)
DATA=${AFOV_DEMO_DATA:-data/synthetic_nuscenes}
WORK=${AFOV_DEMO_WORK_DIR:-work_dirs/demo}
SCENES=${AFOV_DEMO_SCENES:-10}
FRAMES=${AFOV_DEMO_FRAMES:-16}
ITERS=${AFOV_DEMO_ITERS:-1000}
SCALE=${AFOV_DEMO_IMAGE_SCALE:-0.5}
PROFILE=${AFOV_DEMO_PROFILE:-san}
SEED=${AFOV_DEMO_SEED:-0}
STAGE2=configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py
SUPERVISED=configs/afov/stage2/minkunet18-w16_supervised_synthetic-nuscenes.py
CACHE_REL=teacher_cache/simulated-$PROFILE
OPTS=(--data-root "$DATA")
CACHE_OPTS=("teacher_cache_dir=$CACHE_REL" "teacher.profile=$PROFILE")
TRAIN_OPTS=("train_cfg.max_iters=$ITERS" "train_cfg.val_interval=$ITERS"
            "default_hooks.checkpoint.interval=$ITERS" "param_scheduler.1.end=$ITERS"
            "param_scheduler.1.T_max=$((ITERS - 30))")
if [[ "${AFOV_DEMO_FRESH:-0}" == 1 ]]; then rm -rf "$DATA" "$WORK"; fi
mkdir -p "$WORK"

echo "[demo] 1-3: synthetic nuScenes set in $DATA"
if [[ ! -f "$DATA/nuscenes_infos_val.pkl" ]]; then
  $PY tools/create_synthetic.py --format nuscenes --out "$DATA" --scenes "$SCENES" \
    --frames "$FRAMES" --image-scale "$SCALE" --seed "$SEED"
  $PY tools/create_data.py nuscenes --root-path "$DATA" --out-dir "$DATA" --version v1.0-mini
else
  echo "[demo] reusing $DATA"
fi

echo "[demo] 4: caching the simulated $PROFILE teacher"
$PY tools/cache_teacher.py "$STAGE2" "${OPTS[@]}" --report "$WORK/cache_report.json" \
  --cfg-options "${CACHE_OPTS[@]}"
$PY tools/pseudo_label_report.py "$STAGE2" "${OPTS[@]}" --split val \
  --out "$WORK/pseudo_labels_val.json" --cfg-options "${CACHE_OPTS[@]}" \
  "train_dataloader.dataset.pipeline.2.cache_dir=$CACHE_REL"

train_and_test() {  # name config [extra cfg-options]
  local name=$1 config=$2
  shift 2
  if [[ ! -f "$WORK/$name/iter_$ITERS.pth" ]]; then
    $PY tools/train.py "$config" --work-dir "$WORK/$name" "${OPTS[@]}" \
      --cfg-options "${TRAIN_OPTS[@]}" "$@"
  else
    echo "[demo] reusing $WORK/$name/iter_$ITERS.pth"
  fi
  rm -rf "$WORK/$name/test"
  $PY tools/test.py "$config" "$WORK/$name/iter_$ITERS.pth" --work-dir "$WORK/$name/test" \
    "${OPTS[@]}" --show-dir "$WORK/$name/pictures"
}
echo "[demo] 5-6: stage 2 (annotation-free) student"
train_and_test student "$STAGE2" "${CACHE_OPTS[@]}" \
  "train_dataloader.dataset.pipeline.2.cache_dir=$CACHE_REL"
echo "[demo] 7: fully supervised upper bound (same config, ground-truth labels)"
train_and_test supervised "$SUPERVISED"

$PY tools/summarize_demo.py --work-dir "$WORK" --data-root "$DATA" --config "$STAGE2" \
  --cache-dir "$DATA/$CACHE_REL" --iters "$ITERS" --start "$START"
