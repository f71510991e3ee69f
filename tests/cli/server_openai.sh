#!/usr/bin/env bash
# End-to-end: `hearth serve` with a tiny fixture model on a free loopback port, exercised by
# the official openai Python client (tests/server/test_openai_client.py), with a --config holding a
# route, a key limited to it and a rate-limited key, an --audit-log checked afterwards, and a second
# server that proxies to the first as an [[upstreams]] entry, and a third with a Qwen3-templated
# fixture for chat_template_kwargs (tests/server/test_thinking_switch.py). With HEARTH_MODEL
# set to the default model, a second server answers one real question as well.
# Needs the venv made by scripts/install-test-python.sh; without it this test FAILS.
# Usage: server_openai.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$(cd "$2" && pwd)"
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
limited_key="limited-$RANDOM$RANDOM"
slow_key="slow-$RANDOM$RANDOM"
# The digests come from `hearth serve --hash-key`, held to sha256sum.
limited_sha="$(printf '%s\n' "$limited_key" | "$hearth" serve --hash-key)"
[[ "$limited_sha" == "$(printf '%s' "$limited_key" | sha256sum | cut -d' ' -f1)" ]] || {
    echo "FAIL: hearth serve --hash-key disagrees with sha256sum: $limited_sha"; fail=1; }
slow_sha="$(printf '%s' "$slow_key" | "$hearth" serve --hash-key)"
cat >"$tmp/serve.toml" <<TOML
[routes]
coding = "tiny"

[[keys]]
id = "limited"
sha256 = "$limited_sha"
models = ["coding"]

[[keys]]
id = "slow"
sha256 = "$slow_sha"
tokens_per_minute = 60
TOML
start_server "$tmp/tiny.log" -m "$fixtures/tiny/qwen2-f32.gguf" --alias tiny -t 2 -c "$ctx" --max-queue 1 \
    --max-body-bytes "$max_body" --api-key "$key" --api-key other-key --config "$tmp/serve.toml" \
    --audit-log "$tmp/audit.jsonl" || exit 1
tiny_port=$port
echo "== tiny model on 127.0.0.1:$port"

# A second server that passes requests for "tiny" to the first (its key from a file).
printf '%s\n' "$key" >"$tmp/upstream.key"
cat >"$tmp/proxy.toml" <<TOML
[[models]]
path = "$fixtures/tiny/qwen2-f32.gguf"
alias = "local"
ctx = 64
threads = 1

[[upstreams]]
name = "first"
base_url = "http://127.0.0.1:$tiny_port/v1"
models = ["tiny"]
api_key_file = "$tmp/upstream.key"
TOML
start_server "$tmp/proxy.log" --config "$tmp/proxy.toml" || exit 1
proxy_port=$port

if ! HEARTH_BASE_URL="http://127.0.0.1:$tiny_port" HEARTH_API_KEY="$key" HEARTH_MODEL_ALIAS=tiny \
    HEARTH_CTX="$ctx" HEARTH_MAX_BODY="$max_body" HEARTH_LIMITED_KEY="$limited_key" HEARTH_SLOW_KEY="$slow_key" \
    HEARTH_SLOW_TPM=60 HEARTH_ROUTE=coding HEARTH_PROXY_BASE_URL="http://127.0.0.1:$proxy_port" \
    timeout 600 "$py" "$root/tests/server/test_openai_client.py"; then
    echo "FAIL: openai-client tests (server log follows)"; tail -50 "$tmp/tiny.log"; fail=1
fi

# chat_template_kwargs reach a template that reads them: a fixture carrying Qwen3's own template,
# checked against jinja2's rendering of it (tests/server/test_thinking_switch.py).
start_server "$tmp/qwen3.log" -m "$fixtures/tiny_chat/qwen3-chat-q8_0.gguf" --alias qwen3chat -t 1 -c 256 || exit 1
if ! HEARTH_BASE_URL="http://127.0.0.1:$port" HEARTH_MODEL_ALIAS=qwen3chat HEARTH_FIXTURES="$fixtures" \
    timeout 120 "$py" "$root/tests/server/test_thinking_switch.py"; then
    echo "FAIL: thinking-switch tests (server log follows)"; tail -20 "$tmp/qwen3.log"; fail=1
fi

# Every outcome above left an audit record: successes, 401, 403, 429, cancellations.
if ! "$hearth" log verify "$tmp/audit.jsonl"; then
    echo "FAIL: the audit log does not verify"; fail=1
fi
for want in '"status":200' '"status":401' '"status":403' '"status":429' '"key_id":"limited"' '"key_id":"slow"' \
    '"finish_reason":"cancelled"' '"model":"coding","served_by":"tiny"' '"route":"/v1/embeddings"' '"finish_reason":"length,length,length"'; do
    grep -q "$want" "$tmp/audit.jsonl" || { echo "FAIL: no audit record with $want"; fail=1; }
done

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
