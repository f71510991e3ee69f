#!/usr/bin/env bash
# Helpers shared by the end-to-end scripts in tests/cli/ (sourced, not run):
#   start_server LOG ARGS...  starts `$hearth serve` on 127.0.0.1 port 0 (any free port) with ARGS,
#                             waits for its "listening on" line and sets $port; the pid is kept
#   stop_servers              SIGTERM to every server started, SIGKILL after 5 s; returns 1 if one
#                             did not exit 0 (a clean stop)
#   test_python               prints the Python of the test venv (scripts/install-test-python.sh),
#                             or says how to make it and returns 1
# The caller sets $hearth before calling start_server.

server_pids=()

start_server() {
    local log="$1"
    shift
    # shellcheck disable=SC2154  # $hearth: set by the sourcing script
    "$hearth" serve --host 127.0.0.1 --port 0 "$@" >"$log" 2>&1 &
    local pid=$!
    server_pids+=("$pid")
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

stop_servers() {
    local pid rc status=0
    for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${server_pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid"
        rc=$?
        [[ $rc -ne 0 ]] && status=1
    done
    server_pids=()
    return $status
}

test_python() {
    local root venv
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    venv="${HEARTH_CACHE:-$HOME/.cache/hearth}/venv-test"
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import openai, websocket' 2>/dev/null; then
        echo "FAIL: no Python test venv with openai and websocket-client at $venv" >&2
        echo "      run: bash $root/scripts/install-test-python.sh" >&2
        return 1
    fi
    echo "$venv/bin/python"
}
