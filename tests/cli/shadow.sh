#!/usr/bin/env bash
# shellcheck disable=SC2154  # $port: set by start_server (lib.sh)
# End-to-end shadow evaluation: `hearth serve` with two aliases of the tiny fixture model as
# primary and candidate and `sample = 1`. The openai client (tests/server/shadow_client.py) sends
# chat, routed, streamed and completion requests; the pairs file must hold one pair per request
# with both answers, the primary's answers must equal those of a server without a shadow,
# /metrics must count them, and `hearth audit diff --shadow` must grade them. A second server with
# max_pending = 1 under a burst of concurrent requests must drop (and count) pairs while every
# user request still succeeds.
# Usage: shadow.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$(cd "$2" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
py="$(test_python)" || exit 1
model="$fixtures/tiny/qwen2-f32.gguf"
tmp="$(mktemp -d)"
trap 'stop_servers; rm -rf "$tmp"' EXIT
fail=0

models_toml() {  # MAX_SEQUENCES
    cat <<TOML
[[models]]
path = "$model"
alias = "primary"
ctx = 256
threads = 1
max_sequences = $1

[[models]]
path = "$model"
alias = "candidate"
ctx = 256
threads = 1

[routes]
coding = "primary"
TOML
}

metric() {  # PORT OUTCOME
    curl -s "http://127.0.0.1:$1/metrics" | sed -n "s/^hearth_shadow_requests_total{outcome=\"$2\"} //p"
}

# A bad [shadow] section stops the server before it loads anything, naming file, line and key.
{ models_toml 4; printf '\n[shadow]\nprimary = "primary"\ncandidate = "nobody"\nsample = 1\npath = "p.jsonl"\n'; } >"$tmp/bad.toml"
if "$hearth" serve --config "$tmp/bad.toml" --port 0 >"$tmp/bad.log" 2>&1; then
    echo "FAIL: a shadow candidate that is not served was accepted"; fail=1
elif ! grep -q "bad.toml:19: shadow.candidate: \"nobody\" is not a \[\[models\]\] alias" "$tmp/bad.log"; then
    echo "FAIL: unexpected message for a bad candidate:"; cat "$tmp/bad.log"; fail=1
fi

# An upstream candidate is an [[upstreams]] entry, so --offline refuses it before anything starts.
{ models_toml 4; printf '\n[[upstreams]]\nname = "lab"\nbase_url = "http://10.0.0.5:8000/v1"\nmodels = ["big"]\n'
  printf '\n[shadow]\nprimary = "primary"\ncandidate = "big"\nsample = 1\npath = "p.jsonl"\n'; } >"$tmp/up.toml"
if "$hearth" serve --config "$tmp/up.toml" --offline --port 0 >"$tmp/up.log" 2>&1 || ! grep -q "offline: the config names upstreams: lab" "$tmp/up.log"; then
    echo "FAIL: --offline with an upstream shadow candidate:"; cat "$tmp/up.log"; fail=1
fi

# The reference: the primary alone, no shadow.
models_toml 4 >"$tmp/plain.toml"
start_server "$tmp/plain.log" --config "$tmp/plain.toml" || exit 1
"$py" "$root/tests/server/shadow_client.py" answers "http://127.0.0.1:$port" "$tmp/plain.json" || {
    echo "FAIL: requests to the server without a shadow"; fail=1; }

{ models_toml 4; cat <<TOML

[shadow]
primary = "primary"
candidate = "candidate"
sample = 1
path = "$tmp/pairs.jsonl"
max_pending = 16
TOML
} >"$tmp/shadow.toml"
start_server "$tmp/shadow.log" --config "$tmp/shadow.toml" || exit 1
shadow_port=$port
grep -q 'shadow: 1 of "primary" mirrored to "candidate"' "$tmp/shadow.log" || {
    echo "FAIL: the server does not announce its shadow"; cat "$tmp/shadow.log"; fail=1; }
"$py" "$root/tests/server/shadow_client.py" answers "http://127.0.0.1:$shadow_port" "$tmp/shadow.json" || {
    echo "FAIL: requests to the shadowed server"; fail=1; }
if ! cmp -s "$tmp/plain.json" "$tmp/shadow.json"; then
    echo "FAIL: mirroring changed the primary's answers:"; diff "$tmp/plain.json" "$tmp/shadow.json"; fail=1
fi

# Five requests: five pairs, once the shadow has caught up.
for _ in $(seq 1 300); do
    [[ "$(metric "$shadow_port" recorded)" == 5 ]] && break
    sleep 0.2
done
[[ "$(metric "$shadow_port" recorded)" == 5 ]] || { echo "FAIL: /metrics recorded $(metric "$shadow_port" recorded), want 5"; fail=1; }
[[ "$(metric "$shadow_port" dropped)" == 0 && "$(metric "$shadow_port" failed)" == 0 ]] || {
    echo "FAIL: drops or failures with room to spare"; curl -s "http://127.0.0.1:$shadow_port/metrics" | grep shadow; fail=1; }
lines=$(wc -l <"$tmp/pairs.jsonl")
[[ "$lines" == 5 ]] || { echo "FAIL: $lines pairs, want 5"; fail=1; }

