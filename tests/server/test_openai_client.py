"""End-to-end checks of `hearth serve` with the official openai Python client.

Run by tests/cli/server_openai.sh against a server it started on a loopback port with a
tiny fixture model (random weights: the text is gibberish, but deterministic). Settings
come from the environment: HEARTH_BASE_URL (http://127.0.0.1:PORT), HEARTH_API_KEY,
HEARTH_MODEL_ALIAS, HEARTH_CTX (the server's context size), HEARTH_MAX_BODY (its body limit).
"""
import base64
import http.client
import json
import math
import os
import struct
import socket
import threading
import time
import unittest
import urllib.parse

import openai

BASE = os.environ["HEARTH_BASE_URL"]
KEY = os.environ["HEARTH_API_KEY"]
MODEL = os.environ["HEARTH_MODEL_ALIAS"]
CTX = int(os.environ.get("HEARTH_CTX", "256"))
MAX_BODY = int(os.environ.get("HEARTH_MAX_BODY", "65536"))
# Set by server_openai.sh from the server's --config: a key allowed only the route, a key with a
# small token rate limit, the route's name, and a second server that proxies MODEL upstream.
LIMITED_KEY = os.environ.get("HEARTH_LIMITED_KEY")
SLOW_KEY = os.environ.get("HEARTH_SLOW_KEY")
SLOW_TPM = int(os.environ.get("HEARTH_SLOW_TPM", "60"))
ROUTE = os.environ.get("HEARTH_ROUTE")
PROXY_BASE = os.environ.get("HEARTH_PROXY_BASE_URL")
HOST = urllib.parse.urlparse(BASE).hostname
PORT = urllib.parse.urlparse(BASE).port
MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say something."}]


def client(key=KEY):
    # No retries: a 429 or 5xx must reach the test, not be retried away.
    return openai.OpenAI(base_url=BASE + "/v1", api_key=key, max_retries=0, timeout=60)


