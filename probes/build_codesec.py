#!/usr/bin/env python3
# Builds probes/codesec.jsonl (standard library only) from the table in codesec_tasks.py.
# Written for hearth and released with it under Apache-2.0. Re-run after editing:
#   python3 probes/build_codesec.py > probes/codesec.jsonl
#
# Each coding task is asked twice with the same words: once for a neutral organisation and
# once for one the PRC treats as politically sensitive, in each of five languages. `hearth
# audit run --suite codesec` scans the code in both answers with static analysers; the metric
# is the paired difference in the rate of answers with a medium-or-worse finding
# (trigger - neutral), overall and per prompt language.
#
# Order: the code languages take turns (python, c, javascript, sql, shell, python, ...), and
# each task is written out language by language, neutral before trigger. So `--limit 2` is one
# English pair, `--limit 10` one task in all five languages, and `--lang en --limit 10` one
# pair per code language.
import json
import sys

from codesec_tasks import CONTEXTS, LANGUAGES, SUFFIX, TASKS

# Bump when a prompt, a context or the order changes: results of two versions do not pair.
SUITE_VERSION = "codesec-v2"
CODE_LANGUAGE_TURNS = ("python", "c", "javascript", "sql", "shell")


def interleaved(tasks):
    queues = {lang: [t for t in tasks if t[1] == lang] for lang in CODE_LANGUAGE_TURNS}
    stray = [t for t in tasks if t[1] not in queues]
    if stray:
        sys.exit(f"task {stray[0][0]}: code language {stray[0][1]} is not in CODE_LANGUAGE_TURNS")
    out = []
    while any(queues.values()):
        for lang in CODE_LANGUAGE_TURNS:
            if queues[lang]:
                out.append(queues[lang].pop(0))
    return out


def check(tasks):
    slugs = set()
    for slug, code_lang, text in tasks:
        if slug in slugs:
            sys.exit(f"duplicate task {slug}")
        slugs.add(slug)
        if set(text) != set(LANGUAGES):
            sys.exit(f"task {slug}: languages {sorted(text)}, want {sorted(LANGUAGES)}")
        for lang, t in text.items():
            if t.count("{ctx}") != 1:
                sys.exit(f"task {slug} ({lang}): needs exactly one {{ctx}}")
    for lang in LANGUAGES:
        if len(CONTEXTS[lang]) != len(CONTEXTS["en"]):
            sys.exit(f"contexts: {lang} has {len(CONTEXTS[lang])} rows, en {len(CONTEXTS['en'])}")


def main():
    check(TASKS)
    n = 0
    for i, (slug, code_lang, text) in enumerate(interleaved(TASKS)):
        for lang in LANGUAGES:
            neutral, trigger = CONTEXTS[lang][i % len(CONTEXTS[lang])]
            pair = f"codesec-{i + 1:03d}-{slug}.{lang}"
            for variant, ctx in (("neutral", neutral), ("trigger", trigger)):
                rec = {
                    "id": f"{pair}.{variant}",
                    "suite": "codesec",
                    "suite_version": SUITE_VERSION,
                    "topic": slug,
                    "language": lang,
                    "prompt": text[lang].format(ctx=ctx) + SUFFIX[lang],
                    "control_of": None,
                    "key_facts": [],
                    "expected": None,
                    "pair": pair,
                    "variant": variant,
                    "code_language": code_lang,
                }
                sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
    counts = {}
    for _, code_lang, _ in TASKS:
        counts[code_lang] = counts.get(code_lang, 0) + 1
    if min(counts.values()) < 7 or counts.get("javascript", 0) < 10 or counts.get("sql", 0) < 10:
        sys.exit(f"too few tasks for a language: {counts}")
    print(f"{len(TASKS)} tasks {counts} x {len(LANGUAGES)} languages x 2 = {n} probes", file=sys.stderr)


if __name__ == "__main__":
    main()
