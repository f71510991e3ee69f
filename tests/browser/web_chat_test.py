"""The chat page of `hearth serve`, driven in headless Chromium (run by tests/cli/web_chat.sh).

Environment: HEARTH_BASE_URL, HEARTH_MODEL_ALIAS, HEARTH_API_KEY (empty: the server has no key),
HEARTH_SCREENSHOT (PNG path), HEARTH_REAL=1 for the short default-model check instead of the
full one on the tiny fixture. Exit status 1 with FAIL lines when a check fails.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cdp  # noqa: E402

BASE = os.environ["HEARTH_BASE_URL"]
MODEL = os.environ["HEARTH_MODEL_ALIAS"]
KEY = os.environ.get("HEARTH_API_KEY", "")
SHOT = os.environ["HEARTH_SCREENSHOT"]
REAL = os.environ.get("HEARTH_REAL") == "1"

failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else ": " + str(detail)[:800]))
    if not ok:
        failures.append(what)
    return ok


def api_chat(messages, **kw):
    """The same request through the API, not streamed: the reference for the page's text."""
    body = dict(model=MODEL, messages=messages, **kw)
    req = urllib.request.Request(BASE + "/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": "Bearer " + KEY} if KEY else {})})
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)["choices"][0]["message"]["content"]


def js(value):
    return json.dumps(value)


def set_input(page, element_id, value):
    # As typing does: the value, then an input event.
    page.evaluate("(() => { const e = document.getElementById(%s); e.value = %s;"
                  " e.dispatchEvent(new Event('input', {bubbles: true})); })()" % (js(element_id), js(value)))


def click(page, element_id):
    page.evaluate("document.getElementById(%s).click()" % js(element_id))


LAST = "document.querySelector('#log article.assistant:last-of-type')"


def watch_last_answer(page):
    """Records every distinct text the newest answer shows while it streams (a MutationObserver,
    installed before sending, so each DOM update the user would see is seen here too)."""
    page.evaluate("""(() => {
      window.__seen = [];
      if (window.__observer) window.__observer.disconnect();
      window.__observer = new MutationObserver(() => {
        const a = %s;
        if (!a || a.getAttribute('aria-busy') !== 'true') return;
        const t = a.querySelector('.content').textContent;
        if (t && window.__seen[window.__seen.length - 1] !== t) window.__seen.push(t);
      });
      window.__observer.observe(document.getElementById('log'), {childList: true, subtree: true, characterData: true});
    })()""" % LAST)


def send_prompt(page, text):
    n = page.evaluate("document.querySelectorAll('#log article.assistant').length")
    set_input(page, "prompt", text)
    click(page, "send")
    page.wait_for("document.querySelectorAll('#log article.assistant').length > %d" % n, what="a new answer")


def wait_answer(page, timeout=300):
    page.wait_for(LAST + ".getAttribute('aria-busy') === 'false'", timeout=timeout, what="the answer to finish")
    return page.evaluate("(() => { const a = %s; return {raw: a.dataset.raw, finish: a.dataset.finish,"
                         " shown: a.querySelector('.content').textContent, meta: a.querySelector('.meta').textContent,"
                         " error: (a.querySelector('.error') || {}).textContent || ''}; })()" % LAST)


def expect_network_errors(page, fragment):
    """Drops the console's 'failed to load' lines for a request the test made fail on purpose."""
    page.errors[:] = [e for e in page.errors if not (e.startswith("network:") and fragment in e)]


def enter_key_and_pick_model(page):
    if KEY:
        # Without a key the model list is refused, and the page says why.
        notice = page.wait_for("!document.getElementById('notice').hidden && document.getElementById('notice').textContent",
                               what="the missing-key notice")
        check("401 without a key is shown", "HTTP 401" in notice and "API key" in notice, notice)
        set_input(page, "api-key", "wrong-" + KEY)
        click(page, "save-key")
        notice = page.wait_for("document.getElementById('notice').textContent.includes('invalid API key')"
                               " && document.getElementById('notice').textContent", what="the invalid-key notice")
        check("a wrong key is shown as invalid", "invalid API key" in notice, notice)
        expect_network_errors(page, "/v1/models")
        set_input(page, "api-key", KEY)
        click(page, "save-key")
    page.wait_for("[...document.getElementById('model').options].some(o => o.value === %s)" % js(MODEL),
                  what="the model list to hold " + MODEL)
    check("the notice is gone once the key is right", page.evaluate("document.getElementById('notice').hidden"))
    if KEY:
        check("the key is kept in sessionStorage",
              page.evaluate("sessionStorage.getItem('hearth.apiKey')") == KEY)
    page.evaluate("(() => { const s = document.getElementById('model'); s.value = %s;"
                  " s.dispatchEvent(new Event('change')); })()" % js(MODEL))


