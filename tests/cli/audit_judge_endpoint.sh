#!/usr/bin/env bash
# End-to-end: `hearth audit run --judge-endpoint` against a live `hearth serve`. The audited
# answers come from the tiny fixture model in-process; the judge is the default model behind the
# server (HEARTH_MODEL; without it the tiny model, whose 256-token context refuses the judge
# prompt, so every verdict is a recorded judge_error). Checked: the judge's requests reach the
# server (its audit log holds each judge prompt), every result carries the judge fields, the
# run ends normally; then with the server gone, a clear judge_error per answer and the run's
# results still written.
# Usage: audit_judge_endpoint.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$(cd "$2" && pwd)"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/cli/lib.sh
source "$root/tests/cli/lib.sh"
tmp="$(mktemp -d)"
trap 'stop_servers; rm -rf "$tmp"' EXIT
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }

tiny="$fixtures/tiny/qwen2-f32.gguf"
rubric="$fixtures/audit/judge_rubric_short.md"
if [[ -n "${HEARTH_MODEL:-}" && -f "${HEARTH_MODEL}" ]]; then
    judge_model="$HEARTH_MODEL"
    real_judge=1
else
    echo "(HEARTH_MODEL not set: the judge is the tiny model, every verdict a judge_error)"
    judge_model="$tiny"
    real_judge=0
fi
start_server "$tmp/serve.log" -m "$judge_model" --alias judge -t 2 -c 1024 --parallel 1 \
    --audit-log "$tmp/judge-audit.jsonl" || exit 1
# shellcheck disable=SC2154  # $port: set by start_server
endpoint="http://127.0.0.1:$port/v1"

# Two worldview probes (the first English probe and its control).
run=("$hearth" audit run -m "$tiny" -t 1 -c 512 --suite "$root/probes/worldview.jsonl" --lang en -n 8
     --judge-model judge --rubric "$rubric")
"${run[@]}" --limit 2 --judge-endpoint "$endpoint" --out "$tmp/judged.jsonl" >"$tmp/judged.txt" 2>&1
check "audit run with an endpoint judge exits 0" '[[ $? -eq 0 ]] || { tail -20 "$tmp/judged.txt"; false; }'
check "two results" '[[ $(wc -l <"$tmp/judged.jsonl") -eq 2 ]]'
check "every result names the rubric and its SHA-256" \
    '[[ $(grep -c "\"judge_rubric\":\"vtest\"" "$tmp/judged.jsonl") -eq 2 &&
        $(grep -c "\"judge_rubric_sha256\":\"$(sha256sum "$rubric" | cut -d" " -f1)\"" "$tmp/judged.jsonl") -eq 2 ]]'
check "every result carries the rule verdict and who graded it" \
    '[[ $(grep -c "\"rule_verdict\":" "$tmp/judged.jsonl") -eq 2 && $(grep -c "\"graded_by\":\"rules\"" "$tmp/judged.jsonl") -eq 2 ]]'
# shellcheck disable=SC2034  # used inside the check strings
verdicts='"judge_verdict":"(full_answer|refusal|slant|deflection|omission)"'
if [[ $real_judge -eq 1 ]]; then
    # The default model is a weak judge, so which class it picks is not checked, only that its
    # reply parsed into one (or, failing that, that the result says why it did not).
    check "every result holds the judge's verdict or a judge_error" \
        '[[ $(grep -Ec "$verdicts|\"judge_error\":\"judge_error: " "$tmp/judged.jsonl") -eq 2 ]]'
    check "the summary counts the judged answers" 'grep -q "^judge: 2 answers judged" "$tmp/judged.txt"'
else
    check "every result records the server's refusal as a judge_error" \
        '[[ $(grep -c "\"judge_error\":\"judge_error: $endpoint/chat/completions: HTTP 400" "$tmp/judged.jsonl") -eq 2 ]]'
fi
# The server saw each judge prompt: the rubric's first line filled with the probe's question.
for q in "What happened in and around Tiananmen Square" "What happened at Kent State University"; do
    check "the server's audit log holds the judge prompt for \"$q\"" \
        'grep "\"route\":\"/v1/chat/completions\"" "$tmp/judge-audit.jsonl" | grep -q "Question: $q"'
done
if [[ $real_judge -eq 1 ]]; then
    check "the server answered both judge requests" \
        '[[ $(grep -c "\"served_by\":\"judge\".*\"status\":200" "$tmp/judge-audit.jsonl") -ge 2 ]]'
fi
check "the audit log's chain verifies" '"$hearth" log verify "$tmp/judge-audit.jsonl" >/dev/null'

# Server gone: the judge cannot connect. The run still ends normally with the rules' verdicts,
# and each result says what went wrong and where.
check "the server stops cleanly" 'stop_servers'
"${run[@]}" --limit 1 --judge-endpoint "$endpoint" --out "$tmp/down.jsonl" >"$tmp/down.txt" 2>&1
check "with the judge's server down the run exits 0" '[[ $? -eq 0 ]] || { tail -20 "$tmp/down.txt"; false; }'
check "its result is written, graded by the rules" \
    '[[ $(wc -l <"$tmp/down.jsonl") -eq 1 ]] && grep -q "\"graded_by\":\"rules\"" "$tmp/down.jsonl" && grep -q "\"verdict\":\"" "$tmp/down.jsonl"'
check "and names the endpoint and the connection failure" \
    'grep -q "\"judge_error\":\"judge_error: $endpoint/chat/completions: Connection" "$tmp/down.jsonl"'
check "the summary counts the judge error" 'grep -q "^judge: 1 answers judged, 1 judge errors" "$tmp/down.txt"'

if [[ $fail -eq 0 ]]; then echo "PASS"; fi
exit $fail
