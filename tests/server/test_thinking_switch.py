"""chat_template_kwargs reach the model's chat template through `hearth serve`.

Run by tests/cli/server_openai.sh against a server of tests/fixtures/tiny_chat/qwen3-chat-q8_0.gguf,
which carries Qwen3's own template (it reads enable_thinking: false writes an empty
<think></think> block into the prompt). The reference is Python jinja2's rendering of that
template for the same messages, recorded in tests/fixtures/chat/goldens/Qwen-Qwen3-0.6B.json
(tools/gen_chat_goldens.py): sent as a plain /v1/completions prompt, it must come to as many
prompt tokens as the chat request (the tokenizer is the same, the prompt text must be too).
Settings: HEARTH_BASE_URL, HEARTH_MODEL_ALIAS, HEARTH_FIXTURES.
"""
import json
import os
import unittest
from pathlib import Path

import openai

BASE = os.environ["HEARTH_BASE_URL"]
MODEL = os.environ["HEARTH_MODEL_ALIAS"]
GOLDENS = Path(os.environ["HEARTH_FIXTURES"]) / "chat/goldens/Qwen-Qwen3-0.6B.json"


def client():
    return openai.OpenAI(base_url=BASE + "/v1", api_key="unused", max_retries=0, timeout=60)


class ThinkingSwitch(unittest.TestCase):
    def golden(self, name):
        cases = {c["name"]: c for c in json.loads(GOLDENS.read_text())["cases"]}
        return cases[name]

    def chat_prompt_tokens(self, messages, **kw):
        r = client().chat.completions.create(model=MODEL, messages=messages, max_tokens=1, temperature=0, **kw)
        return r.usage.prompt_tokens

    def text_prompt_tokens(self, text):
        r = client().completions.create(model=MODEL, prompt=text, max_tokens=1, temperature=0)
        return r.usage.prompt_tokens

    def test_enable_thinking_reaches_the_template(self):
        counts = {}
        for flag in ("true", "false"):
            case = self.golden("system_user/enable_thinking=" + flag)
            self.assertEqual(case["extra"], {"enable_thinking": flag == "true"})
            got = self.chat_prompt_tokens(case["messages"], extra_body={"chat_template_kwargs": case["extra"]})
            self.assertEqual(got, self.text_prompt_tokens(case["expected"]), flag)
            counts[flag] = got
        # The switch changed the prompt: false adds the empty trace.
        self.assertGreater(counts["false"], counts["true"])
        messages = self.golden("system_user/enable_thinking=true")["messages"]
        self.assertEqual(self.chat_prompt_tokens(messages), counts["true"], "the template's default is thinking on")
        # reasoning_effort "none" is the OpenAI-side spelling of the same switch.
        self.assertEqual(self.chat_prompt_tokens(messages, reasoning_effort="none"), counts["false"])
        self.assertEqual(self.chat_prompt_tokens(messages, reasoning_effort="high"), counts["true"])

    def test_no_trace_when_thinking_is_off(self):
        # The prompt closed the trace, so whatever the model writes is the answer.
        messages = self.golden("system_user/enable_thinking=false")["messages"]
        r = client().chat.completions.create(model=MODEL, messages=messages, max_tokens=8, temperature=0,
                                             extra_body={"chat_template_kwargs": {"enable_thinking": False}})
        self.assertIsNone(r.choices[0].message.model_dump().get("reasoning_content"))
        self.assertEqual(r.usage.completion_tokens_details.reasoning_tokens, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
