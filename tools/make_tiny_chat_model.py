#!/usr/bin/env python3
"""Writes tests/fixtures/tiny_chat/qwen3-chat-q8_0.gguf: the tiny random-weight Qwen3 fixture
(tests/fixtures/tiny/qwen3-q8_0.gguf, from tools/make_tiny_models.py) with Qwen3's own chat
template (tests/fixtures/chat/templates/Qwen-Qwen3-0.6B.jinja) as tokenizer.chat_template, so
the server's end-to-end test has a model whose template reads chat_template_kwargs
(enable_thinking). Every other key and tensor is copied unchanged with the `gguf` package
(llama.cpp's own reader and writer).

Pinned: gguf==0.19.0, numpy==2.4.6 (tools/requirements-gguf.txt).
Re-run:  pip install -r tools/requirements-gguf.txt && python3 tools/make_tiny_chat_model.py
"""
import sys
from importlib.metadata import version
from pathlib import Path

import gguf

PINS = {"gguf": "0.19.0"}
ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "tests/fixtures/tiny/qwen3-q8_0.gguf"
TEMPLATE = ROOT / "tests/fixtures/chat/templates/Qwen-Qwen3-0.6B.jinja"
OUT = ROOT / "tests/fixtures/tiny_chat/qwen3-chat-q8_0.gguf"


def main():
    for pkg, want in PINS.items():
        if version(pkg) != want:
            sys.exit(f"{pkg} {version(pkg)} is installed, this script is pinned to {want}")
    reader = gguf.GGUFReader(SRC)
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(OUT, arch)
    for key, field in reader.fields.items():
        # The header fields are the reader's own; the architecture the writer writes itself.
        if key.startswith("GGUF.") or key == "general.architecture" or key == "tokenizer.chat_template":
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub_type=sub)
    writer.add_chat_template(TEMPLATE.read_text())
    for t in reader.tensors:
        writer.add_tensor(t.name, t.data, raw_shape=t.data.shape, raw_dtype=t.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    # Read back: the same tensors and keys, and the template.
    back = gguf.GGUFReader(OUT)
    assert back.fields["tokenizer.chat_template"].contents() == TEMPLATE.read_text()
    for a, b in zip(reader.tensors, back.tensors, strict=True):
        assert a.name == b.name and a.tensor_type == b.tensor_type and bytes(a.data) == bytes(b.data), a.name
    for key in reader.fields:
        if not key.startswith("GGUF."):
            assert back.fields[key].contents() == reader.fields[key].contents(), key
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
