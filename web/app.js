// hearth chat page: talks to the OpenAI-compatible API of the server that serves it.
// No build step and no framework; marked (markdown) and highlight.js come from Debian's libjs
// packages via /js/. Model output is untrusted: see renderMarkdown() for how it is sanitized.
"use strict";

const KEY_STORE = "hearth.apiKey";  // sessionStorage: gone when the tab closes
const MODEL_STORE = "hearth.model";

const $ = (id) => document.getElementById(id);
const ui = {
  settings: $("settings"), model: $("model"), reload: $("reload-models"), key: $("api-key"),
  thinking: $("thinking"), temperature: $("temperature"), maxTokens: $("max-tokens"),
  notice: $("notice"), log: $("log"), composer: $("composer"), prompt: $("prompt"),
  send: $("send"), stop: $("stop"), clear: $("clear"), template: $("message-template"),
};

const history = [];      // the conversation sent with each request: {role, content}
let controller = null;   // AbortController of the request in flight

// ---------- errors and notices ----------

class ApiError extends Error {
  constructor(status, message, type, code) {
    super(message);
    this.status = status;
    this.type = type || "";
    this.code = code || "";
  }
  describe() {
    const what = [this.status ? "HTTP " + this.status : "", this.type, this.code].filter(Boolean).join(", ");
    return what ? this.message + " (" + what + ")" : this.message;
  }
}

// A response that is not 2xx: OpenAI's {"error": {...}} when the server sent one.
async function errorFromResponse(res) {
  const text = await res.text();
  try {
    const e = JSON.parse(text).error;
    if (e && e.message) return new ApiError(res.status, e.message, e.type, e.code);
  } catch (_) { /* not JSON: show the text */ }
  return new ApiError(res.status, text.trim() || res.statusText || "request failed");
}

function showNotice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = !text;
}

function authNotice(err) {
  showNotice(err.describe() + ". Enter the server's API key above and press \u201cUse key\u201d.");
  ui.key.setAttribute("aria-invalid", "true");
  ui.key.focus();
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

// ---------- markdown, sanitized ----------

const SAFE_URL = /^(https?:|mailto:)/i;
const ALLOWED_TAGS = new Set(["A", "B", "BLOCKQUOTE", "BR", "CODE", "DEL", "EM", "H1", "H2", "H3", "H4", "H5",
  "H6", "HR", "I", "INPUT", "LI", "OL", "P", "PRE", "S", "SPAN", "STRONG", "TABLE", "TBODY", "TD", "TH",
  "THEAD", "TR", "UL"]);
const ALLOWED_ATTRS = { A: ["href", "title", "rel", "target"], CODE: ["class"], SPAN: ["class"], OL: ["start"],
  TD: ["align"], TH: ["align"], INPUT: ["type", "checked", "disabled"] };

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

let markdownOptions = null;
if (window.marked) {
  const renderer = new marked.Renderer();
  // Raw HTML in model output (block or inline) is shown as text, never parsed.
  renderer.html = (html) => escapeHtml(html);
  // Links only to web and mail addresses, opened apart from this page; images as their alt text
  // (the page loads nothing from elsewhere).
  renderer.link = (href, title, text) => {
    if (!href || !SAFE_URL.test(href)) return text;
    const t = title ? ' title="' + escapeHtml(title) + '"' : "";
    return '<a href="' + escapeHtml(href) + '"' + t + ' rel="noopener noreferrer nofollow" target="_blank">' + text + "</a>";
  };
  renderer.image = (href, title, text) => escapeHtml(text || "");
  markdownOptions = { renderer, gfm: true, breaks: false, headerIds: false, mangle: false };
}

// Second line of defence behind the renderer: whatever HTML comes out is parsed inert (a
// <template> runs no script and loads nothing) and kept only if its tags and attributes are
// on the lists above. The page's Content-Security-Policy (no inline script) is the third.
function sanitize(html) {
  const t = document.createElement("template");
  t.innerHTML = html;
  const walk = (node) => {
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === Node.COMMENT_NODE) { child.remove(); continue; }
      if (child.nodeType !== Node.ELEMENT_NODE) continue;
      if (!ALLOWED_TAGS.has(child.tagName) ||
          (child.tagName === "INPUT" && child.getAttribute("type") !== "checkbox")) {
        child.replaceWith(document.createTextNode(child.textContent));
        continue;
      }
      const keep = ALLOWED_ATTRS[child.tagName] || [];
      for (const a of Array.from(child.attributes))
        if (!keep.includes(a.name)) child.removeAttribute(a.name);
      if (child.tagName === "A" && !SAFE_URL.test(child.getAttribute("href") || "")) child.removeAttribute("href");
      if (child.tagName === "INPUT") child.setAttribute("disabled", "");
      walk(child);
    }
  };
  walk(t.content);
  return t.content;
}

