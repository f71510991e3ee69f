#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2317  # checks are strings that check() evals: expanded late on purpose
# End-to-end: the chat page of `hearth serve` in headless Chromium (tests/browser/web_chat_test.py):
# key entry (401 shown), model list, a streamed answer seen growing and equal to the API's at
# temperature 0, a second turn, Stop, an API error, the reasoning pane and the markdown sanitizer,
# no console errors, a PNG screenshot in $HEARTH_ARTIFACTS (default: test-artifacts/ beside the
# hearth binary). Also: the page's routes without a key, the /js/ allowlist against path
# traversal, and --no-web-ui. With HEARTH_MODEL set, one real answer from the default model.
# Needs chromium (scripts/install-deps.sh) and the test venv (scripts/install-test-python.sh);
# without them this test FAILS.
# Usage: web_chat.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$(cd "$2" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
py="$(test_python)" || exit 1
require_chromium || exit 1
artifacts="$(artifacts_dir)" || exit 1
tmp="$(mktemp -d)"
trap 'stop_servers; rm -rf "$tmp"' EXIT

key="web-key-$RANDOM$RANDOM"
start_server "$tmp/tiny.log" -m "$fixtures/tiny/qwen2-f32.gguf" --alias tiny -t 2 -c 512 --api-key "$key" \
    --audit-log "$tmp/audit.jsonl" || exit 1
base="http://127.0.0.1:$port"  # $port: set by start_server

# The page and its files load without a key; the API does not.
status() { curl -s --path-as-is -o "$tmp/body" -w '%{http_code} %{content_type}' "$@"; }
check "GET / is the page, without a key" '[[ $(status "$base/") == "200 text/html; charset=utf-8" ]] && grep -q "<title>hearth chat</title>" "$tmp/body"'
check "GET /static/app.js" '[[ $(status "$base/static/app.js") == "200 text/javascript; charset=utf-8" ]]'
check "GET /js/marked/marked.min.js is Debian libjs-marked" '[[ $(status "$base/js/marked/marked.min.js") == 200* ]] && cmp -s "$tmp/body" /usr/share/javascript/marked/marked.min.js'
check "GET /v1/models still needs the key" '[[ $(status "$base/v1/models") == 401* ]]'
for bad in "/js/../../../etc/passwd" "/js/marked/../../../../etc/passwd" "/js/%2e%2e/%2e%2e/%2e%2e/etc/passwd" \
    "/js/marked/marked.js" "/js/chart.js/chart.min.js" "/static/../../etc/passwd" "/static/index.html"; do
    check "GET $bad is a 404 (only the listed files)" '[[ $(status "$base$bad") == 404* ]] && ! grep -q "root:" "$tmp/body"'
done
check "the page is revalidated (ETag, no-cache) and gets a 304 when unchanged" \
    'etag="$(curl -sI "$base/" | tr -d "\r" | sed -n "s/^ETag: //Ip")"; [[ -n "$etag" ]] && [[ $(status -H "If-None-Match: $etag" "$base/") == 304* ]]'
check "the page sets a Content-Security-Policy" 'curl -sI "$base/" | grep -qi "^Content-Security-Policy: default-src .none.; script-src .self."'

if ! HEARTH_BASE_URL="$base" HEARTH_API_KEY="$key" HEARTH_MODEL_ALIAS=tiny \
    HEARTH_SCREENSHOT="$artifacts/web_chat.png" timeout 600 "$py" "$root/tests/browser/web_chat_test.py"; then
    echo "FAIL: web chat page in Chromium (server log follows)"; tail -20 "$tmp/tiny.log"; fail=1
fi
check "the stopped request is in the audit log" 'grep "Count to one hundred" "$tmp/audit.jsonl" | grep -Eq "\"finish_reason\":\"(cancelled|length)\""'

# --no-web-ui: / is an ordinary unknown route again (behind the key like everything else).
start_server "$tmp/noweb.log" -m "$fixtures/tiny/qwen2-f32.gguf" --alias tiny -t 1 -c 64 --no-web-ui || exit 1
check "--no-web-ui: GET / is a 404" '[[ $(status "http://127.0.0.1:$port/") == 404* ]] && grep -q "unknown_route" "$tmp/body"'
check "--no-web-ui: GET /static/app.js is a 404" '[[ $(status "http://127.0.0.1:$port/static/app.js") == 404* ]]'
check "--no-web-ui: no chat-page line in the log" '! grep -q "chat page" "$tmp/noweb.log"'
printf '[server]\nweb_ui = false\n' >"$tmp/noweb.toml"
start_server "$tmp/noweb2.log" -m "$fixtures/tiny/qwen2-f32.gguf" --alias tiny -t 1 -c 64 --config "$tmp/noweb.toml" || exit 1
check "[server] web_ui = false: GET / is a 404" '[[ $(status "http://127.0.0.1:$port/") == 404* ]]'

if [[ -n "${HEARTH_MODEL:-}" && -f "${HEARTH_MODEL}" ]]; then
    start_server "$tmp/real.log" -m "$HEARTH_MODEL" --alias default -c 1024 --audit-log "$tmp/real-audit.jsonl" || exit 1
    if ! HEARTH_BASE_URL="http://127.0.0.1:$port" HEARTH_MODEL_ALIAS=default HEARTH_REAL=1 \
        HEARTH_SCREENSHOT="$artifacts/web_chat_default.png" timeout 600 "$py" "$root/tests/browser/web_chat_test.py"; then
        echo "FAIL: default model in the web page (server log follows)"; tail -20 "$tmp/real.log"; fail=1
    fi
    check "default model: Stop in the page cancelled the generation on the server" \
        'grep "Count from 1 to 300" "$tmp/real-audit.jsonl" | grep -q "\"finish_reason\":\"cancelled\""'
else
    echo "(HEARTH_MODEL not set: the default-model check in the page was not run)"
fi

stop_servers || { echo "FAIL: a server did not stop cleanly"; fail=1; }
[[ $fail -eq 0 ]] && echo "ok   web_chat (screenshots in $artifacts)"
exit $fail
