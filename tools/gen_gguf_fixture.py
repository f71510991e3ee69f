#!/usr/bin/env python3
"""Writes the GGUF reader's reference fixtures with the Python `gguf` package (llama.cpp's
own writer), so tests/unit/test_gguf.cpp checks hearth's reader against an independent
implementation rather than against hearth's own writer.

Pinned: gguf==0.19.0, numpy==2.4.6 (see tools/requirements-gguf.txt).
Re-run:  pip install -r tools/requirements-gguf.txt && python3 tools/gen_gguf_fixture.py

Outputs in tests/fixtures/gguf/:
  reference.gguf / reference.json      many value types, F32/F16/Q8_0/I32 tensors, alignment 32
  aligned64.gguf / aligned64.json      custom general.alignment = 64
  bigendian.gguf                       a big-endian file (must be rejected)
and the libFuzzer seeds in fuzz/seeds/ (small valid files: the two above, a v2 copy, a
metadata-only file and a hand-packed one with empty and nested arrays).
The JSON holds the metadata exactly as written (float32 values pre-rounded) and the tensor
infos and data bytes as the Python GGUFReader reads them back.
"""
import json
import sys
from pathlib import Path

import numpy as np

import gguf
from gguf import GGMLQuantizationType as QT
from gguf import GGUFValueType as VT

PINS = {"gguf": "0.19.0", "numpy": "2.4.6"}
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "gguf"
SEEDS = ROOT / "fuzz" / "seeds"


def check_pins():
    from importlib.metadata import version

    for pkg, want in PINS.items():
        got = version(pkg)
        if got != want:
            sys.exit(f"{pkg} {got} is installed, this script is pinned to {want}")


def f32(x):
    return float(np.float32(x))


def jv(vtype, value, sub=None):
    """JSON form of one value: {"type", "value"} and, for arrays, "elem_type"."""
    if vtype == VT.ARRAY:
        return {"type": "ARRAY", "elem_type": sub.name, "value": value}
    return {"type": vtype.name, "value": value}


def plain(v):
    if v["type"] == "ARRAY":
        return [plain(x) for x in v["value"]]
    return v["value"]


def scalar_items(vtype, values):
    return [jv(vtype, v) for v in values]


