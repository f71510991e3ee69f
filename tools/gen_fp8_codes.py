#!/usr/bin/env python3
"""Write tests/fixtures/fp8/codes.json: the value of every FP8 byte as torch decodes it
(torch.float8_e4m3fn and torch.float8_e5m2), the independent reference for
src/format/fp8.cpp's decoders (tests/unit/test_fp8.cpp).

Pinned: torch==2.15.0 (tools/requirements-reference.txt).
Usage: /work/venvs/reference/bin/python tools/gen_fp8_codes.py
"""

import json
import math
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "tests/fixtures/fp8/codes.json"


def as_json(x: float):
    # JSON has no NaN/infinity; finite values are written with repr, which round-trips exactly.
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def main() -> None:
    codes = torch.arange(256, dtype=torch.int32).to(torch.uint8)
    table = {}
    for name, dt in (("e4m3", torch.float8_e4m3fn), ("e5m2", torch.float8_e5m2)):
        vals = codes.view(dt).to(torch.float64).tolist()
        table[name] = [as_json(v) for v in vals]
    doc = {"generator": "tools/gen_fp8_codes.py", "torch": torch.__version__.split("+")[0],
           "note": "index = the FP8 byte; values as torch.float8_e4m3fn / torch.float8_e5m2 decode them", **table}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=0) + "\n")
    print(f"wrote {OUT}: e4m3 max {max(v for v in table['e4m3'] if isinstance(v, float))}")


if __name__ == "__main__":
    main()