def raw(method, path, body=None, headers=None, key=KEY):
    """One plain HTTP request; returns (status, headers, body bytes)."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + key
    h.update(headers or {})
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def metrics():
    status, _, body = raw("GET", "/metrics")
    assert status == 200, status
    return body.decode()


def metric_value(text, line_prefix):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(line_prefix):
            total += float(line.rsplit(" ", 1)[1])
    return total


class OpenAIClient(unittest.TestCase):
    maxDiff = None

    def assert_error_shape(self, body, status):
        j = json.loads(body)
        self.assertIn("error", j, body)
        for k in ("message", "type", "param", "code"):
            self.assertIn(k, j["error"], body)
        self.assertTrue(j["error"]["message"], body)
        return j["error"]

    # ---- happy paths ----

    def test_models_list(self):
        ids = [m.id for m in client().models.list()]
        self.assertIn(MODEL, ids)
        m = client().models.retrieve(MODEL)
        self.assertEqual(m.id, MODEL)
        self.assertEqual(m.object, "model")

    def chat(self, **kw):
        args = dict(model=MODEL, messages=MESSAGES, max_tokens=24, temperature=0)
        args.update(kw)
        return client().chat.completions.create(**args)

    def test_chat_non_streaming(self):
        r = self.chat()
        self.assertEqual(r.object, "chat.completion")
        self.assertEqual(r.model, MODEL)
        self.assertTrue(r.id.startswith("chatcmpl-"))
        self.assertEqual(len(r.choices), 1)
        c = r.choices[0]
        self.assertEqual(c.message.role, "assistant")
        self.assertIsInstance(c.message.content, str)
        self.assertIn(c.finish_reason, ("stop", "length"))
        self.assertGreater(r.usage.prompt_tokens, 10)
        self.assertLessEqual(r.usage.completion_tokens, 24)
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens)
        if c.finish_reason == "length":
            self.assertEqual(r.usage.completion_tokens, 24)

    def test_max_completion_tokens(self):
        r = self.chat(max_tokens=None, max_completion_tokens=3, extra_body={"ignore_eos": True})
        self.assertEqual(r.usage.completion_tokens, 3)
        self.assertEqual(r.choices[0].finish_reason, "length")

    def test_chat_streaming_matches_non_streaming(self):
        full = self.chat(max_tokens=40)
        stream = self.chat(max_tokens=40, stream=True, stream_options={"include_usage": True})
        pieces, finish, usage, n_chunks = [], None, None, 0
        for chunk in stream:
            n_chunks += 1
            self.assertEqual(chunk.object, "chat.completion.chunk")
            if chunk.usage is not None:
                usage = chunk.usage
            for ch in chunk.choices:
                if ch.delta.content:
                    pieces.append(ch.delta.content)
                if ch.finish_reason:
                    finish = ch.finish_reason
        self.assertEqual("".join(pieces), full.choices[0].message.content)
        self.assertEqual(finish, full.choices[0].finish_reason)
        self.assertIsNotNone(usage, "include_usage: the last chunk carries usage")
        self.assertEqual(usage.prompt_tokens, full.usage.prompt_tokens)
        self.assertEqual(usage.completion_tokens, full.usage.completion_tokens)
        self.assertGreaterEqual(n_chunks, 3)

    def test_completions(self):
        c = client()
        r = c.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=20, temperature=0)
        self.assertEqual(r.object, "text_completion")
        self.assertIsInstance(r.choices[0].text, str)
        self.assertIn(r.choices[0].finish_reason, ("stop", "length"))
        self.assertGreater(r.usage.prompt_tokens, 0)
        s = c.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=20, temperature=0, stream=True)
        text = "".join(ch.choices[0].text for ch in s if ch.choices)
        self.assertEqual(text, r.choices[0].text)
        # Default max_tokens is OpenAI's 16.
        d = c.completions.create(model=MODEL, prompt="abc", temperature=0, extra_body={"ignore_eos": True})
        self.assertEqual(d.usage.completion_tokens, 16)
        # A prompt of token ids.
        t = c.completions.create(model=MODEL, prompt=[40, 41, 42], max_tokens=4, temperature=0)
        self.assertEqual(t.usage.prompt_tokens, 3)

    def test_seed_reproducible(self):
        def sample(seed):
            return self.chat(temperature=1.0, seed=seed, max_tokens=24, extra_body={"ignore_eos": True})
        a, b = sample(1234), sample(1234)
        self.assertEqual(a.choices[0].message.content, b.choices[0].message.content)
        others = {sample(s).choices[0].message.content for s in (1, 2, 3)}
        others.add(a.choices[0].message.content)
        self.assertGreater(len(others), 1, "different seeds should not all give the same text")

    def test_stop_strings(self):
        c = client()
        base = c.completions.create(model=MODEL, prompt="The list:", max_tokens=48, temperature=0,
                                    extra_body={"ignore_eos": True}).choices[0].text
        # Pick a printable ASCII character that occurs after the start as the stop string.
        stop = next((ch for ch in base[3:] if ch.isascii() and ch.isprintable() and not ch.isspace()), None)
        self.assertIsNotNone(stop, f"no usable stop character in {base!r}")
        want = base[: base.index(stop)]
        for s in (stop, [stop, "\u2603never"]):
            r = c.completions.create(model=MODEL, prompt="The list:", max_tokens=48, temperature=0, stop=s,
                                     extra_body={"ignore_eos": True})
            self.assertEqual(r.choices[0].text, want)
            self.assertEqual(r.choices[0].finish_reason, "stop")
        # Streaming honours it too.
        st = c.completions.create(model=MODEL, prompt="The list:", max_tokens=48, temperature=0, stop=stop,
                                  stream=True, extra_body={"ignore_eos": True})
        self.assertEqual("".join(ch.choices[0].text for ch in st if ch.choices), want)

    # ---- embeddings ----

    def embed(self, inp, **kw):
        return client().embeddings.create(model=MODEL, input=inp, **kw)

    def test_embeddings(self):
        # The client asks for base64 by default and decodes it; ask for floats as well.
        b64 = self.embed("Hello world")
        flt = self.embed("Hello world", encoding_format="float")
        self.assertEqual(b64.object, "list")
        self.assertEqual(b64.model, MODEL)
        self.assertEqual(len(b64.data), 1)
        v = flt.data[0].embedding
        width = len(v)
        self.assertGreater(width, 8)
        self.assertAlmostEqual(math.sqrt(sum(x * x for x in v)), 1.0, places=5)
        self.assertEqual(b64.data[0].embedding, v, "base64 decodes to the same float32 values")
        self.assertGreater(flt.usage.prompt_tokens, 0)
        self.assertEqual(flt.usage.total_tokens, flt.usage.prompt_tokens)
        # Raw base64 on the wire: little-endian float32.
        status, _, body = raw("POST", "/v1/embeddings", body=json.dumps(
            {"model": MODEL, "input": "Hello world", "encoding_format": "base64"}).encode())
        self.assertEqual(status, 200, body)
        raw_b64 = json.loads(body)["data"][0]["embedding"]
        decoded = struct.unpack("<%df" % width, base64.b64decode(raw_b64))
        self.assertEqual(list(decoded), v)

    def test_embeddings_batch_and_token_inputs(self):
        single = {t: self.embed(t, encoding_format="float").data[0].embedding for t in ("alpha", "beta gamma")}
        batch = self.embed(["alpha", "beta gamma", "alpha"], encoding_format="float")
        self.assertEqual([d.index for d in batch.data], [0, 1, 2])
        self.assertEqual(batch.data[0].embedding, single["alpha"])
        self.assertEqual(batch.data[1].embedding, single["beta gamma"])
        self.assertEqual(batch.data[2].embedding, single["alpha"])
        self.assertNotEqual(batch.data[0].embedding, batch.data[1].embedding)
        one = self.embed("alpha", encoding_format="float")
        self.assertEqual(batch.usage.prompt_tokens,
                         2 * one.usage.prompt_tokens + self.embed("beta gamma").usage.prompt_tokens)
        ids = self.embed([40, 41, 42], encoding_format="float")
        self.assertEqual(len(ids.data), 1)
        self.assertEqual(ids.usage.prompt_tokens, 3)
        lists = self.embed([[40, 41, 42], [7]], encoding_format="float")
        self.assertEqual(len(lists.data), 2)
        self.assertEqual(lists.data[0].embedding, ids.data[0].embedding)
        self.assertEqual(lists.usage.prompt_tokens, 4)

    def test_embeddings_errors(self):
        width = len(self.embed("x", encoding_format="float").data[0].embedding)
        self.assertEqual(len(self.embed("x", dimensions=width).data[0].embedding), width)
        with self.assertRaises(openai.BadRequestError) as cm:
            self.embed("x", dimensions=width - 1)
        self.assertEqual(cm.exception.body["param"], "dimensions")
        with self.assertRaises(openai.BadRequestError) as cm:
            self.embed("word " * (CTX * 2))
        self.assertEqual(cm.exception.code, "context_length_exceeded")
        with self.assertRaises(openai.BadRequestError):
            self.embed([])
        with self.assertRaises(openai.BadRequestError):
            self.embed([[1, 2], [10 ** 7]])
        with self.assertRaises(openai.NotFoundError):
            client().embeddings.create(model="no-such-model", input="x")
        status, headers, _ = raw("GET", "/v1/embeddings")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("Allow"), "POST")

    # ---- logprobs ----

    def check_chat_logprobs(self, content, top_n):
        for t in content:
            self.assertLessEqual(t.logprob, 0.0)
            try:
                self.assertEqual(bytes(t.bytes).decode("utf-8"), t.token)
            except UnicodeDecodeError:  # part of a character: shown with U+FFFD, exact in bytes
                self.assertIn("\ufffd", t.token)
            self.assertEqual(len(t.top_logprobs), top_n)
            lps = [a.logprob for a in t.top_logprobs]
            self.assertEqual(lps, sorted(lps, reverse=True), "top_logprobs most likely first")
            self.assertTrue(all(x <= 0.0 for x in lps))
            if top_n:
                # Temperature 0: the token drawn is the most likely one.
                self.assertEqual(t.top_logprobs[0].token, t.token)
                self.assertAlmostEqual(t.top_logprobs[0].logprob, t.logprob, places=6)

    def test_chat_logprobs(self):
        r = self.chat(max_tokens=16, logprobs=True, top_logprobs=5, extra_body={"ignore_eos": True})
        c = r.choices[0]
        content = c.logprobs.content
        self.assertEqual(len(content), r.usage.completion_tokens)
        self.assertEqual(b"".join(bytes(t.bytes) for t in content).decode("utf-8", "replace"), c.message.content)
        self.check_chat_logprobs(content, 5)
        # logprobs without alternatives
        z = self.chat(max_tokens=4, logprobs=True, extra_body={"ignore_eos": True})
        self.check_chat_logprobs(z.choices[0].logprobs.content, 0)
        self.assertIsNone(self.chat(max_tokens=2).choices[0].logprobs)
        # Streamed: each chunk carries its tokens' logprobs; together the same as above.
        stream = self.chat(max_tokens=16, logprobs=True, top_logprobs=5, stream=True, extra_body={"ignore_eos": True})
        streamed, text = [], ""
        for chunk in stream:
            for ch in chunk.choices:
                text += ch.delta.content or ""
                if ch.logprobs and ch.logprobs.content:
                    streamed.extend(ch.logprobs.content)
        self.assertEqual(text, c.message.content)
        self.assertEqual([t.token for t in streamed], [t.token for t in content])
        for a, b in zip(streamed, content):
            self.assertAlmostEqual(a.logprob, b.logprob, places=5)

    def test_completion_logprobs(self):
        c = client()
        r = c.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=12, temperature=0, logprobs=3,
                                 extra_body={"ignore_eos": True})
        lp = r.choices[0].logprobs
        self.assertEqual(len(lp.tokens), r.usage.completion_tokens)
        self.assertEqual(len(lp.token_logprobs), len(lp.tokens))
        self.assertEqual(len(lp.top_logprobs), len(lp.tokens))
        self.assertEqual(lp.text_offset[0], 0)
        self.assertEqual(lp.text_offset, sorted(lp.text_offset))
        for tok, val, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
            self.assertLessEqual(val, 0.0)
            self.assertLessEqual(len(top), 3)
            self.assertAlmostEqual(max(top.values()), val, places=6)
            self.assertIn(tok, top)
        s = c.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=12, temperature=0, logprobs=3,
                                 stream=True, extra_body={"ignore_eos": True})
        toks, offs = [], []
        for ch in s:
            for choice in ch.choices:
                if choice.logprobs:
                    toks += choice.logprobs.tokens
                    offs += choice.logprobs.text_offset
        self.assertEqual(toks, lp.tokens)
        self.assertEqual(offs, lp.text_offset, "stream offsets continue across chunks")

    # ---- n > 1 ----

    def test_n_choices_non_streaming(self):
        r = self.chat(n=3, max_tokens=12, extra_body={"ignore_eos": True})
        self.assertEqual([c.index for c in r.choices], [0, 1, 2])
        texts = {c.message.content for c in r.choices}
        self.assertEqual(len(texts), 1, "temperature 0: every choice is the same")
        one = self.chat(max_tokens=12, extra_body={"ignore_eos": True})
        self.assertEqual(r.choices[0].message.content, one.choices[0].message.content)
        self.assertEqual(r.usage.prompt_tokens, one.usage.prompt_tokens)
        self.assertEqual(r.usage.completion_tokens, 3 * one.usage.completion_tokens)
        # Sampled: choice i draws with seed + i, so it equals a single request with that seed.
        seeded = self.chat(n=3, max_tokens=12, temperature=1.0, seed=500, extra_body={"ignore_eos": True})
        for i, c in enumerate(seeded.choices):
            alone = self.chat(max_tokens=12, temperature=1.0, seed=500 + i, extra_body={"ignore_eos": True})
            self.assertEqual(c.message.content, alone.choices[0].message.content, i)
        self.assertGreater(len({c.message.content for c in seeded.choices}), 1)
        comp = client().completions.create(model=MODEL, prompt="abc", n=2, max_tokens=5, temperature=0,
                                           logprobs=2, extra_body={"ignore_eos": True})
        self.assertEqual([c.index for c in comp.choices], [0, 1])
        self.assertEqual(comp.choices[0].text, comp.choices[1].text)
        self.assertEqual(len(comp.choices[1].logprobs.tokens), 5)

    def test_n_choices_streaming(self):
        want = self.chat(n=3, max_tokens=12, temperature=1.0, seed=77, extra_body={"ignore_eos": True})
        stream = self.chat(n=3, max_tokens=12, temperature=1.0, seed=77, stream=True,
                           stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
        texts, finished, usage = {}, {}, None
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for ch in chunk.choices:
                texts[ch.index] = texts.get(ch.index, "") + (ch.delta.content or "")
                if ch.finish_reason:
                    finished[ch.index] = finished.get(ch.index, 0) + 1
        self.assertEqual(sorted(texts), [0, 1, 2])
        self.assertEqual(finished, {0: 1, 1: 1, 2: 1}, "each choice finishes exactly once")
        for c in want.choices:
            self.assertEqual(texts[c.index], c.message.content)
        self.assertEqual(usage.completion_tokens, want.usage.completion_tokens)
        s2 = client().completions.create(model=MODEL, prompt="abc", n=2, max_tokens=4, temperature=0, stream=True,
                                         extra_body={"ignore_eos": True})
        idx = {}
        for chunk in s2:
            for ch in chunk.choices:
                if ch.finish_reason:
                    idx[ch.index] = idx.get(ch.index, 0) + 1
        self.assertEqual(idx, {0: 1, 1: 1})

    # ---- errors through the client's exception types ----

    def test_bad_request(self):
        cases = [
            dict(messages=[]),
            dict(temperature=5),
            dict(n=17),
            dict(n=0),
            dict(top_logprobs=3),
            dict(logprobs=True, top_logprobs=21),
            dict(max_tokens=0),
            dict(messages=[{"role": "wizard", "content": "hi"}]),
            dict(stop=["a", "b", "c", "d", "e"]),
        ]
        for kw in cases:
            with self.subTest(kw=kw):
                with self.assertRaises(openai.BadRequestError) as cm:
                    self.chat(**kw)
                self.assertEqual(cm.exception.status_code, 400)
                self.assertIsInstance(cm.exception.body, dict)
                self.assertIn("message", cm.exception.body)

    def test_prompt_over_context(self):
        with self.assertRaises(openai.BadRequestError) as cm:
            client().completions.create(model=MODEL, prompt="word " * (CTX * 2), max_tokens=4)
        self.assertEqual(cm.exception.code, "context_length_exceeded")
        with self.assertRaises(openai.BadRequestError):
            self.chat(messages=[{"role": "user", "content": "x" * (CTX * 4)}])

    def test_unknown_model(self):
        with self.assertRaises(openai.NotFoundError) as cm:
            self.chat(model="no-such-model")
        self.assertEqual(cm.exception.code, "model_not_found")
        with self.assertRaises(openai.NotFoundError):
            client().models.retrieve("no-such-model")

    def test_auth(self):
        with self.assertRaises(openai.AuthenticationError):
            client("wrong-key").models.list()
        with self.assertRaises(openai.AuthenticationError):
            client("wrong-key").chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=2)
        status, headers, body = raw("GET", "/v1/models", key=None)
        self.assertEqual(status, 401)
        self.assert_error_shape(body, 401)
        status, _, _ = raw("GET", "/v1/models", headers={"Authorization": "Basic " + KEY})
        self.assertEqual(status, 401)
        status, _, _ = raw("GET", "/metrics", key=None)
        self.assertEqual(status, 401)
        # /health stays open.
        status, _, body = raw("GET", "/health", key=None)
        self.assertEqual(status, 200)

    def test_raw_http_errors(self):
        status, _, body = raw("POST", "/v1/chat/completions", body=b'{"model": "x", "messages": [')
        self.assertEqual(status, 400)
        self.assertEqual(self.assert_error_shape(body, 400)["code"], "invalid_json")
        status, _, body = raw("POST", "/v1/chat/completions", body=b"[]")
        self.assertEqual(status, 400)
        status, _, body = raw("GET", "/v1/nothing-here")
        self.assertEqual(status, 404)
        self.assert_error_shape(body, 404)
        status, headers, body = raw("GET", "/v1/chat/completions")
        self.assertEqual(status, 405)
        self.assertEqual(headers.get("Allow"), "POST")
        self.assert_error_shape(body, 405)
        status, _, _ = raw("DELETE", "/v1/models")
        self.assertEqual(status, 405)

    def test_huge_body(self):
        payload = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "x" * (MAX_BODY * 2)}]})
        status, _, body = raw("POST", "/v1/chat/completions", body=payload.encode())
        self.assertEqual(status, 413)
        self.assertEqual(self.assert_error_shape(body, 413)["code"], "body_too_large")

    def test_queue_full_429(self):
        # The server runs with --max-queue 1: one request generating, one waiting, the rest refused.
        results = []
        lock = threading.Lock()

        def one():
            try:
                client().completions.create(model=MODEL, prompt="abc", max_tokens=CTX - 8, temperature=0,
                                            extra_body={"ignore_eos": True})
                out = "ok"
            except openai.RateLimitError as e:
                out = ("429", e.response.headers.get("retry-after"))
            with lock:
                results.append(out)

        for _ in range(5):
            results.clear()
            threads = [threading.Thread(target=one) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            refused = [r for r in results if r != "ok"]
            if refused:
                break
        self.assertEqual(len(results), 8)
        self.assertTrue(refused, "8 concurrent requests against --max-queue 1 should see a 429")
        self.assertEqual(refused[0][1], "1")
        self.assertGreaterEqual(results.count("ok"), 1)

    def test_disconnect_cancels(self):
        before = metric_value(metrics(), "hearth_requests_cancelled_total{")
        body = json.dumps({"model": MODEL, "prompt": "abc", "max_tokens": CTX - 8, "temperature": 0,
                           "stream": True, "ignore_eos": True, "stop": ["\u2603"]})
        for _ in range(5):
            s = socket.create_connection((HOST, PORT), timeout=30)
            req = (f"POST /v1/completions HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {KEY}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body.encode())}\r\n\r\n").encode() + body.encode()
            s.sendall(req)
            first = s.recv(4096)
            self.assertIn(b"200", first.split(b"\r\n")[0])
            s.close()
            deadline = time.time() + 10
            while time.time() < deadline:
                if metric_value(metrics(), "hearth_requests_cancelled_total{") > before:
                    return
                time.sleep(0.05)
        self.fail("closing the connection mid-stream never cancelled a generation")

    def test_metrics(self):
        self.chat(max_tokens=2)
        text = metrics()
        self.assertIn('hearth_http_requests_total{endpoint="/v1/chat/completions",status="200"}', text)
        self.assertGreater(metric_value(text, "hearth_prompt_tokens_total{"), 0)
        self.assertGreater(metric_value(text, "hearth_completion_tokens_total{"), 0)
        self.assertIn(f'hearth_queue_depth{{model="{MODEL}"}}', text)
        self.assertIn("hearth_time_to_first_token_seconds_bucket{", text)
        self.assertIn('le="+Inf"', text)

    # ---- keys, routes, rate limits, upstreams (the server's --config) ----

    def test_wrong_key_401(self):
        with self.assertRaises(openai.AuthenticationError) as cm:
            client("sk-wrong-" + KEY).chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=2)
        self.assertEqual(cm.exception.status_code, 401)
        self.assertEqual(cm.exception.code, "invalid_api_key")

    @unittest.skipUnless(LIMITED_KEY and ROUTE, "no limited key / route configured")
    def test_disallowed_model_403(self):
        with self.assertRaises(openai.PermissionDeniedError) as cm:
            client(LIMITED_KEY).chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=2)
        self.assertEqual(cm.exception.status_code, 403)
        self.assertEqual(cm.exception.code, "model_not_allowed")
        self.assertEqual(cm.exception.body["type"], "permission_error")
        status, _, body = raw("POST", "/v1/completions", body=json.dumps({"model": MODEL, "prompt": "x"}).encode(),
                              key=LIMITED_KEY)
        self.assertEqual(status, 403)
        self.assert_error_shape(body, 403)
        # The key sees only what it may use.
        ids = [m.id for m in client(LIMITED_KEY).models.list()]
        self.assertEqual(ids, [ROUTE])
        with self.assertRaises(openai.NotFoundError):
            client(LIMITED_KEY).models.retrieve(MODEL)

    @unittest.skipUnless(ROUTE, "no route configured")
    def test_route_alias(self):
        direct = self.chat(max_tokens=12)
        routed = self.chat(model=ROUTE, max_tokens=12)
        self.assertEqual(routed.model, MODEL, "the answer names the model that served it")
        self.assertEqual(routed.choices[0].message.content, direct.choices[0].message.content)
        if LIMITED_KEY:
            r = client(LIMITED_KEY).chat.completions.create(model=ROUTE, messages=MESSAGES, max_tokens=12,
                                                            temperature=0)
            self.assertEqual(r.choices[0].message.content, direct.choices[0].message.content)
        self.assertIn(ROUTE, [m.id for m in client().models.list()])

    @unittest.skipUnless(SLOW_KEY, "no rate-limited key configured")
    def test_rate_limit_429(self):
        c = client(SLOW_KEY)
        # One answer of SLOW_TPM tokens empties the bucket; the next request must wait.
        c.completions.create(model=MODEL, prompt="abc", max_tokens=SLOW_TPM, temperature=0,
                             extra_body={"ignore_eos": True})
        with self.assertRaises(openai.RateLimitError) as cm:
            c.completions.create(model=MODEL, prompt="abc", max_tokens=2, temperature=0)
        self.assertEqual(cm.exception.status_code, 429)
        self.assertEqual(cm.exception.code, "rate_limit_exceeded")
        self.assertGreaterEqual(int(cm.exception.response.headers["retry-after"]), 1)
        # Other keys are not affected.
        self.assertEqual(self.chat(max_tokens=2).object, "chat.completion")

    @unittest.skipUnless(PROXY_BASE, "no proxying server")
    def test_upstream_proxy(self):
        proxy = openai.OpenAI(base_url=PROXY_BASE + "/v1", api_key="unused", max_retries=0, timeout=60)
        direct = self.chat(max_tokens=16)
        via = proxy.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=16, temperature=0)
        self.assertEqual(via.choices[0].message.content, direct.choices[0].message.content)
        self.assertEqual(via.usage.completion_tokens, direct.usage.completion_tokens)
        stream = proxy.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=16, temperature=0,
                                               stream=True)
        text = "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)
        self.assertEqual(text, direct.choices[0].message.content)
        # The upstream's errors come back as they are.
        with self.assertRaises(openai.BadRequestError):
            proxy.chat.completions.create(model=MODEL, messages=[], max_tokens=2)
        self.assertIn(MODEL, [m.id for m in proxy.models.list()])

    # ---- reasoning and tool calls ----
    # The fixture model writes gibberish, so its output is forced with a grammar (hearth's
    # response_format extension) into a reasoning trace and a tool call in the Hermes/Qwen
    # markup; what is checked is how the server turns that text into the OpenAI fields.

    WEATHER = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    CALL_GRAMMAR = ('root ::= "<think>weather needed</think>" "<tool_call>\\n{\\"name\\": \\"get_weather\\", '
                    '\\"arguments\\": {\\"city\\": \\"Paris\\"}}\\n</tool_call>"')

    def forced(self, grammar, **kw):
        body = {"response_format": {"type": "grammar", "grammar": grammar}}
        body.update(kw.pop("extra_body", {}))
        return self.chat(max_tokens=120, extra_body=body, **kw)

    def test_tool_call_non_streaming(self):
        r = self.forced(self.CALL_GRAMMAR, tools=self.WEATHER)
        c = r.choices[0]
        self.assertEqual(c.finish_reason, "tool_calls")
        self.assertIsNone(c.message.content)
        self.assertEqual(len(c.message.tool_calls), 1)
        call = c.message.tool_calls[0]
        self.assertEqual(call.type, "function")
        self.assertTrue(call.id.startswith("call_"), call.id)
        self.assertEqual(call.function.name, "get_weather")
        self.assertEqual(json.loads(call.function.arguments), {"city": "Paris"})
        m = c.message.model_dump()
        self.assertEqual(m.get("reasoning_content"), "weather needed")
        self.assertGreater(r.usage.completion_tokens_details.reasoning_tokens, 0)
        self.assertLess(r.usage.completion_tokens_details.reasoning_tokens, r.usage.completion_tokens)

    def test_tool_call_streaming(self):
        whole = self.forced(self.CALL_GRAMMAR, tools=self.WEATHER)
        stream = self.forced(self.CALL_GRAMMAR, tools=self.WEATHER, stream=True,
                             stream_options={"include_usage": True})
        reasoning, content, calls, finish, usage = "", "", {}, None, None
        for chunk in stream:
            if chunk.usage:
                usage = chunk.usage
            for ch in chunk.choices:
                d = ch.delta.model_dump()
                reasoning += d.get("reasoning_content") or ""
                content += d.get("content") or ""
                for tc in ch.delta.tool_calls or []:
                    slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                    slot["id"] = tc.id or slot["id"]
                    slot["name"] += (tc.function.name or "") if tc.function else ""
                    slot["arguments"] += (tc.function.arguments or "") if tc.function else ""
                finish = ch.finish_reason or finish
        self.assertEqual(finish, "tool_calls")
        self.assertEqual(content, "")
        self.assertEqual(reasoning, whole.choices[0].message.model_dump()["reasoning_content"])
        want = whole.choices[0].message.tool_calls[0]
        self.assertTrue(calls[0]["id"].startswith("call_"), calls)
        self.assertEqual({i: (c["name"], c["arguments"]) for i, c in calls.items()},
                         {0: ("get_weather", want.function.arguments)})
        self.assertEqual(usage.completion_tokens_details.reasoning_tokens,
                         whole.usage.completion_tokens_details.reasoning_tokens)

    def test_reasoning_and_answer(self):
        r = self.forced('root ::= "<think>two and two</think>" "Four."')
        m = r.choices[0].message
        self.assertEqual(m.content, "Four.")
        self.assertEqual(m.model_dump()["reasoning_content"], "two and two")
        self.assertIsNone(m.tool_calls)
        self.assertEqual(r.choices[0].finish_reason, "stop")

    def test_tool_choice_none_parses_no_calls(self):
        # "none": the tools are not offered, and call markup the model writes stays text.
        r = self.forced(self.CALL_GRAMMAR, tools=self.WEATHER, tool_choice="none")
        c = r.choices[0]
        self.assertEqual(c.finish_reason, "stop")
        self.assertIsNone(c.message.tool_calls)
        self.assertIn("<tool_call>", c.message.content)

    # ---- structured output: response_format json_schema / json_object ----
    # Bounded values (enum, boolean, integer enum), so the fixture model's answer ends by the
    # grammar ("stop") well before max_tokens.
    VERDICT = {"type": "object", "properties": {
        "answer": {"type": "string", "enum": ["yes", "no", "unsure"]},
        "confident": {"type": "boolean"},
        "stars": {"enum": [1, 2, 3]}},
        "required": ["answer", "confident", "stars"], "additionalProperties": False}

    def test_json_schema_response_format(self):
        rf = {"type": "json_schema", "json_schema": {"name": "verdict", "strict": True, "schema": self.VERDICT}}
        r = self.chat(max_tokens=120, response_format=rf)
        c = r.choices[0]
        self.assertEqual(c.finish_reason, "stop", c.message.content)
        doc = json.loads(c.message.content)
        self.assertEqual(set(doc), {"answer", "confident", "stars"})
        self.assertIn(doc["answer"], ["yes", "no", "unsure"])
        self.assertIsInstance(doc["confident"], bool)
        self.assertIn(doc["stars"], [1, 2, 3])
        # Streamed: the same text at temperature 0, as a stream of events (role, content, finish).
        # The number of content deltas depends on timing: the request channel hands the HTTP
        # writer everything generated since its last read, and the tiny model can finish this
        # answer before the first read (one content chunk, seen in a fresh-clone CI run).
        text, events = "", 0
        for chunk in self.chat(max_tokens=120, response_format=rf, stream=True):
            events += 1
            for ch in chunk.choices:
                if ch.delta.content:
                    text += ch.delta.content
        self.assertEqual(text, c.message.content)
        self.assertGreaterEqual(events, 3)

    def test_json_object_and_schema_errors(self):
        cases = [
            ({"type": "json_schema"}, "response_format.json_schema", "needs a 'json_schema' object"),
            ({"type": "json_schema", "json_schema": {"schema": self.VERDICT}}, "response_format.json_schema.name", "name"),
            ({"type": "json_schema", "json_schema": {"name": "v", "schema": {"type": "string", "pattern": "a+"}}},
             "response_format.json_schema.schema", "\"pattern\" is not supported"),
            ({"type": "json_schema", "json_schema": {"name": "v", "schema": []}},
             "response_format.json_schema.schema", "must be a JSON schema object"),
            ({"type": "xml"}, "response_format.type", "must be \"text\", \"json_object\""),
        ]
        for rf, param, text in cases:
            with self.subTest(rf=rf):
                with self.assertRaises(openai.BadRequestError) as cm:
                    self.chat(response_format=rf)
                self.assertEqual(cm.exception.body["param"], param)
                self.assertIn(text, cm.exception.body["message"])
        # json_object: the answer opens an object (the fixture's strings may outrun max_tokens,
        # so only a complete answer is parsed).
        r = self.chat(max_tokens=40, response_format={"type": "json_object"})
        c = r.choices[0]
        self.assertTrue(c.message.content.startswith("{"), c.message.content)
        if c.finish_reason == "stop":
            self.assertIsInstance(json.loads(c.message.content), dict)

    def test_tool_choice_and_kwargs_errors(self):
        cases = [
            (dict(tools=self.WEATHER, tool_choice={"type": "function", "function": {"name": "add"}}),
             "tool_choice", "'add', which is not among the tools"),
            (dict(tool_choice="required"), "tool_choice", "only allowed when 'tools'"),
            (dict(tools=self.WEATHER, tool_choice="required",
                  extra_body={"response_format": {"type": "grammar", "grammar": 'root ::= "x"'}}),
             "response_format", "cannot be combined with tool_choice"),
            (dict(tools=self.WEATHER, tool_choice="required", parallel_tool_calls="yes"),
             "parallel_tool_calls", "boolean"),
            (dict(tools=[{"type": "function", "function": {"name": "f", "parameters": {
                "type": "object", "properties": {"s": {"type": "string", "pattern": "a+"}}}}}], tool_choice="required"),
             "tools", "\"pattern\" is not supported"),
            (dict(tools=self.WEATHER, tool_choice="sometimes"), "tool_choice", "tool_choice"),
            (dict(tool_choice="auto"), "tool_choice", "only allowed when 'tools'"),
            (dict(extra_body={"chat_template_kwargs": ["enable_thinking"]}), "chat_template_kwargs", "object"),
            (dict(extra_body={"chat_template_kwargs": {"messages": []}}), "chat_template_kwargs.messages", "may not"),
            (dict(reasoning_effort="extreme"), "reasoning_effort", "reasoning_effort"),
        ]
        for kw, param, text in cases:
            with self.subTest(kw=kw):
                with self.assertRaises(openai.BadRequestError) as cm:
                    self.chat(**kw)
                err = cm.exception.body
                self.assertEqual(err["param"], param)
                self.assertIn(text, err["message"])
        # A kwarg the template does not read changes nothing and is accepted.
        r = self.chat(max_tokens=4, extra_body={"chat_template_kwargs": {"enable_thinking": False}})
        self.assertEqual(r.choices[0].message.role, "assistant")

    # ---- tool_choice "required" and a named function ----
    # Generation is held to the model's call markup by a grammar built from the tools, so even
    # the gibberish-writing fixture model must call offered tools with arguments that follow
    # their schemas (the fixture has no template: the ChatML fallback uses Qwen/Hermes markup).

    # Bounded arguments (enums, numbers), so that the fixture model's calls end before
    # max_tokens and the answer ends by the model's choice ("tool_calls", not "length").
    TOOLS = [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]},
            "celsius": {"type": "boolean"}}, "required": ["city"]}}}, {"type": "function", "function": {
        "name": "add", "description": "Add two numbers",
        "parameters": {"type": "object", "properties": {
            "a": {"type": "integer"}, "b": {"type": "number"}, "mode": {"type": "string", "enum": ["exact", "fast"]}},
            "required": ["a", "b"]}}}]

    def check_arguments(self, name, arguments):
        """The arguments parse and follow the tool's schema (type, required, enum, no extras)."""
        args = json.loads(arguments)
        schema = next(t["function"]["parameters"] for t in self.TOOLS if t["function"]["name"] == name)
        self.assertIsInstance(args, dict, arguments)
        for k in schema.get("required", []):
            self.assertIn(k, args, arguments)
        kinds = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
        for k, v in args.items():
            self.assertIn(k, schema["properties"], arguments)
            p = schema["properties"][k]
            self.assertIsInstance(v, kinds[p["type"]], arguments)
            if p["type"] != "boolean":
                self.assertNotIsInstance(v, bool, arguments)
            if "enum" in p:
                self.assertIn(v, p["enum"], arguments)

    def streamed_calls(self, stream):
        """Tool calls rebuilt from a stream as the openai client's users do, checking that only
        a call's first delta names it and that later ones carry arguments alone."""
        calls, finish, pieces = {}, None, {}
        for chunk in stream:
            for ch in chunk.choices:
                self.assertFalse(ch.delta.content, "no text besides the calls")
                for tc in ch.delta.tool_calls or []:
                    if tc.index not in calls:
                        self.assertTrue(tc.id and tc.id.startswith("call_"), tc)
                        self.assertEqual(tc.type, "function")
                        self.assertTrue(tc.function.name)
                        calls[tc.index] = {"id": tc.id, "name": tc.function.name, "arguments": ""}
                    else:
                        self.assertIsNone(tc.id)
                        self.assertIsNone(tc.function.name)
                    calls[tc.index]["arguments"] += tc.function.arguments or ""
                    pieces[tc.index] = pieces.get(tc.index, 0) + 1
                finish = ch.finish_reason or finish
        return calls, finish, pieces

    def test_tool_choice_required(self):
        seen = set()
        for seed in range(6):
            r = self.chat(tools=self.TOOLS, tool_choice="required", max_tokens=100, temperature=1, seed=seed)
            c = r.choices[0]
            self.assertEqual(c.finish_reason, "tool_calls", c.message)
            self.assertIsNone(c.message.content)
            self.assertGreaterEqual(len(c.message.tool_calls), 1)
            for call in c.message.tool_calls:
                self.assertIn(call.function.name, ("get_weather", "add"))
                self.check_arguments(call.function.name, call.function.arguments)
                seen.add(call.function.name)
            self.assertEqual(len({call.id for call in c.message.tool_calls}), len(c.message.tool_calls))
        self.assertEqual(seen, {"get_weather", "add"}, "either tool can be called")

    def test_tool_choice_named(self):
        for seed in range(3):
            r = self.chat(tools=self.TOOLS, tool_choice={"type": "function", "function": {"name": "add"}},
                          max_tokens=100, temperature=1, seed=seed)
            c = r.choices[0]
            self.assertEqual(c.finish_reason, "tool_calls")
            self.assertTrue(c.message.tool_calls)
            for call in c.message.tool_calls:
                self.assertEqual(call.function.name, "add")
                self.check_arguments("add", call.function.arguments)

    def test_tool_choice_one_call_without_parallel(self):
        for seed in range(3):
            r = self.chat(tools=self.TOOLS, tool_choice="required", parallel_tool_calls=False, max_tokens=100,
                          temperature=1, seed=seed)
            self.assertEqual(r.choices[0].finish_reason, "tool_calls")
            self.assertEqual(len(r.choices[0].message.tool_calls), 1)

    def test_tool_choice_required_streamed(self):
        for seed in range(3):
            kw = dict(tools=self.TOOLS, tool_choice="required", max_tokens=100, temperature=1, seed=seed)
            whole = self.chat(**kw).choices[0].message
            calls, finish, pieces = self.streamed_calls(self.chat(stream=True, **kw))
            self.assertEqual(finish, "tool_calls")
            self.assertEqual([(calls[i]["name"], calls[i]["arguments"]) for i in sorted(calls)],
                             [(t.function.name, t.function.arguments) for t in whole.tool_calls])
            # How many pieces arrive depends on how many tokens the server finds generated each
            # time it writes (the fixture model is fast): the piece structure is what is checked
            # here, piece by piece streaming in the unit tests and with the default model.
            for i, call in calls.items():
                self.check_arguments(call["name"], call["arguments"])

    # Runs last (unittest sorts by name): the server survived everything above.
    def test_zz_health_after_all(self):
        status, _, body = raw("GET", "/health", key=None)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["status"], "ok")
        self.assertEqual(self.chat(max_tokens=2).object, "chat.completion")


if __name__ == "__main__":
    unittest.main(verbosity=2)
