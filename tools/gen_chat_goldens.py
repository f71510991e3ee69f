#!/usr/bin/env python3
"""Regenerates tests/fixtures/chat/goldens/*.json: prompts rendered from the chat templates in
tests/fixtures/chat/templates/ by Python's jinja2, set up exactly as Hugging Face transformers
(4.57.6, transformers/utils/chat_template_utils.py: _compile_jinja_template and
render_jinja_template) sets it up for apply_chat_template:
  ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                extensions=[AssistantTracker, jinja2.ext.loopcontrols])
  filters["tojson"]  = json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  globals["raise_exception"] raises TemplateError(message)
  globals["strftime_now"](fmt) = datetime.now().strftime(fmt)   (here: a pinned clock, NOW)
  render(messages=..., tools=... or None, documents=None, add_generation_prompt=...,
         **special_tokens_map (bos_token, eos_token), **extra kwargs)
transformers itself is not imported (CI and this script need only jinja2); the setup above is
copied from it.

test_chat_templates.cpp renders every case with hearth and requires byte equality; cases where
jinja2 raises are stored with "error" (the jinja2 exception type and message) and hearth must
throw hearth::Error (for raise_exception, with the same message).

Run:  pip install -r tools/requirements-chat.txt
      python tools/gen_chat_goldens.py
"""
PINS = {"jinja2": "3.1.6", "markupsafe": "3.0.3"}

import copy
import datetime
import json
import sys
from pathlib import Path

import jinja2
import jinja2.ext
import jinja2.nodes
from importlib.metadata import version
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "tests/fixtures/chat/templates"
OUT = ROOT / "tests/fixtures/chat/goldens"
NOW = datetime.datetime(2025, 3, 14, 9, 26, 53)  # strftime_now() reads this clock

BOS_DS, EOS_DS = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
# template file -> (bos_token, eos_token, extra-kwarg variants). An empty token is left out of
# the context, as transformers leaves out tokens a tokenizer does not have.
THINK = [{}, {"enable_thinking": True}, {"enable_thinking": False}]
TEMPLATES_USED = {
    "qwen2.5-coder-0.5b-instruct.gguf.jinja": ("<|endoftext|>", "<|im_end|>", [{}]),
    "Qwen-Qwen2.5-7B-Instruct.jinja": ("", "<|im_end|>", [{}]),
    "Qwen-Qwen3-0.6B.jinja": ("", "<|im_end|>", THINK),
    "Qwen-QwQ-32B.jinja": ("", "<|im_end|>", [{}]),
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja": (BOS_DS, EOS_DS, [{}]),
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja": (BOS_DS, EOS_DS, [{}]),
    "deepseek-ai-DeepSeek-V3.1.jinja": (BOS_DS, EOS_DS, [{}, {"thinking": True}, {"thinking": False}]),
    "deepseek-ai-DeepSeek-V3.2.jinja": (BOS_DS, EOS_DS, THINK),
    "moonshotai-Kimi-K2.jinja": ("[BOS]", "[EOS]", [{}]),
    "Kimi-K2-Thinking.jinja": ("[BOS]", "[EOS]", [{}]),
    "GLM-4.6.jinja": ("", "<|endoftext|>", THINK),
    "meta-llama-Llama-3.1-8B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>",
                                               [{}, {"tools_in_user_message": False},
                                                {"builtin_tools": ["code_interpreter", "brave_search"]}]),
    "meta-llama-Llama-3.2-3B-Instruct.jinja": ("<|begin_of_text|>", "<|eot_id|>", [{}, {"date_string": "01 Jan 2025"}]),
    "SmolLM2-135M-Instruct.gguf.jinja": ("<|im_start|>", "<|im_end|>", [{}]),
    "mistralai-Mistral-Nemo-Instruct-2407.jinja": ("<s>", "</s>", [{}]),
    "Mistral-Small-3.2-24B-Instruct-2506.jinja": ("<s>", "</s>", [{}]),
}

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city. 获取天气 ☀️",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. \"Paris\""},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}
SEARCH = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web.\nReturns a list of results.",
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "max_results": {"type": "integer", "default": 5, "minimum": 1},
                "filters": {"type": "object", "properties": {"site": {"type": "string"}, "recent": {"type": "boolean"}}},
                "weight": {"type": "number", "default": 0.5},
            },
            "required": ["query"],
        },
    },
}