function renderMarkdown(el, text, final) {
  if (!markdownOptions) {  // libjs-marked missing: plain text
    el.classList.add("plain");
    el.textContent = text;
    return;
  }
  el.replaceChildren(sanitize(marked.parse(text, markdownOptions)));
  // Highlighting once the answer is complete; re-highlighting every token would be wasted work.
  if (final && window.hljs) {
    const highlight = hljs.highlightElement || hljs.highlightBlock;
    el.querySelectorAll("pre code").forEach((c) => highlight.call(hljs, c));
  }
}

// ---------- messages in the log ----------

function addMessage(role) {
  const node = ui.template.content.firstElementChild.cloneNode(true);
  node.classList.add(role);
  node.querySelector(".role").textContent = role === "user" ? "You" : "Assistant";
  ui.log.append(node);
  return {
    node,
    content: node.querySelector(".content"),
    reasoning: node.querySelector(".reasoning"),
    reasoningText: node.querySelector(".reasoning-text"),
    meta: node.querySelector(".meta"),
  };
}

function scrollToEnd() {
  window.scrollTo(0, document.body.scrollHeight);
}

function setBusy(busy) {
  ui.send.disabled = busy;
  ui.stop.disabled = !busy;
  ui.clear.disabled = busy;
}

// ---------- models and key ----------

async function loadModels() {
  ui.model.disabled = true;
  try {
    const res = await fetch("/v1/models", { headers: headers() });
    if (!res.ok) throw await errorFromResponse(res);
    const list = (await res.json()).data || [];
    const wanted = ui.model.value || sessionStorage.getItem(MODEL_STORE);
    ui.model.replaceChildren(...list.map((m) => {
      const route = m.meta && m.meta.route_to ? " \u2192 " + m.meta.route_to : "";
      return new Option(m.id + route, m.id);
    }));
    if (!list.length) ui.model.append(new Option("(no models for this key)", ""));
    if (list.some((m) => m.id === wanted)) ui.model.value = wanted;
    ui.key.removeAttribute("aria-invalid");
    showNotice("");
  } catch (err) {
    ui.model.replaceChildren(new Option("(none)", ""));
    if (err.status === 401) authNotice(err);
    else showNotice("Could not list the models: " + (err.describe ? err.describe() : err.message));
  } finally {
    ui.model.disabled = false;
  }
}

ui.settings.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const key = ui.key.value.trim();
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
  loadModels();
});
ui.reload.addEventListener("click", loadModels);
ui.model.addEventListener("change", () => sessionStorage.setItem(MODEL_STORE, ui.model.value));

// ---------- chat ----------

function requestBody() {
  const body = { model: ui.model.value, messages: history.slice(), stream: true,
    stream_options: { include_usage: true } };
  if (ui.temperature.value !== "") body.temperature = Number(ui.temperature.value);
  if (ui.maxTokens.value !== "") body.max_tokens = Number(ui.maxTokens.value);
  // The switch chat templates such as Qwen3's read; servers that do not know it ignore it.
  if (ui.thinking.value) body.chat_template_kwargs = { enable_thinking: ui.thinking.value === "on" };
  return body;
}

// Reads a server-sent-event stream, calling onData with each event's data.
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    buffer = buffer.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(l.startsWith("data: ") ? 6 : 5)).join("\n");
      if (data && onData(data) === false) return;
    }
    if (done) return;
  }
}

