#!/usr/bin/env python3
"""Tokenize every line of a corpus with llama.cpp's tokenizer for a GGUF model.

Usage:
    python3 tools/gen_default_model_tokens.py MODEL.gguf CORPUS.txt OUT.txt [--format json|raw] [--special]

    e.g.
    python3 tools/gen_default_model_tokens.py /root/.cache/hearth/qwen.gguf \
        tests/fixtures/tokenizer/corpus.txt tests/fixtures/tokenizer/qwen2_llamacpp_ids.txt

Pinned dependencies (see tools/requirements-llamacpp.txt):
    llama-cpp-python==0.3.36   (vendors ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f)

Line handling: the corpus is read as raw bytes and split on b"\\n" only (a final empty
element after a trailing newline is dropped). With --format json (the default; this is the
format of tests/fixtures/tokenizer/corpus.txt) every line is a JSON string literal and the
decoded string is tokenized; with --format raw the line itself (UTF-8, a "\\r" before the
"\\n" kept) is tokenized. Tokenization is
    llama_tokenize(text, add_special=False, parse_special=False)
i.e. Llama.tokenize(text.encode(), add_bos=False, special=False); --special sets
parse_special=True (special tokens such as <|im_start|> recognised, like the HF goldens).
Output: one line per input line, token ids separated by single spaces (an empty string gives
an empty output line).
"""
from __future__ import annotations

import argparse
import json
import sys

import llama_cpp
from llama_cpp import Llama

EXPECTED_PY_VERSION = "0.3.36"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--format", choices=["json", "raw"], default="json")
    ap.add_argument("--special", action="store_true", help="parse special tokens")
    args = ap.parse_args()
    model_path, corpus_path, out_path = args.model, args.corpus, args.out
    if llama_cpp.__version__ != EXPECTED_PY_VERSION:
        print(f"warning: llama-cpp-python {llama_cpp.__version__} != pinned {EXPECTED_PY_VERSION}",
              file=sys.stderr)
    llm = Llama(model_path=model_path, vocab_only=True, verbose=False)
    with open(corpus_path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out_lines = []
    for i, raw in enumerate(lines):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SystemExit(f"{corpus_path}:{i + 1}: not valid UTF-8: {e}")
        if args.format == "json":
            text = json.loads(text)
            if not isinstance(text, str):
                raise SystemExit(f"{corpus_path}:{i + 1}: not a JSON string literal")
        ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=args.special)
        out_lines.append(" ".join(str(t) for t in ids))
    with open(out_path, "w", encoding="ascii", newline="\n") as f:
        for line in out_lines:
            f.write(line + "\n")
    print(f"wrote {out_path}: {len(out_lines)} lines, "
          f"{sum(len(l.split()) for l in out_lines)} tokens", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