def call(name, args, cid="call00001"):
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}


SYS = {"role": "system", "content": "You are a helpful assistant."}
U1 = {"role": "user", "content": "Hello! How are you?"}
A1 = {"role": "assistant", "content": "I'm fine, thank you. How can I help?"}
U2 = {"role": "user", "content": "What is 2 + 2?"}

CONVERSATIONS = [
    ("single_user", [U1], None),
    ("system_user", [SYS, U1], None),
    ("multi_turn", [U1, A1, U2], None),
    ("system_multi_turn", [SYS, U1, A1, U2], None),
    ("ends_with_assistant", [SYS, U1, A1], None),
    ("chinese", [{"role": "system", "content": "你是一个乐于助人的助手。"},
                 {"role": "user", "content": "请用中文介绍一下你自己。"},
                 {"role": "assistant", "content": "你好！我是一个人工智能助手。"},
                 {"role": "user", "content": "北京的天气怎么样？"}], None),
    ("emoji", [{"role": "user", "content": "Tell me a joke 😀🎉 👨‍👩‍👧"}], None),
    ("special_chars", [{"role": "user", "content": "Quotes \" ' and backslash \\ and {{ braces }} {% tag %}\n"
                                                    "tab\there  trailing spaces   \n\nnew paragraph"}], None),
    ("whitespace_content", [{"role": "system", "content": "  padded system  \n"},
                            {"role": "user", "content": "\n  padded user \t"}], None),
    ("empty_system", [{"role": "system", "content": ""}, U1], None),
    ("empty_user", [{"role": "user", "content": ""}], None),
    ("long_multi_turn", [SYS, U1, A1, U2, {"role": "assistant", "content": "4"},
                         {"role": "user", "content": "And 3 * 7?"}, {"role": "assistant", "content": "21"},
                         {"role": "user", "content": "Thanks! Bye."}], None),
    ("consecutive_users", [U1, {"role": "user", "content": "Are you there?"}], None),
    ("assistant_first", [A1, U2], None),
    ("no_messages", [], None),
    ("tools_available", [SYS, {"role": "user", "content": "What's the weather in Paris?"}], [WEATHER, SEARCH]),
    ("tools_no_system", [{"role": "user", "content": "Find news about GGUF."}], [SEARCH]),
    ("tool_call_roundtrip", [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Paris", "unit": "celsius"}, "abc123XYZ")]},
        {"role": "tool", "tool_call_id": "abc123XYZ", "name": "get_weather", "content": "{\"temperature\": 18, \"sky\": \"晴\"}"},
    ], [WEATHER]),
    ("tool_call_then_answer", [
        SYS,
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "tool_calls": [call("get_weather", {"city": "Paris"}, "abc123XYZ")]},
        {"role": "tool", "tool_call_id": "abc123XYZ", "name": "get_weather", "content": "18 degrees"},
        {"role": "assistant", "content": "It is 18 °C in Paris."},
        {"role": "user", "content": "And in Tokyo?"},
    ], [WEATHER]),
    ("two_tool_calls", [
        {"role": "user", "content": "Weather in Paris and search for Tokyo news"},
        {"role": "assistant", "content": "Let me check both.", "tool_calls": [
            call("get_weather", {"city": "Paris"}, "call00001"),
            call("search", {"query": "Tokyo news", "max_results": 3, "filters": {"recent": True}, "weight": 1.5}, "call00002")]},
        {"role": "tool", "tool_call_id": "call00001", "name": "get_weather", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call00002", "name": "search", "content": "[\"result 1\", \"result 2\"]"},
    ], [WEATHER, SEARCH]),
    ("tool_call_string_args", [
        {"role": "user", "content": "Search for llama"},
        {"role": "assistant", "content": None, "tool_calls": [call("search", "{\"query\": \"llama\"}", "call00003")]},
        {"role": "tool", "tool_call_id": "call00003", "name": "search", "content": "nothing found"},
    ], [SEARCH]),
    ("reasoning_content_history", [
        U1,
        {"role": "assistant", "content": "I'm fine.", "reasoning_content": "The user greets me. I should answer politely."},
        U2,
    ], None),
    ("reasoning_content_last", [
        U2,
        {"role": "assistant", "content": "4", "reasoning_content": "2 + 2 = 4, simple arithmetic."},
    ], None),
    ("think_in_content", [
        U2,
        {"role": "assistant", "content": "<think>\nAdding two and two.\n</think>\n\nThe answer is 4."},
        {"role": "user", "content": "Are you sure?"},
    ], None),
    ("reasoning_with_tool_call", [
        {"role": "user", "content": "What's the weather in Paris?"},
        {"role": "assistant", "content": "", "reasoning_content": "I need the weather tool.",
         "tool_calls": [call("get_weather", {"city": "Paris"}, "abc123XYZ")]},
        {"role": "tool", "tool_call_id": "abc123XYZ", "name": "get_weather", "content": "rain"},
    ], [WEATHER]),
    ("content_parts", [
        {"role": "user", "content": [{"type": "text", "text": "Describe "}, {"type": "text", "text": "this text."}]},
    ], None),
]


