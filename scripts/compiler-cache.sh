# shellcheck shell=bash disable=SC2034
# Sourced by the build scripts: when ccache is installed, compile through it with its cache
# outside the clone (${HEARTH_CACHE:-~/.cache/hearth}/ccache), so that a CI run on a fresh
# clone recompiles only what changed since the last run. Sets HEARTH_CMAKE_LAUNCHER, an
# array of cmake arguments (empty without ccache).
HEARTH_CMAKE_LAUNCHER=()
if command -v ccache >/dev/null 2>&1 && [[ "${HEARTH_NO_CCACHE:-0}" != 1 ]]; then
    export CCACHE_DIR="${CCACHE_DIR:-${HEARTH_CACHE:-$HOME/.cache/hearth}/ccache}"
    # Paths in a fresh clone differ from the last one's; hash relative to it.
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
    export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
    export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
    HEARTH_CMAKE_LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
