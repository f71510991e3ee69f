#!/usr/bin/env python3
"""Regenerates tests/fixtures/chat_grammar/goldens.json: accept/reject verdicts for the GBNF
grammars in tests/fixtures/chat_grammar/*.gbnf, decided by independent references written
here by hand from each grammar's meaning (not translated by hearth's parser):
  - Python's `re` (fullmatch) for the regular grammars (csv, enum, unicode),
  - the `lark` Earley parser (pinned below) for the context-free ones (arithmetic, json_subset).
test_grammar.cpp requires hearth's matcher to agree on every case.

The cases are hand-written strings, seeded mutations of them (a character deleted, inserted,
replaced, swapped, a slice doubled, a cut), and the outputs the default model produced under
each grammar with `hearth run --grammar` (tests/fixtures/chat_grammar/model_outputs.json, made
with --from-model; every one of them must be accepted by the reference, which this script
checks and reports).

Run:  pip install -r tools/requirements-grammar.txt
      python tools/gen_grammar_goldens.py [--from-model HEARTH_BINARY MODEL.gguf]
"""
PINS = {"lark": "1.3.1"}

import argparse
import json
import random
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from lark import Lark
from lark.exceptions import LarkError

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "tests/fixtures/chat_grammar"

FIELD = r'(?:[^,"\n\r]*|"(?:[^"]|"")*")'
REGEX = {
    "csv.gbnf": rf"(?:{FIELD},{FIELD},{FIELD}\n){{1,4}}",
    "enum.gbnf": r"(?:positive|negative|neutral|mixed)(?: \((?:[0-9]|[1-9][0-9]|100)%\))?",
    "unicode.gbnf": r"[α-ωА-я]+(?: [α-ωА-я]+){0,3} [\U0001F600-\U0001F64F][\u4e00-\u9fff]*",
}
LARK = {
    "arithmetic.gbnf": r"""
start: expr
expr: term (SP? ADD SP? term)*
term: factor (SP? MUL SP? factor)*
factor: NUM | "(" SP? expr SP? ")" | "-" factor
NUM: /0|[1-9][0-9]{0,8}/
ADD: "+" | "-"
MUL: "*" | "/"
SP: " "
""",
    "json_subset.gbnf": r"""
start: object
value: object | array | STRING | INT | "true" | "false" | "null"
object: "{" WS? (member (WS? "," WS? member)*)? WS? "}"
member: STRING WS? ":" WS? value
array: "[" WS? (value (WS? "," WS? value)*)? WS? "]"
STRING: /"([^"\\\x00-\x1f]|\\["\\])*"/
INT: /-?(0|[1-9][0-9]{0,15})/
WS: /[ \n]{1,2}/
""",
}

SEEDS = {
    "arithmetic.gbnf": ["1+2", "(3 * 4) - -5", "12 / (7+8)", "0", "-(1)", "((((9))))", "6*7", "100 - 58",
                        "(40 + 2) * 1", "1++2", "01", "(1", "1 +  2", "2 ** 3", "", "123456789", "1234567890",
                        "-0", "--3", "(2)(3)", "4/0", " 1", "7 -(2)"],
    "csv.gbnf": ["a,b,c\n", "apple,red,1.20\nbanana,yellow,0.50\n", "\"x,y\",\"say \"\"hi\"\"\",z\n", ",,\n",
                 "a,b\n", "a,b,c", "a,b,c,d\n", "\"unterminated,b,c\n", "a,b,c\r\n", "é,ü,😀\n",
                 "1,2,3\n4,5,6\n7,8,9\n10,11,12\n", "1,2,3\n4,5,6\n7,8,9\n10,11,12\n13,14,15\n", "\"a\nb\",c,d\n"],
    "json_subset.gbnf": ['{}', '{ }', '{"a": 1}', '{"a":[1,-2,"x\\"y"],"b":{}}', '{"t": true, "f": false, "n": null}',
                         '{"a":01}', '{"a": 1,}', '[1]', '{"a":"b\\n"}', '{\n"k": "v"\n}', '{"k"  :  1}',
                         '{"nested": {"deep": [[], [{}], "é"]}}', '{"a": -0}', '{"a": 1.5}', '{"a": "\x01"}',
                         '{"big": 1234567890123456}', '{"big": 12345678901234567}'],
    "enum.gbnf": ["positive", "negative", "neutral", "mixed", "mixed (100%)", "neutral (55%)", "positive (0%)",
                  "negative (99%)", "neutral (1%)", "positive (100%)", "mixed (101%)", "neg", "Positive", "positive ", "positive (05%)", "negative (7%)", "neutral (%)"],
    "unicode.gbnf": ["αβγ Привет 😀中文", "я 😃", "слово ωμέγα 🙏", "мир мир мир мир 😀", "мир мир мир мир мир 😀",
                     "abc 😀", "Привет😀", "Привет 😀 中", "ёж 😐", "Ёж 😐", "δ 😀中文字", "δ 🤖"],
}


