#!/usr/bin/env python3
"""Generate llama.cpp reference (golden) outputs for hearth's default model.

Usage:
    python3 tools/gen_default_model_goldens.py MODEL.gguf OUT.json [--threads N] [--flash-attn]

    e.g.
    python3 tools/gen_default_model_goldens.py /root/.cache/hearth/qwen.gguf \
        tests/fixtures/default_model/llamacpp_greedy.json

Pinned dependencies (see tools/requirements-llamacpp.txt):
    llama-cpp-python==0.3.36   (vendors ggml-org/llama.cpp@0c1e57098bba43ac29e6e3b677cdceebdd22334f)
    numpy (any 1.x/2.x)

llama-cpp-python builds llama.cpp from source; the reference fixture was built with
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAMA_CURL=OFF"
    CMAKE_BUILD_PARALLEL_LEVEL=2 pip install llama-cpp-python==0.3.36
A prebuilt wheel may be cached in /root/.cache/hearth/wheels/ (pip install <that wheel>).

What is recorded, per prompt (see "format" in the output JSON for the authoritative description):
  * prompt text, prompt token ids exactly as llama.cpp tokenized them
    (llama_tokenize(add_special=True, parse_special=True), i.e. llama.cpp's default
    add-BOS behaviour for this file) and also the ids without BOS (add_special=False)
  * 64 greedily generated token ids (argmax, lowest id wins ties; EOS/EOG is NOT a stop
    condition: exactly 64 tokens are always generated). The step at which llama.cpp
    would have stopped (first end-of-generation token) is recorded as first_eog_step.
  * for each generation step: top-5 (id, logit) and the log-sum-exp of the full logits row
  * for the last prompt position (= step 0): top-20 (id, logit) and summary stats of the
    full 151936-float logits row.
Default is 1 thread: logits were checked bit-identical with --threads 2 (with OMP_WAIT_POLICY=passive;
on a busy 2-core box OpenMP's spin-waiting makes 2 threads 3-10x slower). --flash-attn changes
logits by up to ~0.3 and flips greedy choices, so the fixture is made with flash attention off.
Logits are only requested for the last token of each batch (logits_all=False, like
llama-cli); they are read with llama_get_logits_ith(ctx, -1).
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import math
import os
import platform
import sys
import time

import numpy as np

import llama_cpp
from llama_cpp import Llama

LLAMA_CPP_COMMIT = "0c1e57098bba43ac29e6e3b677cdceebdd22334f"  # vendored by llama-cpp-python 0.3.36
EXPECTED_PY_VERSION = "0.3.36"

N_CTX = 2048
N_BATCH = 512
N_GEN = 64
TOP_K_STEP = 5
TOP_K_PROMPT = 20
LOGIT_DECIMALS = 5

IM = "<|im_start|>"
IE = "<|im_end|>"


def chat(system: str, user: str) -> str:
    return f"{IM}system\n{system}{IE}\n{IM}user\n{user}{IE}\n{IM}assistant\n"


LONG_PROMPT = (
    "The following is an excerpt from the design notes of a small inference engine.\n\n"
    "Memory layout. Every tensor in the model file is memory-mapped read-only, so that "
    "loading a model costs almost nothing until the weights are actually touched. Quantized "
    "tensors are stored in blocks: a block of 256 weights shares one or two half-precision "
    "scales and a set of 6-bit sub-block scales and minimums, which is why a Q4_K tensor "
    "occupies roughly 4.5 bits per weight. The key/value cache, in contrast, is allocated once "
    "at start-up for the full context length and stored in half precision.\n\n"
    "Threading. Matrix-vector products are split by rows across worker threads. Each thread "
    "owns a contiguous range of output rows and writes its results directly, so no reduction "
    "step is needed and the results do not depend on the number of threads. Attention is "
    "computed per head; the softmax uses the usual max-subtraction trick for numerical "
    "stability.\n\n"
    "Sampling. Greedy decoding picks the token with the largest logit. When two logits are "
    "exactly equal, the token with the smaller id wins. Temperature, top-k and top-p sampling "
    "are implemented on top of the same logits buffer, after an optional repetition penalty.\n\n"
    "def softmax(xs):\n"
    "    m = max(xs)\n"
    "    es = [math.exp(x - m) for x in xs]\n"
    "    s = sum(es)\n"
    "    return [e / s for e in es]\n\n"
    "Question: why does the engine subtract the maximum before exponentiating?\n"
    "Answer:"
)

PROMPTS: list[tuple[str, str, str]] = [
    # (name, kind, text)
    ("english_capital", "english", "The capital of France is"),
    ("python_fib", "code-python",
     "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"),
    ("chat_prime", "chat",
     chat("You are a helpful assistant.",
          "Write a Python function that checks whether a number is prime.")),
    ("english_story", "english",
     "Once upon a time, in a small village at the edge of a great forest, there lived"),
    ("c_main", "code-c",
     "#include <stdio.h>\n#include <stdlib.h>\n\n/* Print the first n squares. */\nint main(int argc, char **argv) {\n"),
    ("sql_top_customers", "code-sql",
     "-- Table orders(id, customer_id, amount, created_at)\n"
     "-- Select the ten customers with the highest total order amount in 2023.\n"
     "SELECT"),
    ("chinese_beijing", "chinese", "中国的首都是北京。北京是一座历史悠久的城市，"),
    ("chat_chinese_quicksort", "chat-chinese",
     chat("你是一个乐于助人的编程助手。", "请用Python写一个快速排序函数，并解释它的时间复杂度。")),
    ("numbers_fib_seq", "numbers", "1, 1, 2, 3, 5, 8, 13, 21, 34,"),
    ("numbers_arith", "numbers",
     "Compute the following.\n12 + 30 = 42\n7 * 8 = 56\n1000 - 1 = 999\n3.5 * 2 = 7\n256 / 16 ="),
    ("long_design_notes", "long-english-code", LONG_PROMPT),
    ("chat_sql", "chat",
     chat("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
          "Explain the difference between INNER JOIN and LEFT JOIN in SQL with a short example.")),
    ("python_class", "code-python",
     "import dataclasses\n\n\n@dataclasses.dataclass\nclass Point:\n    x: float\n    y: float\n\n    def norm(self) -> float:\n"),
    ("whitespace_unicode", "english-unicode",
     "  Résumé: naïve café owner 😀\tlikes   spaces.\n\nIn summary,"),
    ("single_word", "english", "Hello"),
]


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rf(x: float) -> float:
    return round(float(x), LOGIT_DECIMALS)


def topk(logits: np.ndarray, k: int) -> tuple[list[int], list[float]]:
    # stable: descending logit, ascending id on ties
    idx = np.lexsort((np.arange(logits.shape[0]), -logits.astype(np.float64)))[:k]
    return [int(i) for i in idx], [rf(logits[i]) for i in idx]


def logsumexp(logits: np.ndarray) -> float:
    x = logits.astype(np.float64)
    m = float(x.max())
    return m + math.log(float(np.exp(x - m).sum()))


def piece(llm: Llama, tok: int) -> str:
    b = llm.detokenize([tok], special=True)
    return b.decode("utf-8", errors="backslashreplace")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--flash-attn", action="store_true", help="enable flash attention (default: disabled)")
    ap.add_argument("--only", default=None, help="comma-separated prompt names (for quick checks)")
    args = ap.parse_args()

    if llama_cpp.__version__ != EXPECTED_PY_VERSION:
        print(f"warning: llama-cpp-python {llama_cpp.__version__} != pinned {EXPECTED_PY_VERSION}",
              file=sys.stderr)

    model_sha = sha256_file(args.model)
    llm = Llama(
        model_path=args.model,
        n_ctx=N_CTX,
        n_batch=N_BATCH,
        n_ubatch=N_BATCH,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_gpu_layers=0,
        logits_all=False,
        flash_attn=args.flash_attn,
        use_mmap=True,
        seed=0,
        verbose=False,
    )
    n_vocab = llm.n_vocab()
    model = llm._model
    vocab = model.vocab
    ctx = llm._ctx.ctx

    tok_info = {
        "n_vocab": n_vocab,
        "bos_id": int(llama_cpp.llama_vocab_bos(vocab)),
        "eos_id": int(llama_cpp.llama_vocab_eos(vocab)),
        "eot_id": int(llama_cpp.llama_vocab_eot(vocab)),
        "pad_id": int(llama_cpp.llama_vocab_pad(vocab)),
        "nl_id": int(llama_cpp.llama_vocab_nl(vocab)),
        "add_bos (llama_vocab_get_add_bos)": bool(llama_cpp.llama_vocab_get_add_bos(vocab)),
        "add_eos (llama_vocab_get_add_eos)": bool(llama_cpp.llama_vocab_get_add_eos(vocab)),
    }

    # llama.cpp's own view of special tokens (it can re-mark tokens, e.g. by their text)
    tok_info["eog_ids"] = [i for i in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, i)]
    tok_info["control_ids"] = [i for i in range(n_vocab) if llama_cpp.llama_vocab_is_control(vocab, i)]
    tok_info["special_pieces"] = {str(i): piece(llm, i) for i in sorted(set(tok_info["eog_ids"] + tok_info["control_ids"]))}
    tok_info["fim_ids"] = {k: int(getattr(llama_cpp, "llama_vocab_fim_" + k)(vocab))
                           for k in ("pre", "suf", "mid", "pad", "rep", "sep")}

    meta_keys = [k for k in llm.metadata if k.startswith("tokenizer.ggml.") and k not in (
        "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges")]
    gguf_tok_meta = {k: llm.metadata[k] for k in sorted(meta_keys)}

    selected = set(args.only.split(",")) if args.only else None
    results = []
    total_gen_ms = 0.0
    total_gen_tokens = 0
    total_pp_ms = 0.0
    total_pp_tokens = 0
    for name, kind, text in PROMPTS:
        if selected is not None and name not in selected:
            continue
        ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
        ids_nobos = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        ids_nospecial = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        assert len(ids) + N_GEN <= N_CTX

        llm.reset()
        llama_cpp.llama_perf_context_reset(ctx)
        t0 = time.perf_counter()
        llm.eval(ids)
        t_pp = time.perf_counter() - t0

        steps = []
        gen = []
        first_eog = None
        t_gen = 0.0
        prompt_last = None
        for step in range(N_GEN):
            ptr = llama_cpp.llama_get_logits_ith(ctx, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(n_vocab,)).copy()
            if not np.all(np.isfinite(logits)):
                raise RuntimeError(f"non-finite logits in {name} step {step}")
            tok = int(np.argmax(logits))  # first max wins, like llama.cpp's greedy sampler
            tids, tlog = topk(logits, TOP_K_STEP)
            assert tids[0] == tok
            steps.append({"top_ids": tids, "top_logits": tlog, "logsumexp": rf(logsumexp(logits))})
            if step == 0:
                pids, plog = topk(logits, TOP_K_PROMPT)
                x = logits.astype(np.float64)
                prompt_last = {
                    "top_ids": pids,
                    "top_logits": plog,
                    "stats": {
                        "mean": rf(x.mean()), "std": rf(x.std()), "min": rf(x.min()),
                        "max": rf(x.max()), "l2_norm": rf(np.sqrt((x * x).sum())),
                        "logsumexp": rf(logsumexp(logits)),
                        "argmin": int(np.argmin(logits)),
                    },
                }
            gen.append(tok)
            if first_eog is None and llama_cpp.llama_vocab_is_eog(vocab, tok):
                first_eog = step
            if step + 1 < N_GEN:
                t1 = time.perf_counter()
                llm.eval([tok])
                t_gen += time.perf_counter() - t1

        total_gen_ms += t_gen * 1e3
        total_gen_tokens += N_GEN - 1
        total_pp_ms += t_pp * 1e3
        total_pp_tokens += len(ids)
        gen_text = llm.detokenize(gen, special=True).decode("utf-8", errors="backslashreplace")
        results.append({
            "name": name,
            "kind": kind,
            "prompt": text,
            "prompt_ids": ids,
            "prompt_ids_no_bos": ids_nobos,
            "prompt_ids_no_special_parse": ids_nospecial,
            "n_prompt": len(ids),
            "generated_ids": gen,
            "generated_text": gen_text,
            "first_eog_step": first_eog,
            "prompt_last_logits": prompt_last,
            "steps": steps,
            "timing_ms": {"prompt_eval": round(t_pp * 1e3, 1), "gen_63_tokens": round(t_gen * 1e3, 1)},
        })
        print(f"{name}: n_prompt={len(ids)} pp={len(ids) / t_pp:.1f} tok/s "
              f"tg={(N_GEN - 1) / t_gen:.1f} tok/s eog@{first_eog} :: {gen_text[:60]!r}",
              file=sys.stderr, flush=True)

    out = {
        "format": {
            "version": 1,
            "description": (
                "llama.cpp greedy reference for hearth's default model. For each prompt: "
                "prompt_ids = llama_tokenize(prompt, add_special=true, parse_special=true) as fed to "
                "the model (includes llama.cpp's BOS if it adds one for this file); "
                "prompt_ids_no_bos = same with add_special=false; prompt_ids_no_special_parse = "
                "add_special=false, parse_special=false. generated_ids = 64 greedy tokens (argmax, "
                "smallest id on ties), EOG never stops generation; first_eog_step = index in "
                "generated_ids of the first end-of-generation token (null if none), i.e. where "
                "llama.cpp would have stopped. steps[i] describes the logits used to choose "
                "generated_ids[i] (steps[0] = last prompt position, steps[i>0] = after feeding "
                "generated_ids[i-1]): top_ids/top_logits = top-5 by logit (descending, ties by "
                "ascending id), logsumexp = log(sum(exp(logits))) over the full vocab, so "
                "log p(id) = logit - logsumexp. prompt_last_logits = top-20 of the last prompt "
                "position plus stats of the full raw logits row. Logits rounded to 5 decimals."
            ),
        },
        "generator": {
            "script": "tools/gen_default_model_goldens.py",
            "llama_cpp_python_version": llama_cpp.__version__,
            "llama_cpp_commit": LLAMA_CPP_COMMIT,
            "llama_cpp_repo": "ggml-org/llama.cpp",
            "system_info": llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").strip(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
            "generated_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "model": {
            "file": os.path.basename(args.model),
            "sha256": model_sha,
            "size_bytes": os.path.getsize(args.model),
            "desc": model.desc(),
            "n_params": int(model.n_params()),
            "n_ctx_train": int(model.n_ctx_train()),
            "gguf_tokenizer_metadata": gguf_tok_meta,
            "general.name": llm.metadata.get("general.name"),
            "general.architecture": llm.metadata.get("general.architecture"),
        },
        "tokenizer": tok_info,
        "settings": {
            "n_ctx": N_CTX,
            "n_batch": N_BATCH,
            "n_ubatch": N_BATCH,
            "n_threads": args.threads,
            "n_threads_batch": args.threads,
            "n_gpu_layers": 0,
            "flash_attn": bool(args.flash_attn),
            "kv_cache_type": "f16 (llama.cpp default)",
            "logits_all": False,
            "sampling": "greedy argmax over raw logits (temperature 0 / top_k 1), no repetition penalty",
            "n_generate": N_GEN,
            "stop_at_eos": False,
            "tokenize_add_bos_flag": True,
            "tokenize_parse_special": True,
            "prompt_batching": "whole prompt in one llama_decode (all prompts < n_batch), then one token per decode",
        },
        "perf": {
            "threads": args.threads,
            "prompt_tokens": total_pp_tokens,
            "prompt_eval_tok_per_s": round(total_pp_tokens / (total_pp_ms / 1e3), 2) if total_pp_ms else None,
            "gen_tokens": total_gen_tokens,
            "gen_tok_per_s": round(total_gen_tokens / (total_gen_ms / 1e3), 2) if total_gen_ms else None,
            "note": "wall-clock around llama_decode via llama-cpp-python on a shared 2-core VM; indicative only",
        },
        "prompts": results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes); "
          f"pp {out['perf']['prompt_eval_tok_per_s']} tok/s, tg {out['perf']['gen_tok_per_s']} tok/s "
          f"@ {args.threads} threads", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
