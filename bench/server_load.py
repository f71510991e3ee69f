#!/usr/bin/env python3
"""Concurrent streaming load on `hearth serve` and llama.cpp's `llama-server`.

Starts each server on the same GGUF with the same threads and parallel sequences, then for
each concurrency level C runs C client threads, each sending `--requests` streaming chat
completions one after another (distinct prompts, ignore_eos so every answer is max_tokens
long, temperature 0). Reports per server and level:

  agg tok/s   completion tokens of all requests / wall time from the first send to the last end
  TTFT p50/p99  time from sending a request to its first non-empty content chunk
  ok          requests that ended correctly: HTTP 200, exactly one chunk with a finish_reason,
              one [DONE], a response id no other request got

and the hearth / llama.cpp ratio of aggregate tokens/s. Any request lost (error, no [DONE])
or answered twice (two finish_reasons, a repeated id) is listed and makes the exit status 1.

Only the Python standard library is used.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOPICS = ["a lighthouse", "binary search", "the moon", "a red bicycle", "prime numbers", "a quiet library",
          "sorting algorithms", "an old map", "the ocean", "a mountain village", "hash tables", "a thunderstorm",
          "recursion", "a chess game", "a garden", "compilers"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before it was ready")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server on port {port} not ready after {timeout}s")


def one_request(port, model, prompt, max_tokens, timeout):
    """Sends one streaming chat completion; returns a dict describing what came back."""
    body = json.dumps({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    })
    out = {"ok": False, "ttft": None, "tokens": 0, "content_chunks": 0, "finishes": 0, "done": 0, "ids": set(),
           "error": None, "text": ""}
    t0 = time.perf_counter()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            out["error"] = f"HTTP {r.status}: {r.read()[:200]!r}"
            return out
        usage = None
        while True:
            line = r.readline()
            if not line:
                break
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                out["done"] += 1
                continue
            ev = json.loads(data)
            if "error" in ev:
                out["error"] = str(ev["error"])[:200]
                continue
            if ev.get("id"):
                out["ids"].add(ev["id"])
            if ev.get("usage"):
                usage = ev["usage"]
            for ch in ev.get("choices", []):
                content = (ch.get("delta") or {}).get("content")
                if content:
                    if out["ttft"] is None:
                        out["ttft"] = time.perf_counter() - t0
                    out["content_chunks"] += 1
                    out["text"] += content
                if ch.get("finish_reason"):
                    out["finishes"] += 1
        c.close()
        out["tokens"] = usage["completion_tokens"] if usage and "completion_tokens" in usage else out["content_chunks"]
        out["ok"] = out["error"] is None and out["done"] == 1 and out["finishes"] == 1 and len(out["ids"]) == 1
        if not out["ok"] and out["error"] is None:
            out["error"] = f"done={out['done']} finish_reasons={out['finishes']} ids={len(out['ids'])}"
    except Exception as e:  # noqa: BLE001 - a benchmark reports every failure
        out["error"] = f"{type(e).__name__}: {e}"
    return out


def run_level(port, model, clients, requests, max_tokens, timeout, tag):
    results = [[None] * requests for _ in range(clients)]

    def client(ci):
        for k in range(requests):
            topic = TOPICS[(ci * requests + k) % len(TOPICS)]
            prompt = f"[{tag} client {ci} request {k}] Write a few sentences about {topic}."
            results[ci][k] = one_request(port, model, prompt, max_tokens, timeout)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    flat = [r for row in results for r in row]
    all_ids = [i for r in flat for i in r["ids"]]
    dup_ids = len(all_ids) - len(set(all_ids))
    ok = sum(1 for r in flat if r and r["ok"])
    ttfts = sorted(r["ttft"] for r in flat if r and r["ttft"] is not None)
    toks = sum(r["tokens"] for r in flat if r)

    def pct(p):
        if not ttfts:
            return float("nan")
        return ttfts[min(len(ttfts) - 1, int(round(p / 100.0 * (len(ttfts) - 1))))]

    errors = [r["error"] for r in flat if r and r["error"]]
    return {"clients": clients, "requests": len(flat), "ok": ok, "dup_ids": dup_ids, "wall": wall, "tokens": toks,
            "tok_s": toks / wall if wall > 0 else 0.0, "ttft_p50": pct(50), "ttft_p99": pct(99), "errors": errors,
            "texts": [r["text"] for r in flat if r]}


def start_server(kind, args, port, log):
    if kind == "hearth":
        cmd = [args.hearth, "serve", "-m", args.model, "--alias", "m", "--port", str(port), "-t", str(args.threads),
               "--parallel", str(args.parallel), "--ctx-size", str(args.ctx), "--max-queue", "1024"]
    else:
        # llama-server's -c is shared by its slots: give each slot --ctx tokens, as hearth does.
        cmd = [args.llama_server, "-m", args.model, "--alias", "m", "--port", str(port), "-t", str(args.threads),
               "-tb", str(args.threads), "--parallel", str(args.parallel), "-cb", "-c", str(args.ctx * args.parallel),
               "--no-webui"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, cmd


def stop_server(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", default="build/hearth")
    ap.add_argument("--llama-server", default=os.path.expanduser("~/.cache/hearth/llama.cpp/build/bin/llama-server"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=16, help="sequence slots of each server")
    ap.add_argument("--ctx", type=int, default=1024, help="context per sequence slot")
    ap.add_argument("--clients", default="1,4,16", help="concurrency levels")
    ap.add_argument("--requests", type=int, default=2, help="requests per client at each level")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--timeout", type=float, default=600, help="seconds per request")
    ap.add_argument("--servers", default="hearth,llama.cpp")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    levels = [int(x) for x in args.clients.split(",") if x]
    servers = [s for s in args.servers.split(",") if s]
    if "llama.cpp" in servers and not shutil.which(args.llama_server) and not os.path.exists(args.llama_server):
        sys.exit(f"llama-server not found at {args.llama_server}")

    table = {}
    failed = False
    for kind in servers:
        port = free_port()
        log = tempfile.NamedTemporaryFile(prefix=f"server_load_{kind}_", suffix=".log", delete=False)
        proc, cmd = start_server(kind, args, port, log)
        print(f"== {kind}: {' '.join(cmd)} (log {log.name})", flush=True)
        try:
            wait_ready(port, proc)
            one_request(port, "m", "warm up", 4, args.timeout)
            for c in levels:
                res = run_level(port, "m", c, args.requests, args.max_tokens, args.timeout, kind)
                table[(kind, c)] = res
                print(f"   {c:3d} clients: {res['ok']}/{res['requests']} ok, {res['tokens']} tokens in "
                      f"{res['wall']:.2f}s = {res['tok_s']:.2f} tok/s, TTFT p50 {res['ttft_p50']:.3f}s "
                      f"p99 {res['ttft_p99']:.3f}s", flush=True)
                if res["ok"] != res["requests"] or res["dup_ids"]:
                    failed = True
                    print(f"   LOST/DUPLICATED: {res['requests'] - res['ok']} not ok, {res['dup_ids']} repeated ids; "
                          f"errors: {res['errors'][:5]}", flush=True)
        finally:
            stop_server(proc)
            log.close()

    print()
    print(f"model {os.path.basename(args.model)}, {args.threads} threads, {args.parallel} slots of {args.ctx} tokens, "
          f"{args.requests} requests per client, max_tokens {args.max_tokens}")
    print("| clients | server | ok | agg tok/s | TTFT p50 (s) | TTFT p99 (s) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for c in levels:
        for kind in servers:
            r = table.get((kind, c))
            if r:
                print(f"| {c} | {kind} | {r['ok']}/{r['requests']} | {r['tok_s']:.2f} | {r['ttft_p50']:.3f} | "
                      f"{r['ttft_p99']:.3f} |")
        h, l = table.get(("hearth", c)), table.get(("llama.cpp", c))
        if h and l and l["tok_s"] > 0:
            print(f"| {c} | hearth / llama.cpp | | {h['tok_s'] / l['tok_s']:.2f}x | "
                  f"{h['ttft_p50'] / l['ttft_p50'] if l['ttft_p50'] else float('nan'):.2f}x | "
                  f"{h['ttft_p99'] / l['ttft_p99'] if l['ttft_p99'] else float('nan'):.2f}x |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{k[0]}@{k[1]}": {kk: vv for kk, vv in v.items() if kk != "texts"} for k, v in table.items()},
                      f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