def write_reference(path_gguf, path_json, alignment=None, with_tensors=True):
    w = gguf.GGUFWriter(str(path_gguf), arch="testarch")
    meta = {"general.architecture": jv(VT.STRING, "testarch")}

    def add(key, vtype, value, expect=None, sub=None):
        w.add_key_value(key, value, vtype, sub_type=sub)
        meta[key] = expect if expect is not None else jv(vtype, value)

    if alignment is not None:
        w.add_custom_alignment(alignment)
        meta["general.alignment"] = jv(VT.UINT32, alignment)

    add("test.u8", VT.UINT8, 255)
    add("test.i8", VT.INT8, -128)
    add("test.u16", VT.UINT16, 65535)
    add("test.i16", VT.INT16, -32768)
    add("test.u32", VT.UINT32, 4294967295)
    add("test.i32", VT.INT32, -2147483648)
    add("test.u64", VT.UINT64, 18446744073709551615)
    add("test.i64", VT.INT64, -9223372036854775808)
    add("test.f32", VT.FLOAT32, 3.14159, jv(VT.FLOAT32, f32(3.14159)))
    add("test.f64", VT.FLOAT64, -2.718281828459045e-300)
    add("test.bool_true", VT.BOOL, True)
    add("test.bool_false", VT.BOOL, False)
    add("test.string", VT.STRING, "héllo wörld ✓ 🦙 日本語")
    add("test.string_ctrl", VT.STRING, "tab\there\nnewline \"quoted\" nul\x00end")
    add("test.string_empty", VT.STRING, "")
    add("test.arr_i32", VT.ARRAY, [1, -2, 3, 2147483647],
        jv(VT.ARRAY, scalar_items(VT.INT32, [1, -2, 3, 2147483647]), VT.INT32), VT.INT32)
    add("test.arr_u64", VT.ARRAY, [0, 1, 18446744073709551615],
        jv(VT.ARRAY, scalar_items(VT.UINT64, [0, 1, 18446744073709551615]), VT.UINT64), VT.UINT64)
    add("test.arr_u8", VT.ARRAY, [0, 7, 255], jv(VT.ARRAY, scalar_items(VT.UINT8, [0, 7, 255]), VT.UINT8), VT.UINT8)
    add("test.arr_i16", VT.ARRAY, [-5, 5], jv(VT.ARRAY, scalar_items(VT.INT16, [-5, 5]), VT.INT16), VT.INT16)
    fl = [0.5, -1.25, 1e-7, 3.3]
    add("test.arr_f32", VT.ARRAY, fl, jv(VT.ARRAY, scalar_items(VT.FLOAT32, [f32(x) for x in fl]), VT.FLOAT32), VT.FLOAT32)
    add("test.arr_f64", VT.ARRAY, [1.0 / 3.0, -0.0],
        jv(VT.ARRAY, scalar_items(VT.FLOAT64, [1.0 / 3.0, -0.0]), VT.FLOAT64), VT.FLOAT64)
    add("test.arr_bool", VT.ARRAY, [True, False, True],
        jv(VT.ARRAY, scalar_items(VT.BOOL, [True, False, True]), VT.BOOL), VT.BOOL)
    strs = ["a", "", "ünï", "Ġhello", "<|im_start|>"]
    add("test.arr_str", VT.ARRAY, strs, jv(VT.ARRAY, scalar_items(VT.STRING, strs), VT.STRING), VT.STRING)
    # Nested: the Python writer infers the inner element type (int -> INT32, str -> STRING).
    nested = [[1, 2], [3], [4, 5, 6]]
    add("test.arr_nested", VT.ARRAY, nested,
        jv(VT.ARRAY, [jv(VT.ARRAY, scalar_items(VT.INT32, x), VT.INT32) for x in nested], VT.ARRAY), VT.ARRAY)
    nested_s = [["x", "y"], ["z"]]
    add("test.arr_nested_str", VT.ARRAY, nested_s,
        jv(VT.ARRAY, [jv(VT.ARRAY, scalar_items(VT.STRING, x), VT.STRING) for x in nested_s], VT.ARRAY), VT.ARRAY)

    if with_tensors:
        rng = np.random.default_rng(1234)
        t_f32 = rng.standard_normal((4, 3)).astype(np.float32)       # GGUF shape [3, 4]
        t_f16 = rng.standard_normal((2, 5)).astype(np.float16)       # GGUF shape [5, 2]
        q_src = rng.standard_normal((2, 64)).astype(np.float32)
        t_q8 = gguf.quants.quantize(q_src, QT.Q8_0)                  # bytes (2, 68), GGUF shape [64, 2]
        t_i32 = np.arange(-3, 4, dtype=np.int32)                     # GGUF shape [7]
        t_3d = rng.standard_normal((2, 3, 4)).astype(np.float32)    # GGUF shape [4, 3, 2]
        w.add_tensor("tok_embd.weight", t_f32)
        w.add_tensor("blk.0.attn_norm.weight", t_f16)
        w.add_tensor("blk.0.attn_q.weight", t_q8, raw_dtype=QT.Q8_0)
        w.add_tensor("positions", t_i32)
        w.add_tensor("blk.0.cube", t_3d)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    r = gguf.GGUFReader(str(path_gguf))
    tensors = []
    for t in r.tensors:
        raw = np.asarray(r.data[t.data_offset:t.data_offset + t.n_bytes]).tobytes()
        tensors.append({
            "name": t.name,
            "type": int(t.tensor_type),
            "type_name": t.tensor_type.name,
            "shape": [int(d) for d in t.shape],
            "n_elements": int(t.n_elements),
            "n_bytes": int(t.n_bytes),
            "file_offset": int(t.data_offset),
            "offset": int(t.data_offset - r.data_offset),
            "data_hex": raw.hex(),
        })
    doc = {
        "version": 3,
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset) if with_tensors else None,
        "file_size": path_gguf.stat().st_size,
        "metadata": meta,
        "tensors": tensors,
    }
    # Cross-check the expectations against what llama.cpp's reader decodes.
    read_keys = sorted(k for k in r.fields if not k.startswith("GGUF."))
    assert read_keys == sorted(meta), (read_keys, sorted(meta))
    for key, exp in meta.items():
        got = r.fields[key].contents()
        want = plain(exp)
        if exp.get("elem_type") == "ARRAY":  # GGUFReader.contents() flattens nested arrays
            want = [x for inner in want for x in inner]
        assert got == want or (isinstance(want, float) and np.isclose(got, want)), (key, got, want)
    path_json.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_bigendian(path):
    w = gguf.GGUFWriter(str(path), arch="testarch", endianess=gguf.GGUFEndian.BIG)
    w.add_uint32("test.u32", 7)
    w.add_tensor("t", np.arange(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def hand_packed():
    """Empty arrays and an array of arrays, which gguf-py's writer refuses, packed by hand."""
    import struct

    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    kv = [
        s("empty.u32") + struct.pack("<IIQ", VT.ARRAY, VT.UINT32, 0),
        s("empty.arr") + struct.pack("<IIQ", VT.ARRAY, VT.ARRAY, 0),
        s("nested") + struct.pack("<IIQ", VT.ARRAY, VT.ARRAY, 2)
        + struct.pack("<IQ", VT.STRING, 1) + s("x") + struct.pack("<IQ", VT.INT8, 2) + b"\x01\xff",
        s("general.alignment") + struct.pack("<II", VT.UINT32, 16),
    ]
    ti = s("w") + struct.pack("<IQQIQ", 2, 2, 2, QT.F32, 0)
    body = b"GGUF" + struct.pack("<IQQ", 3, 1, len(kv)) + b"".join(kv) + ti
    body += b"\0" * (-len(body) % 16)
    return body + struct.pack("<4f", 1.0, -2.0, 0.5, 8.0)


def write_seeds():
    SEEDS.mkdir(parents=True, exist_ok=True)
    ref = (OUT / "reference.gguf").read_bytes()
    (SEEDS / "reference.gguf").write_bytes(ref)
    (SEEDS / "aligned64.gguf").write_bytes((OUT / "aligned64.gguf").read_bytes())
    (SEEDS / "v2.gguf").write_bytes(ref[:4] + (2).to_bytes(4, "little") + ref[8:])  # v2 has the v3 layout
    w = gguf.GGUFWriter(str(SEEDS / "metadata_only.gguf"), arch="qwen2")
    w.add_uint32("qwen2.block_count", 24)
    w.add_array("tokenizer.ggml.tokens", ["a", "b", "Ġc"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    (SEEDS / "hand_packed.gguf").write_bytes(hand_packed())


def main():
    check_pins()
    OUT.mkdir(parents=True, exist_ok=True)
    write_reference(OUT / "reference.gguf", OUT / "reference.json")
    write_reference(OUT / "aligned64.gguf", OUT / "aligned64.json", alignment=64)
    write_bigendian(OUT / "bigendian.gguf")
    write_seeds()
    for p in sorted(OUT.iterdir()) + sorted(SEEDS.iterdir()):
        print(f"{p.stat().st_size:8d}  {p}")


if __name__ == "__main__":
    main()
