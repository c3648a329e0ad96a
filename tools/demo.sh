#!/usr/bin/env bash
# The main job: annotation-free 3D segmentation end to end on a synthetic nuScenes set
# (AFOV_DEMO_DATASET=semantickitti: on a synthetic SemanticKITTI set, front camera only,
# steps 1-8, into work_dirs/demo_semantickitti).
#   1. set up .venv (first run only)          5. stage 2: MinkUNet on pseudo-labels (train.py)
#   2. generate the synthetic nuScenes set    6. evaluate it (test.py): all / in-view / out-of-view
#   3. write the info pkls                    7. baselines: teacher projection, supervised
#   4. cache the simulated SAN teacher        8. table + work_dirs/demo/summary.json
#   6b. the student with AFI inline           9. TMP pretraining   10. stage 2 from TMP
#   11. 1 % fine-tuning (random / TMP init) and linear probing of TMP
# Reruns reuse the data, the cache and finished trainings (AFOV_DEMO_FRESH=1 redoes all).
# Sizes: AFOV_DEMO_SCENES (20, v1.0-trainval names: 16 train + 4 val), AFOV_DEMO_FRAMES (16),
# AFOV_DEMO_ITERS (1000), AFOV_DEMO_TMP_ITERS (600), AFOV_DEMO_TMP_STUDENT_ITERS (600: stage 2
# from the TMP init), AFOV_DEMO_FINETUNE_ITERS (300),
# AFOV_DEMO_IMAGE_SCALE (0.5), AFOV_DEMO_PROFILE (san), AFOV_DEMO_SEED; AFOV_DEMO_TMP=0 skips
# the TMP part (steps 9-11), about halving the time. AFOV_DEMO_JOBS (2): trainings run in
# two lanes side by side (1: one after the other, output on the terminal). AFOV_DEMO_VOXEL=0.1:
# every model on the reference's 0.1 m voxels instead of the configs' 0.2 m (README).
# AFOV_DEMO_DATASET=semantickitti: 5 train sequences x 8 scans + val sequence 08 of
# AFOV_DEMO_VAL_FRAMES (32) scans, 400 iterations, AFOV_DEMO_AZIMUTH (1024) LiDAR azimuth steps.
# AFOV_DEMO_TASK=mixing: stage 2 plain / with
# mmdet3d's LaserMix / PolarMix at the same schedule (work_dirs/demo_mixing).
# AFOV_DEMO_TASK=feature_knowledge: steps 9-11 (TMP, stage 2 from TMP, 1 % fine-tuning, linear
# probing) with the simulated teacher's features at each κ of AFOV_DEMO_FEATURE_KNOWLEDGE
# ("0 0.5 0.9"; teacher.feature_knowledge), one cache each (work_dirs/demo_feature_knowledge).
# AFOV_DEMO_TASK=text_head: stage 2 with the linear head / with the text-embedding classifier
# (TextEmbeddingHead) at the same schedule (work_dirs/demo_text_head).
# AFOV_DEMO_TASK=zeroshot: the zero-shot protocol (seen / unseen classes): without MCFA, with
# MCFA (phase 1), then self-training from it (phase 2, AFOV_DEMO_SELF_TRAINING_ITERS, 400),
# the supervised upper (all classes) and lower (seen classes) bounds and the teacher's
# projection, every training at 400 iterations by default; text queries of the final model
# (tools/query.py --retrieval) (work_dirs/demo_zeroshot).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY=.venv/bin/python
START=$(date +%s)
DATASET=${AFOV_DEMO_DATASET:-nuscenes}
case "$DATASET" in
  nuscenes)
    NAME=demo DEFAULT_SCENES=20 DEFAULT_FRAMES=16 DEFAULT_ITERS=1000 DEFAULT_TMP=1
    STAGE2=configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-nuscenes.py
    SUPERVISED=configs/afov/stage2/minkunet18-w16_supervised_synthetic-nuscenes.py
    AFI=configs/afov/afi/minkunet18-w16_stage2-afi_simulated-san_synthetic-nuscenes.py ;;
  semantickitti)  # KITTI-like scans (~125k points), one front camera; no TMP config yet
    NAME=demo_semantickitti DEFAULT_SCENES=6 DEFAULT_FRAMES=8 DEFAULT_VAL_FRAMES=32
    DEFAULT_ITERS=400 DEFAULT_TMP=0
    STAGE2=configs/afov/stage2/minkunet18-w16_stage2_simulated-san_synthetic-semantickitti.py
    SUPERVISED=configs/afov/stage2/minkunet18-w16_supervised_synthetic-semantickitti.py
    AFI=configs/afov/afi/minkunet18-w16_stage2-afi_simulated-san_synthetic-semantickitti.py ;;
  *) echo "[demo] AFOV_DEMO_DATASET must be nuscenes or semantickitti, not $DATASET"; exit 2 ;;
