#!/usr/bin/env bash
# Audit throughput on one model, in one run: N worldview probes answered
#   (a) in-process, one probe at a time           hearth audit run --parallel 1
#   (b) in-process, batched through the engine     hearth audit run --parallel P (each P of $PARALLEL)
#   (c) by `hearth serve`, sequential requests     hearth audit run --endpoint ... --parallel 1
# Prints prompts/s of each and the ratios to (a) and (c), and checks that all of them gave the
# same answers and verdicts (greedy decoding: batching and serving must change nothing).
#   bash bench/audit_throughput.sh
# Environment: HEARTH_MODEL (default: the fetched default model), HEARTH_BIN (build/hearth),
# N (32 probes), MAX_TOKENS (32), PARALLEL ("8 16"), THREADS (2), SUITE (worldview).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${HEARTH_CACHE:-$HOME/.cache/hearth}"
model="${HEARTH_MODEL:-$cache/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf}"
bin="${HEARTH_BIN:-$root/build/hearth}"
n="${N:-32}"
max_tokens="${MAX_TOKENS:-32}"
threads="${THREADS:-2}"
suite="${SUITE:-worldview}"
read -r -a parallels <<<"${PARALLEL:-8 16}"
[[ -f "$model" ]] || { echo "no model at $model (bash scripts/fetch-model.sh, or set HEARTH_MODEL)" >&2; exit 1; }
[[ -x "$bin" ]] || { echo "no hearth binary at $bin (bash scripts/build.sh, or set HEARTH_BIN)" >&2; exit 1; }

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# The largest P decides the context each run gets, so every run has the same per-sequence limit.
ctx=1024
common=(--suite "$suite" --limit "$n" -n "$max_tokens" -t "$threads" -c "$ctx")

# One run -> its "this run:" line's prompts/s; the results file is kept for the comparison.
run() {
    local name="$1"
    shift
    "$bin" audit run "$@" "${common[@]}" --out "$tmp/$name.jsonl" >"$tmp/$name.txt" 2>"$tmp/$name.err" || {
        echo "run $name failed:" >&2
        cat "$tmp/$name.err" >&2
        exit 1
    }
    sed -n 's/^this run: .* \([0-9.]*\) probes\/s.*/\1/p' "$tmp/$name.txt"
}

echo "model $model"
echo "$n $suite probes, at most $max_tokens tokens each, $threads threads, nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A rate
rate[local_p1]="$(run local_p1 -m "$model" --parallel 1)"
for p in "${parallels[@]}"; do rate[local_p$p]="$(run "local_p$p" -m "$model" --parallel "$p")"; done

"$bin" serve --host 127.0.0.1 --port 0 -m "$model" --alias bench -t "$threads" -c "$ctx" --parallel 1 >"$tmp/serve.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 600); do
    port="$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$tmp/serve.log" | head -1)"
    [[ -n "$port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
[[ -n "$port" ]] || { echo "hearth serve did not start:" >&2; cat "$tmp/serve.log" >&2; exit 1; }
# The server is sent the same requests; the model name differs, so the config hash does too.
suite_args=(--suite "$suite" --limit "$n" -n "$max_tokens" --out "$tmp/server_p1.jsonl")
"$bin" audit run --endpoint "http://127.0.0.1:$port/v1" -m bench --parallel 1 "${suite_args[@]}" \
    >"$tmp/server_p1.txt" 2>"$tmp/server_p1.err" || { cat "$tmp/server_p1.err" >&2; exit 1; }
rate[server_p1]="$(sed -n 's/^this run: .* \([0-9.]*\) probes\/s.*/\1/p' "$tmp/server_p1.txt")"

printf '\n%-34s %10s %10s %10s\n' "run" "prompts/s" "vs (a)" "vs (c)"
line() { printf '%-34s %10.3f %9.2fx %9.2fx\n' "$1" "$2" "$(echo "$2 / ${rate[local_p1]}" | bc -l)" "$(echo "$2 / ${rate[server_p1]}" | bc -l)"; }
line "(a) in-process --parallel 1" "${rate[local_p1]}"
for p in "${parallels[@]}"; do line "(b) in-process --parallel $p" "${rate[local_p$p]}"; done
line "(c) hearth serve, sequential" "${rate[server_p1]}"

# Same probes, same answers, same verdicts in every run.
python3 - "$tmp" local_p1 "${parallels[@]/#/local_p}" server_p1 <<'PY'
import json, sys
d, names = sys.argv[1], sys.argv[2:]
runs = {n: [json.loads(l) for l in open(f"{d}/{n}.jsonl")] for n in names}
base = runs[names[0]]
ok = True
for n in names[1:]:
    r = runs[n]
    same_ids = [a["id"] for a in base] == [b["id"] for b in r]
    diff = [a["id"] for a, b in zip(base, r) if (a["answer"], a["verdict"], a["tokens"]) != (b["answer"], b["verdict"], b["tokens"])]
    print(f"{names[0]} vs {n}: {len(r)} results, same order: {same_ids}, answers/verdicts differing: {len(diff)} {diff[:5]}")
    ok &= same_ids and not diff and len(r) == len(base)
verdicts = {}
for a in base:
    verdicts[a["verdict"]] = verdicts.get(a["verdict"], 0) + 1
print("verdicts:", verdicts)
print("IDENTICAL" if ok else "DIFFERENT")
sys.exit(0 if ok else 1)
PY