# Small templates, one per construct of the Jinja subset, rendered by the same environment:
# tests/fixtures/chat/jinja_features.json, checked by tests/unit/test_chat_jinja.cpp.
FEATURE_CTX = {"xs": [3, 1, 2], "d": {"b": 1, "a": [1, 2], "c": None}, "s": "  Hello, World  ", "n": 7, "f": 2.5,
               "msgs": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
                        {"role": "user", "content": "again"}],
               "u": "你好😀", "t": True, "e": "", "z": None}
FEATURES = [
    ("print_types", "{{ 1 }}|{{ 1.0 }}|{{ 0.1 + 0.2 }}|{{ 1e20 }}|{{ 1e-7 }}|{{ none }}|{{ true }}|{{ [1, 'a', none] }}|{{ {'k': 'v', 2: (1,)} }}|{{ undefined_var }}|"),
    ("string_escapes", "{{ 'a\\nb\\tc\\\\d\\'e\"\\x41\\u00e9\\U0001F600' }}|{{ \"it's\" ~ 'x' }}|{{ ['it\\'s', \"q\\\"\", '\\n'] }}"),
    ("arith", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 7.5 // 2 }} {{ 1 + 2 * 3 - 4 }} {{ -n }} {{ 'ab' * 3 }} {{ [1] + [2] }}"),
    ("compare_logic", "{{ 1 < 2 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 2 in xs }} {{ 'ell' in s }} {{ 'a' in d }} {{ 5 not in xs }} {{ 0 or 'x' }} {{ 1 and 'y' }} {{ not e }} {{ none is none }}"),
    ("ternary", "{{ 'yes' if t else 'no' }}|{{ 'yes' if e else 'no' }}|{{ 'only' if e }}|{{ ('a' if t else 'b') ~ 'c' }}"),
    ("whitespace_control", "a  {{- ' b ' -}}  c\n  {%- if t %}\n  d\n  {% endif -%}\n  e {# comment #}\n{#- c2 -#}\n f"),
    ("trim_lstrip", "<\n  {% if t %}\n    in\n  {% endif %}\n  {% for x in xs %}\n{{ x }}\n  {% endfor %}\n>  {%+ if t %}keep{% endif %}\n{{ 'v' }}\n"),
    ("lstrip_not_after_text", "x {% if t %}y{% endif %} z\n\t{# c #}\nw"),
    ("trailing_newline", "line\n"),
    ("crlf", "a\r\n{% if t %}\r\nb\r\n{% endif %}\r\nc"),
    ("if_elif_else", "{% for v in [0, 1, 2, 3] %}{% if v == 0 %}zero{% elif v == 1 %}one{% elif v == 2 %}two{% else %}many{% endif %},{% endfor %}"),
    ("loop_vars", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}:{{ loop.previtem }}:{{ loop.nextitem }}:{{ loop.cycle('a', 'b') }};{% endfor %}"),
    ("loop_else", "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in none_var %}x{% else %}undef{% endfor %}"),
    ("loop_filter_if", "{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% endfor %}"),
    ("loop_dict_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{% for k, v in d | items %}{{ k }}{% endfor %}"),
    ("loop_string", "{% for c in u %}[{{ c }}]{% endfor %}"),
    ("loop_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
    ("loop_scope", "{% set v = 1 %}{% for x in xs %}{% set v = x %}{% endfor %}{{ v }}"),
    ("nested_loops", "{% for m in msgs %}{% for c in m.content %}{{ loop.index }}{% endfor %}-{{ loop.index }};{% endfor %}"),
    ("namespace", "{% set ns = namespace(count=0, last='') %}{% for m in msgs %}{% if m.role == 'user' %}{% set ns.count = ns.count + 1 %}{% set ns.last = m.content %}{% endif %}{% endfor %}{{ ns.count }} {{ ns.last }}"),
    ("set_tuple_and_block", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set blk %}x{{ a }}y{% endset %}[{{ blk }}]"),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(punct='.', name='C') }}"),
    ("macro_outer_scope", "{% set g = 'G' %}{% macro m() %}{{ g }}{{ xs | length }}{% endmacro %}{{ m() }}"),
    ("call_block", "{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}inner {{ n }}{% endcall %}"),
    ("filter_block", "{% filter upper %}shout {{ n }}{% endfilter %}"),
    ("generation", "a{% generation %}gen {{ n }}{% endgeneration %}b"),
    ("attr_subscript", "{{ d.b }} {{ d['a'][1] }} {{ msgs[-1].content }} {{ d.missing }}|{{ d.c }} {{ xs[10] }}|{{ z.foo }}|{{ d.get('b') }} {{ d.get('q', 'dflt') }} {{ d.get('q') }}"),
    ("slicing", "{{ xs[::-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::2] }} {{ s[2:7] }} {{ u[::-1] }} {{ u[1] }} {{ msgs[1:][0].role }}"),
    ("literals", "{{ [1, 2,] }} {{ (1, 2) }} {{ () }} {{ {'a': 1, 'b': [true, false, none]} }} {{ 'con' 'cat' }}"),
    ("tojson", "{{ d | tojson }}|{{ u | tojson }}|{{ msgs[0] | tojson(indent=2) }}|{{ d | tojson(separators=(',', ':')) }}|{{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}|{{ u | tojson(ensure_ascii=true) }}|{{ [1.5, 1e20, 'a\\nb\"', none, true] | tojson }}|{{ {} | tojson }}|{{ [] | tojson(indent=4) }}|{{ d | tojson(indent='\\t') }}"),
    ("string_filters", "[{{ s | trim }}][{{ s | upper }}][{{ s | lower }}][{{ 'hELLO wORLD' | capitalize }}][{{ 'hello big-world' | title }}][{{ s | replace('l', 'L') }}][{{ s | replace('l', 'L', 1) }}][{{ n | string }}][{{ s | length }}][{{ u | length }}]"),
    ("list_filters", "{{ xs | first }} {{ xs | last }} {{ xs | join(',') }} {{ xs | list }} {{ 'abc' | list }} {{ xs | reverse | list }} {{ xs | sort }} {{ xs | sum }} {{ xs | min }} {{ xs | max }} {{ [1, 1, 2, 'A', 'a'] | unique | list }} {{ xs | length }} {{ xs | count }}"),
    ("default_filter", "{{ undef | default('D') }} {{ e | default('D') }} {{ e | default('D', true) }} {{ z | default('D') }} {{ undef | d('x') }}"),
    ("int_float_filters", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(5) }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 2 | float }} {{ -3 | abs }} {{ 2.567 | round(2) }}"),
    ("select_map", "{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(' ') }}|{{ msgs | rejectattr('role', 'eq', 'user') | list | length }}|{{ msgs | selectattr('content') | list | length }}|{{ xs | select('odd') | list }}|{{ xs | reject('equalto', 1) | list }}|{{ ['a', 'b'] | map('upper') | join }}"),
    ("indent_filter", "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(2, blank=true) }}|{{ 'x\\ny' | indent('> ') }}"),
    ("items_safe_escape", "{{ d | items | list }} {{ '<b>' | safe }} {{ '<a href=\"x\">&' | e }}"),
    ("tests", "{{ xs is iterable }} {{ d is mapping }} {{ s is string }} {{ n is number }} {{ f is float }} {{ n is integer }} {{ t is boolean }} {{ t is true }} {{ e is false }} {{ z is none }} {{ undef is defined }} {{ undef is undefined }} {{ xs is sequence }} {{ n is odd }} {{ n is even }} {{ 6 is divisibleby 3 }} {{ 'a' is in 'abc' }} {{ n is equalto 7 }} {{ n is eq 8 }} {{ d is not mapping }} {{ 'AB' is upper }} {{ d.c is none }} {{ range is callable }}"),
    ("string_methods", "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxhixx'.strip('x') }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a,b,c'.split(',', 1) }}|{{ 'a,b,c'.rsplit(',', 1) }}|{{ s.startswith('  He') }}|{{ s.endswith(('x', '  ')) }}|{{ s.replace('o', '0') }}|{{ s.upper() }}|{{ s.lower() }}|{{ 'hello world'.title() }}|{{ 'abc'.find('c') }}|{{ 'a-b'.count('-') }}|{{ '-'.join(['a', 'b']) }}|{{ 'x</think>y'.split('</think>')[-1] }}"),
    ("dict_methods", "{{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }}"),
    ("range_dict", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(5, 0, -2) | list }} {{ dict(a=1, b='x') }}"),
    ("concat_undefined", "[{{ undef ~ 'x' }}][{{ undef }}][{{ undef | string }}][{{ undef | length }}][{{ undef | list }}]"),
    ("unicode_content", "{{ u }} {{ u | length }} {{ u[0] }} {{ '😀' in u }} {{ u | tojson }}"),
    ("raise", "{% if t %}{{ raise_exception('Custom failure: ' ~ n) }}{% endif %}"),
    ("error_undefined_attr", "{{ undef.attr }}"),
    ("error_none_add", "{{ z + 'x' }}"),
    ("error_list_append", "{% set l = [] %}{% set _ = l.append(1) %}{{ l }}"),
    ("error_tojson_undefined", "{{ undef | tojson }}"),
    ("error_div_zero", "{{ 1 // 0 }}"),
    ("in_undefined", "{{ 'a' in undef }}"),
    ("chained_compare", "{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 0 <= n < 10 }} {{ 'a' < 'b' == 'b' }} {{ 1 == 1 in xs }} {{ 3 > 2 > 1 > 0 }} {{ 1 < 2 > 5 }} {{ 2 != 3 not in xs }} {% if 0 < xs | length <= 3 %}ok{% endif %}"),
    ("percent_format", "{{ '%s and %s' % ('a', 1) }}|{{ '%d%%' % 42 }}|{{ '%5.2f|%-6s|%03d|%x|%X|%#o|%+d|% d|%#x' % (3.14159, 'ab', 7, 255, 255, 8, 5, 3, 255) }}|{{ '%(name)s is %(n)d' % {'name': 'x', 'n': n} }}|{{ '%r' % 'q' }}|{{ '%s' % [1, 2] }}|{{ '%.3s|%5s|%c|%c' % (u, u, 65, 'é') }}|{{ '%e|%g|%G|%.2e|%08.3f|%-8.1f|' % (12345.678, 0.0001, 1e20, -0.5, -3.14159, 2.25) }}|{{ '%d|%i|%5d|%-5d|%05d' % (3.9, -7, -42, 42, -42) }}|{{ '%s' % none }}|{{ '%s' % {'a': 1} }}|{{ 'plain' % {'a': 1} }}|{{ '%s-%s' % (msgs[0].values() | list | first, n) }}"),
    ("error_percent_few_args", "{{ '%s %s' % ('a',) }}"),
    ("error_percent_extra_args", "{{ '%s' % ('a', 'b') }}"),
    ("error_percent_d_string", "{{ '%d' % 'x' }}"),
    ("error_include", "{% include 'other.j2' %}"),
    ("error_import", "{% import 'macros.j2' as m %}{{ m.x() }}"),
]