esac
# the other tasks (header) run on the demo's nuScenes set, each into work_dirs/demo_<task>;
# feature_knowledge is TMP's, the others train no TMP
TASK=${AFOV_DEMO_TASK:-main}
case "$TASK" in
  main) ;;
  mixing|feature_knowledge|text_head|zeroshot)
    [[ "$DATASET" == nuscenes ]] || { echo "[demo] the $TASK task runs on nuScenes"; exit 2; }
    NAME=demo_$TASK DEFAULT_TMP=0
    if [[ "$TASK" == feature_knowledge ]]; then DEFAULT_TMP=1; fi
    if [[ "$TASK" == zeroshot ]]; then DEFAULT_ITERS=400; fi ;;  # five trainings in 30 min
  *) echo "[demo] AFOV_DEMO_TASK must be main, mixing, feature_knowledge, text_head or" \
       "zeroshot, not $TASK"; exit 2 ;;
esac
DATA=${AFOV_DEMO_DATA:-data/synthetic_$DATASET}
# another voxel size gets its own work dir, so a rerun never reuses checkpoints of the other
WORK=${AFOV_DEMO_WORK_DIR:-work_dirs/$NAME${AFOV_DEMO_VOXEL:+_voxel$AFOV_DEMO_VOXEL}}
SCENES=${AFOV_DEMO_SCENES:-$DEFAULT_SCENES}
FRAMES=${AFOV_DEMO_FRAMES:-$DEFAULT_FRAMES}
ITERS=${AFOV_DEMO_ITERS:-$DEFAULT_ITERS}
TMP_ITERS=${AFOV_DEMO_TMP_ITERS:-600}
TMP_STUDENT_ITERS=${AFOV_DEMO_TMP_STUDENT_ITERS:-600}
FT_ITERS=${AFOV_DEMO_FINETUNE_ITERS:-300}
SCALE=${AFOV_DEMO_IMAGE_SCALE:-0.5}
PROFILE=${AFOV_DEMO_PROFILE:-san}
VERSION=v1.0-trainval  # the synthetic configs' version folder
SEED=${AFOV_DEMO_SEED:-0}
JOBS=${AFOV_DEMO_JOBS:-2}
LASERMIX=configs/afov/stage2/minkunet18-w16_stage2-lasermix_simulated-san_synthetic-nuscenes.py
POLARMIX=configs/afov/stage2/minkunet18-w16_stage2-polarmix_simulated-san_synthetic-nuscenes.py
TEXT_HEAD=configs/afov/stage2/minkunet18-w16_stage2-text-head_simulated-san_synthetic-nuscenes.py
ZERO_SHOT=configs/afov/zero_shot/minkunet18-w16_zero-shot_simulated-san_synthetic-nuscenes.py
ZS_MCFA=configs/afov/zero_shot/minkunet18-w16_zero-shot-mcfa_simulated-san_synthetic-nuscenes.py
ZS_SELF_TRAINING=configs/afov/zero_shot/minkunet18-w16_zero-shot-self-training_synthetic-nuscenes.py
ST_ITERS=${AFOV_DEMO_SELF_TRAINING_ITERS:-400}
ZS_LOWER=configs/afov/zero_shot/minkunet18-w16_seen-only-supervised_synthetic-nuscenes.py
ZS_UPPER=configs/afov/zero_shot/minkunet18-w16_supervised-all-classes_synthetic-nuscenes.py
TMP=configs/afov/tmp/minkunet18-w16_tmp_simulated-san_synthetic-nuscenes.py
STAGE2_TMP=configs/afov/stage2/minkunet18-w16_stage2-from-tmp_simulated-san_synthetic-nuscenes.py
FINETUNE=configs/afov/downstream/minkunet18-w16_finetune-1pct_synthetic-nuscenes.py
PROBE=configs/afov/downstream/minkunet18-w16_linear-probe_synthetic-nuscenes.py
CACHE_REL=teacher_cache/simulated-$PROFILE
VOXEL_OPTS=()  # AFOV_DEMO_VOXEL=0.1: every model on 0.1 m voxels instead of the configs' 0.2 m
if [[ -n "${AFOV_DEMO_VOXEL:-}" ]]; then
  VOXEL_OPTS=("model.data_preprocessor.voxel_layer.voxel_size=[$AFOV_DEMO_VOXEL,$AFOV_DEMO_VOXEL,$AFOV_DEMO_VOXEL]")
