#!/usr/bin/env bash
# Create / refresh the virtual environment at .venv with the stack of requirements/stack.env
# (exact pins) and requirements/{runtime,tests}.txt (ranges the pins must satisfy).
# Idempotent: a second run only checks what is there (well under 2 minutes).
#
# Device variant: AFOV_DEVICE=cpu|cuda|auto (default cpu).
#   cpu   mmcv built with FORCE_CUDA=0, spconv package $SPCONV_CPU_PACKAGE (stack.env).
#   cuda  mmcv built with FORCE_CUDA=1 (needs nvcc: CUDA_HOME or nvcc on PATH, and a CUDA build
#         of torch), spconv package $SPCONV_CUDA_PACKAGE. No GPU is needed to build, so a
#         GPU-less login node can set up a CUDA environment; there set TORCH_CUDA_ARCH_LIST
#         (e.g. "8.0;9.0") for the GPUs the jobs will run on, since none can be detected.
#   auto  cuda when `nvidia-smi -L` lists a GPU, else cpu (a fallback only: on a login node
#         without GPUs it says cpu, so set AFOV_DEVICE=cuda there).
#   Example: AFOV_DEVICE=cuda TORCH_CUDA_ARCH_LIST="9.0" bash tools/setup_env.sh
#   (A CPU-built mmcv also works on GPU machines for this project, see ../shared/STACK.md; the
#   cuda variant is for users who want mmcv's CUDA ops.)
# The mmcv wheel (built from source with ops, ~20 min on 2 cores) is cached outside the repo
# in ${AFOV_WHEEL_CACHE:-$HOME/.cache/afov/wheels}/mmcv-<version>-torch<tag>-<variant>/ and
# reused when its name matches; an older unsuffixed mmcv-<version>-torch<tag>/ counts as cpu.
# Override the spconv package with AFOV_SPCONV_PACKAGE (e.g. spconv-cu118); another spconv
# variant already installed is uninstalled first (they all provide the same module).
# AFOV_SETUP_PLAN=1 prints the plan (variant, FORCE_CUDA, wheel dir, spconv package, stamp)
# and exits without installing anything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source requirements/stack.env
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
WHEEL_CACHE="${AFOV_WHEEL_CACHE:-$HOME/.cache/afov/wheels}"
STAMP="$VENV/.afov_stack_stamp"
log() { echo "[setup_env] $*"; }

DEVICE="${AFOV_DEVICE:-cpu}"
if [[ "$DEVICE" == auto ]]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    DEVICE=cuda
  else
    DEVICE=cpu
  fi
fi
case "$DEVICE" in
  cpu) FORCE_CUDA_VALUE=0; SPCONV_DEFAULT="$SPCONV_CPU_PACKAGE" ;;
  cuda) FORCE_CUDA_VALUE=1; SPCONV_DEFAULT="$SPCONV_CUDA_PACKAGE" ;;
  *) echo "[setup_env] AFOV_DEVICE must be cpu, cuda or auto, not '$DEVICE'" >&2; exit 2 ;;
esac
SPCONV_PKG="${AFOV_SPCONV_PACKAGE:-$SPCONV_DEFAULT}"
# the stamp: the stack's files and the variant; another variant or spconv package reinstalls
STAMP_VALUE="$( (cat requirements/stack.env setup.py requirements/runtime.txt \
  requirements/optional.txt requirements/tests.txt; echo "device=$DEVICE spconv=$SPCONV_PKG") \
  | sha1sum | cut -c1-16)"

