#!/usr/bin/env bash
# hearth run --grammar / --json-schema and hearth chat's commands on a tiny random-weight model: sampled text
# under a grammar is checked by Python's re (independent of hearth's matcher), a bad grammar
# fails with its line and column, and /system, /no_think, /save do what they say.
# Usage: chat_grammar.sh HEARTH FIXTURES_DIR
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
gdir="$fixtures/chat_grammar"

# The generated text is what follows the echoed prompt, up to the final newline run adds.
for seed in 1 2 3 4; do
    "$hearth" run -m "$tiny" -t 1 -p "Mood:" --grammar "$gdir/enum.gbnf" -n 24 --temp 1.0 --seed "$seed" \
        > "$tmp/out" 2> "$tmp/err"
    check "run --grammar exit 0 (seed $seed)" test $? -eq 0
    check "output matches the grammar (seed $seed)" python3 - "$tmp/out" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
assert text.startswith("Mood:") and text.endswith("\n"), repr(text)
gen = text[len("Mood:"):-1]
pat = r"(?:positive|negative|neutral|mixed)(?: \((?:[0-9]|[1-9][0-9]|100)%\))?"
sys.exit(0 if re.fullmatch(pat, gen) else f"not in the grammar: {gen!r}")
EOF
    check "grammar stats reported (seed $seed)" grep -q "^\[grammar\] complete" "$tmp/err"
done

printf 'root ::= "a"\n  | [z-a]\n' > "$tmp/bad.gbnf"
"$hearth" run -m "$tiny" -p "x" --grammar "$tmp/bad.gbnf" -n 4 > "$tmp/out" 2> "$tmp/err"
rc=$?
check "bad grammar exits non-zero" test "$rc" -ne 0
check "bad grammar names file, line and column" grep -q "bad.gbnf: grammar line 2, column 6: character range is reversed" "$tmp/err"
"$hearth" run -m "$tiny" -p "x" --grammar "$tmp/missing.gbnf" -n 4 > "$tmp/out" 2> "$tmp/err"
check "missing grammar file is an error" grep -q "missing.gbnf: cannot read grammar file" "$tmp/err"

# --json-schema: sampled answers parse as JSON (Python's json, not hearth's matcher) and follow
# the schema; a schema hearth cannot compile is refused naming the file and keyword.
cat > "$tmp/verdict.json" <<'EOF'
{"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}, "sure": {"type": "boolean"}},
 "required": ["answer", "sure"], "additionalProperties": false}
EOF
for seed in 1 2; do
    "$hearth" run -m "$tiny" -t 1 -p "Verdict:" --json-schema "$tmp/verdict.json" -n 40 --temp 1.0 --seed "$seed" \
        > "$tmp/out" 2> "$tmp/err"
    check "run --json-schema exit 0 (seed $seed)" test $? -eq 0
    check "output is JSON under the schema (seed $seed)" python3 - "$tmp/out" <<'EOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
doc = json.loads(text[len("Verdict:"):-1])
assert set(doc) == {"answer", "sure"} and doc["answer"] in ("yes", "no") and isinstance(doc["sure"], bool), doc
EOF
done
printf '{"type": "string", "format": "email"}' > "$tmp/bad-schema.json"
"$hearth" run -m "$tiny" -p "x" --json-schema "$tmp/bad-schema.json" -n 4 > "$tmp/out" 2> "$tmp/err"
check "unsupported schema keyword is an error naming it" grep -q 'bad-schema.json: JSON schema: "format" is not supported' "$tmp/err"

printf '/system Be brief.\n/no_think\nhello\n/save %s\n/bye\n' "$tmp/conv.json" |
    "$hearth" chat -m "$tiny" -t 1 -n 4 --temp 0 > "$tmp/out" 2> "$tmp/err"
check "chat exit 0" test $? -eq 0
check "chat acknowledges commands" grep -q "thinking off" "$tmp/err"
check "saved conversation" python3 - "$tmp/conv.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
m = d["messages"]
assert d["enable_thinking"] is False, d
assert m[0] == {"role": "system", "content": "Be brief."}, m
assert m[1] == {"role": "user", "content": "hello"}, m
assert m[2]["role"] == "assistant" and len(m) == 3, m
EOF
exit $fail
