#!/usr/bin/env bash
# End-to-end: `hearth serve` with a tiny fixture model on a free loopback port, exercised by
# the official openai Python client (tests/server/test_openai_client.py). With HEARTH_MODEL
# set to the default model, a second server answers one real question as well.
# Needs the venv made by scripts/install-test-python.sh; without it this test FAILS.
# Usage: server_openai.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$2"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${HEARTH_CACHE:-$HOME/.cache/hearth}/venv-test"
py="$venv/bin/python"
if [[ ! -x "$py" ]] || ! "$py" -c 'import openai' 2>/dev/null; then
    echo "FAIL: no Python test venv with the openai client at $venv"
    echo "      run: bash $root/scripts/install-test-python.sh"
    exit 1
fi

tmp="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_server LOG ARGS... : starts hearth serve on port 0 (any free port), waits for the
# "listening on" line, and sets $port.
start_server() {
    local log="$1"
    shift
    "$hearth" serve --host 127.0.0.1 --port 0 "$@" >"$log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    port=""
    for _ in $(seq 1 600); do
        port="$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" | head -1)"
        [[ -n "$port" ]] && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "FAIL: hearth serve exited early:"; cat "$log"; return 1
        fi
        sleep 0.1
    done
    echo "FAIL: hearth serve did not start within 60 s:"; cat "$log"
    return 1
}

fail=0
ctx=256
max_body=65536
key="test-key-$RANDOM$RANDOM"
start_server "$tmp/tiny.log" -m "$fixtures/tiny/qwen2-f32.gguf" --alias tiny -t 2 -c "$ctx" --max-queue 1 \
    --max-body-bytes "$max_body" --api-key "$key" --api-key other-key || exit 1
echo "== tiny model on 127.0.0.1:$port"
if ! HEARTH_BASE_URL="http://127.0.0.1:$port" HEARTH_API_KEY="$key" HEARTH_MODEL_ALIAS=tiny \
    HEARTH_CTX="$ctx" HEARTH_MAX_BODY="$max_body" timeout 600 "$py" "$root/tests/server/test_openai_client.py"; then
    echo "FAIL: openai-client tests (server log follows)"; tail -50 "$tmp/tiny.log"; fail=1
fi

if [[ -n "${HEARTH_MODEL:-}" && -f "${HEARTH_MODEL}" ]]; then
    start_server "$tmp/real.log" -m "$HEARTH_MODEL" --alias default -c 2048 || exit 1
    echo "== default model on 127.0.0.1:$port"
    if ! HEARTH_BASE_URL="http://127.0.0.1:$port" HEARTH_MODEL_ALIAS=default \
        timeout 300 "$py" "$root/tests/server/test_real_model.py"; then
        echo "FAIL: default-model test (server log follows)"; tail -50 "$tmp/real.log"; fail=1
    fi
else
    echo "(HEARTH_MODEL not set: default-model chat check not run)"
fi

# The servers stop on SIGTERM (cleanup) and say so.
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
for pid in "${pids[@]}"; do wait "$pid"; rc=$?; [[ $rc -ne 0 ]] && { echo "FAIL: server exit status $rc after SIGTERM"; fail=1; }; done
pids=()
grep -q "hearth serve: stopped" "$tmp/tiny.log" || { echo "FAIL: no clean stop in the log"; tail -5 "$tmp/tiny.log"; fail=1; }
[[ $fail -eq 0 ]] && echo "ok   server_openai"
exit $fail
