#!/usr/bin/env bash
# Installs the static analysers hearth audit uses on code answers: bandit (PyPI, pinned in
# tools/requirements-audit-scan.txt) into $HEARTH_CACHE/venv-audit, and checks that cppcheck
# and shellcheck (Debian, scripts/install-deps.sh) are there. Prints the bandit path.
# semgrep is not used: its rules come from an online registry.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${HEARTH_CACHE:-$HOME/.cache/hearth}
venv=$cache/venv-audit
if ! "$venv/bin/bandit" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/tools/requirements-audit-scan.txt" >&2
fi
for t in cppcheck shellcheck; do
    command -v "$t" >/dev/null || echo "install-audit-tools: warning: $t not found (scripts/install-deps.sh installs it)" >&2
done
echo "$venv/bin/bandit"
