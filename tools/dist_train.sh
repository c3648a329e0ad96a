#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# On CPU the processes use the gloo backend; on GPUs, one process per GPU with nccl.
# PYTHON: the interpreter (default: the repository's .venv/bin/python), e.g. another env:
#   PYTHON=$HOME/envs/afov/bin/python bash tools/dist_train.sh CONFIG 2
# NNODES, NODE_RANK, MASTER_ADDR, PORT (default 1, 0, 127.0.0.1, 29500): torch.distributed.run.
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
"$PY" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" \
  --master_addr="$MASTER_ADDR" --nproc_per_node="$GPUS" --master_port="$PORT" \
  "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
