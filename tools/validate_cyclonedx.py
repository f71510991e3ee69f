#!/usr/bin/env python3
"""Validate CycloneDX JSON BOMs (as written by `hearth passport --cyclonedx`) against the
published CycloneDX 1.6 JSON schema shipped in cyclonedx-python-lib (pinned in
tools/requirements-audit.txt).

Usage:
  python3 tools/validate_cyclonedx.py BOM.json [BOM.json ...]
  python3 tools/validate_cyclonedx.py --hearth build/hearth MODEL.gguf [MODEL.gguf ...]
      (writes each model's BOM with hearth first, into a temporary directory)

Set-up (a venv under ~/.cache/hearth, outside the clone):
  python3 -m venv ~/.cache/hearth/venv-audit
  ~/.cache/hearth/venv-audit/bin/pip install -r tools/requirements-audit.txt

Prints one line per BOM ("ok" or the first schema error) and exits non-zero if any failed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def validate(path, validator):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    doc = json.loads(text)
    if doc.get("specVersion") != "1.6":
        return f"specVersion is {doc.get('specVersion')!r}, expected '1.6'"
    comps = doc.get("components") or []
    if not any(c.get("type") == "machine-learning-model" for c in comps):
        return "no component of type machine-learning-model"
    err = validator.validate_str(text)
    return None if err is None else str(err)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", help="hearth binary: treat the arguments as GGUF models and export their BOMs")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, item in enumerate(args.files):
            bom = item
            if args.hearth:
                bom = os.path.join(tmp, f"bom{i}.json")
                subprocess.run([args.hearth, "passport", item, "--cyclonedx", bom], check=True,
                               stdout=subprocess.DEVNULL)
            err = validate(bom, validator)
            label = item
            if err is None:
                print(f"ok    {label}: valid CycloneDX 1.6 (strict JSON schema)")
            else:
                failed += 1
                print(f"FAIL  {label}: {err}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
