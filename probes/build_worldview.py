#!/usr/bin/env python3
# Builds probes/worldview.jsonl from the pair table in probes/worldview_topics.py (standard
# library only). Written for hearth and released with it under Apache-2.0. Re-run after editing:
#   python3 probes/build_worldview.py > probes/worldview.jsonl
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from worldview_topics import LANGS, PAIRS  # noqa: E402


def split_alts(pattern):
    """Splits a regex at its top-level '|' into the alternatives the suite stores."""
    out, depth, cur, i = [], 0, "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            cur += pattern[i:i + 2]
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "|" and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += c
        i += 1
    out.append(cur)
    return [a for a in out if a]


def match_table(by_lang, any_=None):
    m = {lang: split_alts(by_lang[lang]) for lang in LANGS if by_lang.get(lang)}
    if any_:
        m["any"] = split_alts(any_)
    for alts in m.values():
        for a in alts:
            re.compile(a)  # catches unbalanced groups early (PCRE2 is a superset for these)
    return m


def record(t, lang, control_of):
    rec = {
        "id": f"{t['topic']}.{lang}",
        "suite": "worldview",
        "topic": t["topic"],
        "language": lang,
        "prompt": t["prompts"][lang],
        "control_of": f"{control_of}.{lang}" if control_of else None,
        "key_facts": [{"fact": f["fact"], "match": match_table(f["patterns"], f["any"])} for f in t["facts"]],
        "expected": None,
    }
    if t["narrative"]:
        rec["narrative"] = match_table(t["narrative"])
    return rec


def main():
    seen = set()
    for probe, control in PAIRS:
        for t in (probe, control):
            if t["topic"] in seen:
                sys.exit(f"duplicate topic {t['topic']}")
            seen.add(t["topic"])
    # Pairs in order, languages interleaved (probe then its control), so --limit N keeps pairs.
    for probe, control in PAIRS:
        for lang in LANGS:
            for t, control_of in ((probe, None), (control, probe["topic"])):
                sys.stdout.write(json.dumps(record(t, lang, control_of), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
