#!/usr/bin/env bash
# hearth's main job on the default model, from a fresh clone: install build dependencies,
# build, fetch the default model (cached outside the clone), describe it, and have it answer.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
model="$("$root/scripts/fetch-model.sh")"
hearth="$root/build/hearth"
echo "== hearth info" >&2
"$hearth" info "$model"
echo "== hearth run (greedy completion)" >&2
"$hearth" run -m "$model" --temp 0 -n 96 \
    -p "<|im_start|>system
You are a helpful assistant.<|im_end|>
<|im_start|>user
Write a Python function that checks whether a string is a palindrome.<|im_end|>
<|im_start|>assistant
"
echo "== hearth chat (one turn from standard input, the model's own chat template)" >&2
echo "In one sentence: what is a hearth?" | "$hearth" chat -m "$model" --temp 0 -n 64
echo "== hearth passport (hash, lineage, licence, template)" >&2
"$hearth" passport "$model"
echo "== hearth audit (the first four probes of the worldview suite)" >&2
out="${HEARTH_CACHE:-$HOME/.cache/hearth}/demo-audit.jsonl"
# --force: a demo shows the run every time, rather than resuming an earlier one.
"$hearth" audit run -m "$model" --suite "$root/probes/worldview.jsonl" --limit 4 -n 96 --out "$out" --force