torch_tag() {  # the installed torch's version as a folder name (2.13.0+cpu -> 2.13.0_cpu)
  "$PY" -c 'import importlib.metadata as m; print(m.version("torch").replace("+", "_"))'
}
has_mmcv_wheel() { ls "$1"/mmcv-"${MMCV_VERSION}"-*.whl >/dev/null 2>&1; }
mmcv_wheel_dir() {  # $1: torch tag -> the cached wheel folder of this variant
  local dir="$WHEEL_CACHE/mmcv-${MMCV_VERSION}-torch$1-$DEVICE"
  local legacy="$WHEEL_CACHE/mmcv-${MMCV_VERSION}-torch$1"  # before variants: a CPU build
  if [[ "$DEVICE" == cpu ]] && ! has_mmcv_wheel "$dir" && has_mmcv_wheel "$legacy"; then
    dir="$legacy"
  fi
  echo "$dir"
}

if [[ "${AFOV_SETUP_PLAN:-0}" == 1 ]]; then
  if [[ -x "$PY" ]] && TAG="$(torch_tag 2>/dev/null)"; then :; else
    TAG="${TORCH_VERSION}"  # torch not installed yet: its local tag (+cpu/+cuXXX) is unknown
  fi
  echo "device=$DEVICE"
  echo "force_cuda=$FORCE_CUDA_VALUE"
  echo "wheel_dir=$(mmcv_wheel_dir "$TAG")"
  echo "spconv_package=$SPCONV_PKG"
  echo "stamp=$STAMP_VALUE"
  exit 0
fi

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_VALUE" ]] && "$PY" -c "import afov_plugin" 2>/dev/null; then
  log "environment at .venv is up to date ($DEVICE)"
  exit 0
fi
log "device variant: $DEVICE (AFOV_DEVICE=cpu|cuda|auto)"

if [[ ! -x "$PY" ]]; then
  log "creating virtual environment at .venv"
  python3 -m venv "$VENV"
fi
# pip's own exit status is kept; only the registry mirror's "Location ... is ignored" noise
# is filtered from its stderr.
pip_install() {
  "$PY" -m pip install --disable-pip-version-check -q "$@" \
    2> >(grep -v "^WARNING: Location '.*' is ignored" >&2)
}
PIP=(pip_install)
log "installing torch ${TORCH_VERSION}, build tools"
"${PIP[@]}" "torch==${TORCH_VERSION}"
if [[ "$DEVICE" == cuda ]] && ! "$PY" -c "import sys, torch; sys.exit(0 if torch.version.cuda else 1)"; then
  echo "[setup_env] AFOV_DEVICE=cuda but the installed torch $("$PY" -c 'import torch; print(torch.__version__)') is a CPU build:" \
    "install a CUDA build of torch ${TORCH_VERSION} into .venv first (e.g. from the PyTorch index)," \
    "or use AFOV_DEVICE=cpu" >&2
  exit 1
fi
# torch 2.13 declares setuptools>=77, but mmengine 0.10.7 and mmcv's setup.py need
# pkg_resources, gone from setuptools 81+: pin it afterwards (pip warns about the conflict;
# torch only uses setuptools to build C++ extensions, which works with this version).
# pip reports that conflict on stderr ("dependency resolver ... setuptools>=77"); it is expected.
"${PIP[@]}" "$SETUPTOOLS_SPEC" wheel "$NUMPY_SPEC" ninja "mmengine==${MMENGINE_VERSION}"

