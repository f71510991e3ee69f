#!/usr/bin/env bash
# Installs the Debian packages hearth builds against (when missing). Needs root or sudo.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libgtest-dev nlohmann-json3-dev libpcre2-dev libcli11-dev libcpp-httplib-dev libssl-dev
      libtomlplusplus-dev strace curl ccache
      clang libclang-rt-14-dev python3 python3-pip python3-venv unzip cppcheck shellcheck libjs-chart.js
      libjs-marked libjs-highlight.js chromium)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
