#!/usr/bin/env bash
# Installs the static analysers hearth audit uses on code answers: bandit and semgrep (PyPI,
# pinned in tools/requirements-audit-scan.txt) into $HEARTH_CACHE/venv-audit, and checks that
# cppcheck and shellcheck (Debian, scripts/install-deps.sh) are there. Prints the bandit path.
# The venv stays in the cache: a warm run only checks the pinned versions and downloads nothing.
# semgrep runs with hearth's own rules only (no registry, no metrics, no version check).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${HEARTH_CACHE:-$HOME/.cache/hearth}
venv=$cache/venv-audit
reqs=$here/tools/requirements-audit-scan.txt
# The venv is current when every pinned name==version is what it has installed.
current() {
    [[ -x "$venv/bin/python" ]] || return 1
    local have
    have=$("$venv/bin/pip" freeze --disable-pip-version-check 2>/dev/null | tr 'A-Z_' 'a-z-') || return 1
    local want
    while read -r want; do
        [[ -z "$want" || "$want" == \#* ]] && continue
        grep -qx "$(printf '%s' "$want" | tr 'A-Z_' 'a-z-')" <<<"$have" || return 1
    done <"$reqs"
}
if ! current; then
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$reqs" >&2
fi
for t in cppcheck shellcheck; do
    command -v "$t" >/dev/null || echo "install-audit-tools: warning: $t not found (scripts/install-deps.sh installs it)" >&2
done
echo "$venv/bin/bandit"
