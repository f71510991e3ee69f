#!/usr/bin/env bash
# Concurrent streaming load: hearth serve vs llama.cpp's llama-server on the same model,
# threads and parallel slots (see bench/server_load.py for what is measured).
#   bash bench/server_load.sh [extra server_load.py options, e.g. --clients 1,4,16 --max-tokens 64]
# Environment: HEARTH_MODEL (default: the fetched default model), HEARTH_BIN (build/hearth),
# LLAMA_SERVER (~/.cache/hearth/llama.cpp/build/bin/llama-server), THREADS (2), PARALLEL (16).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${HEARTH_CACHE:-$HOME/.cache/hearth}"
model="${HEARTH_MODEL:-$cache/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf}"
bin="${HEARTH_BIN:-$root/build/hearth}"
llama="${LLAMA_SERVER:-$cache/llama.cpp/build/bin/llama-server}"
[[ -f "$model" ]] || { echo "no model at $model (bash scripts/fetch-model.sh, or set HEARTH_MODEL)" >&2; exit 1; }
[[ -x "$bin" ]] || { echo "no hearth binary at $bin (bash scripts/build.sh, or set HEARTH_BIN)" >&2; exit 1; }
[[ -x "$llama" ]] || { echo "no llama-server at $llama (set LLAMA_SERVER)" >&2; exit 1; }
exec python3 "$root/bench/server_load.py" --hearth "$bin" --llama-server "$llama" --model "$model" \
    --threads "${THREADS:-2}" --parallel "${PARALLEL:-16}" "$@"
