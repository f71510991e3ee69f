#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes the GGUF reader (then the
# safetensors reader for a quarter of the time) for a
# bounded time, starting from the committed seeds. Exits non-zero on a crash, leak,
# sanitizer report or timeout; the crashing input is left in $BUILD/artifacts/.
#   usage: .ci/fuzz.sh [SECONDS=60]
set -euo pipefail

SECONDS_TO_RUN="${1:-60}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HEARTH_FUZZ_BUILD:-$ROOT/build-fuzz}"
JOBS="${JOBS:-2}"

CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHEARTH_FUZZ=ON -DHEARTH_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target fuzz_gguf fuzz_safetensors

# The seeds stay read-only; new interesting inputs go to a scratch corpus.
CORPUS="$BUILD/corpus-gguf"
mkdir -p "$CORPUS" "$BUILD/artifacts"
"$BUILD/fuzz/fuzz_gguf" "$CORPUS" "$ROOT/fuzz/seeds" \
    -max_total_time="$SECONDS_TO_RUN" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/"

# The safetensors reader: a small JSON header parser, so a quarter of the time is plenty.
CORPUS_ST="$BUILD/corpus-safetensors"
mkdir -p "$CORPUS_ST"
"$BUILD/fuzz/fuzz_safetensors" "$CORPUS_ST" "$ROOT/fuzz/seeds_safetensors" \
    -max_total_time="$(( (SECONDS_TO_RUN + 3) / 4 ))" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/st-"
