#!/usr/bin/env bash
# Installs the Python packages the end-to-end server tests use (the official openai client,
# pinned in tests/server/requirements.txt) into a venv under the hearth cache:
#   ${HEARTH_CACHE:-$HOME/.cache/hearth}/venv-test
# Idempotent: when the venv already holds exactly the pinned requirements it returns at once.
# Prints the venv's python path on the last line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${HEARTH_CACHE:-$HOME/.cache/hearth}"
venv="$cache/venv-test"
req="$root/tests/server/requirements.txt"
stamp="$venv/.hearth-requirements"
py="${PYTHON:-python3}"

if [[ -x "$venv/bin/python" && -f "$stamp" ]] && cmp -s "$req" "$stamp"; then
    echo "$venv/bin/python"
    exit 0
fi

echo "== installing the server test packages into $venv" >&2
mkdir -p "$cache"
if [[ ! -x "$venv/bin/python" ]]; then
    "$py" -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
"$venv/bin/python" -c 'import openai; print("openai", openai.__version__)' >&2
cp "$req" "$stamp"
echo "$venv/bin/python"
