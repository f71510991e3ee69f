"""One real answer from the default model through `hearth serve` (HEARTH_BASE_URL, HEARTH_MODEL_ALIAS)."""
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
