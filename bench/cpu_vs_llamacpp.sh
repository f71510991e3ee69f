#!/usr/bin/env bash
# hearth vs llama.cpp on the same GGUF file, CPU only: pp512 and tg128 at 1 and 2 threads,
# interleaved repetitions (hearth, llama.cpp, hearth, ... so both see the same machine load),
# medians, the ratio hearth/llama.cpp per cell, decode's effective weight-read bandwidth
# against a streaming-read bandwidth measured in the same run, and each engine's peak RSS.
# The streaming read (bench/stream_read.cpp) reads the model file itself through a read-only
# map, as decode does, with the same thread count, once per round next to the engines' runs
# (so it sees the same machine load); its per-round medians are summarised by their median.
#
#   bash bench/cpu_vs_llamacpp.sh [ROUNDS=5]
# Environment: HEARTH (hearth binary; default build-speed/hearth, then build/hearth),
# HEARTH_MODEL (one or more GGUF files, space-separated; default: the default Q4_K_M model in
# ~/.cache/hearth/models and, when present, its Q8_0 requantization made by
# tools/check_quantized_in_llamacpp.py; one table row per model x test x threads), LLAMA_BENCH (a
# llama-bench binary; otherwise one is looked for under LLAMA_DIR, default
# ~/.cache/hearth/llama.cpp, and built there from the llama-cpp-python sdist's vendored
# llama.cpp if missing: CPU only, GGML_NATIVE=ON, -j2), THREADS (default "1 2"),
# PP (512), TG (128). llama.cpp is never built inside this repository.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-5}"
THREADS="${THREADS:-1 2}"
PP="${PP:-512}"
TG="${TG:-128}"
MODEL_DIR="${HEARTH_CACHE:-$HOME/.cache/hearth}/models"
if [ -z "${HEARTH_MODEL:-}" ]; then
  HEARTH_MODEL="$MODEL_DIR/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
  [ -f "$MODEL_DIR/qwen2.5-coder-0.5b-instruct-q8_0.gguf" ] && HEARTH_MODEL="$HEARTH_MODEL $MODEL_DIR/qwen2.5-coder-0.5b-instruct-q8_0.gguf"
fi
read -r -a MODELS <<< "$HEARTH_MODEL"
for m in "${MODELS[@]}"; do
  [ -f "$m" ] || { echo "model not found: $m (bash scripts/fetch-model.sh)" >&2; exit 1; }
done

HEARTH="${HEARTH:-}"
for c in "$ROOT/build-speed/hearth" "$ROOT/build/hearth"; do
  [ -n "$HEARTH" ] && break
  [ -x "$c" ] && HEARTH="$c"
done
[ -x "${HEARTH:-}" ] || { echo "no hearth binary: build with cmake first or set HEARTH" >&2; exit 1; }

LLAMA_DIR="${LLAMA_DIR:-$HOME/.cache/hearth/llama.cpp}"
LLAMA_BENCH="${LLAMA_BENCH:-}"
for c in "$LLAMA_DIR/build/bin/llama-bench" /root/peers/llama.cpp/build/bin/llama-bench; do
  [ -n "$LLAMA_BENCH" ] && break
  [ -x "$c" ] && LLAMA_BENCH="$c"
done
if [ -z "$LLAMA_BENCH" ]; then
  echo "building llama-bench in $LLAMA_DIR (outside the repository) ..." >&2
  tmp="$(mktemp -d)"
  python3 -m pip download --no-deps --no-binary :all: -d "$tmp" "llama-cpp-python==0.3.36" >&2
  tar xzf "$tmp"/llama_cpp_python-*.tar.gz -C "$tmp"
  mkdir -p "$(dirname "$LLAMA_DIR")"
  rm -rf "$LLAMA_DIR"
  mv "$tmp"/llama_cpp_python-*/vendor/llama.cpp "$LLAMA_DIR"
  rm -rf "$tmp"
  cmake -S "$LLAMA_DIR" -B "$LLAMA_DIR/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_OPENSSL=OFF >&2
  cmake --build "$LLAMA_DIR/build" -j2 --target llama-bench >&2
  LLAMA_BENCH="$LLAMA_DIR/build/bin/llama-bench"
fi

STREAM="$(mktemp -d)/stream_read"
g++ -std=c++20 -O3 -march=native -pthread "$ROOT/bench/stream_read.cpp" -o "$STREAM"

WORK="$(mktemp -d)"
echo "hearth:      $HEARTH" >&2
echo "llama-bench: $LLAMA_BENCH" >&2
echo "models:      ${MODELS[*]}" >&2
echo "rounds:      $ROUNDS, threads: $THREADS, pp$PP tg$TG" >&2

uptime > "$WORK/load.txt"
for r in $(seq 1 "$ROUNDS"); do
  for mi in "${!MODELS[@]}"; do
    MODEL="${MODELS[$mi]}"
    for t in $THREADS; do
      echo "round $r/$ROUNDS, $(basename "$MODEL"), $t thread(s); $(cut -d, -f3- /proc/loadavg 2>/dev/null || uptime)" >&2
      # Alternate which tool goes first so neither always follows the other's cache state.
      if [ $(( (r + t + mi) % 2 )) -eq 0 ]; then order="hearth llama"; else order="llama hearth"; fi
      for tool in $order; do
        if [ "$tool" = hearth ]; then
          "$HEARTH" bench -m "$MODEL" -t "$t" -p "$PP" -n "$TG" -r 1 --json 2>/dev/null > "$WORK/hearth.$mi.$r.$t.json"
        else
          # Peak RSS (KiB) of the whole llama-bench process, for the RSS table.
          /usr/bin/time -f %M -o "$WORK/llama_rss.$mi.$r.$t.txt" \
            "$LLAMA_BENCH" -m "$MODEL" -t "$t" -p "$PP" -n "$TG" -r 1 -o json 2>/dev/null > "$WORK/llama.$mi.$r.$t.json" || true
        fi
      done
      # "model threads best median" of reading this model's file with as many threads.
      echo "$mi $("$STREAM" "$t" "$MODEL" 9)" >> "$WORK/stream.txt"
    done
  done
  cat /proc/loadavg >> "$WORK/loadavg.txt" 2>/dev/null || true