# mmcv of this version, with ops, of this variant (CUDA ops compiled in or not)
MMCV_CHECK="import mmcv, mmcv.ops, sys
from mmcv.ops import get_compiling_cuda_version as v
cuda = v() not in ('', 'not available')
sys.exit(0 if mmcv.__version__ == '${MMCV_VERSION}' and cuda == ('$DEVICE' == 'cuda') else 1)"
if ! "$PY" -c "$MMCV_CHECK" 2>/dev/null; then
  mkdir -p "$WHEEL_CACHE"
  WHEEL_DIR="$(mmcv_wheel_dir "$(torch_tag)")"
  if ! has_mmcv_wheel "$WHEEL_DIR"; then
    if [[ "$DEVICE" == cuda ]]; then
      if [[ -z "${CUDA_HOME:-}" ]] && ! command -v nvcc >/dev/null 2>&1; then
        echo "[setup_env] AFOV_DEVICE=cuda: building mmcv needs the CUDA toolkit (nvcc on PATH or CUDA_HOME)" >&2
        exit 1
      fi
      if [[ -z "${TORCH_CUDA_ARCH_LIST:-}" ]]; then
        log "TORCH_CUDA_ARCH_LIST is not set: the build targets the GPUs it can see (none on a login node)"
      fi
    fi
    log "building mmcv ${MMCV_VERSION} ($DEVICE, FORCE_CUDA=$FORCE_CUDA_VALUE) with ops from source" \
      "(about 20 minutes on 2 cores) into $WHEEL_DIR"
    TMP_DIR="$(mktemp -d "$WHEEL_CACHE/build.XXXXXX")"
    MMCV_WITH_OPS=1 FORCE_CUDA="$FORCE_CUDA_VALUE" MAX_JOBS="${MAX_JOBS:-2}" \
      "$PY" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation \
      --no-cache-dir -w "$TMP_DIR" "mmcv==${MMCV_VERSION}"
    mkdir -p "$WHEEL_DIR"
    mv "$TMP_DIR"/mmcv-"${MMCV_VERSION}"-*.whl "$WHEEL_DIR"/   # rename into place: no half wheel is ever cached
    rm -rf "$TMP_DIR"
  else
    log "reusing cached mmcv wheel from $WHEEL_DIR"
  fi
  "${PIP[@]}" --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-"${MMCV_VERSION}"-*.whl
  "${PIP[@]}" addict packaging Pillow pyyaml yapf opencv-python "$NUMPY_SPEC"
fi

# one spconv variant only: they all install the module `spconv`
SPCONV_NAME="$("$PY" -c "import re, sys
print(re.split(r'[<>=!~\[;@ ]', sys.argv[1])[0].lower().replace('_', '-'))" "$SPCONV_PKG")"
OTHER_SPCONV="$("$PY" -c "import re, sys, importlib.metadata as md
names = {d.metadata['Name'].lower().replace('_', '-') for d in md.distributions()}
print(' '.join(sorted(n for n in names if re.fullmatch(r'spconv(-cu\d+)?', n) and n != sys.argv[1])))" "$SPCONV_NAME")"
if [[ -n "$OTHER_SPCONV" ]]; then
  log "uninstalling $OTHER_SPCONV (another spconv variant than $SPCONV_PKG)"
  # shellcheck disable=SC2086
  "$PY" -m pip uninstall --disable-pip-version-check -q -y $OTHER_SPCONV
fi
log "installing mmdet ${MMDET_VERSION}, mmdet3d ${MMDET3D_VERSION}, mmsegmentation ${MMSEG_VERSION}, ${SPCONV_PKG}"
# the pins together with the ranges of requirements/{runtime,tests}.txt: pip refuses a clash
# shellcheck disable=SC2086
"${PIP[@]}" "mmengine==${MMENGINE_VERSION}" "mmcv==${MMCV_VERSION}" "$SETUPTOOLS_SPEC" \
  "mmdet==${MMDET_VERSION}" "mmdet3d==${MMDET3D_VERSION}" "mmsegmentation[multimodal]==${MMSEG_VERSION}" \
  "$SPCONV_PKG" "$NUMPY_SPEC" $EXTRA_PACKAGES -r requirements/runtime.txt -r requirements/tests.txt
log "installing afov_plugin in editable mode"
"${PIP[@]}" --no-deps --no-build-isolation -e .
"$PY" -c "import mmcv.ops, mmdet3d, mmseg, spconv, afov_plugin; print('[setup_env] stack OK: mmcv', mmcv.__version__, 'mmdet3d', mmdet3d.__version__, 'afov_plugin', afov_plugin.__version__)"
echo "$STAMP_VALUE" > "$STAMP"
log "done"
