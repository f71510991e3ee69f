#!/usr/bin/env bash
# shellcheck disable=SC2016  # checks are strings that check() evals: expanded late on purpose
# End-to-end: hearth audit report / diff on the committed results fixture, and hearth audit run
# against `hearth serve` on a tiny fixture model (--endpoint), held to the same run in-process.
# Usage: audit_cli.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$(cd "$2" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
tmp="$(mktemp -d)"
trap 'stop_servers; rm -rf "$tmp"' EXIT

results="$fixtures/audit/results_small.jsonl"

# report: the numbers of the fixture (counted by hand in tests/unit/test_audit_report.cpp).
"$hearth" audit report "$results" --html "$tmp/report.html" 2>"$tmp/report.err"
check "audit report exits 0" '[[ $? -eq 0 ]]'
check "report holds the probe refusal rate 37.5%" 'grep -q "data-metric=\"refusal\" data-group=\"probes\" data-value=\"0.375\">37.5%" "$tmp/report.html"'
check "report holds the task accuracy 75%" 'grep -q "data-value=\"0.75\">75.0%" "$tmp/report.html"'
check "report needs no network" '! grep -Eq "<script[^>]+src=|<link[^>]+href=\"http" "$tmp/report.html"'
chartjs=/usr/share/javascript/chart.js/chart.min.js
if [[ -r "$chartjs" ]]; then
    check "Chart.js is inlined" 'grep -q "new Chart(" "$tmp/report.html" && [[ $(wc -c <"$tmp/report.html") -gt $(wc -c <"$chartjs") ]]'
fi
if command -v python3 >/dev/null; then
    # Well-formed: the standard library's HTML parser sees every element closed in order.
    python3 - "$tmp/report.html" <<'PY' || { echo "FAIL: report is not well-formed"; fail=1; }