fi
OPTS=(--data-root "$DATA")
# the teacher: one key (its cache folder, teacher_cache/simulated-<profile>, follows it)
CACHE_OPTS=("teacher.profile=$PROFILE")
if [[ "${AFOV_DEMO_FRESH:-0}" == 1 ]]; then rm -rf "$DATA" "$WORK"; fi
mkdir -p "$WORK"

echo "[demo] 1-3: synthetic $DATASET set in $DATA"
if [[ "$DATASET" == nuscenes && -d "$DATA" && ! -d "$DATA/$VERSION" ]]; then
  echo "[demo] $DATA is not a $VERSION set (an older demo wrote it): move it away or set" \
    "AFOV_DEMO_FRESH=1 to generate it again"
  exit 1
fi
$PY -c 'import sys; from afov_plugin.synthetic.world_info import outdated_world_message as m
sys.exit(m(sys.argv[1]))' "$DATA" || exit 1  # a set of an older synthetic world: refused
if [[ "$DATASET" == semantickitti && ! -f "$DATA/semantickitti_infos_val.pkl" ]]; then
  # KITTI's 1241x376 image; the 64-beam LiDAR at half its 2048 azimuth steps (~62k points a
  # scan instead of ~125k) to fit the CPU budget: AFOV_DEMO_AZIMUTH=2048 for the real density
  $PY tools/create_synthetic.py --format semantickitti --out "$DATA" --scenes "$SCENES" \
    --frames "$FRAMES" --val-frames "${AFOV_DEMO_VAL_FRAMES:-$DEFAULT_VAL_FRAMES}" \
    --seed "$SEED" --azimuth-steps "${AFOV_DEMO_AZIMUTH:-1024}"
  $PY tools/create_data.py semantickitti --root-path "$DATA" --out-dir "$DATA"
elif [[ "$DATASET" == nuscenes && ! -f "$DATA/nuscenes_infos_val.pkl" ]]; then
  $PY tools/create_synthetic.py --format nuscenes --out "$DATA" --scenes "$SCENES" \
    --frames "$FRAMES" --image-scale "$SCALE" --seed "$SEED" --version "$VERSION"
  $PY tools/create_data.py nuscenes --root-path "$DATA" --out-dir "$DATA" --version "$VERSION"
else
  echo "[demo] reusing $DATA"
fi

echo "[demo] 4: caching the simulated $PROFILE teacher"
$PY tools/cache_teacher.py "$STAGE2" "${OPTS[@]}" --report "$WORK/cache_report.json" \
  --cfg-options "${CACHE_OPTS[@]}"
$PY tools/pseudo_label_report.py "$STAGE2" "${OPTS[@]}" --split val \
  --out "$WORK/pseudo_labels_val.json" --cfg-options "${CACHE_OPTS[@]}"
read -r -a KAPPAS <<< "${AFOV_DEMO_FEATURE_KNOWLEDGE:-0 0.5 0.9}"
if [[ "$TASK" == feature_knowledge ]]; then
  for k in "${KAPPAS[@]}"; do  # the profile's own κ is the cache above (no-op)
    echo "[demo] 4: caching the simulated $PROFILE teacher at feature_knowledge=$k"
    $PY tools/cache_teacher.py "$STAGE2" "${OPTS[@]}" \
      --cfg-options "${CACHE_OPTS[@]}" "teacher.feature_knowledge=$k"
  done
fi

