#!/usr/bin/env python3
"""How long a /v1/embeddings request stalls the decoding of a concurrent chat stream.

Against a running `hearth serve` (BASE_URL, default http://127.0.0.1:8080; MODEL, default
"default"): a chat completion streams (ignore_eos, so it runs the whole time) while, once it
is under way, one embeddings request with N_INPUTS inputs of about INPUT_WORDS words each is
sent. Reported per trial: the embeddings request's latency, the longest gap between two
stream chunks while it ran, and the median gap outside it (ms). Standard library only.

  python3 bench/embed_stall.py [--trials 3] [--inputs 16] [--words 60]
"""
import argparse
import http.client
import json
import os
import statistics
import threading
import time
import urllib.parse

BASE = os.environ.get("BASE_URL", "http://127.0.0.1:8080")
MODEL = os.environ.get("MODEL", "default")
U = urllib.parse.urlparse(BASE)


def post(path, body, stream=False):
    conn = http.client.HTTPConnection(U.hostname, U.port, timeout=600)
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    return conn, conn.getresponse()


def trial(n_inputs, words):
    stamps = []
    started = threading.Event()

    def chat():
        conn, r = post("/v1/chat/completions", {
            "model": MODEL, "stream": True, "max_tokens": 160, "temperature": 0, "ignore_eos": True,
            "messages": [{"role": "user", "content": "Count slowly from one to one thousand."}]})
        for line in r:
            if line.startswith(b"data: {"):
                stamps.append(time.monotonic())
                if len(stamps) == 20:
                    started.set()
        conn.close()

    t = threading.Thread(target=chat)
    t.start()
    started.wait()
    text = " ".join(["the quick brown fox jumps over the lazy dog"] * (words // 9 + 1))
    inputs = [f"{i}: {text}" for i in range(n_inputs)]
    e0 = time.monotonic()
    conn, r = post("/v1/embeddings", {"model": MODEL, "input": inputs})
    body = json.loads(r.read())
    e1 = time.monotonic()
    conn.close()
    assert len(body["data"]) == n_inputs, body
    t.join()
    gaps_in, gaps_out = [], []
    for a, b in zip(stamps, stamps[1:]):
        (gaps_in if b > e0 and a < e1 else gaps_out).append((b - a) * 1000)
    return (e1 - e0) * 1000, max(gaps_in, default=0), statistics.median(gaps_out), body["usage"]["prompt_tokens"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--inputs", type=int, default=16)
    ap.add_argument("--words", type=int, default=60)
    a = ap.parse_args()
    for i in range(a.trials):
        lat, stall, median, toks = trial(a.inputs, a.words)
        print(f"trial {i}: embeddings {a.inputs} inputs / {toks} tokens in {lat:.0f} ms; "
              f"longest stream gap meanwhile {stall:.0f} ms; median gap otherwise {median:.0f} ms")


if __name__ == "__main__":
    main()