def streamed_turn(page, history, prompt, max_tokens, throttle=0, want_partials=True):
    """Sends one prompt at temperature 0; checks it matches the API's answer and (want_partials)
    that it was seen growing. Returns the history with this turn, and whether it was seen growing."""
    set_input(page, "temperature", "0")
    set_input(page, "max-tokens", str(max_tokens))
    watch_last_answer(page)
    if throttle:
        # A slow link, as a remote user has: the answer arrives over a few seconds, chunk by chunk.
        page.throttle(throttle)
    send_prompt(page, prompt)
    got = wait_answer(page)
    page.throttle(0)
    seen = page.evaluate("window.__seen")
    history = history + [{"role": "user", "content": prompt}]
    want = api_chat(history, temperature=0, max_tokens=max_tokens)
    check("the page's answer equals the API's at temperature 0 (%d chars)" % len(want), got["raw"] == want,
          "page %r\napi  %r" % (got["raw"], want))
    partial = [t for t in seen if t != got["shown"]]
    grew = len(partial) >= 2
    if want_partials:
        check("the answer was seen streaming (%d partial texts before the final one)" % len(partial), grew, seen)
    check("usage and speed are shown", "completion tokens" in got["meta"] and "tok/s" in got["meta"], got["meta"])
    return history + [{"role": "assistant", "content": got["raw"]}], grew


def seen_streaming(page, attempts=3):
    """A long answer, seen growing in the page. The tiny model can outrun the server's writer, which
    then sends many tokens in one event; so a few tries, each a new chat, and the count is printed."""
    for attempt in range(1, attempts + 1):
        click(page, "clear")
        _, grew = streamed_turn(page, [], "Write a long story.", 180, throttle=10000, want_partials=False)
        if grew:
            check("a long answer was seen growing in the page (attempt %d of %d)" % (attempt, attempts), True)
            return
        print("     (attempt %d: the answer arrived in one piece; trying again)" % attempt)
    check("a long answer was seen growing in the page", False, "%d attempts, none seen growing" % attempts)


def stop_mid_stream(page, prompt="Count to one hundred.", throttle=800, attempts=3):
    """Stop pressed while an answer streams. The tiny random model may end its answer (EOS) before
    the first text reaches the page; then there is nothing to stop, so a new chat is tried."""
    for attempt in range(1, attempts + 1):
        click(page, "clear")  # a new conversation: the tiny model's context is short
        check("New chat empties the log", page.evaluate("document.querySelectorAll('#log article').length") == 0)
        set_input(page, "max-tokens", "200")
        if throttle:
            page.throttle(throttle)
        send_prompt(page, prompt)
        page.wait_for(LAST + ".querySelector('.content').textContent.length > 0", timeout=60, what="the first text")
        if not page.evaluate("document.getElementById('stop').disabled"):
            break
        wait_answer(page, timeout=30)
        page.throttle(0)
        print("     (attempt %d: the answer ended before Stop could be pressed; trying again)" % attempt)
    check("Stop is enabled while streaming", not page.evaluate("document.getElementById('stop').disabled"))
    click(page, "stop")
    got = wait_answer(page, timeout=30)
    page.throttle(0)
    check("Stop ends the answer and keeps its text", got["finish"] == "stopped" and got["meta"].startswith("stopped")
          and got["raw"] != "", got)
    check("Send is enabled again after Stop", not page.evaluate("document.getElementById('send').disabled"))


def server_error_shown(page):
    set_input(page, "temperature", "5")  # out of the API's range: a 400 in OpenAI's error shape
    send_prompt(page, "this request is refused")
    got = wait_answer(page)
    check("an API error is shown with its message and status",
          "'temperature' must be between" in got["error"] and "HTTP 400" in got["error"], got)
    check("the refused prompt is back in the box",
          page.evaluate("document.getElementById('prompt').value") == "this request is refused")
    expect_network_errors(page, "/v1/chat/completions")
    set_input(page, "prompt", "")
    set_input(page, "temperature", "0")


# A stream as a reasoning model's server (DeepSeek-R1 on vLLM, llama.cpp) sends it: hearth's
# own server does not split reasoning_content out yet, so the pane is fed by this one.
HOSTILE = ("<img src=x onerror=\"window.__xss=1\"> <script>window.__xss=2</script>\n\n"
           "[click](javascript:window.__xss=3) and [docs](https://example.org/)\n\n"
           "```python\ndef f(x):\n    return x + 1\n```\n")