def make_judge(name):
    if name in REGEX:
        pat = re.compile(REGEX[name])
        return "python re " + sys.version.split()[0], lambda s: pat.fullmatch(s) is not None
    parser = Lark(LARK[name], start="start", parser="earley", lexer="dynamic_complete")

    def judge(s):
        try:
            parser.parse(s)
            return True
        except LarkError:
            return False
    return "lark " + PINS["lark"] + " (Earley)", judge


def mutants(s, alphabet, rng, n=8):
    out = []
    for _ in range(n):
        op = rng.randrange(6)
        i = rng.randrange(len(s) + 1)
        c = rng.choice(alphabet)
        if op == 0 and s:
            i = min(i, len(s) - 1)
            t = s[:i] + s[i + 1:]
        elif op == 1:
            t = s[:i] + c + s[i:]
        elif op == 2 and s:
            i = min(i, len(s) - 1)
            t = s[:i] + c + s[i + 1:]
        elif op == 3 and len(s) > 1:
            i = min(i, len(s) - 2)
            t = s[:i] + s[i + 1] + s[i] + s[i + 2:]
        elif op == 4:
            j = rng.randrange(i, len(s) + 1)
            t = s[:j] + s[i:j] + s[j:]
        else:
            t = s[:i]
        out.append(t)
    return out


def from_model(hearth, model):
    prompts = json.loads((DIR / "prompts.json").read_text(encoding="utf-8"))
    outputs = {}
    for name, prompt in prompts.items():
        outputs[name] = []
        for seed in range(1, 5):
            text = f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
            r = subprocess.run([hearth, "run", "-m", model, "--grammar", str(DIR / name), "-p", text, "-n", "80",
                                "--temp", "0.9", "--seed", str(seed), "-t", "2"],
                               capture_output=True, check=True)
            out = r.stdout.decode("utf-8")
            assert out.startswith(text) and out.endswith("\n"), out
            outputs[name].append(out[len(text):-1])
            print(f"{name} seed {seed}: {json.dumps(outputs[name][-1], ensure_ascii=False)}", flush=True)
    doc = {"generator": "tools/gen_grammar_goldens.py --from-model", "model": Path(model).name,
           "sampling": "temperature 0.9, seeds 1-4, at most 80 tokens", "outputs": outputs}
    (DIR / "model_outputs.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--from-model", nargs=2, metavar=("HEARTH", "MODEL"))
    args = ap.parse_args()
    for mod in PINS:
        if (have := version(mod)) != PINS[mod]:
            sys.exit(f"{mod} {have} installed, {PINS[mod]} pinned: pip install -r tools/requirements-grammar.txt")
    if args.from_model:
        from_model(*args.from_model)
    model_path = DIR / "model_outputs.json"
    model_outputs = json.loads(model_path.read_text(encoding="utf-8"))["outputs"] if model_path.exists() else {}
    rng = random.Random(20251123)
    grammars = {}
    bad_model = 0
    for name, seeds in SEEDS.items():
        ref, judge = make_judge(name)
        alphabet = sorted(set("".join(seeds)) | set(" ,\"\n(){}[]-+0a%é"))
        texts = []
        for s in seeds:
            texts.append((s, "hand"))
            texts += [(t, "mutation") for t in mutants(s, alphabet, rng)]
        for t in model_outputs.get(name, []):
            texts.append((t, "model"))
        seen, cases = set(), []
        for t, origin in texts:
            if t in seen:
                continue
            seen.add(t)
            ok = judge(t)
            if origin == "model" and not ok:
                bad_model += 1
                print(f"REFERENCE REJECTS MODEL OUTPUT under {name}: {json.dumps(t, ensure_ascii=False)}")
            cases.append({"text": t, "accept": ok, "origin": origin})
        grammars[name] = {"reference": ref, "cases": cases}
        n_ok = sum(c["accept"] for c in cases)
        n_model = sum(c["origin"] == "model" for c in cases)
        print(f"{name:18s} {len(cases):4d} cases, {n_ok:3d} accepted, {n_model} model outputs  [{ref}]")
    doc = {"generator": "tools/gen_grammar_goldens.py", "pins": PINS, "grammars": grammars}
    (DIR / "goldens.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if bad_model:
        sys.exit(f"{bad_model} model outputs are rejected by the reference")


if __name__ == "__main__":
    main()