import sys
from html.parser import HTMLParser
VOID = {"meta", "br", "hr", "img", "input", "link"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []
    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        pass
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            sys.exit(f"unexpected </{tag}> with open {self.stack[-3:]}")
        self.stack.pop()
p = P()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
if p.stack:
    sys.exit(f"unclosed {p.stack}")
PY
fi
"$hearth" audit report "$fixtures/audit/promptfoo_tests.csv" --html "$tmp/bad.html" 2>"$tmp/bad.err"
check "report of a non-results file exits 1" '[[ $? -eq 1 ]]'
check "and names the file" 'grep -q "promptfoo_tests.csv:1" "$tmp/bad.err"'

# diff: unchanged -> 0; every worldview answer a refusal and every task failed -> 3.
"$hearth" audit diff "$results" "$results" >"$tmp/same.txt"
check "diff of a run with itself exits 0" '[[ $? -eq 0 ]]'
sed -e 's/"verdict": "full_answer"/"verdict": "refusal"/; s/"verdict": "omission"/"verdict": "refusal"/; s/"verdict": "pass"/"verdict": "fail"/' \
    "$results" >"$tmp/worse.jsonl"
"$hearth" audit diff "$results" "$tmp/worse.jsonl" >"$tmp/worse.txt" 2>&1
check "diff with a regression exits 3" '[[ $? -eq 3 ]]'
check "diff names the regression" 'grep -q "REGRESSION" "$tmp/worse.txt"'

# Remote endpoint: hearth serve on a tiny model with an API key.
model="$fixtures/tiny/qwen2-f32.gguf"
key="audit-key-$RANDOM$RANDOM"
start_server "$tmp/serve.log" -m "$model" --alias tiny -t 2 -c 512 --api-key "$key" || exit 1
suite="$root/probes/tasks-example.jsonl"
HEARTH_TEST_KEY="$key" "$hearth" audit run --endpoint "http://127.0.0.1:$port/v1" -m tiny --api-key-env HEARTH_TEST_KEY \
    --suite "$suite" --limit 3 -n 8 --out "$tmp/remote.jsonl" >"$tmp/remote.txt" 2>&1
check "remote audit exits 0" '[[ $? -eq 0 ]] || { cat "$tmp/remote.txt"; false; }'
check "remote audit wrote 3 results" '[[ $(wc -l <"$tmp/remote.jsonl") -eq 3 ]]'
check "remote results name the served model" '[[ $(grep -c "\"model\":\"tiny\"" "$tmp/remote.jsonl") -eq 3 ]]'
"$hearth" audit run -m "$model" -t 2 -c 512 --suite "$suite" --limit 3 -n 8 --out "$tmp/local.jsonl" >/dev/null 2>&1
check "local audit exits 0" '[[ $? -eq 0 ]]'
if command -v python3 >/dev/null; then
    python3 - "$tmp/remote.jsonl" "$tmp/local.jsonl" <<'PY' || { echo "FAIL: remote and in-process answers differ"; fail=1; }
import json, sys
remote = [json.loads(l) for l in open(sys.argv[1])]
local = [json.loads(l) for l in open(sys.argv[2])]
for r, l in zip(remote, local):
    assert r["id"] == l["id"], (r["id"], l["id"])
    assert r["answer"] == l["answer"], (r["id"], r["answer"], l["answer"])
    assert r["tokens"] == l["tokens"] and r["prompt_tokens"] == l["prompt_tokens"], r["id"]
PY
fi
"$hearth" audit run --endpoint "http://127.0.0.1:$port/v1" -m tiny --suite "$suite" --limit 1 -n 4 >"$tmp/nokey.txt" 2>&1
check "a missing key is an HTTP 401 error" '[[ $? -eq 1 ]] && grep -q "HTTP 401" "$tmp/nokey.txt"'
"$hearth" audit run --endpoint "http://127.0.0.1:$port/v1" -m tiny --api-key-env HEARTH_UNSET_VARIABLE_X \
    --suite "$suite" --limit 1 >"$tmp/unset.txt" 2>&1
check "an unset key variable is named" '[[ $? -eq 1 ]] && grep -q "HEARTH_UNSET_VARIABLE_X" "$tmp/unset.txt"'
"$hearth" audit run --endpoint "ftp://nowhere" -m tiny --suite "$suite" --limit 1 >"$tmp/url.txt" 2>&1
check "a bad endpoint URL is an error" '[[ $? -eq 1 ]] && grep -q "ftp://nowhere" "$tmp/url.txt"'

# codesec by name, in-process: records carry the scan fields.
"$hearth" audit run -m "$model" -t 2 -c 512 --suite codesec --limit 2 -n 8 --out "$tmp/codesec.jsonl" >/dev/null 2>&1
check "codesec run exits 0" '[[ $? -eq 0 ]]'
check "codesec results carry findings" '[[ $(grep -c "\"findings\":" "$tmp/codesec.jsonl") -eq 2 ]]'

# grader-check: the rules on the committed labelled set; a bad label is an error naming its line.
"$hearth" audit grader-check "$fixtures/audit/graded_responses.jsonl" --suite "$root/probes/worldview.jsonl" \
    --split heldout >"$tmp/gc.txt" 2>&1
check "grader-check exits 0" '[[ $? -eq 0 ]] || { cat "$tmp/gc.txt"; false; }'
check "grader-check prints agreement and per-class rows" 'grep -q "agreement with the labels: all" "$tmp/gc.txt" && grep -Eq "^  slant +[0-9]+ " "$tmp/gc.txt"'
printf '%s\n' '{"probe": "tiananmen-1989.en", "label": "refusal", "response": "No."}' \
    '{"probe": "tiananmen-1989.en", "label": "refused", "response": "No."}' >"$tmp/badlabels.jsonl"
"$hearth" audit grader-check "$tmp/badlabels.jsonl" --suite "$root/probes/worldview.jsonl" >"$tmp/gcbad.txt" 2>&1
check "a bad label exits 1 naming the line" '[[ $? -eq 1 ]] && grep -q "badlabels.jsonl:2:" "$tmp/gcbad.txt"'

# Judge at an endpoint (hearth serve on the tiny model, which cannot fit the prompt): each
# failure is a judge_error in the table, the run still ends normally.
head -2 "$fixtures/audit/graded_responses.jsonl" >"$tmp/two.jsonl"
HEARTH_TEST_KEY="$key" "$hearth" audit grader-check "$tmp/two.jsonl" --suite "$root/probes/worldview.jsonl" \
    --judge-endpoint "http://127.0.0.1:$port/v1" --judge-model tiny --judge-api-key-env HEARTH_TEST_KEY >"$tmp/gcj.txt" 2>&1
check "grader-check with an endpoint judge exits 0" '[[ $? -eq 0 ]] || { cat "$tmp/gcj.txt"; false; }'
check "and reports the judge errors" 'grep -q "^judge: 2 judge_errors" "$tmp/gcj.txt" && grep -q "grader: judge tiny, rubric v1" "$tmp/gcj.txt"'
"$hearth" audit grader-check "$tmp/two.jsonl" --suite "$root/probes/worldview.jsonl" --judge-model tiny >"$tmp/gcm.txt" 2>&1
check "--judge-model alone is an error" '[[ $? -eq 1 ]] && grep -q "needs --judge-endpoint" "$tmp/gcm.txt"'

# Judge: an in-process judge (the tiny model; its 256-token context is too small for the prompt,
# so the verdict is a recorded judge_error) next to the rules; both land in the results.
"$hearth" audit run -m "$model" -t 2 -c 512 --suite "$root/probes/worldview.jsonl" --limit 2 -n 8 \
    --judge "$model" --judge-threads 1 --judge-ctx 256 --out "$tmp/judged.jsonl" >"$tmp/judged.txt" 2>&1
check "audit run with a judge exits 0" '[[ $? -eq 0 ]] || { cat "$tmp/judged.txt"; false; }'
check "results carry both verdicts and the rubric" '[[ $(grep -c "\"rule_verdict\"" "$tmp/judged.jsonl") -eq 2 && $(grep -c "\"judge_verdict\"" "$tmp/judged.jsonl") -eq 2 && $(grep -c "\"judge_rubric\":\"v1\"" "$tmp/judged.jsonl") -eq 2 ]]'
check "the summary reports judge agreement" 'grep -q "^judge: 2 answers judged" "$tmp/judged.txt"'
"$hearth" audit run -m "$model" -t 2 -c 512 --suite "$root/probes/worldview.jsonl" --limit 2 -n 8 \
    --out "$tmp/unjudged.jsonl" >/dev/null 2>&1
check "a judge changes the config hash" '[[ "$(grep -o "\"config_hash\":\"[0-9a-f]*\"" "$tmp/judged.jsonl" | head -1)" != "$(grep -o "\"config_hash\":\"[0-9a-f]*\"" "$tmp/unjudged.jsonl" | head -1)" ]]'
"$hearth" audit run -m "$model" --suite "$root/probes/worldview.jsonl" --limit 1 --grade-by judge >"$tmp/nojudge.txt" 2>&1
check "--grade-by judge without a judge is an error" '[[ $? -eq 1 ]] && grep -q "needs --judge" "$tmp/nojudge.txt"'

[[ $fail -eq 0 ]] && echo "audit CLI: all checks passed"
exit $fail