function formatMeta(s) {
  const parts = [];
  if (s.usage) {
    parts.push(s.usage.prompt_tokens + " prompt + " + s.usage.completion_tokens + " completion tokens");
    const reasoning = s.usage.completion_tokens_details && s.usage.completion_tokens_details.reasoning_tokens;
    if (reasoning) parts.push(reasoning + " reasoning");
    if (s.firstAt && s.endAt > s.firstAt && s.usage.completion_tokens > 1)
      parts.push(((s.usage.completion_tokens - 1) / ((s.endAt - s.firstAt) / 1000)).toFixed(1) + " tok/s");
  }
  if (s.firstAt) parts.push("first token " + ((s.firstAt - s.startAt) / 1000).toFixed(2) + " s");
  parts.push("total " + ((s.endAt - s.startAt) / 1000).toFixed(2) + " s");
  if (s.finish && s.finish !== "stop") parts.push("finish: " + s.finish);
  return parts.join(" \u00b7 ");
}

async function send(text) {
  if (!ui.model.value) {
    showNotice("Pick a model first (the list is empty: is the API key right?).");
    return;
  }
  showNotice("");
  history.push({ role: "user", content: text });
  const user = addMessage("user");
  user.content.textContent = text;
  const reply = addMessage("assistant");
  reply.node.setAttribute("aria-busy", "true");
  scrollToEnd();
  setBusy(true);
  controller = new AbortController();

  const s = { answer: "", reasoning: "", usage: null, finish: "", startAt: performance.now(), firstAt: 0, endAt: 0 };
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST", headers: headers(), body: JSON.stringify(requestBody()), signal: controller.signal,
    });
    if (!res.ok) throw await errorFromResponse(res);
    await readEvents(res.body, (data) => {
      if (data === "[DONE]") return false;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new ApiError(0, chunk.error.message, chunk.error.type, chunk.error.code);
      if (chunk.usage) s.usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return true;
      const delta = choice.delta || {};
      const reasoning = delta.reasoning_content || delta.reasoning || "";
      if (reasoning) {
        s.reasoning += reasoning;
        reply.reasoning.hidden = false;
        reply.reasoningText.textContent = s.reasoning;
      }
      if (delta.content) {
        s.answer += delta.content;
        renderMarkdown(reply.content, s.answer, false);
      }
      if ((reasoning || delta.content) && !s.firstAt) s.firstAt = performance.now();
      if (choice.finish_reason) s.finish = choice.finish_reason;
      scrollToEnd();
      return true;
    });
    s.endAt = performance.now();
    renderMarkdown(reply.content, s.answer, true);
    reply.meta.textContent = formatMeta(s);
    history.push({ role: "assistant", content: s.answer });
  } catch (err) {
    s.endAt = performance.now();
    if (err.name === "AbortError") {
      // Stopped by the user: what arrived is kept, in the log and in the conversation.
      renderMarkdown(reply.content, s.answer, true);
      reply.meta.textContent = "stopped \u00b7 " + formatMeta(s);
      s.finish = "stopped";
      history.push({ role: "assistant", content: s.answer });
    } else {
      // The request failed: the turn is taken back and its text returned to the box, so nothing is lost.
      const message = err instanceof ApiError ? err.describe()
        : (err.name === "TypeError" ? "network error: " : "") + err.message;
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = message;
      reply.content.append(p);
      reply.node.classList.add("failed");
      s.finish = "error";
      if (history.length && history[history.length - 1].role === "user") history.pop();
      user.node.classList.add("failed");
      if (!ui.prompt.value) ui.prompt.value = text;
      if (err.status === 401) authNotice(err);
      else showNotice(message);
    }
  } finally {
    reply.node.dataset.finish = s.finish || "stop";
    reply.node.dataset.raw = s.answer;  // the text as received, before markdown
    reply.node.setAttribute("aria-busy", "false");
    controller = null;
    setBusy(false);
    scrollToEnd();
  }
}

ui.composer.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = ui.prompt.value.trim();
  if (!text || controller) return;
  ui.prompt.value = "";
  send(text);
});
ui.prompt.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ui.composer.requestSubmit();
  }
});
// Aborting the fetch closes the connection; the server then cancels the generation.
ui.stop.addEventListener("click", () => controller && controller.abort());
ui.clear.addEventListener("click", () => {
  history.length = 0;
  ui.log.replaceChildren();
  ui.prompt.focus();
});

// ---------- start ----------

ui.key.value = sessionStorage.getItem(KEY_STORE) || "";
if (!window.marked) showNotice("Markdown is shown as plain text: /js/marked/marked.min.js did not load (install libjs-marked).");
loadModels();
ui.prompt.focus();
