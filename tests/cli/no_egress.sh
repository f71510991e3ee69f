#!/usr/bin/env bash
# No egress: `hearth serve --offline` opens no outbound connection, and refuses to start when
# the config names an upstream.
#  1. --offline (and [server] offline = true) with an [[upstreams]] entry: exit 1, clear error.
#  2. Control: a server proxying to an upstream under `strace -f -e trace=connect` shows its
#     connect() to that upstream, so the trace does see outbound connections.
#  3. An --offline server under strace, driven with chat, completion, streaming, listing and
#     error requests, makes no connect() to any AF_INET/AF_INET6 address (loopback included);
#     the only connects allowed are AF_UNIX ones (the C library asking nscd, if present).
# Needs strace (scripts/install-deps.sh installs it); without it this test FAILS.
# Usage: no_egress.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$(cd "$2" && pwd)"
model="$fixtures/tiny/qwen2-f32.gguf"
if ! command -v strace >/dev/null; then
    echo "FAIL: strace is not installed (bash scripts/install-deps.sh)"
    exit 1
fi
# shellcheck source=tests/cli/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tmp="$(mktemp -d)"
trap 'stop_servers; rm -rf "$tmp"' EXIT

# Under strace, the server is strace's child: signal hearth itself, and strace ends with it.
stop() {
    local child
    child="$(pgrep -P "$server_pid" | head -1)"
    kill "${child:-$server_pid}"
    wait "$server_pid" 2>/dev/null
}

post() {  # post PATH JSON -> status code
    curl -s -o "$tmp/out" -w '%{http_code}' -m 60 "http://127.0.0.1:$port$1" -H 'Content-Type: application/json' -d "$2"
}

# 1. Offline refuses upstreams at startup.
cat >"$tmp/upstream.toml" <<EOF
[[models]]
path = "$model"
alias = "tiny"

[[upstreams]]
name = "elsewhere"
base_url = "http://192.0.2.1:8000/v1"
models = ["remote-model"]
EOF
"$hearth" serve --config "$tmp/upstream.toml" --offline --port 0 >"$tmp/refused.log" 2>&1
rc=$?
[[ $rc -ne 0 ]] || bad "--offline with an upstream configured did not fail"
grep -q "offline: the config names upstreams: elsewhere" "$tmp/refused.log" || bad "unclear refusal: $(cat "$tmp/refused.log")"
grep -q "listening" "$tmp/refused.log" && bad "the refused server listened"
{ echo "[server]"; echo "offline = true"; cat "$tmp/upstream.toml"; } >"$tmp/upstream-offline.toml"
"$hearth" serve --config "$tmp/upstream-offline.toml" --port 0 >"$tmp/refused2.log" 2>&1 && bad "[server] offline = true with an upstream did not fail"
grep -q "refusing to start" "$tmp/refused2.log" || bad "unclear refusal: $(cat "$tmp/refused2.log")"

# 2. Control: strace sees a proxied request's outbound connect().
start_command "$tmp/a.log" "$hearth" serve --host 127.0.0.1 --port 0 -m "$model" --alias tiny-a -t 1 -c 128 || exit 1
up_port=$port
up_pid=$server_pid
cat >"$tmp/proxy.toml" <<EOF
[server]
listen = "127.0.0.1:0"

[[models]]
path = "$model"
alias = "tiny"
ctx = 128
threads = 1

[[upstreams]]
name = "a"
base_url = "http://127.0.0.1:$up_port/v1"
models = ["tiny-a"]
EOF
start_command "$tmp/b.log" strace -f -e trace=connect -o "$tmp/control.strace" "$hearth" serve --config "$tmp/proxy.toml" || exit 1
code=$(post /v1/completions '{"model":"tiny-a","prompt":"hi","max_tokens":4}')
[[ $code == 200 ]] || bad "proxied request: HTTP $code $(cat "$tmp/out")"
stop
grep -q "connect(.*AF_INET.*htons($up_port).*127.0.0.1" "$tmp/control.strace" ||
    bad "control: strace did not record the connect() to the upstream on port $up_port; the check below would prove nothing"
echo "== control: $(grep -c 'connect(.*AF_INET' "$tmp/control.strace") AF_INET connect() seen when proxying"
kill "$up_pid"; wait "$up_pid" 2>/dev/null

# 3. Offline server, every kind of request, no outbound connection.
start_command "$tmp/c.log" strace -f -e trace=connect,sendto -o "$tmp/offline.strace" \
    "$hearth" serve --host 127.0.0.1 --port 0 -m "$model" --alias tiny -t 1 -c 128 --offline \
    --audit-log "$tmp/audit.jsonl" --api-key k1 || exit 1
grep -q "offline: no upstreams" "$tmp/c.log" || bad "the offline server does not say it is offline"
auth=(-H "Authorization: Bearer k1")
c1=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":8}')
c2=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
    -d '{"model":"tiny","prompt":"hi","max_tokens":8,"stream":true}')
c3=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$port/v1/models")
c4=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$port/v1/completions" -H 'Content-Type: application/json' \
    -d '{"model":"remote-model","prompt":"hi"}')
c5=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/completions" -d '{}')
c6=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics" "${auth[@]}")
[[ "$c1 $c2 $c3 $c4 $c5 $c6" == "200 200 200 404 401 200" ]] || bad "offline server answers: $c1 $c2 $c3 $c4 $c5 $c6"
stop
"$hearth" log verify "$tmp/audit.jsonl" >/dev/null || bad "the offline server's audit log does not verify"
inet=$(grep -E 'connect\(.*(AF_INET|AF_INET6)' "$tmp/offline.strace")
if [[ -n "$inet" ]]; then
    bad "the offline server made outbound connections:"; echo "$inet"
fi
other=$(grep 'connect(' "$tmp/offline.strace" | grep -v 'AF_UNIX')
[[ -z "$other" ]] || { bad "connect() to a non-local family:"; echo "$other"; }
sent=$(grep -E 'sendto\(.*(AF_INET|AF_INET6)' "$tmp/offline.strace")
[[ -z "$sent" ]] || { bad "sendto() to a network address (UDP):"; echo "$sent"; }
echo "== offline: $(grep -c 'connect(' "$tmp/offline.strace") connect() calls, all AF_UNIX: $(grep -o 'sun_path="[^"]*"' "$tmp/offline.strace" | sort -u | tr '\n' ' ')"

[[ $fail -eq 0 ]] && echo "ok   no_egress"
exit $fail
