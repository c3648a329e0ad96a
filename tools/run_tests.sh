#!/usr/bin/env bash
# The test suite: sets up .venv when missing or stale, then runs pytest on CPU.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
export CUDA_VISIBLE_DEVICES="${AFOV_TEST_CUDA_VISIBLE_DEVICES-}"  # CPU unless asked otherwise
exec .venv/bin/python -m pytest tests -q -p no:cacheprovider --durations=15 "$@"
