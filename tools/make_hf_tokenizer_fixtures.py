#!/usr/bin/env python3
"""Write small tokenizer.json fixtures for tokenizer families whose real files are too big to
commit, with token-id goldens from the `tokenizers` library (tests/unit/test_hf_tokenizers.cpp).

  tests/fixtures/tokenizer_hf/glm4/   GLM-4 / GLM-4.5 layout: the tokenizer.json that
      transformers' tiktoken conversion writes for GLM (Split on the GLM-4 regex, isolated, then
      ByteLevel without its own regex; BPE without ignore_merges), special tokens [gMASK] <sop>
      <|user|> ... as in GLM-4.5's tokenizer_config.json; the vocabulary is a 3,000-token byte-level
      BPE trained here on tests/fixtures/tokenizer/corpus.txt, not GLM's 151k one.
  ids.txt: for each corpus line i, line i is `tokenizers`' ids for it (special tokens recognised).

Pinned (tools/requirements-reference.txt): tokenizers==0.22.2
Usage: /work/venvs/reference/bin/python tools/make_hf_tokenizer_fixtures.py
"""

import json
import sys
from pathlib import Path

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

PIN = "0.22.2"
ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests/fixtures/tokenizer/corpus.txt"
OUT = ROOT / "tests/fixtures/tokenizer_hf"

# GLM-4's split pattern (the same alternatives as Llama 3's: 1-3 digit groups, case-insensitive
# contractions), as its tiktoken-converted tokenizer.json states it.
GLM4_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
GLM4_SPECIALS = ["<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
                 "<|assistant|>", "<|observation|>", "<think>", "</think>", "<tool_call>", "</tool_call>"]
GLM4_TEMPLATE = ("[gMASK]<sop>{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")


def corpus_lines() -> list[str]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def glm4(lines: list[str]) -> None:
    d = OUT / "glm4"
    d.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(GLM4_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in GLM4_SPECIALS])
    tok.save(str(d / "tokenizer.json"))
    tj = json.loads((d / "tokenizer.json").read_text())
    assert tj["model"]["ignore_merges"] is False and tj["pre_tokenizer"]["pretokenizers"][1]["use_regex"] is False
    tc = {"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>", "clean_up_tokenization_spaces": False,
          "do_lower_case": False, "model_max_length": 131072, "padding_side": "left",
          "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": GLM4_TEMPLATE}
    (d / "tokenizer_config.json").write_text(json.dumps(tc, indent=1) + "\n")
    back = Tokenizer.from_file(str(d / "tokenizer.json"))
    with open(d / "ids.txt", "w") as f:
        for line in lines:
            f.write(" ".join(str(i) for i in back.encode(line, add_special_tokens=False).ids) + "\n")
    vocab = back.get_vocab_size(with_added_tokens=True)
    print(f"{d}: vocab {vocab}, {len(lines)} lines, {sum(p.stat().st_size for p in d.iterdir())} bytes")


def main() -> int:
    if tokenizers.__version__ != PIN:
        print(f"warning: tokenizers {tokenizers.__version__} != pinned {PIN}", file=sys.stderr)
    glm4(corpus_lines())
    return 0


if __name__ == "__main__":
    sys.exit(main())
