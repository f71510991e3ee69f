#!/usr/bin/env python3
"""An independent implementation of hearth's audit-log format (src/server/audit_log.h),
using only Python's standard library (hashlib, hmac, json).

    audit_log_reference.py verify FILE [--hmac-key-file KEY]   exit 0 and "OK N records", or 1
    audit_log_reference.py make-fixtures DIR                   writes tests/fixtures/audit_log/*

The format: one JSON object per line; the line ends with ,"hash":"<64 hex>"} and the bytes
before that suffix plus "}" are the canonical bytes; hash = SHA-256 of them (alg "sha256") or
HMAC-SHA-256 under a key (alg "hmac-sha256"). seq counts from 1; prev_hash is the previous
line's hash (64 zeros first). A line that is not a record is accepted only when the next
record is a "recovery" record whose "recovers" gives that line's byte offset, length and
SHA-256. No dependency beyond Python 3.8; deterministic output (fixed times).
"""
import argparse
import hashlib
import hmac
import json
import os
import sys

ZERO = "0" * 64
SUFFIX_LEN = len(',"hash":"') + 64 + 2


def record_hash(canonical: bytes, key: bytes) -> str:
    if key:
        return hmac.new(key, canonical, hashlib.sha256).hexdigest()
    return hashlib.sha256(canonical).hexdigest()


def split(line: bytes):
    if len(line) < SUFFIX_LEN + 2 or not line.endswith(b'"}') or line[-SUFFIX_LEN:-66] != b',"hash":"':
        return None
    h = line[-66:-2].decode("ascii", "replace")
    if len(h) != 64 or any(c not in "0123456789abcdef" for c in h):
        return None
    canonical = line[:-SUFFIX_LEN] + b"}"
    try:
        obj = json.loads(canonical.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(obj, dict) or obj.get("v") != 1 or not isinstance(obj.get("seq"), int):
        return None
    return canonical, h, obj


def verify(path: str, key: bytes):
    """Returns (ok, records, bad_line, reason)."""
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    truncated = lines[-1] != b""
    if not truncated:
        lines = lines[:-1]
    expect, prev, records, offset, broken = 1, ZERO, 0, 0, None
    for i, line in enumerate(lines, 1):
        line_offset = offset
        offset += len(line) + 1
        if truncated and i == len(lines):
            return False, records, (broken or (i,))[0], "truncated last line"
        parts = split(line)
        if parts is None:
            if broken:
                return False, records, broken[0], "not a record"
            broken = (i, line_offset, len(line), hashlib.sha256(line).hexdigest())
            continue
        canonical, h, obj = parts
        alg = obj.get("alg")
        if (alg == "hmac-sha256") != bool(key):
            return False, records, i, "alg %s does not match the key given" % alg
        if not hmac.compare_digest(record_hash(canonical, key), h):
            return False, records, i, "hash mismatch"
        if broken:
            rec = obj.get("recovers") or {}
            if obj.get("event") != "recovery" or (rec.get("offset"), rec.get("bytes"), rec.get("sha256")) != broken[1:]:
                return False, records, broken[0], "not a record"
            broken = None
        elif obj.get("event") == "recovery":
            return False, records, i, "recovery record without a broken line"
        if obj["seq"] != expect:
            return False, records, i, "seq %d, expected %d" % (obj["seq"], expect)
        if obj.get("prev_hash") != prev:
            return False, records, i, "prev_hash mismatch"
        prev, expect, records = h, expect + 1, records + 1
    if broken:
        return False, records, broken[0], "not a record"
    return True, records, 0, ""


class Writer:
    def __init__(self, key=b""):
        self.key, self.seq, self.prev, self.out = key, 0, ZERO, bytearray()

    def append(self, body: dict):
        self.seq += 1
        rec = {"v": 1, "seq": self.seq, "time": "2026-01-01T00:00:%02d.000Z" % self.seq,
               "alg": "hmac-sha256" if self.key else "sha256"}
        rec.update(body)
        rec["prev_hash"] = self.prev
        canonical = json.dumps(rec, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        h = record_hash(canonical, self.key)
        self.out += canonical[:-1] + b',"hash":"' + h.encode() + b'"}\n'
        self.prev = h


def request(i):
    return {"event": "request", "request_id": "chatcmpl-%d" % i, "key_id": "ref", "route": "/v1/chat/completions",
            "model": "tiny", "served_by": "tiny", "model_sha256": "ab" * 32,
            "request_sha256": hashlib.sha256(b"body %d" % i).hexdigest(), "content": "full",
            "prompt": [{"role": "user", "content": "héllo %d \u2603" % i}], "response": "answer \"%d\"\n" % i,
            "prompt_tokens": 10 + i, "completion_tokens": 3, "latency_ms": 7, "finish_reason": "stop",
            "status": 200, "error": None}


def make_fixtures(d):
    os.makedirs(d, exist_ok=True)
    w = Writer()
    w.append({"event": "start", "content": "full", "fsync": "every", "models": []})
    for i in range(1, 4):
        w.append(request(i))
    open(os.path.join(d, "reference_sha256.jsonl"), "wb").write(w.out)
    lines = bytes(w.out).split(b"\n")
    lines[2] = lines[2].replace(b"answer", b"ANSWER")
    open(os.path.join(d, "reference_tampered.jsonl"), "wb").write(b"\n".join(lines))

    key = b"reference hmac key"
    open(os.path.join(d, "reference_hmac.key"), "wb").write(key + b"\n")
    w = Writer(key)
    w.append({"event": "start", "content": "full", "fsync": "every", "models": []})
    for i in range(1, 4):
        w.append(request(i))
    open(os.path.join(d, "reference_hmac.jsonl"), "wb").write(w.out)

    # Two records, a write cut short by a crash, the recovery record, one more record.
    w = Writer()
    w.append({"event": "start", "content": "full", "fsync": "every", "models": []})
    w.append(request(1))
    partial = b'{"v":1,"seq":3,"time":"2026-01-01T00:00:03.000Z","alg":"sha256","event":"requ'
    offset = len(w.out)
    w.out += partial + b"\n"
    w.append({"event": "recovery", "recovers": {"offset": offset, "bytes": len(partial),
                                                "sha256": hashlib.sha256(partial).hexdigest()},
              "note": "written by tools/audit_log_reference.py"})
    w.append(request(2))
    open(os.path.join(d, "reference_recovered.jsonl"), "wb").write(w.out)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("file")
    v.add_argument("--hmac-key-file")
    m = sub.add_parser("make-fixtures")
    m.add_argument("dir")
    a = ap.parse_args()
    if a.cmd == "make-fixtures":
        make_fixtures(a.dir)
        return 0
    key = b""
    if a.hmac_key_file:
        key = open(a.hmac_key_file, "rb").read()
        key = key[:-1] if key.endswith(b"\n") else key
    ok, n, bad, why = verify(a.file, key)
    if ok:
        print("OK %d records" % n)
        return 0
    print("FAIL line %d: %s (%d records verified before it)" % (bad, why, n))
    return 1


if __name__ == "__main__":
    sys.exit(main())
