#!/usr/bin/env python3
"""Generates the JSON-schema fixtures for hearth's structured-output tests.

Writes tests/fixtures/chat_outputs/json_schemas.json:
  schemas:   200 seeded random schemas in the subset hearth supports (type, properties,
             required, additionalProperties false, enum, const, items/minItems/maxItems,
             nested objects, anyOf, string/number/integer/boolean/null)
  instances: for each schema, a few instances (one built to match, some mutated) and whether
             the reference validator, Python `jsonschema` (pinned below), accepts them

Re-run: pip install jsonschema==4.26.0 && python3 tools/gen_json_schemas.py
"""
import json
import os
import random
from importlib.metadata import version

import jsonschema

PINNED = "4.26.0"
assert version("jsonschema") == PINNED, f"needs jsonschema=={PINNED}, have {version('jsonschema')}"

SEED = 20240905
N_SCHEMAS = 200
WORDS = ["name", "age", "city", "tags", "id", "score", "active", "items", "kind", "value",
         "title", "count", "email", "note", "level", "price", "ok", "data", "color", "unit"]
STR_VALUES = ["red", "green", "blue", "small", "large", "yes", "no", "cat", "dog", "é-accent"]


def gen_schema(rng, depth):
    leaf = depth >= 3 or rng.random() < 0.35 + 0.15 * depth
    if leaf:
        r = rng.random()
        if r < 0.10:
            vals = rng.sample(STR_VALUES, rng.randint(1, 4))
            if rng.random() < 0.3:
                vals.append(rng.randint(-5, 50))
            return {"enum": vals}
        if r < 0.15:
            return {"const": rng.choice([rng.choice(STR_VALUES), rng.randint(0, 9), True, None])}
        if r < 0.22:
            return {"type": rng.sample(["string", "integer", "null", "boolean"], 2)}
        return {"type": rng.choice(["string", "string", "integer", "number", "boolean", "null"])}
    r = rng.random()
    if r < 0.55:
        n = rng.randint(1, 4)
        keys = rng.sample(WORDS, n)
        props = {k: gen_schema(rng, depth + 1) for k in keys}
        s = {"type": "object", "properties": props}
        req = [k for k in keys if rng.random() < 0.6]
        if req:
            s["required"] = req
        if rng.random() < 0.7:
            s["additionalProperties"] = False
        return s
    if r < 0.85:
        s = {"type": "array", "items": gen_schema(rng, depth + 1)}
        if rng.random() < 0.5:
            s["minItems"] = rng.randint(0, 2)
        if rng.random() < 0.6:
            s["maxItems"] = s.get("minItems", 0) + rng.randint(0, 3)
        return s
    return {"anyOf": [gen_schema(rng, depth + 1) for _ in range(rng.randint(2, 3))]}


def gen_instance(rng, s):
    """An instance built to match (best effort; the reference decides)."""
    if "const" in s:
        return s["const"]
    if "enum" in s:
        return rng.choice(s["enum"])
    if "anyOf" in s:
        return gen_instance(rng, rng.choice(s["anyOf"]))
    t = s.get("type")
    if isinstance(t, list):
        t = rng.choice(t)
    if t == "string":
        return rng.choice(STR_VALUES + ["", "a \"quoted\" word", "line\nbreak"])
    if t == "integer":
        return rng.randint(-1000, 1000)
    if t == "number":
        return rng.choice([rng.randint(-50, 50), round(rng.uniform(-100, 100), 3)])
    if t == "boolean":
        return rng.random() < 0.5
    if t == "null":
        return None
    if t == "array":
        lo = s.get("minItems", 0)
        hi = s.get("maxItems", lo + 3)
        return [gen_instance(rng, s["items"]) for _ in range(rng.randint(lo, hi))]
    if t == "object":
        out = {}
        for k, sub in s["properties"].items():
            if k in s.get("required", []) or rng.random() < 0.5:
                out[k] = gen_instance(rng, sub)
        return out
    return None


def mutate(rng, v):
    r = rng.random()
    if isinstance(v, dict) and v and r < 0.4:
        v = dict(v)
        del v[rng.choice(list(v))]
        return v
    if isinstance(v, dict) and r < 0.7:
        v = dict(v)
        v[rng.choice(["extra", "zzz"])] = 1
        return v
    if isinstance(v, list) and r < 0.5:
        return v + [rng.choice([1, "x", None, 2.5])]
    return rng.choice([1, 1.5, 2.0, "text", True, False, None, [], {}, [1, "a"], {"name": 3}])


def main():
    rng = random.Random(SEED)
    schemas = [gen_schema(rng, 0) for _ in range(N_SCHEMAS)]
    instances = []
    for i, s in enumerate(schemas):
        jsonschema.Draft202012Validator.check_schema(s)
        good = gen_instance(rng, s)
        for inst in [good, mutate(rng, good), mutate(rng, good)]:
            valid = jsonschema.Draft202012Validator(s).is_valid(inst)
            instances.append({"schema": i, "instance": inst, "valid": valid})
    out = {"generator": "tools/gen_json_schemas.py", "seed": SEED, "jsonschema": PINNED,
           "schemas": schemas, "instances": instances}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "tests", "fixtures", "chat_outputs", "json_schemas.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    n_valid = sum(x["valid"] for x in instances)
    print(f"wrote {path}: {len(schemas)} schemas, {len(instances)} instances ({n_valid} valid)")


if __name__ == "__main__":
    main()
