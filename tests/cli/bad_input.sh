#!/usr/bin/env bash
# Bad input gets one clear message and a non-zero exit, never a crash.
# Usage: bad_input.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect NAME EXPECTED_SUBSTRING -- command...
expect() {
    local name="$1" want="$2"
    shift 3
    local out rc
    out="$("$@" 2>&1 </dev/null)"
    rc=$?
    if [[ $rc -eq 0 ]]; then
        echo "FAIL $name: exit 0, expected failure"; fail=1
    elif [[ $rc -ge 128 ]]; then
        echo "FAIL $name: killed by signal (rc $rc): $out"; fail=1
    elif [[ "$out" != *"$want"* ]]; then
        echo "FAIL $name: message lacks '$want': $out"; fail=1
    else
        echo "ok   $name: $(echo "$out" | tail -1)"
    fi
}

tiny="$(ls "$fixtures"/tiny/*f32*.gguf 2>/dev/null | head -1)"

expect missing-file "cannot open" -- "$hearth" run -m "$tmp/nope.gguf" -p hi
expect directory "is a directory" -- "$hearth" info "$tmp"
printf 'this is not a model file at all' > "$tmp/text.gguf"
expect bad-magic "$tmp/text.gguf" -- "$hearth" run -m "$tmp/text.gguf" -p hi
: > "$tmp/empty.gguf"
expect empty-file "$tmp/empty.gguf" -- "$hearth" info "$tmp/empty.gguf"
if [[ -n "$tiny" ]]; then
    size=$(stat -c %s "$tiny")
    for cut in 7 100 1000 $((size / 2)) $((size - 1)); do
        head -c "$cut" "$tiny" > "$tmp/trunc.gguf"
        expect "truncated-at-$cut" "$tmp/trunc.gguf" -- "$hearth" run -m "$tmp/trunc.gguf" -p hi
    done
    long="$(printf 'word %.0s' $(seq 1 200))"
    expect prompt-over-context "context" -- "$hearth" run -m "$tiny" -c 16 -p "$long"
else
    echo "FAIL: no tiny model fixture in $fixtures/tiny"; fail=1
fi
expect no-prompt "prompt" -- "$hearth" run -m "$tmp/nope.gguf"
expect bad-flag "" -- "$hearth" run --no-such-flag

exit $fail
