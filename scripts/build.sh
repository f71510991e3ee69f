#!/usr/bin/env bash
# Configures and builds hearth (Release) into build/. Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${HEARTH_JOBS:-$(nproc)}"
# shellcheck source=scripts/compiler-cache.sh
source "$root/scripts/compiler-cache.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release "${HEARTH_CMAKE_LAUNCHER[@]}" "$@" >/dev/null
cmake --build "$root/build" -j "$jobs"