schedule() {  # iters -> cfg-options of a run of that length (the cosine follows max_iters)
  echo "train_cfg.max_iters=$1" "default_hooks.checkpoint.interval=$1"
}
train() {  # name config iters [extra cfg-options]: train unless its checkpoint exists
  local name=$1 config=$2 iters=$3
  shift 3
  if [[ ! -f "$WORK/$name/iter_$iters.pth" ]]; then
    # shellcheck disable=SC2046
    $PY tools/train.py "$config" --work-dir "$WORK/$name" "${OPTS[@]}" \
      --cfg-options $(schedule "$iters") "$@" "${VOXEL_OPTS[@]}"
  else
    echo "[demo] reusing $WORK/$name/iter_$iters.pth"
  fi
}
evaluate() {  # name config checkpoint [tools/test.py options]
  local name=$1 config=$2 ckpt=$3
  shift 3
  rm -rf "${WORK:?}/$name/test"
  $PY tools/test.py "$config" "$ckpt" --work-dir "$WORK/$name/test" "${OPTS[@]}" "$@" \
    ${VOXEL_OPTS[@]:+--cfg-options "${VOXEL_OPTS[@]}"}
}
VAL=("train_cfg.val_interval=$ITERS")
FT_VAL=("train_cfg.val_interval=$FT_ITERS")
TMP_CKPT="$WORK/tmp/iter_$TMP_ITERS.pth"
say() { echo "[demo] $*" >&3; }  # step headers reach the terminal from the lanes too
wait_for() {  # marker lane (a|b): wait until that lane wrote marker; fail if it ended first
  local pid
  while [[ ! -f "$1" ]]; do
    pid=$(cat "$WORK/lane_$2.pid" 2>/dev/null || true)  # written just after both lanes start
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      say "lane $2 ended before writing $1"; return 1
    fi
    sleep 5
  done
}
# Two lanes of steps. lane_b's first step is TMP, which lane_a's TMP -> stage 2 waits for.
lane_a() {
  say "5-6: stage 2 (annotation-free) student"
  train student "$STAGE2" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"
  evaluate student "$STAGE2" "$WORK/student/iter_$ITERS.pth" --show-dir "$WORK/student/pictures"
  say "6b: the student with AFI post-processing inline (test_cfg.postprocess)"
  evaluate student_afi "$AFI" "$WORK/student/iter_$ITERS.pth" \
    --show-dir "$WORK/student_afi/pictures"
  [[ "$WITH_TMP" == 1 ]] || return 0
  wait_for "$WORK/tmp/done" b
  say "10: stage 2 initialised from TMP"
  train tmp_student "$STAGE2_TMP" "$TMP_STUDENT_ITERS" "train_cfg.val_interval=$TMP_STUDENT_ITERS" \
    "${CACHE_OPTS[@]}" "load_from=$TMP_CKPT"
  evaluate tmp_student "$STAGE2" "$WORK/tmp_student/iter_$TMP_STUDENT_ITERS.pth"
  say "11: 1 % labelled scans, random init"
  train finetune_1pct_random "$FINETUNE" "$FT_ITERS" "${FT_VAL[@]}"
  evaluate finetune_1pct_random "$FINETUNE" "$WORK/finetune_1pct_random/iter_$FT_ITERS.pth"
}
lane_b() {
  if [[ "$WITH_TMP" == 1 ]]; then
    say "9: tri-modal contrastive pretraining (TMP) on the cache"
    train tmp "$TMP" "$TMP_ITERS" "${CACHE_OPTS[@]}"
    touch "$WORK/tmp/done"
  fi
  say "7: fully supervised upper bound (same config, ground-truth labels)"
  train supervised "$SUPERVISED" "$ITERS" "${VAL[@]}"
  evaluate supervised "$SUPERVISED" "$WORK/supervised/iter_$ITERS.pth" \
    --show-dir "$WORK/supervised/pictures"
  [[ "$WITH_TMP" == 1 ]] || return 0
  say "11: 1 % labelled scans, TMP init; linear probing of TMP"
  train finetune_1pct_tmp "$FINETUNE" "$FT_ITERS" "${FT_VAL[@]}" "load_from=$TMP_CKPT"
  evaluate finetune_1pct_tmp "$FINETUNE" "$WORK/finetune_1pct_tmp/iter_$FT_ITERS.pth"
  train linear_probe_tmp "$PROBE" "$FT_ITERS" "${FT_VAL[@]}" "load_from=$TMP_CKPT"
  evaluate linear_probe_tmp "$PROBE" "$WORK/linear_probe_tmp/iter_$FT_ITERS.pth"
}

if [[ "$TASK" == mixing ]]; then
  lane_a() {
    say "mixing: stage 2 without mixing, then with PolarMix"
    train student "$STAGE2" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"
    evaluate student "$STAGE2" "$WORK/student/iter_$ITERS.pth"
    train polarmix "$POLARMIX" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"
    evaluate polarmix "$POLARMIX" "$WORK/polarmix/iter_$ITERS.pth"
  }
  lane_b() {
    say "mixing: stage 2 with LaserMix"
    train lasermix "$LASERMIX" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"
    evaluate lasermix "$LASERMIX" "$WORK/lasermix/iter_$ITERS.pth"
  }