done
uptime >> "$WORK/load.txt"

python3 - "$WORK" "$PP" "$TG" "$THREADS" "${MODELS[@]}" <<'PY'
import glob, json, os, statistics, sys
work, pp, tg, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), [int(t) for t in sys.argv[4].split()]
models = [os.path.basename(m) for m in sys.argv[5:]]
hearth, llama, wbytes, rss = {}, {}, {}, {}
def model_of(f):  # WORK/tool.MODELINDEX.ROUND.THREADS.json
    return models[int(os.path.basename(f).split(".")[1])]
for f in glob.glob(os.path.join(work, "hearth.*.json")):
    try:
        j = json.load(open(f))
    except ValueError:
        continue  # a failed run leaves an empty file; its cell shows fewer runs
    m = model_of(f)
    wbytes[m] = j["decode_weight_bytes_per_token"]
    t = int(os.path.basename(f).split(".")[3])
    rss.setdefault((m, t), {"hearth": [], "llama": [], "file": j["model_file_bytes"], "kv": j["kv_cache_bytes"]})
    rss[(m, t)]["hearth"].append(j["peak_rss_bytes"])
    for e in j["results"]:
        hearth.setdefault((m, e["test"], e["threads"]), []).append(e["tps_mean"])
for f in glob.glob(os.path.join(work, "llama.*.json")):
    try:
        entries = json.load(open(f))
    except ValueError:
        continue
    m = model_of(f)
    for e in entries:
        test = f"pp{e['n_prompt']}" if e["n_gen"] == 0 else f"tg{e['n_gen']}"
        llama.setdefault((m, test, e["n_threads"]), []).append(e["avg_ts"])
for f in glob.glob(os.path.join(work, "llama_rss.*.txt")):
    parts = os.path.basename(f).split(".")
    key = (models[int(parts[1])], int(parts[3]))
    try:
        kib = int(open(f).read().split()[-1])
    except (ValueError, IndexError):
        continue
    if key in rss:
        rss[key]["llama"].append(kib * 1024)
stream = {}
for line in open(os.path.join(work, "stream.txt")):
    mi, t, mib, best, med = line.split()
    stream.setdefault((models[int(mi)], int(t)), []).append(float(med))
print("| model | test | threads | hearth t/s (median) | llama.cpp t/s (median) | hearth / llama.cpp | runs |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
for m in models:
    for test in (f"pp{pp}", f"tg{tg}"):
        if (test == f"pp{pp}" and pp == 0) or (test == f"tg{tg}" and tg == 0):
            continue
        for t in threads:
            h, l = hearth.get((m, test, t), []), llama.get((m, test, t), [])
            if not h or not l:
                print(f"| {m} | {test} | {t} | {'-' if not h else round(statistics.median(h), 2)} | {'-' if not l else round(statistics.median(l), 2)} | - | {len(h)}/{len(l)} |")
                continue
            mh, ml = statistics.median(h), statistics.median(l)
            print(f"| {m} | {test} | {t} | {mh:.2f} (min {min(h):.2f}, max {max(h):.2f}) | {ml:.2f} (min {min(l):.2f}, max {max(l):.2f}) | {mh/ml:.2f}x | {len(h)}/{len(l)} |")
print()
print("| model | decode weight MB/token (all but token_embd, unless it is also the output matrix) | threads | stream read of the file GB/s (median of rounds; min-max) | hearth decode GB/s | llama.cpp decode GB/s | hearth % of stream | llama.cpp % of stream |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for m in models:
    wb = wbytes.get(m, float("nan"))
    for t in threads:
        h, l = hearth.get((m, f"tg{tg}", t), []), llama.get((m, f"tg{tg}", t), [])
        s = stream.get((m, t), [])
        sb = statistics.median(s) if s else float("nan")
        hb = statistics.median(h) * wb / 1e9 if h else float("nan")
        lb = statistics.median(l) * wb / 1e9 if l else float("nan")
        rng = f"{min(s):.1f}-{max(s):.1f}" if s else "-"
        print(f"| {m} | {wb/1e6:.1f} | {t} | {sb:.1f} ({rng}) | {hb:.2f} | {lb:.2f} | {100*hb/sb:.0f}% | {100*lb/sb:.0f}% |")
print()
print("| model | threads | model file + KV cache MiB (hearth) | hearth peak RSS MiB | hearth over file + KV | llama-bench peak RSS MiB |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for m in models:
    for t in threads:
        e = rss.get((m, t))
        if not e:
            continue
        base = (e["file"] + e["kv"]) / 2**20
        hr = max(e["hearth"]) / 2**20
        lr = f"{max(e['llama']) / 2**20:.1f}" if e["llama"] else "-"
        print(f"| {m} | {t} | {base:.1f} | {hr:.1f} | {100 * (hr / base - 1):+.1f}% | {lr} |")
print()
print("load average before/after:")
for line in open(os.path.join(work, "load.txt")):
    print("    " + line.strip())
PY
rm -rf "$WORK" "$(dirname "$STREAM")"
