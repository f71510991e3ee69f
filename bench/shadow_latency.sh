#!/usr/bin/env bash
# The primary's latency with and without a shadow (sample = 1): the same model file served as
# "primary" and "candidate", N sequential chat requests (32 tokens) from the openai client, GAP_S
# seconds apart, first with no [shadow], then with every request mirrored. With a gap the shadow
# answer runs between requests; with no gap it runs while the next request is served and shares
# the cores with it.
# Usage: bash bench/shadow_latency.sh [MODEL.gguf] [N] [GAP_S] [THREADS]
# (default: the tiny fixture model, 20 requests, 0.5 s, 1 thread per model)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
hearth="${HEARTH:-$root/build/hearth}"
model="${1:-$root/tests/fixtures/tiny/qwen2-f32.gguf}"
n="${2:-20}"
gap="${3:-0.5}"
threads="${4:-1}"
# shellcheck source=tests/cli/lib.sh
source "$root/tests/cli/lib.sh"
py="$(test_python)"
tmp="$(mktemp -d)"
trap 'stop_servers; rm -rf "$tmp"' EXIT
models="[[models]]
path = \"$model\"
alias = \"primary\"
ctx = 1024
threads = $threads

[[models]]
path = \"$model\"
alias = \"candidate\"
ctx = 1024
threads = $threads
"
printf '%s\n' "$models" >"$tmp/plain.toml"
printf '%s\n[shadow]\nprimary = "primary"\ncandidate = "candidate"\nsample = 1\npath = "%s"\nmax_pending = 64\n' \
    "$models" "$tmp/pairs.jsonl" >"$tmp/shadow.toml"
for cfg in plain shadow plain shadow; do
    start_server "$tmp/$cfg.log" --config "$tmp/$cfg.toml"
    # shellcheck disable=SC2154  # $port: set by start_server
    printf '%-7s ' "$cfg"
    "$py" "$root/tests/server/shadow_client.py" latency "http://127.0.0.1:$port" "$n" "$gap"
    [[ $cfg == shadow ]] && curl -s "http://127.0.0.1:$port/metrics" | grep '^hearth_shadow_requests_total' | tr '\n' ' ' && echo
    stop_servers || echo "a server did not stop cleanly"
done