fi
if [[ "$TASK" == text_head ]]; then
  lane_a() {
    say "text_head: stage 2 with the linear head"
    train student "$STAGE2" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"
    evaluate student "$STAGE2" "$WORK/student/iter_$ITERS.pth"
  }
  lane_b() {
    say "text_head: stage 2 with the text-embedding classifier"
    train text_head "$TEXT_HEAD" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"
    evaluate text_head "$TEXT_HEAD" "$WORK/text_head/iter_$ITERS.pth"
  }
fi
if [[ "$TASK" == zeroshot ]]; then
  lane_a() {
    say "zeroshot: phase 1, seen ground truth + the teacher's unseen-class labels + MCFA"
    train mcfa "$ZS_MCFA" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"
    evaluate mcfa "$ZS_MCFA" "$WORK/mcfa/iter_$ITERS.pth"
    say "zeroshot: phase 2, self-training (unseen-class labels from the phase-1 model)"
    train self_training "$ZS_SELF_TRAINING" "$ST_ITERS" "train_cfg.val_interval=$ST_ITERS" \
      "${CACHE_OPTS[@]}" "load_from=$WORK/mcfa/iter_$ITERS.pth" \
      "model.self_training.checkpoint=$WORK/mcfa/iter_$ITERS.pth"
    evaluate self_training "$ZS_SELF_TRAINING" "$WORK/self_training/iter_$ST_ITERS.pth"
    say "zeroshot: text queries on the final model, retrieval of the fine nuScenes categories"
    rm -rf "${WORK:?}/query"
    $PY tools/query.py "$ZERO_SHOT" "$WORK/self_training/iter_$ST_ITERS.pth" --out "$WORK/query" \
      --text "walking child" "bike rack" "animal" --retrieval "${OPTS[@]}" \
      --cfg-options "${CACHE_OPTS[@]}"
  }
  lane_b() {
    say "zeroshot: no MCFA (seen ground truth + the teacher's unseen-class labels only)"
    train zeroshot "$ZERO_SHOT" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"
    evaluate zeroshot "$ZERO_SHOT" "$WORK/zeroshot/iter_$ITERS.pth"
    say "zeroshot: upper bound (all classes' ground truth), lower bound (seen classes only)"
    train upper "$ZS_UPPER" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"  # the text bank's cache
    evaluate upper "$ZS_UPPER" "$WORK/upper/iter_$ITERS.pth"
    train lower "$ZS_LOWER" "$ITERS" "${VAL[@]}" "${CACHE_OPTS[@]}"
    evaluate lower "$ZS_LOWER" "$WORK/lower/iter_$ITERS.pth"
  }