# Each pair: both sides answered, the primary's side is what the client got, and the candidate (the
# same weights, the same seed and temperature) said the same.
if ! "$py" - "$tmp/pairs.jsonl" "$tmp/shadow.json" <<'PY'; then
import json, sys
pairs = [json.loads(l) for l in open(sys.argv[1])]
got = json.load(open(sys.argv[2]))
errors = []
for p in pairs:
    for side in ("primary", "candidate"):
        s = p[side]
        if s["error"] is not None or s["completion_tokens"] <= 0 or s["latency_ms"] <= 0 or len(s["sha256"]) != 64:
            errors.append(f"{p['request_id']} {side}: {s}")
    if p["type"] != "shadow_pair" or p["sampled"] is not True or p["primary"]["model"] != "primary" \
            or p["candidate"]["model"] != "candidate" or p["primary"]["sha256"] != p["candidate"]["sha256"]:
        errors.append(f"bad pair header: {p}")
    if p["primary"]["content"] != p["candidate"]["content"]:
        errors.append(f"{p['request_id']}: same weights, same seed, different answers")
    if p["primary"]["content"] not in got.values():
        errors.append(f"{p['request_id']}: the primary side is not an answer the client got")
models = sorted(p["model"] for p in pairs)
if models != ["coding", "primary", "primary", "primary", "primary"]:
    errors.append(f"requested models {models}")
if sorted(p["request"]["params"]["stream"] for p in pairs) != [False] * 4 + [True]:
    errors.append("the streamed request was not mirrored")
if not any(p["request"]["endpoint"] == "completion" and p["request"]["prompt"] == "def fib(n):" for p in pairs):
    errors.append("the completion was not mirrored")
print("\n".join(errors))
sys.exit(1 if errors else 0)
PY
    echo "FAIL: pairs file content"; fail=1
fi

# The diff grades them: same weights, so full agreement and no regression (exit 0).
if ! "$hearth" audit diff --shadow "$tmp/pairs.jsonl" >"$tmp/diff.txt" 2>&1; then
    echo "FAIL: audit diff --shadow"; cat "$tmp/diff.txt"; fail=1
fi
grep -q "5 pairs graded" "$tmp/diff.txt" && grep -q "agreement   exact 100.0% (5)" "$tmp/diff.txt" &&
    grep -q "^refusal " "$tmp/diff.txt" || { echo "FAIL: diff table:"; cat "$tmp/diff.txt"; fail=1; }
"$hearth" audit diff "$tmp/pairs.jsonl" --json >"$tmp/diff.json" || { echo "FAIL: audit diff PAIRS --json"; fail=1; }
"$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["groups"][0]["pairs"] == 5 and not d["regression"], d' \
    "$tmp/diff.json" || { echo "FAIL: diff JSON"; fail=1; }
# A known discordant fixture through the CLI: 3 new refusals against 1 is not significant (exit 0).
"$hearth" audit diff --shadow "$fixtures/audit/shadow_pairs.jsonl" | tee "$tmp/fixture.txt" || { echo "FAIL: fixture diff"; fail=1; }
grep -q "chatcmpl-r8" "$tmp/fixture.txt" || { echo "FAIL: the discordant pairs are not listed"; cat "$tmp/fixture.txt"; fail=1; }
# Twelve pairs where only the candidate refuses: McNemar p = 2/4096, a regression, exit 3.
for _ in $(seq 1 12); do sed -n 8p "$fixtures/audit/shadow_pairs.jsonl"; done >"$tmp/regressed.jsonl"
"$hearth" audit diff --shadow "$tmp/regressed.jsonl" >"$tmp/regressed.txt" 2>&1
rc=$?
[[ $rc -eq 3 ]] && grep -q "REGRESSION" "$tmp/regressed.txt" || { echo "FAIL: exit $rc, want 3:"; cat "$tmp/regressed.txt"; fail=1; }
stop_servers || { echo "FAIL: a server did not stop cleanly"; fail=1; }

# max_pending = 1 and a burst that finishes together: pairs are dropped and counted, users see no error.
{ models_toml 8; cat <<TOML

[shadow]
primary = "primary"
candidate = "candidate"
sample = 1
path = "$tmp/burst.jsonl"
max_pending = 1
TOML
} >"$tmp/burst.toml"
start_server "$tmp/burst.log" --config "$tmp/burst.toml" || exit 1
"$py" "$root/tests/server/shadow_client.py" burst "http://127.0.0.1:$port" 8 || { echo "FAIL: a user request failed"; fail=1; }
for _ in $(seq 1 300); do
    total=$(( $(metric "$port" recorded) + $(metric "$port" dropped) + $(metric "$port" failed) ))
    [[ $total -ge 8 ]] && break
    sleep 0.2
done
dropped=$(metric "$port" dropped)
recorded=$(metric "$port" recorded)
echo "burst of 8 with max_pending = 1: recorded $recorded, dropped $dropped"
[[ $total -eq 8 && $dropped -ge 1 && $recorded -ge 1 ]] || { echo "FAIL: want 8 outcomes with drops"; fail=1; }
[[ "$(wc -l <"$tmp/burst.jsonl")" == "$recorded" ]] || { echo "FAIL: pairs file and recorded count differ"; fail=1; }
stop_servers || { echo "FAIL: a server did not stop cleanly"; fail=1; }

[[ $fail -eq 0 ]] && echo "ok   shadow"
exit $fail