def synthetic_stream(_request):
    def event(delta, finish=None):
        chunk = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": MODEL,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return "data: " + json.dumps(chunk) + "\n\n"
    body = event({"role": "assistant", "content": ""})
    for piece in ["The user wants ", "a function. ", "<b>not bold</b>"]:
        body += event({"reasoning_content": piece})
    for piece in [HOSTILE[:30], HOSTILE[30:90], HOSTILE[90:]]:
        body += event({"content": piece})
    body += event({}, "stop")
    body += "data: " + json.dumps({"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0,
                                   "model": MODEL, "choices": [],
                                   "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14,
                                             "completion_tokens_details": {"reasoning_tokens": 4}}}) + "\n\n"
    body += "data: [DONE]\n\n"
    return 200, {"Content-Type": "text/event-stream"}, body.encode()


def reasoning_and_sanitizing(page):
    page.fulfill("*/v1/chat/completions", synthetic_stream)
    send_prompt(page, "write a function")
    got = wait_answer(page, timeout=30)
    page.stop_fulfilling()
    pane = page.evaluate("(() => { const r = %s.querySelector('.reasoning'); return {hidden: r.hidden, open: r.open,"
                         " text: r.querySelector('.reasoning-text').textContent}; })()" % LAST)
    check("the reasoning pane shows reasoning_content, collapsed", not pane["hidden"] and not pane["open"]
          and pane["text"] == "The user wants a function. <b>not bold</b>", pane)
    check("reasoning tokens are shown", "4 reasoning" in got["meta"], got["meta"])
    check("the answer holds no reasoning", "The user wants" not in got["shown"], got["shown"])
    dom = page.evaluate("(() => { const c = %s.querySelector('.content'); return {"
                        " img: c.querySelectorAll('img').length, script: c.querySelectorAll('script').length,"
                        " hrefs: [...c.querySelectorAll('a')].map(a => a.getAttribute('href')),"
                        " code: (c.querySelector('pre code') || {}).className || '',"
                        " spans: c.querySelectorAll('pre code span').length, xss: window.__xss || 0}; })()" % LAST)
    check("raw HTML in the answer is shown as text, not run", dom["img"] == 0 and dom["script"] == 0
          and dom["xss"] == 0 and "<img src=x" in got["shown"] and "<script>" in got["shown"], (dom, got["shown"]))
    check("only http(s) links are links", dom["hrefs"] == ["https://example.org/"] and "click and docs" in got["shown"],
          (dom["hrefs"], got["shown"]))
    check("code blocks are highlighted (highlight.js)", "hljs" in dom["code"] and dom["spans"] > 0, dom)


def main():
    with cdp.Browser() as page:
        page.navigate(BASE + "/")
        page.wait_for("document.title === 'hearth chat' && window.marked && window.hljs",
                      what="the page and its libraries to load")
        enter_key_and_pick_model(page)
        if REAL:
            history, _ = streamed_turn(page, [], "What is the capital of France? Answer in one sentence.", 32)
            check("default model: the answer names Paris (%r)" % history[-1]["content"],
                  "Paris" in history[-1]["content"])
            # Generating at the model's own pace: Stop closes the stream and the server cancels
            # (web_chat.sh finds "cancelled" in the audit log).
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(SHOT)
            stop_mid_stream(page, "Count from 1 to 300, one number per line.", throttle=0)
        else:
            history, _ = streamed_turn(page, [], "Hello, who are you?", 16, want_partials=False)
            # The second turn sends the first back: the API gets the same three messages.
            streamed_turn(page, history, "Tell me more.", 16, want_partials=False)
            seen_streaming(page)
            stop_mid_stream(page)
            server_error_shown(page)
            reasoning_and_sanitizing(page)
        if not REAL:
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(SHOT)
        size = os.path.getsize(SHOT)
        w, h = cdp.png_size(SHOT)
        check("screenshot %s (%dx%d, %d bytes)" % (SHOT, w, h, size), w >= 800 and h >= 600 and size > 10000)
        time.sleep(0.2)  # late console messages
        check("no console errors or uncaught exceptions", not page.errors, page.errors)
    if failures:
        print("FAIL: %d check(s) failed: %s" % (len(failures), "; ".join(failures)))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except cdp.BrowserError as e:
        print("FAIL: " + str(e))
        sys.exit(1)
