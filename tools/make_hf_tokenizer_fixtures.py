#!/usr/bin/env python3
"""Write small tokenizer.json fixtures for tokenizer families whose real files are too big to
commit, with token-id goldens from the `tokenizers` library (tests/unit/test_hf_tokenizers.cpp).

  tests/fixtures/tokenizer_hf/glm4/   GLM-4 / GLM-4.5 layout: the tokenizer.json that
      transformers' tiktoken conversion writes for GLM (Split on the GLM-4 regex, isolated, then
      ByteLevel without its own regex; BPE without ignore_merges), special tokens [gMASK] <sop>
      <|user|> ... as in GLM-4.5's tokenizer_config.json; the vocabulary is a 3,000-token byte-level
      BPE trained here on tests/fixtures/tokenizer/corpus.txt, not GLM's 151k one.
  tests/fixtures/tokenizer_hf/kimi/   Kimi-K2 layout: tiktoken.model (base64 token, rank per line)
      + tokenizer_config.json naming the special tokens in the 256 ids after the ranks; the ranks are
      a 2,000-token byte-level BPE trained here on the corpus (bytes first, then merges in order).
      ids.txt comes from tiktoken itself with Kimi's split pattern (tokenization_kimi.py's pat_str).
  ids.txt: for each corpus line i, line i holds the reference library's ids for it (special tokens
  recognised, none added).

Pinned (tools/requirements-reference.txt): tokenizers==0.22.2; tools/requirements-tiktoken.txt: tiktoken==0.14.0
Usage: python tools/make_hf_tokenizer_fixtures.py   (a venv with both installed)
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


# tokenization_kimi.py's pat_str (Kimi-K2): letters exclude Han (class intersection), Han runs
# split apart, up to 3 digits per piece.
KIMI_PAT = "|".join([
    r"""[\p{Han}]+""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]+[\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
KIMI_SPECIALS = {0: "[BOS]", 1: "[EOS]", 2: "<|im_end|>", 3: "<|im_user|>", 4: "<|im_assistant|>",
                 6: "<|start_header_id|>", 7: "<|end_header_id|>", 9: "[EOT]", 10: "<|im_system|>",
                 13: "<|im_middle|>"}  # offsets from the first id after the ranks, as in Kimi-K2
KIMI_RESERVED = 256
KIMI_TEMPLATE = ("{% for m in messages %}<|im_{{ m['role'] }}|>{{ m['role'] }}<|im_middle|>{{ m['content'] }}"
                 "<|im_end|>{% endfor %}{% if add_generation_prompt %}<|im_assistant|>assistant<|im_middle|>{% endif %}")


def kimi(lines: list[str]) -> None:
    import base64
    import tiktoken
    d = OUT / "kimi"
    d.mkdir(parents=True, exist_ok=True)
    # Ranks: a byte-level BPE trained on the corpus, read back as byte strings in merge order.
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=2000, show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    u2b = {u: b for b, u in enumerate(_bytes_to_unicode())}
    as_bytes = lambda t: bytes(u2b[c] for c in t)  # noqa: E731
    merges = json.loads(tok.to_str())["model"]["merges"]
    ranks: dict[bytes, int] = {bytes([b]): b for b in range(256)}
    for left, right in merges:
        ranks.setdefault(as_bytes(left) + as_bytes(right), len(ranks))
    n_base = len(ranks)
    with open(d / "tiktoken.model", "w") as f:
        for t, r in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(f"{base64.b64encode(t).decode()} {r}\n")
    specials = {n_base + i: KIMI_SPECIALS.get(i, f"<|reserved_token_{n_base + i}|>") for i in range(KIMI_RESERVED)}
    tc = {"added_tokens_decoder": {str(i): {"content": c, "lstrip": False, "normalized": False, "rstrip": False,
                                            "single_word": False, "special": True}
                                   for i, c in specials.items() if not c.startswith("<|reserved_token_")},
          "auto_map": {"AutoTokenizer": ["tokenization_kimi.TikTokenTokenizer", None]},
          "bos_token": "[BOS]", "eos_token": "[EOS]", "pad_token": specials[n_base + 255],
          "tokenizer_class": "TikTokenTokenizer", "model_max_length": 131072, "chat_template": KIMI_TEMPLATE}
    (d / "tokenizer_config.json").write_text(json.dumps(tc, indent=1) + "\n")
    enc = tiktoken.Encoding(name="kimi-fixture", pat_str=KIMI_PAT, mergeable_ranks=ranks,
                            special_tokens={c: i for i, c in specials.items()})
    with open(d / "ids.txt", "w") as f:
        for line in lines:
            f.write(" ".join(str(i) for i in enc.encode(line, allowed_special="all")) + "\n")
    print(f"{d}: {n_base} ranks + {KIMI_RESERVED} specials, tiktoken {tiktoken.__version__}, "
          f"{sum(p.stat().st_size for p in d.iterdir())} bytes")


def unigram(lines: list[str]) -> None:
    """A SentencePiece-style unigram tokenizer.json (Metaspace, <unk>, byte fallback), as
    `tokenizers` writes one converted from a SentencePiece unigram model without a normalizer."""
    d = OUT / "unigram"
    d.mkdir(parents=True, exist_ok=True)
    bytes_ = [f"<0x{b:02X}>" for b in range(256)]
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    # Train on all but the CJK-heavy lines, so that some characters are unknown (byte fallback).
    # Lines with the special tokens' text are left out too: the trainer would learn them as pieces.
    train = [t for t in lines if not any("\u4e00" <= c <= "\u9fff" for c in t)
             and not any(sp in t for sp in ("<unk>", "<s>", "</s>"))]
    trainer = trainers.UnigramTrainer(vocab_size=1500, show_progress=False, unk_token="<unk>",
                                      special_tokens=["<unk>", "<s>", "</s>"] + bytes_, max_piece_length=12)
    tok.train_from_iterator(train, trainer)
    tj = json.loads(tok.to_str())
    tj["model"]["byte_fallback"] = True
    for a in tj["added_tokens"]:  # the byte pieces are vocabulary entries, not text to split out
        a["special"] = a["content"] in ("<unk>", "<s>", "</s>")
    tj["added_tokens"] = [a for a in tj["added_tokens"] if a["special"]]
    (d / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False, indent=1) + "\n")
    tc = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": False,
          "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 4096}
    (d / "tokenizer_config.json").write_text(json.dumps(tc, indent=1) + "\n")
    back = Tokenizer.from_file(str(d / "tokenizer.json"))
    with open(d / "ids.txt", "w") as f:
        for line in lines:
            f.write(" ".join(str(i) for i in back.encode(line, add_special_tokens=False).ids) + "\n")
    print(f"{d}: vocab {back.get_vocab_size()}, {sum(p.stat().st_size for p in d.iterdir())} bytes")


def _bytes_to_unicode() -> list[str]:
    """GPT-2's printable stand-ins for the 256 bytes (what byte-level BPE vocabularies store)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return [out[b] for b in range(256)]


def main() -> int:
    if tokenizers.__version__ != PIN:
        print(f"warning: tokenizers {tokenizers.__version__} != pinned {PIN}", file=sys.stderr)
    lines = corpus_lines()
    which = sys.argv[1:] or ["glm4", "kimi", "unigram"]
    if "glm4" in which:
        glm4(lines)
    if "kimi" in which:
        kimi(lines)
    if "unigram" in which:
        unigram(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
