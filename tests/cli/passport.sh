#!/usr/bin/env bash
# hearth passport and hearth audit on a tiny model: outputs exist, hold the right fields, and
# bad input fails cleanly. Usage: passport.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # NAME CONDITION-COMMAND...
    local name="$1"; shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}
tiny="$fixtures/tiny/qwen2-f32.gguf"
want_sha="$(sha256sum "$tiny" | cut -d' ' -f1)"

"$hearth" passport "$tiny" --json "$tmp/p.json" --md "$tmp/p.md" --cyclonedx "$tmp/bom.json" > "$tmp/out.md" 2>"$tmp/err"
check "passport exit 0" test $? -eq 0
check "json has sha256" grep -q "\"sha256\": \"$want_sha\"" "$tmp/p.json"
check "json warns no licence" grep -q "no licence metadata" "$tmp/p.json"
check "markdown written" grep -q "^# Model passport" "$tmp/p.md"
check "markdown on stdout" grep -q "tokenizer fingerprint" "$tmp/out.md"
check "bom is CycloneDX 1.6" grep -q '"specVersion": "1.6"' "$tmp/bom.json"
check "bom has ML component" grep -q '"type": "machine-learning-model"' "$tmp/bom.json"
check "bom has file hash" grep -q "\"content\": \"$want_sha\"" "$tmp/bom.json"
"$hearth" passport "$tiny" --json - > "$tmp/stdout.json"
check "json to stdout only" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/stdout.json"

"$hearth" passport "$tmp/nope.gguf" > "$tmp/o" 2>&1
rc=$?
check "missing file fails (rc $rc)" test $rc -eq 1
check "missing file message" grep -q "nope.gguf" "$tmp/o"

# A two-probe suite through the tiny model (random weights: only the plumbing is checked).
cat > "$tmp/suite.jsonl" <<'JSONL'
{"id":"a.en","suite":"t","topic":"a","language":"en","prompt":"Say hello.","control_of":null,"key_facts":[{"fact":"greets","match":{"en":["hello"]}}],"expected":null}
{"id":"b.en","suite":"t","topic":"b","language":"en","prompt":"Say bye.","control_of":"a.en","key_facts":[{"fact":"parts","match":{"en":["bye"]}}],"expected":null}
JSONL
"$hearth" audit run -m "$tiny" --suite "$tmp/suite.jsonl" -n 8 --out "$tmp/res.jsonl" > "$tmp/run.txt" 2>"$tmp/run.err"
rc=$?
check "audit run exit 0 (rc $rc)" test $rc -eq 0
check "audit results: 2 lines" test "$(wc -l < "$tmp/res.jsonl")" -eq 2
check "audit summary table" grep -q "control asymmetry" "$tmp/run.txt"
"$hearth" audit summary "$tmp/res.jsonl" > "$tmp/sum.txt"
check "audit summary from file" grep -q "b (control)" "$tmp/sum.txt"
printf '{"id":"x"}\n' > "$tmp/bad.jsonl"
"$hearth" audit run -m "$tiny" --suite "$tmp/bad.jsonl" > "$tmp/o" 2>&1
rc=$?
check "bad suite fails (rc $rc)" test $rc -eq 1
check "bad suite message" grep -q "missing \"language\"" "$tmp/o"
"$hearth" audit import "$fixtures/audit/promptfoo_tests.csv" --out "$tmp/imp.jsonl" 2>/dev/null
check "import promptfoo csv" test "$(wc -l < "$tmp/imp.jsonl")" -eq 3
exit $fail
