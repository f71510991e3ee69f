#!/usr/bin/env python3
"""llama.cpp's greedy tokens, logits and expert choices on the tiny MoE / MLA fixtures.

For each tests/fixtures/tiny_moe/<stem>.gguf this writes <stem>.llamacpp.json: for every prompt of
manifest.json, the N (default 8) tokens llama.cpp picks greedily, its logits at each of those
steps (step 0 = the last prompt position), and, for the prompt batch, every MoE layer's router
logits and chosen experts. Files llama.cpp refuses to load get {"refused": true, "error": ...}
with llama.cpp's own message, so the golden test can say which file and why.

llama.cpp runs through tools/gen_tiny_moe_llamacpp.cpp, a small program this script compiles
against a llama.cpp build (the llama-cpp-python 0.3.36 sdist's vendored llama.cpp, built CPU-only
as bench/cpu_vs_llamacpp.sh does): one thread, F32 KV cache, no flash attention, a fresh context
per prompt. Only the C compiler and Python's standard library are needed (no numpy, no wheel).

    python3 tools/gen_tiny_moe_llamacpp.py [--llama-dir ~/.cache/hearth/llama.cpp] [--n-gen 8]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS = {"llama_cpp_python_sdist": "0.3.36"}


def build_helper(llama_dir: Path, out: Path) -> None:
    lib_dirs = sorted({str(p.parent) for p in (llama_dir / "build").rglob("libllama.so")})
    lib_dirs += sorted({str(p.parent) for p in (llama_dir / "build").rglob("libggml*.so")} - set(lib_dirs))
    if not lib_dirs:
        sys.exit(f"no libllama.so under {llama_dir}/build: build llama.cpp there first")
    cmd = ["g++", "-std=c++17", "-O1", str(ROOT / "tools/gen_tiny_moe_llamacpp.cpp"), "-o", str(out),
           f"-I{llama_dir}/include", f"-I{llama_dir}/ggml/include"]
    for d in lib_dirs:
        cmd += [f"-L{d}", f"-Wl,-rpath,{d}"]
    cmd += ["-lllama", "-lggml", "-lggml-base"]
    subprocess.run(cmd, check=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(ROOT / "tests/fixtures/tiny_moe"))
    ap.add_argument("--llama-dir", default=os.path.join(os.environ.get("HEARTH_CACHE", os.path.expanduser("~/.cache/hearth")),
                                                        "llama.cpp"))
    ap.add_argument("--n-gen", type=int, default=8)
    args = ap.parse_args()
    d = Path(args.dir)
    manifest = json.loads((d / "manifest.json").read_text())
    prompts = manifest["prompts"]
    with tempfile.TemporaryDirectory() as tmp:
        helper = Path(tmp) / "gen_tiny_moe_llamacpp"
        build_helper(Path(args.llama_dir), helper)
        for path in sorted(d.glob("*.gguf")):
            stem = path.name[:-5]
            record = {
                "generator": "tools/gen_tiny_moe_llamacpp.py",
                "versions": PINS,
                "settings": "CPU, 1 thread, F32 KV cache, flash attention off, fresh context per prompt, "
                            "prompt in one batch, then one token per llama_decode",
                "gguf": path.name,
                "gguf_sha256": sha256(path),
            }
            run = subprocess.run([str(helper), str(path), str(args.n_gen)] + [",".join(map(str, p)) for p in prompts],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                # llama.cpp's own error lines (its log is silenced but for errors).
                # The fixture directory's path is machine-specific: keep the file name only.
                lines = [ln.strip().replace(str(path), path.name) for ln in run.stderr.splitlines() if ln.strip()]
                record.update(refused=True, error="; ".join(lines[-3:]))
                print(f"{stem}: llama.cpp refused: {record['error']}")
            else:
                out = json.loads(run.stdout)
                record.update(refused=False, n_gen=args.n_gen, n_vocab=out["n_vocab"], prompts=out["prompts"])
                print(f"{stem}: " + " | ".join(" ".join(map(str, p["greedy"])) for p in out["prompts"]))
            (d / f"{stem}.llamacpp.json").write_text(json.dumps(record, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
