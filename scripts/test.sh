#!/usr/bin/env bash
# The test command: builds hearth (Release, and an ASan/UBSan build of the tests), fetches
# the default model for the end-to-end goldens, runs a bounded fuzz of the input parsers,
# then the whole CTest suite. The last lines are CTest's summary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${HEARTH_JOBS:-$(nproc)}"
fuzz_seconds="${HEARTH_FUZZ_SECONDS:-60}"
"$root/scripts/install-deps.sh"
# The official openai client for the server's end-to-end test (a venv in the cache).
"$root/scripts/install-test-python.sh" >/dev/null
# bandit and semgrep (PyPI) for the code-security scanner's tests; cppcheck/shellcheck come from install-deps.
"$root/scripts/install-audit-tools.sh" >/dev/null

echo "== build (Release, warnings as errors)"
"$root/scripts/build.sh"
export HEARTH_MODEL="${HEARTH_MODEL:-$("$root/scripts/fetch-model.sh")}"

echo "== sanitizer build (ASan + UBSan) of the unit tests"
# shellcheck source=scripts/compiler-cache.sh
source "$root/scripts/compiler-cache.sh"
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEARTH_SANITIZE=ON \
    "${HEARTH_CMAKE_LAUNCHER[@]}" >/dev/null
cmake --build "$root/build-asan" -j "$jobs" --target hearth_tests hearth
# The real-model goldens are left to the Release run: under ASan they would take minutes.
# LeakSanitizer is on (the Jinja reference cycles it once reported are fixed).
(cd "$root/build-asan" && env -u HEARTH_MODEL ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j "$jobs" -E '^cli\.')

if [[ "$fuzz_seconds" -gt 0 && -x "$root/.ci/fuzz.sh" ]]; then
    echo "== fuzz the parsers of untrusted input (GGUF, safetensors, API requests, grammars, templates)"
    "$root/.ci/fuzz.sh" "$fuzz_seconds"
fi

echo "== tests (Release)"
cd "$root/build"
ctest --output-on-failure -j "$jobs"
