#!/usr/bin/env bash
# A Mixture-of-Experts model against a dense one with the same active parameters per token, and
# hearth against llama.cpp on the MoE file: pp and tg at 1 and 2 threads, interleaved rounds
# (every tool and file once per round, the order rotating), medians.
#
#   bash bench/moe_vs_dense.sh [ROUNDS=3]
# The models are random-weight files of realistic shape made by tools/make_synthetic_moe.py
# (64 experts, 4 used, ~1.03 B parameters, vs a dense qwen3 with ~89 M parameters, both Q8_0) in
# SYNTH_DIR (default ~/.cache/hearth/models/synthetic); they are generated there if missing, with
# PYTHON (default /work/venvs/reference/bin/python: gguf 0.19.0 and numpy).
# Environment: HEARTH (default build-moe/hearth, then build/hearth), LLAMA_BENCH (default
# ~/.cache/hearth/llama.cpp/build/bin/llama-bench; bench/cpu_vs_llamacpp.sh builds one there),
# THREADS ("1 2"), PP (128), TG (64).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-3}"
THREADS="${THREADS:-1 2}"
PP="${PP:-128}"
TG="${TG:-64}"
CACHE="${HEARTH_CACHE:-$HOME/.cache/hearth}"
SYNTH_DIR="${SYNTH_DIR:-$CACHE/models/synthetic}"
MOE="$SYNTH_DIR/moe-qwen3moe-q8_0.gguf"
DENSE="$SYNTH_DIR/dense-qwen3-q8_0.gguf"
INFO="$SYNTH_DIR/synthetic-q8_0.json"
if [ ! -f "$MOE" ] || [ ! -f "$DENSE" ] || [ ! -f "$INFO" ]; then
  "${PYTHON:-/work/venvs/reference/bin/python}" "$ROOT/tools/make_synthetic_moe.py" --out "$SYNTH_DIR"
fi

HEARTH="${HEARTH:-}"
for c in "$ROOT/build-moe/hearth" "$ROOT/build/hearth"; do
  [ -n "$HEARTH" ] && break
  [ -x "$c" ] && HEARTH="$c"
done
[ -x "${HEARTH:-}" ] || { echo "no hearth binary: build with cmake first or set HEARTH" >&2; exit 1; }
LLAMA_BENCH="${LLAMA_BENCH:-$CACHE/llama.cpp/build/bin/llama-bench}"
jobs=("hearth-moe" "hearth-dense" "llama-moe" "llama-dense")
if [ ! -x "$LLAMA_BENCH" ]; then
  echo "no llama-bench at $LLAMA_BENCH (bash bench/cpu_vs_llamacpp.sh builds one): hearth only" >&2
  jobs=("hearth-moe" "hearth-dense")
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "hearth: $HEARTH; llama-bench: $LLAMA_BENCH; rounds $ROUNDS, threads $THREADS, pp$PP tg$TG" >&2
uptime > "$WORK/load.txt"
for r in $(seq 1 "$ROUNDS"); do
  for t in $THREADS; do
    echo "round $r/$ROUNDS, $t thread(s); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    # Rotate the order every round so no job always runs after the same one.
    for i in $(seq 0 $(( ${#jobs[@]} - 1 ))); do
      job="${jobs[$(( (i + r + t) % ${#jobs[@]} ))]}"
      tool="${job%-*}"; kind="${job#*-}"
      model="$MOE"; [ "$kind" = dense ] && model="$DENSE"
      if [ "$tool" = hearth ]; then
        "$HEARTH" bench -m "$model" -t "$t" -p "$PP" -n "$TG" -r 1 --json 2>/dev/null > "$WORK/$job.$r.$t.json"
      else
        "$LLAMA_BENCH" -m "$model" -t "$t" -p "$PP" -n "$TG" -r 1 -o json 2>/dev/null > "$WORK/$job.$r.$t.json"
      fi
    done
  done
done
uptime >> "$WORK/load.txt"

python3 - "$WORK" "$PP" "$TG" "$THREADS" "$INFO" <<'PY'
import glob, json, os, statistics, sys
work, pp, tg, threads, info = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(t) for t in sys.argv[4].split()], sys.argv[5]
res = {}  # (job, test, threads) -> [t/s]
for f in glob.glob(os.path.join(work, "*.json")):
    job = os.path.basename(f).split(".")[0]
    j = json.load(open(f))
    if job.startswith("hearth"):
        for e in j["results"]:
            res.setdefault((job, e["test"], e["threads"]), []).append(e["tps_mean"])
    else:
        for e in j:
            test = f"pp{e['n_prompt']}" if e["n_gen"] == 0 else f"tg{e['n_gen']}"
            res.setdefault((job, test, e["n_threads"]), []).append(e["avg_ts"])
med = lambda job, test, t: statistics.median(res[(job, test, t)]) if res.get((job, test, t)) else float("nan")
print("| test | threads | hearth MoE | hearth dense | hearth MoE / dense | llama.cpp MoE | llama.cpp dense | hearth / llama.cpp (MoE) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for test in (f"pp{pp}", f"tg{tg}"):
    for t in threads:
        hm, hd, lm, ld = (med(j, test, t) for j in ("hearth-moe", "hearth-dense", "llama-moe", "llama-dense"))
        print(f"| {test} | {t} | {hm:.2f} | {hd:.2f} | {hm / hd:.2f}x | {lm:.2f} | {ld:.2f} | {hm / lm:.2f}x |")
meta = json.load(open(info))
moe, dense = meta["moe-qwen3moe"], meta["dense-qwen3"]
print()
print(f"MoE: {moe['n_params'] / 1e6:.0f} M parameters, {moe['n_active_params_excl_embd'] / 1e6:.1f} M active per token; "
      f"dense: {dense['n_active_params_excl_embd'] / 1e6:.1f} M. Weight bytes a decode step must read: MoE "
      f"{moe['decode_bytes_active_weights'] / 1e6:.1f} MB of {moe['decode_bytes_all_weights'] / 1e6:.1f} MB, dense "
      f"{dense['decode_bytes_all_weights'] / 1e6:.1f} MB.")
print("| threads | hearth MoE GB/s if only active experts are read | same if all experts were read | hearth dense GB/s |")
print("| ---: | ---: | ---: | ---: |")
for t in threads:
    hm, hd = med("hearth-moe", f"tg{tg}", t), med("hearth-dense", f"tg{tg}", t)
    print(f"| {t} | {hm * moe['decode_bytes_active_weights'] / 1e9:.2f} | {hm * moe['decode_bytes_all_weights'] / 1e9:.1f} | "
          f"{hd * dense['decode_bytes_all_weights'] / 1e9:.2f} |")
print()
print("runs per cell: " + ", ".join(f"{k[0]} {k[1]} t{k[2]}: {len(v)}" for k, v in sorted(res.items())))
print("load average before/after:")
for line in open(os.path.join(work, "load.txt")):
    print("    " + line.strip())
PY
