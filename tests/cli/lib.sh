#!/usr/bin/env bash
# Helpers shared by the end-to-end scripts in tests/cli/ (sourced, not run):
#   check NAME CONDITION      evaluates the CONDITION string (late, so it sees variables set after
#                             the call was written), prints "ok   NAME" or "FAIL NAME", sets fail=1
#   bad MESSAGE               prints "FAIL: MESSAGE" and sets fail=1
#   start_command LOG CMD...  runs CMD (a `hearth serve` on port 0, possibly under a wrapper such
#                             as strace) in the background, waits for its "listening on" line and
#                             sets $port and $server_pid; the pid is kept for stop_servers
#   start_server LOG ARGS...  start_command with `$hearth serve --host 127.0.0.1 --port 0 ARGS`
#   stop_servers              SIGTERM to every server started, SIGKILL after 5 s; returns 1 if one
#                             did not exit 0 (a clean stop)
#   test_python               prints the Python of the test venv (scripts/install-test-python.sh),
#                             or says how to make it and returns 1
#   require_chromium          returns 1 with an install hint when Debian's chromium is missing
#   artifacts_dir             prints (and creates) $HEARTH_ARTIFACTS, default test-artifacts/
#                             beside the hearth binary
# The caller sets $hearth before calling start_server or artifacts_dir.

server_pids=()
fail=0

check() {
    if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}

bad() {
    echo "FAIL: $*"
    fail=1
}

start_command() {
    local log="$1"
    shift
    "$@" >"$log" 2>&1 &
    server_pid=$!
    server_pids+=("$server_pid")
    port=""
    for _ in $(seq 1 600); do
        port="$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" 2>/dev/null | head -1)"
        [[ -n "$port" ]] && return 0
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "FAIL: the server exited early:"; cat "$log"; return 1
        fi
        sleep 0.1
    done
    echo "FAIL: the server did not start within 60 s:"; cat "$log"
    return 1
}

start_server() {
    local log="$1"
    shift
    # shellcheck disable=SC2154  # $hearth: set by the sourcing script
    start_command "$log" "$hearth" serve --host 127.0.0.1 --port 0 "$@"
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

require_chromium() {
    if command -v "${HEARTH_CHROMIUM:-chromium}" >/dev/null || command -v chromium-browser >/dev/null; then
        return 0
    fi
    echo "FAIL: no chromium: install it with apt-get install chromium (or bash scripts/install-deps.sh)"
    return 1
}

artifacts_dir() {
    local dir
    dir="${HEARTH_ARTIFACTS:-$(cd "$(dirname "$hearth")" && pwd)/test-artifacts}"
    mkdir -p "$dir" && echo "$dir"
}
