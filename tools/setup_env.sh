#!/usr/bin/env bash
# Create / refresh the virtual environment at .venv with the stack of requirements/stack.env.
# Idempotent: a second run only checks what is there (well under 2 minutes).
# The mmcv wheel (built from source with ops, ~20 min on 2 cores) is cached outside the repo
# in ${AFOV_WHEEL_CACHE:-$HOME/.cache/afov/wheels} and reused when its name matches.
# Override the spconv package with AFOV_SPCONV_PACKAGE (e.g. spconv-cu118).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source requirements/stack.env
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
WHEEL_CACHE="${AFOV_WHEEL_CACHE:-$HOME/.cache/afov/wheels}"
STAMP="$VENV/.afov_stack_stamp"
STAMP_VALUE="$(cat requirements/stack.env setup.py | sha1sum | cut -c1-16)"
log() { echo "[setup_env] $*"; }

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$STAMP_VALUE" ]] && "$PY" -c "import afov_plugin" 2>/dev/null; then
  log "environment at .venv is up to date"
  exit 0
fi

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
# torch 2.13 declares setuptools>=77, but mmengine 0.10.7 and mmcv's setup.py need
# pkg_resources, gone from setuptools 81+: pin it afterwards (pip warns about the conflict;
# torch only uses setuptools to build C++ extensions, which works with this version).
# pip reports that conflict on stderr ("dependency resolver ... setuptools>=77"); it is expected.
"${PIP[@]}" "$SETUPTOOLS_SPEC" wheel "$NUMPY_SPEC" ninja "mmengine==${MMENGINE_VERSION}"

if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '${MMCV_VERSION}'" 2>/dev/null; then
  mkdir -p "$WHEEL_CACHE"
  TORCH_TAG="$("$PY" -c 'import torch; print(torch.__version__.replace("+", "_"))')"
  WHEEL_DIR="$WHEEL_CACHE/mmcv-${MMCV_VERSION}-torch${TORCH_TAG}"
  if ! ls "$WHEEL_DIR"/mmcv-"${MMCV_VERSION}"-*.whl >/dev/null 2>&1; then
    log "building mmcv ${MMCV_VERSION} with ops from source (about 20 minutes on 2 cores) into $WHEEL_DIR"
    TMP_DIR="$(mktemp -d "$WHEEL_CACHE/build.XXXXXX")"
    MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="${MAX_JOBS:-2}" \
      "$PY" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation \
      -w "$TMP_DIR" "mmcv==${MMCV_VERSION}"
    mkdir -p "$WHEEL_DIR"
    mv "$TMP_DIR"/mmcv-"${MMCV_VERSION}"-*.whl "$WHEEL_DIR"/   # rename into place: no half wheel is ever cached
    rm -rf "$TMP_DIR"
  else
    log "reusing cached mmcv wheel from $WHEEL_DIR"
  fi
  "${PIP[@]}" --no-deps "$WHEEL_DIR"/mmcv-"${MMCV_VERSION}"-*.whl
  "${PIP[@]}" addict packaging Pillow pyyaml yapf opencv-python "$NUMPY_SPEC"
fi

if [[ -n "${AFOV_SPCONV_PACKAGE:-}" ]]; then
  SPCONV_PKG="$AFOV_SPCONV_PACKAGE"
elif "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  SPCONV_PKG="$SPCONV_CUDA_PACKAGE"
else
  SPCONV_PKG="$SPCONV_CPU_PACKAGE"
fi
log "installing mmdet ${MMDET_VERSION}, mmdet3d ${MMDET3D_VERSION}, mmsegmentation ${MMSEG_VERSION}, ${SPCONV_PKG}"
"${PIP[@]}" "mmengine==${MMENGINE_VERSION}" "mmcv==${MMCV_VERSION}" "$SETUPTOOLS_SPEC" \
  "mmdet==${MMDET_VERSION}" "mmdet3d==${MMDET3D_VERSION}" "mmsegmentation[multimodal]==${MMSEG_VERSION}" \
  "$SPCONV_PKG" "$NUMPY_SPEC" $EXTRA_PACKAGES
log "installing afov_plugin in editable mode"
"${PIP[@]}" --no-deps --no-build-isolation -e .
"$PY" -c "import mmcv.ops, mmdet3d, mmseg, spconv, afov_plugin; print('[setup_env] stack OK: mmcv', mmcv.__version__, 'mmdet3d', mmdet3d.__version__)"
echo "$STAMP_VALUE" > "$STAMP"
log "done"
