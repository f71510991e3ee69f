"""One real answer from the default model through `hearth serve` (HEARTH_BASE_URL, HEARTH_MODEL_ALIAS)."""
import json
import os
import unittest

import openai


class DefaultModel(unittest.TestCase):
    def test_capital_of_france(self):
        c = openai.OpenAI(base_url=os.environ["HEARTH_BASE_URL"] + "/v1", api_key="unused", max_retries=0, timeout=240)
        r = c.chat.completions.create(model=os.environ["HEARTH_MODEL_ALIAS"],
                                      messages=[{"role": "user", "content": "What is the capital of France?"}],
                                      max_tokens=32, temperature=0)
        text = r.choices[0].message.content
        print("answer:", repr(text), r.usage)
        self.assertIn("Paris", text)
        self.assertEqual(r.choices[0].finish_reason, "stop")

    def test_forced_tool_calls(self):
        # tool_choice "required" and a named function: the model's own <tool_call> markup,
        # streamed and not; the arguments must parse and name the city asked about.
        c = openai.OpenAI(base_url=os.environ["HEARTH_BASE_URL"] + "/v1", api_key="unused", max_retries=0, timeout=240)
        tools = [{"type": "function", "function": {
                     "name": "get_weather", "description": "Current weather in a city",
                     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
                 {"type": "function", "function": {
                     "name": "get_time", "description": "Local time in a city",
                     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
        ask = [{"role": "user", "content": "I am flying to Paris tomorrow. Should I pack an umbrella?"}]
        for choice, want in (("required", "get_weather"), ({"type": "function", "function": {"name": "get_time"}}, "get_time")):
            kw = dict(model=os.environ["HEARTH_MODEL_ALIAS"], messages=ask, tools=tools, tool_choice=choice,
                      max_tokens=64, temperature=0)
            r = c.chat.completions.create(**kw)
            m = r.choices[0].message
            print(choice, "->", m.tool_calls, r.choices[0].finish_reason)
            self.assertEqual(r.choices[0].finish_reason, "tool_calls")
            self.assertEqual(m.tool_calls[0].function.name, want)
            self.assertIn("Paris", json.loads(m.tool_calls[0].function.arguments)["city"])
            args, pieces, finish = "", 0, None
            for chunk in c.chat.completions.create(stream=True, **kw):
                for ch in chunk.choices:
                    for tc in ch.delta.tool_calls or []:
                        if tc.index == 0:
                            args += tc.function.arguments or ""
                            pieces += 1
                    finish = ch.finish_reason or finish
            self.assertEqual(finish, "tool_calls")
            self.assertEqual(args, m.tool_calls[0].function.arguments)
            self.assertGreater(pieces, 2, "the arguments were streamed in pieces")


    def test_structured_output(self):
        # response_format from a pydantic model (the client's parse helper sends json_schema,
        # strict) and json_object: the default model's answers parse and carry the facts.
        import pydantic

        class Place(pydantic.BaseModel):
            city: str
            country: str

        c = openai.OpenAI(base_url=os.environ["HEARTH_BASE_URL"] + "/v1", api_key="unused", max_retries=0, timeout=240)
        ask = [{"role": "user", "content": "In which city and country is the Eiffel Tower? Answer in JSON."}]
        r = c.chat.completions.parse(model=os.environ["HEARTH_MODEL_ALIAS"], messages=ask, response_format=Place,
                                     max_tokens=48, temperature=0)
        print("parsed:", r.choices[0].message.parsed)
        self.assertEqual(r.choices[0].finish_reason, "stop")
        self.assertIn("Paris", r.choices[0].message.parsed.city)
        self.assertIn("France", r.choices[0].message.parsed.country)
        r = c.chat.completions.create(model=os.environ["HEARTH_MODEL_ALIAS"], messages=ask, max_tokens=48,
                                      temperature=0, response_format={"type": "json_object"})
        print("json_object:", r.choices[0].message.content)
        self.assertEqual(r.choices[0].finish_reason, "stop")
        self.assertIn("Paris", json.dumps(json.loads(r.choices[0].message.content)))

if __name__ == "__main__":
    unittest.main(verbosity=2)
