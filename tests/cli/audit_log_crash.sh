#!/usr/bin/env bash
# The audit log survives kill -9 under load, and `hearth log verify` finds tampering.
#  1. serve a tiny fixture model with --audit-log, fire concurrent requests with curl, kill -9
#     the server once some have completed, restart it on the same log, fire more;
#  2. the log verifies (hearth log verify, and tools/audit_log_reference.py, an independent
#     Python implementation) and holds a request record for every response a client received;
#  3. an edited record, a deleted line and a line cut mid-way are each reported with the
#     line number; a restart on the cut log records the recovery and the log verifies again.
# Usage: audit_log_crash.sh HEARTH FIXTURES_DIR
set -uo pipefail
hearth="$1"
fixtures="$(cd "$2" && pwd)"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model="$fixtures/tiny/qwen2-f32.gguf"
# shellcheck source=tests/cli/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tmp="$(mktemp -d)"
trap 'stop_servers; rm -rf "$tmp"' EXIT


# request N: one completion; its HTTP status goes to $tmp/status.N once the whole answer is in.
request() {
    local n="$1"
    local code
    code="$(curl -s -o "$tmp/body.$n" -w '%{http_code}' -m 120 "http://127.0.0.1:$port/v1/completions" \
        -H 'Content-Type: application/json' \
        -d "{\"model\":\"tiny\",\"prompt\":\"request $n\",\"max_tokens\":200,\"temperature\":0,\"ignore_eos\":true}")"
    echo "$code" >"$tmp/status.$n"
}

audit="$tmp/audit.jsonl"
serve_args=(-m "$model" --alias tiny -t 1 -c 256 --max-queue 64 --audit-log "$audit")
start_server "$tmp/server1.log" "${serve_args[@]}" || exit 1

# 1. Load, then kill -9 once a few responses have come back.
for n in $(seq 1 32); do request "$n" & done
for _ in $(seq 1 600); do
    done_now=$(grep -lx 200 "$tmp"/status.* 2>/dev/null | wc -l)
    ((done_now >= 3)) && break
    sleep 0.05
done
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null
completed_before=$(grep -lx 200 "$tmp"/status.* 2>/dev/null | wc -l)
wait  # the other curls fail once the server is gone
completed_before=$(grep -lx 200 "$tmp"/status.* 2>/dev/null | wc -l)
echo "== killed the server with $completed_before responses complete (of 32)"
((completed_before >= 3)) || bad "expected at least 3 completed responses before the kill, got $completed_before"

# 2. Restart on the same log, more requests, clean stop.
start_server "$tmp/server2.log" "${serve_args[@]}" || exit 1
grep -q "audit log" "$tmp/server2.log" || bad "the restarted server does not report its audit log"
for n in $(seq 101 104); do request "$n"; done
after=$(grep -lx 200 "$tmp"/status.10? 2>/dev/null | wc -l)
[[ $after -eq 4 ]] || bad "4 requests after the restart should succeed, $after did"
kill "$server_pid"; wait "$server_pid"

out="$("$hearth" log verify "$audit")"; rc=$?
echo "$out"
[[ $rc -eq 0 ]] || bad "hearth log verify failed on the crashed-and-restarted log"
ref="$(python3 "$root/tools/audit_log_reference.py" verify "$audit")" || bad "reference verifier: $ref"
echo "reference: $ref"
records=$(grep -c '"event":"request"' "$audit")
ok_records=$(grep '"event":"request"' "$audit" | grep -c '"status":200')
echo "== $records request records ($ok_records with status 200); $completed_before + 4 responses were received"
((ok_records >= completed_before + 4)) ||
    bad "every response a client received must have a record: $ok_records < $completed_before + 4"
[[ $(grep -c '"event":"start"' "$audit") -eq 2 ]] || bad "expected one start record per server start"
grep -q '"model_sha256":"[0-9a-f]\{64\}"' "$audit" || bad "records lack the model file's SHA-256"
sha="$(sha256sum "$model" | cut -d' ' -f1)"
grep -q "\"model_sha256\":\"$sha\"" "$audit" || bad "model_sha256 is not sha256sum of the model file"