fi
if [[ "$TASK" == feature_knowledge ]]; then
  # TMP of every κ first (split over the lanes), then each lane's half of the downstream runs
  fk_tmp() {  # κ: TMP on that κ's cache
    train "fk$1/tmp" "$TMP" "$TMP_ITERS" "${CACHE_OPTS[@]}" "teacher.feature_knowledge=$1"
    touch "$WORK/fk$1/tmp/done"
  }
  lane_a() {
    for ((i = 0; i < ${#KAPPAS[@]}; i += 2)); do say "κ=${KAPPAS[i]}: TMP"; fk_tmp "${KAPPAS[i]}"; done
    for k in "${KAPPAS[@]}"; do
      wait_for "$WORK/fk$k/tmp/done" b
      say "κ=$k: stage 2 initialised from TMP"
      train "fk$k/tmp_student" "$STAGE2_TMP" "$TMP_STUDENT_ITERS" \
        "train_cfg.val_interval=$TMP_STUDENT_ITERS" "${CACHE_OPTS[@]}" \
        "teacher.feature_knowledge=$k" "load_from=$WORK/fk$k/tmp/iter_$TMP_ITERS.pth"
      evaluate "fk$k/tmp_student" "$STAGE2" "$WORK/fk$k/tmp_student/iter_$TMP_STUDENT_ITERS.pth"
    done
  }
  lane_b() {
    for ((i = 1; i < ${#KAPPAS[@]}; i += 2)); do say "κ=${KAPPAS[i]}: TMP"; fk_tmp "${KAPPAS[i]}"; done
    say "1 % labelled scans, random init"
    train finetune_1pct_random "$FINETUNE" "$FT_ITERS" "${FT_VAL[@]}"
    evaluate finetune_1pct_random "$FINETUNE" "$WORK/finetune_1pct_random/iter_$FT_ITERS.pth"
    for k in "${KAPPAS[@]}"; do
      wait_for "$WORK/fk$k/tmp/done" a
      say "κ=$k: 1 % labelled scans from TMP; linear probing of TMP"
      train "fk$k/finetune_1pct_tmp" "$FINETUNE" "$FT_ITERS" "${FT_VAL[@]}" \
        "load_from=$WORK/fk$k/tmp/iter_$TMP_ITERS.pth"
      evaluate "fk$k/finetune_1pct_tmp" "$FINETUNE" "$WORK/fk$k/finetune_1pct_tmp/iter_$FT_ITERS.pth"
      train "fk$k/linear_probe_tmp" "$PROBE" "$FT_ITERS" "${FT_VAL[@]}" \
        "load_from=$WORK/fk$k/tmp/iter_$TMP_ITERS.pth"
      evaluate "fk$k/linear_probe_tmp" "$PROBE" "$WORK/fk$k/linear_probe_tmp/iter_$FT_ITERS.pth"
    done
  }
fi
WITH_TMP=${AFOV_DEMO_TMP:-$DEFAULT_TMP}
rm -f "$WORK/tmp/done" "$WORK"/fk*/tmp/done "$WORK"/lane_?.pid
if [[ "$WITH_TMP" == 1 && "$DATASET" != nuscenes ]]; then
  echo "[demo] TMP (steps 9-11) has configs for nuScenes only: set AFOV_DEMO_TMP=0"; exit 2
fi
if [[ "$WITH_TMP" == 1 && ! -f "$DATA/nuscenes_infos_train_1pct_scan.pkl" ]]; then
  $PY tools/create_splits.py "$DATA/nuscenes_infos_train.pkl"
fi
if [[ "$WITH_TMP" != 1 ]]; then
  echo "[demo] 9-11 skipped (AFOV_DEMO_TMP=0)"
  rm -rf "${WORK:?}"/{tmp_student,finetune_1pct_random,finetune_1pct_tmp,linear_probe_tmp}/test
fi
exec 3>&1
if (( JOBS > 1 )); then
  # Two trainings side by side, each on half the cores, finish ~1.4x sooner on a CPU than one
  # after the other on all cores (spconv's CPU kernels scale poorly past one thread).
  THREADS=$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))
  # numba too: AFI's parallel kernels beside the other lane's training otherwise fight for the
  # cores (measured: 4-5 s per scan instead of 0.3 s, 3.5 min for the AFI test)
  export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS NUMBA_NUM_THREADS=$THREADS
  echo "[demo] training in two lanes, $THREADS thread(s) each; logs: $WORK/lane_{a,b}.log"
  lane_b > "$WORK/lane_b.log" 2>&1 &
  LANE_B_PID=$!
  lane_a > "$WORK/lane_a.log" 2>&1 &
  LANE_A_PID=$!
  echo "$LANE_A_PID" > "$WORK/lane_a.pid"
  echo "$LANE_B_PID" > "$WORK/lane_b.pid"
  join_lane() {  # letter pid: wait for the lane; on failure show its log's end
    wait "$2" && return 0
    echo "[demo] lane $1 failed; end of $WORK/lane_$1.log:"
    tail -n 30 "$WORK/lane_$1.log"
    return 1
  }
  FAILED=0
  join_lane a "$LANE_A_PID" || FAILED=1
  join_lane b "$LANE_B_PID" || FAILED=1
  (( FAILED == 0 )) || exit 1
else
  echo $$ > "$WORK/lane_a.pid"
  echo $$ > "$WORK/lane_b.pid"
  if [[ "$TASK" == feature_knowledge ]]; then  # one after the other: every TMP first
    for k in "${KAPPAS[@]}"; do fk_tmp "$k"; done
  fi
  lane_b
  lane_a
fi

if [[ "$TASK" == zeroshot ]]; then STAGE2=$ZERO_SHOT; fi  # the summary reads the split there
$PY tools/summarize_demo.py --task "$TASK" --work-dir "$WORK" --data-root "$DATA" --config "$STAGE2" \
  --cache-dir "$DATA/$CACHE_REL" --iters "$ITERS" --tmp-iters "$TMP_ITERS" \
  --tmp-student-iters "$TMP_STUDENT_ITERS" --self-training-iters "$ST_ITERS" --start "$START" --feature-knowledge "${KAPPAS[@]}"
