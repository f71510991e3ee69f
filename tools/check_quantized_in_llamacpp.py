#!/usr/bin/env python3
"""Holds `hearth quantize` to llama.cpp, the independent reference (issue 3).

For every input model and target type:
  1. hearth quantize IN OUT_H TYPE  and  llama-quantize IN OUT_L TYPE;
  2. plan: the per-tensor types both chose (they must agree for the types llama.cpp shares);
  3. error: for each tensor type both produced, the RMSE against the F32 source of hearth's and
     llama.cpp's encodings, dequantized by the `gguf` Python package (a third implementation);
  4. load + greedy: OUT_H run greedily in llama.cpp (llama-simple) and in hearth
     (`hearth run --temp 0 --print-ids`, the ids rendered as llama-simple prints them: raw bytes,
     unused tokens as nothing) on the same prompt; the texts should be identical. On the
     random-weight models near-tied logits make the two engines part even for F16, so a parting
     there is a lead to look into, not proof of a format error; the default model is the real test.

Inputs: the tiny random-weight F32 fixtures (tests/fixtures/tiny/{llama,qwen2,qwen3}-f32.gguf,
rows of 64/96/160 so every K-quant falls back), a generated F32 model whose rows are all
multiples of 256 (so K-quant blocks are really written and read), and the default model
requantized from Q4_K_M with --allow-requantize.

Pinned: tools/requirements-quant.txt (gguf, numpy); llama.cpp at the commit llama-cpp-python
0.3.36 vendors, built in LLAMA_BIN. Prints markdown tables (recorded in bench/README.md).

    python tools/check_quantized_in_llamacpp.py --hearth build/hearth \
        --llama-bin ~/.cache/hearth/llama.cpp/build/bin [--default-model PATH] [--threads 2]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGUFReader, GGUFWriter
from gguf.quants import dequantize

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TINY_TYPES = ["Q8_0", "Q4_0", "Q5_0", "Q5_1", "Q4_1", "Q4_K_M", "Q5_K_M", "Q6_K", "F16", "BF16"]
K256_TYPES = ["Q8_0", "Q4_0", "Q4_K_M", "Q5_K_M", "Q6_K"]
DEFAULT_TYPES = ["Q8_0", "Q4_K_M", "Q6_K"]


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, **kw)
    if p.returncode != 0:
        sys.stderr.write(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode(errors='replace')[-3000:]}\n")
        raise SystemExit(1)
    return p


def tensors_f32(path):
    """name -> (type name, float32 array of the dequantized values)"""
    r = GGUFReader(path)
    out = {}
    for t in r.tensors:
        data = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(-1)
        out[t.name] = (t.tensor_type.name, data)
    return out


def make_k256_model(path, src_tok):
    """An F32 llama model whose every weight row is a multiple of 256 (width 256, FFN 512,
    vocab 320), with heavy-tailed random weights, and the tiny fixtures' tokenizer."""
    rng = np.random.default_rng(7)
    tok = GGUFReader(src_tok)
    w = GGUFWriter(path, "llama")
    n_embd, n_ff, n_layer, n_head, n_kv, n_vocab = 256, 512, 2, 4, 2, 320
    w.add_name("hearth-k256-llama")
    w.add_block_count(n_layer)
    w.add_context_length(256)
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(n_embd // n_head)
    w.add_vocab_size(n_vocab)
    w.add_file_type(0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tok.fields["tokenizer.ggml.tokens"].contents())
    w.add_token_types(tok.fields["tokenizer.ggml.token_type"].contents())
    w.add_token_merges(tok.fields["tokenizer.ggml.merges"].contents())
    w.add_bos_token_id(286)
    w.add_eos_token_id(287)
    w.add_add_bos_token(False)

    def mat(rows, cols, sd):  # GGUF shape [cols, rows]: numpy (rows, cols)
        return (sd * rng.standard_t(5, size=(rows, cols))).astype(np.float32)

    hd = n_embd // n_head
    w.add_tensor("token_embd.weight", mat(n_vocab, n_embd, 0.5))
    for i in range(n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", (1 + 0.1 * rng.standard_normal(n_embd)).astype(np.float32))
        w.add_tensor(p + "attn_q.weight", mat(n_embd, n_embd, 0.08))
        w.add_tensor(p + "attn_k.weight", mat(n_kv * hd, n_embd, 0.08))
        w.add_tensor(p + "attn_v.weight", mat(n_kv * hd, n_embd, 0.08))
        w.add_tensor(p + "attn_output.weight", mat(n_embd, n_embd, 0.08))
        w.add_tensor(p + "ffn_norm.weight", (1 + 0.1 * rng.standard_normal(n_embd)).astype(np.float32))
        w.add_tensor(p + "ffn_gate.weight", mat(n_ff, n_embd, 0.08))
        w.add_tensor(p + "ffn_up.weight", mat(n_ff, n_embd, 0.08))
        w.add_tensor(p + "ffn_down.weight", mat(n_embd, n_ff, 0.06))
    w.add_tensor("output_norm.weight", (1 + 0.1 * rng.standard_normal(n_embd)).astype(np.float32))
    w.add_tensor("output.weight", mat(n_vocab, n_embd, 0.1))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def byte_decoder():
    """GPT-2's byte-level alphabet: printable stand-ins back to bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def llama_style_text(model, prompt, ids):
    """What llama-simple prints for these generated ids: raw token bytes (no U+FFFD repair, as
    hearth's streaming printer does), control tokens as their text, unused tokens as nothing."""
    r = GGUFReader(model)
    toks = r.fields["tokenizer.ggml.tokens"].contents()
    types = r.fields["tokenizer.ggml.token_type"].contents()
    dec = byte_decoder()
    eos = r.fields["tokenizer.ggml.eos_token_id"].contents() if "tokenizer.ggml.eos_token_id" in r.fields else None
    if ids and ids[-1] == eos:  # llama-simple stops at end-of-generation without printing it
        ids = ids[:-1]
    out = prompt.encode()
    for i in ids:
        if types[i] == 5:  # UNUSED
            continue
        if types[i] == 3:  # CONTROL
            out += toks[i].encode()
            continue
        out += bytes(dec[c] for c in toks[i]) if all(c in dec for c in toks[i]) else toks[i].encode()
    return out + b"\n"


def greedy_hearth(hearth, model, prompt, n, threads):
    p = run([hearth, "run", "-m", model, "-p", prompt, "-n", str(n), "--temp", "0", "-t", str(threads), "--print-ids"])
    ids = [int(v) for line in p.stdout.decode(errors="replace").splitlines() if line.startswith("ids:") for v in line.split()[1:]]
    return llama_style_text(model, prompt, ids)


def greedy_llama(llama_bin, model, prompt, n):
    p = run([os.path.join(llama_bin, "llama-simple"), "-m", model, "-n", str(n), prompt])
    return p.stdout


def compare(args, src, label, types, prompt, n_tokens, allow_requantize, keep=None):
    plan_rows, err_rows, greedy_rows = [], [], []
    ref = tensors_f32(src) if not allow_requantize else None
    for ty in types:
        with tempfile.TemporaryDirectory() as d:
            out_h = keep if (keep and ty == "Q8_0") else os.path.join(d, "h.gguf")
            out_l = os.path.join(d, "l.gguf")
            hq = [args.hearth, "quantize", src, out_h, ty, "-t", str(args.threads)]
            lq = [os.path.join(args.llama_bin, "llama-quantize")]
            if allow_requantize:
                hq.append("--allow-requantize")
                lq.append("--allow-requantize")
            run(hq)
            has_lq = os.path.exists(lq[0])
            h = tensors_f32(out_h)
            if has_lq:
                run(lq + [src, out_l, ty, str(args.threads)])
                l = tensors_f32(out_l)
            else:  # llama-quantize not built: only the load + greedy check
                l = h
            diff = [k for k in h if h[k][0] != l.get(k, ("-",))[0]]
            if has_lq:
                plan_rows.append((label, ty, len(h), len(diff), ", ".join(f"{k}: {h[k][0]} vs {l[k][0]}" for k in diff[:4])))
            if ref is not None and has_lq:
                per = {}
                for k, (tname, hv) in h.items():
                    if l[k][0] != tname or ref[k][0] == tname:
                        continue
                    x = ref[k][1]
                    e = per.setdefault(tname, [0.0, 0.0, 0.0, 0])
                    e[0] += float(np.sum((hv - x).astype(np.float64) ** 2))
                    e[1] += float(np.sum((l[k][1] - x).astype(np.float64) ** 2))
                    e[2] += float(np.sum(x.astype(np.float64) ** 2))
                    e[3] += x.size
                for tname, (eh, el, ex, n) in sorted(per.items()):
                    err_rows.append((label, ty, tname, n, np.sqrt(eh / ex), np.sqrt(el / ex)))
            th = greedy_hearth(args.hearth, out_h, prompt, n_tokens, args.threads)
            tl = greedy_llama(args.llama_bin, out_h, prompt, n_tokens)
            same = th == tl
            greedy_rows.append((label, ty, same, th if same else (th, tl)))
            print(f"{label} {ty}: greedy {'same' if same else 'DIFFERENT'}", file=sys.stderr, flush=True)
    return plan_rows, err_rows, greedy_rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hearth", default=os.path.join(ROOT, "build", "hearth"))
    ap.add_argument("--llama-bin", default=os.path.expanduser("~/.cache/hearth/llama.cpp/build/bin"))
    ap.add_argument("--default-model", default=os.path.expanduser("~/.cache/hearth/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
    ap.add_argument("--keep-q8", default=os.path.expanduser("~/.cache/hearth/models/qwen2.5-coder-0.5b-instruct-q8_0.gguf"),
                    help="where to keep hearth's Q8_0 of the default model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-default", action="store_true")
    args = ap.parse_args()

    plans, errs, greedy = [], [], []
    tiny = os.path.join(ROOT, "tests", "fixtures", "tiny")
    for stem in ["llama", "qwen2", "qwen3"]:
        r = compare(args, os.path.join(tiny, f"{stem}-f32.gguf"), f"tiny {stem}", TINY_TYPES, "Hello world, the", 24, False)
        for acc, part in zip((plans, errs, greedy), r):
            acc.extend(part)
    with tempfile.TemporaryDirectory() as d:
        k256 = os.path.join(d, "k256-f32.gguf")
        make_k256_model(k256, os.path.join(tiny, "llama-f32.gguf"))
        r = compare(args, k256, "k256 llama", K256_TYPES, "Hello world, the", 24, False)
        for acc, part in zip((plans, errs, greedy), r):
            acc.extend(part)
    if not args.skip_default and os.path.exists(args.default_model):
        r = compare(args, args.default_model, "default (requant)", DEFAULT_TYPES, "def fib(n):", 32, True, keep=args.keep_q8)
        for acc, part in zip((plans, errs, greedy), r):
            acc.extend(part)

    print(f"gguf {gguf.__version__ if hasattr(gguf, '__version__') else '?'}, numpy {np.__version__}\n")
    print("| model | type | tensors | type differs from llama-quantize | examples |")
    print("|---|---|---:|---:|---|")
    for row in plans:
        print("| %s | %s | %d | %d | %s |" % row)
    print("\n| model | type | tensor type | elements | rel. RMSE hearth | rel. RMSE llama.cpp | hearth / llama.cpp |")
    print("|---|---|---|---:|---:|---:|---:|")
    for label, ty, tname, n, eh, el in errs:
        print(f"| {label} | {ty} | {tname} | {n} | {eh:.5f} | {el:.5f} | {eh / el if el else float('nan'):.3f} |")
    print("\n| model | type | greedy text identical (hearth run vs llama-simple, hearth's file) |")
    print("|---|---|---|")
    bad = 0
    for label, ty, same, text in greedy:
        if same:
            print(f"| {label} | {ty} | yes: {text.decode(errors='replace').strip()[:60]!r} |")
        else:
            bad += 1
            print(f"| {label} | {ty} | NO: hearth {text[0].decode(errors='replace').strip()[:50]!r} llama {text[1].decode(errors='replace').strip()[:50]!r} |")
    plan_bad = sum(1 for r in plans if r[3])
    print(f"\nplan mismatches: {plan_bad}, greedy mismatches: {bad}")
    sys.exit(1 if bad or plan_bad else 0)


if __name__ == "__main__":
    main()