# 3. Tampering. Each check runs on a copy of the good log.
n_lines=$(wc -l <"$audit")
cp "$audit" "$tmp/edited.jsonl"
sed -i '3s/"status":[0-9]*/"status":299/' "$tmp/edited.jsonl"
cmp -s "$audit" "$tmp/edited.jsonl" && bad "the sed edit changed nothing"
out="$("$hearth" log verify "$tmp/edited.jsonl")"; rc=$?
echo "edited:    $out" | head -1
[[ $rc -ne 0 ]] && grep -q "line 3:.*altered" <<<"$out" || bad "an edited record 3 was not reported: $out"
python3 "$root/tools/audit_log_reference.py" verify "$tmp/edited.jsonl" >/dev/null && bad "reference verifier accepted an edited log"

cp "$audit" "$tmp/deleted.jsonl"
sed -i '4d' "$tmp/deleted.jsonl"
out="$("$hearth" log verify "$tmp/deleted.jsonl")"; rc=$?
echo "deleted:   $out" | head -1
[[ $rc -ne 0 ]] && grep -q "line 4:.*records 4 are missing" <<<"$out" || bad "a deleted line 4 was not reported: $out"

cp "$audit" "$tmp/reordered.jsonl"
sed -i '5{h;d};6G' "$tmp/reordered.jsonl"
out="$("$hearth" log verify "$tmp/reordered.jsonl")"; rc=$?
echo "reordered: $out" | head -1
[[ $rc -ne 0 ]] && grep -q "line 5:" <<<"$out" || bad "swapped lines 5 and 6 were not reported: $out"

cp "$audit" "$tmp/cut.jsonl"
truncate -s -30 "$tmp/cut.jsonl"
out="$("$hearth" log verify "$tmp/cut.jsonl")"; rc=$?
echo "cut:       $out" | head -1
[[ $rc -ne 0 ]] && grep -q "line $n_lines: truncated" <<<"$out" || bad "a cut last line was not reported: $out"
# A restart on the cut log keeps the partial line and records the recovery.
start_server "$tmp/server3.log" -m "$model" --alias tiny -t 1 -c 256 --audit-log "$tmp/cut.jsonl" || exit 1
grep -q "cut short by a crash" "$tmp/server3.log" || bad "the server did not report the recovered line"
request 201
kill "$server_pid"; wait "$server_pid"
out="$("$hearth" log verify "$tmp/cut.jsonl")" || bad "the recovered log does not verify: $out"
grep -q "1 line(s) cut short" <<<"$out" || bad "verify does not mention the recovered line: $out"
python3 "$root/tools/audit_log_reference.py" verify "$tmp/cut.jsonl" >/dev/null || bad "reference verifier rejects the recovered log"

# A server refuses to continue a log whose last record was altered.
cp "$audit" "$tmp/tail-edited.jsonl"
sed -i '$s/"status":[0-9]*/"status":299/' "$tmp/tail-edited.jsonl"
if "$hearth" serve --port 0 -m "$model" --audit-log "$tmp/tail-edited.jsonl" >"$tmp/server4.log" 2>&1; then
    bad "the server started on a log with an altered last record"
fi
grep -q "does not verify" "$tmp/server4.log" || bad "no clear error for an altered tail: $(cat "$tmp/server4.log")"

# HMAC mode: the log verifies only under the server's key (and in the reference verifier).
printf 'audit-secret-%s\n' "$RANDOM$RANDOM" >"$tmp/hmac.key"
start_server "$tmp/server5.log" -m "$model" --alias tiny -t 1 -c 256 --audit-log "$tmp/hmac.jsonl" \
    --audit-hmac-key-file "$tmp/hmac.key" --audit-content hashes || exit 1
request 301
kill "$server_pid"; wait "$server_pid"
"$hearth" log verify "$tmp/hmac.jsonl" --hmac-key-file "$tmp/hmac.key" >/dev/null || bad "HMAC log does not verify under its key"
"$hearth" log verify "$tmp/hmac.jsonl" >/dev/null && bad "HMAC log verified without the key"
printf 'another key\n' >"$tmp/other.key"
"$hearth" log verify "$tmp/hmac.jsonl" --hmac-key-file "$tmp/other.key" >/dev/null && bad "HMAC log verified under another key"
python3 "$root/tools/audit_log_reference.py" verify "$tmp/hmac.jsonl" --hmac-key-file "$tmp/hmac.key" >/dev/null ||
    bad "reference verifier rejects the HMAC log"
grep -q '"prompt":' "$tmp/hmac.jsonl" && bad "--audit-content hashes still stored the prompt text"
grep -q '"response_sha256":"[0-9a-f]\{64\}"' "$tmp/hmac.jsonl" || bad "--audit-content hashes: no response_sha256"

[[ $fail -eq 0 ]] && echo "ok   audit_log_crash"
exit $fail