def render_features(env):
    cases = []
    for name, src in FEATURES:
        case = {"name": name, "template": src}
        try:
            case["expected"] = env.from_string(src).render(**copy.deepcopy(FEATURE_CTX))
        except Exception as e:
            case["error"] = f"{type(e).__name__}: {e}"
            if type(e) is jinja2.TemplateError:
                case["raise_exception"] = str(e)
        cases.append(case)
    doc = {"generator": "tools/gen_chat_goldens.py", "pins": PINS, "context": FEATURE_CTX, "cases": cases}
    (OUT.parent / "jinja_features.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"jinja_features.json: {len(cases)} cases, {sum('error' in c for c in cases)} expected errors")


def make_env():
    class AssistantTracker(jinja2.ext.Extension):
        # As transformers' AssistantTracker: {% generation %}...{% endgeneration %} renders its body.
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

        @jinja2.pass_eval_context
        def _generation_support(self, context, caller):
            return caller()

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return NOW.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def main():
    for mod in PINS:
        if (want := version(mod)) != PINS[mod]:
            sys.exit(f"{mod} {want} installed, {PINS[mod]} pinned: pip install -r tools/requirements-chat.txt")
    env = make_env()
    OUT.mkdir(parents=True, exist_ok=True)
    render_features(env)
    summary = []
    for fname, (bos, eos, variants) in TEMPLATES_USED.items():
        source = (TEMPLATES / fname).read_text(encoding="utf-8")
        try:
            tmpl = env.from_string(source)
            compile_error = None
        except jinja2.TemplateError as e:
            tmpl, compile_error = None, f"{type(e).__name__}: {e}"
        cases = []
        for conv_name, messages, tools in CONVERSATIONS:
            for extra in variants:
                for agp in (True, False):
                    name = conv_name + ("" if agp else "/no_gen") + "".join(f"/{k}={json.dumps(v)}" for k, v in extra.items())
                    case = {"name": name, "messages": messages, "tools": tools, "add_generation_prompt": agp,
                            "extra": extra}
                    ctx = {}
                    if bos:
                        ctx["bos_token"] = bos
                    if eos:
                        ctx["eos_token"] = eos
                    ctx.update(extra)
                    if compile_error:
                        case["error"] = compile_error
                    else:
                        try:
                            case["expected"] = tmpl.render(messages=copy.deepcopy(messages), tools=copy.deepcopy(tools),
                                                           documents=None, add_generation_prompt=agp, **ctx)
                        except Exception as e:  # what transformers would raise to its caller
                            case["error"] = f"{type(e).__name__}: {e}"
                            if isinstance(e, jinja2.TemplateError) and type(e) is jinja2.TemplateError:
                                case["raise_exception"] = str(e)
                    cases.append(case)
        doc = {"template": fname, "bos_token": bos, "eos_token": eos, "now": NOW.isoformat(),
               "generator": "tools/gen_chat_goldens.py", "pins": PINS, "cases": cases}
        out = OUT / (fname.removesuffix(".jinja") + ".json")
        out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        n_err = sum("error" in c for c in cases)
        summary.append((fname, len(cases), n_err))
    for fname, n, n_err in summary:
        print(f"{fname:55s} {n:4d} cases, {n_err:3d} expected errors")


if __name__ == "__main__":
    main()
