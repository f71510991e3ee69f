"""Requests for tests/cli/shadow.sh, sent with the official openai Python client.

  shadow_client.py answers BASE_URL OUT.json   the fixed request set (chat, chat via the route,
                                               streamed chat, completion), answers written as JSON
  shadow_client.py burst BASE_URL N            N concurrent chat requests; fails on any error
  shadow_client.py latency BASE_URL N [GAP_S]  N sequential chat requests GAP_S apart (default 0.5);
                                               prints their latencies (for the README's figure)
"""
import json
import sys
import threading
import time

import openai


def client(base):
    return openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0, timeout=120)


def chat(c, model, text, stream=False, max_tokens=16):
    msgs = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": text}]
    if not stream:
        r = c.chat.completions.create(model=model, messages=msgs, max_tokens=max_tokens, temperature=0, seed=11)
        return r.choices[0].message.content
    parts = []
    for chunk in c.chat.completions.create(model=model, messages=msgs, max_tokens=max_tokens, temperature=0, seed=11,
                                           stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    return "".join(parts)


def answers(base, out):
    c = client(base)
    got = {
        "chat1": chat(c, "primary", "Name a colour."),
        "chat2": chat(c, "primary", "Count to three."),
        "route": chat(c, "coding", "Write a haiku."),
        "stream": chat(c, "primary", "Say hello.", stream=True),
        "completion": c.completions.create(model="primary", prompt="def fib(n):", max_tokens=12, temperature=0,
                                           seed=3).choices[0].text,
    }
    with open(out, "w") as f:
        json.dump(got, f, indent=1)


def burst(base, n):
    c = client(base)
    errors = []

    def one(i):
        try:
            chat(c, "primary", f"Tell me about the number {i}.", max_tokens=48)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            errors.append(f"request {i}: {e}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("\n".join(errors))
        sys.exit(1)


def latency(base, n, gap):
    c = client(base)
    chat(c, "primary", "warm up")
    ms = []
    for i in range(n):
        t0 = time.monotonic()
        chat(c, "primary", f"Describe item {i}.", max_tokens=32)
        ms.append((time.monotonic() - t0) * 1000)
        time.sleep(gap)  # with a gap the shadow answer finishes between requests, as in sparse live traffic
    ms.sort()
    print(json.dumps({"n": n, "gap_s": gap, "median_ms": round(ms[len(ms) // 2], 1), "min_ms": round(ms[0], 1),
                      "max_ms": round(ms[-1], 1)}))


if __name__ == "__main__":
    mode, base = sys.argv[1], sys.argv[2]
    if mode == "answers":
        answers(base, sys.argv[3])
    elif mode == "burst":
        burst(base, int(sys.argv[3]))
    else:
        latency(base, int(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 0.5)
