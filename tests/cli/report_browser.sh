#!/usr/bin/env bash
# shellcheck disable=SC2016  # checks are strings that check() evals: expanded late on purpose
# End-to-end: an audit report opened in headless Chromium (tests/browser/report_test.py). A small
# in-process audit of the default model (HEARTH_MODEL; the tiny fixture model without it) with a
# slice of every suite (worldview, codesec, tasks) and the committed results fixture go into one
# `hearth audit report --html`; in the browser every <canvas> must hold
# a Chart.js chart with the numbers of the report's embedded metrics and drawn pixels, with no
# JavaScript errors. A PNG screenshot goes to $HEARTH_ARTIFACTS (default: test-artifacts/ beside
# the hearth binary). Needs chromium and libjs-chart.js (scripts/install-deps.sh) and the test
# venv (scripts/install-test-python.sh); without them this test FAILS.
# Usage: report_browser.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$(cd "$2" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
py="$(test_python)" || exit 1
require_chromium || exit 1
if [[ ! -r "${HEARTH_CHARTJS:-/usr/share/javascript/chart.js/chart.min.js}" ]]; then
    echo "FAIL: no Chart.js for the report's charts: apt-get install libjs-chart.js (or set HEARTH_CHARTJS)"
    exit 1
fi
artifacts="$(artifacts_dir)" || exit 1
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The default model when HEARTH_MODEL names it (answers long enough to hold facts and code),
# else the tiny fixture model (a quick check of the plumbing).
model="$fixtures/tiny/qwen2-f32.gguf" wv_tokens=8 cs_tokens=8
if [[ -n "${HEARTH_MODEL:-}" && -f "${HEARTH_MODEL}" ]]; then
    model="$HEARTH_MODEL" wv_tokens=64 cs_tokens=200
fi
"$hearth" audit run -m "$model" -t 2 -c 1024 --suite worldview --limit 6 -n "$wv_tokens" --out "$tmp/wv.jsonl" >"$tmp/wv.txt" 2>&1
check "worldview slice exits 0" '[[ $? -eq 0 ]] || { tail -5 "$tmp/wv.txt"; false; }'
"$hearth" audit run -m "$model" -t 2 -c 1024 --suite codesec --limit 2 -n "$cs_tokens" --out "$tmp/cs.jsonl" >"$tmp/cs.txt" 2>&1
check "codesec slice exits 0" '[[ $? -eq 0 ]] || { tail -5 "$tmp/cs.txt"; false; }'
"$hearth" audit run -m "$model" -t 2 -c 1024 --suite "$root/probes/tasks-example.jsonl" --limit 3 -n 32 \
    --out "$tmp/tasks.jsonl" >"$tmp/tasks.txt" 2>&1
check "tasks slice exits 0" '[[ $? -eq 0 ]] || { tail -5 "$tmp/tasks.txt"; false; }'
check "every slice wrote its results" '[[ $(cat "$tmp/wv.jsonl" "$tmp/cs.jsonl" "$tmp/tasks.jsonl" | wc -l) -eq 11 ]]'
"$hearth" audit report "$fixtures/audit/results_small.jsonl" "$tmp/wv.jsonl" "$tmp/cs.jsonl" "$tmp/tasks.jsonl" \
    --html "$tmp/report.html" >"$tmp/report.txt" 2>&1
check "audit report exits 0" '[[ $? -eq 0 ]] || { cat "$tmp/report.txt"; false; }'
cp "$tmp/report.html" "$artifacts/audit_report.html"

if ! timeout 300 "$py" "$root/tests/browser/report_test.py" "$tmp/report.html" "$artifacts/audit_report.png"; then
    echo "FAIL: the audit report in Chromium"; fail=1
fi
[[ $fail -eq 0 ]] && echo "ok   report_browser (screenshot and report in $artifacts)"
exit $fail
