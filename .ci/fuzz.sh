#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and fuzzes, for a bounded time and
# starting from the committed seeds, every parser that reads untrusted input: the GGUF reader
# (half the budget), then a quarter each for the safetensors reader, API request bodies,
# structured-output grammars and JSON schemas, and chat templates (they come inside model
# files). Exits non-zero on a crash, leak, sanitizer report or timeout; the crashing input is
# left in $BUILD/artifacts/.
#   usage: .ci/fuzz.sh [SECONDS=60]
set -euo pipefail

SECONDS_TO_RUN="${1:-60}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${HEARTH_FUZZ_BUILD:-$ROOT/build-fuzz}"
JOBS="${JOBS:-2}"
QUARTER="$(( (SECONDS_TO_RUN + 3) / 4 ))"

# shellcheck source=scripts/compiler-cache.sh
source "$ROOT/scripts/compiler-cache.sh"
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DHEARTH_FUZZ=ON -DHEARTH_TESTS=OFF "${HEARTH_CMAKE_LAUNCHER[@]}" >/dev/null
cmake --build "$BUILD" -j"$JOBS" --target fuzz_gguf fuzz_safetensors fuzz_api_request fuzz_grammar fuzz_chat_template
mkdir -p "$BUILD/artifacts"

# fuzz NAME SECONDS MAX_LEN TIMEOUT SEEDS... : the seeds stay read-only; new interesting
# inputs go to a scratch corpus per target.
fuzz() {
    local name="$1" seconds="$2" max_len="$3" timeout="$4"
    shift 4
    echo "-- fuzz_$name for ${seconds}s"
    mkdir -p "$BUILD/corpus-$name"
    "$BUILD/fuzz/fuzz_$name" "$BUILD/corpus-$name" "$@" \
        -max_total_time="$seconds" -max_len="$max_len" -timeout="$timeout" -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$name-"
}

fuzz gguf "$(( SECONDS_TO_RUN / 2 ))" 8192 10 "$ROOT/fuzz/seeds"
fuzz safetensors "$QUARTER" 4096 10 "$ROOT/fuzz/seeds_safetensors"
fuzz api_request "$QUARTER" 4096 10 "$ROOT/fuzz/seeds_api"
fuzz grammar "$QUARTER" 4096 10 "$ROOT/tests/fixtures/chat_grammar"
# A template may legitimately run up to the interpreter's step budget before it fails, which
# takes seconds under the sanitizers: a longer per-input timeout.
fuzz chat_template "$QUARTER" 16384 30 "$ROOT/tests/fixtures/chat/templates"
