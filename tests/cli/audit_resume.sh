#!/usr/bin/env bash
# shellcheck disable=SC2016  # checks are strings that check() evals: expanded late on purpose
# End-to-end: `hearth audit run` on a tiny fixture model with --parallel, --out resume and
# --cache. --parallel 1 and --parallel 5 write the same results; a run killed mid-write
# (simulated: last records removed and the next one cut short) resumes with only the missing
# probes and ends with the same results; a different configuration is refused (the file is
# left as it was) unless --force; a rerun with --cache answers every probe from the cache.
# Usage: audit_resume.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$(cd "$2" && pwd)"
# shellcheck source=tests/cli/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
model="$fixtures/tiny/qwen2-f32.gguf"
run=("$hearth" audit run -m "$model" -t 2 -c 512 --suite worldview --lang en --limit 8 -n 12)

# The fields that must not depend on how the run was scheduled (timings may).
same_results() {
    python3 - "$1" "$2" <<'PY'
import json, sys
keys = ("id", "prompt", "response", "reasoning", "answer", "tokens", "prompt_tokens", "finish_reason", "verdict",
        "coverage", "facts_matched", "config_hash")
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) == 8, (len(a), len(b))
for x, y in zip(a, b):
    for k in keys:
        assert x.get(k) == y.get(k), (x["id"], k, x.get(k), y.get(k))
PY
}

"${run[@]}" --parallel 1 --out "$tmp/p1.jsonl" >"$tmp/p1.txt" 2>&1
check "--parallel 1 exits 0" '[[ $? -eq 0 ]] || { cat "$tmp/p1.txt"; false; }'
"${run[@]}" --parallel 5 --out "$tmp/p5.jsonl" >"$tmp/p5.txt" 2>&1
check "--parallel 5 exits 0" '[[ $? -eq 0 ]] || { cat "$tmp/p5.txt"; false; }'
check "--parallel 1 and 5 give the same results in the same order" 'same_results "$tmp/p1.jsonl" "$tmp/p5.jsonl"'
check "the run reports its rate" 'grep -q "^this run: 8 probes in .* probes/s, parallel 5 (8 generated, 0 from the cache, 0 failed)" "$tmp/p5.txt"'

# A crash: two records lost, the third cut mid-line.
head -n 5 "$tmp/p5.jsonl" >"$tmp/cut.jsonl"
sed -n 6p "$tmp/p5.jsonl" | head -c 40 >>"$tmp/cut.jsonl"
"${run[@]}" --parallel 3 --out "$tmp/cut.jsonl" >"$tmp/resume.txt" 2>&1
check "resume exits 0" '[[ $? -eq 0 ]] || { cat "$tmp/resume.txt"; false; }'
check "resume says what it dropped" 'grep -q "dropped a partial last record" "$tmp/resume.txt"'
check "resume runs only the missing probes" 'grep -q "resuming .*: 5 of 8 probes already done" "$tmp/resume.txt" && grep -q "^this run: 3 probes" "$tmp/resume.txt"'
check "the resumed file equals an uninterrupted run" 'same_results "$tmp/p1.jsonl" "$tmp/cut.jsonl"'
"${run[@]}" --out "$tmp/cut.jsonl" >"$tmp/again.txt" 2>&1
check "a finished run resumed runs nothing" '[[ $? -eq 0 ]] && grep -q "^this run: 0 probes" "$tmp/again.txt"'

# Another configuration (another token limit) is refused and the file stays as it was.
cp "$tmp/cut.jsonl" "$tmp/before.jsonl"
"$hearth" audit run -m "$model" -t 2 -c 512 --suite worldview --lang en --limit 8 -n 13 --out "$tmp/cut.jsonl" >"$tmp/other.txt" 2>&1
check "another config hash is refused with exit 1" '[[ $? -eq 1 ]]'
check "the refusal says why and how" 'grep -q "another run configuration" "$tmp/other.txt" && grep -q -- "--force" "$tmp/other.txt"'
check "the refused file is unchanged" 'cmp -s "$tmp/cut.jsonl" "$tmp/before.jsonl"'
"$hearth" audit run -m "$model" -t 2 -c 512 --suite worldview --lang en --limit 2 -n 13 --out "$tmp/cut.jsonl" --force >"$tmp/force.txt" 2>&1
check "--force starts the file afresh" '[[ $? -eq 0 ]] && [[ $(wc -l <"$tmp/cut.jsonl") -eq 2 ]]'

# Response cache: the first run fills it, the second answers from it.
"${run[@]}" --cache "$tmp/cache" --out "$tmp/c1.jsonl" >"$tmp/c1.txt" 2>&1
check "cache run 1 exits 0" '[[ $? -eq 0 ]] || { cat "$tmp/c1.txt"; false; }'
check "cache run 1: 8 misses" 'grep -q "response cache .*: 0 hits, 8 misses, 8 entries" "$tmp/c1.txt"'
"${run[@]}" --cache "$tmp/cache" --out "$tmp/c2.jsonl" >"$tmp/c2.txt" 2>&1
check "cache run 2: 8 hits" 'grep -q "response cache .*: 8 hits, 0 misses, 8 entries" "$tmp/c2.txt" && grep -q "(0 generated, 8 from the cache, 0 failed)" "$tmp/c2.txt"'
check "cached results are marked and equal the generated ones" '[[ $(grep -c "\"cached\":true" "$tmp/c2.jsonl") -eq 8 ]] && same_results "$tmp/p1.jsonl" "$tmp/c2.jsonl"'

# Bad input: --parallel 0 is a usage error.
"${run[@]}" --parallel 0 >"$tmp/bad.txt" 2>&1
check "--parallel 0 is refused" '[[ $? -ne 0 ]] && grep -qi "parallel" "$tmp/bad.txt"'

[[ $fail -eq 0 ]] && echo "audit resume/cache/parallel: all checks passed"
exit $fail
