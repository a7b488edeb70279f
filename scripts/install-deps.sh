#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the system packages and Python modules intune-scep builds, tests and
# benchmarks with. Idempotent: does nothing when everything is present.
# Runs as root (or with sudo) on Debian 12; non-interactive.
set -euo pipefail

APT_PACKAGES=(build-essential cmake pkg-config libcurl4-openssl-dev libssl-dev libcjson-dev swig
              nginx-light clang libclang-rt-14-dev valgrind strace python3 python3-venv
              openjdk-17-jdk-headless maven
              libmicrohttpd-dev libsqlite3-dev postgresql libpq-dev
              strongswan-pki libstrongswan-extra-plugins scep debootstrap patchelf
              # what `pkg-config --static --libs intunescep` names through libcurl's static line
              libnghttp2-dev libidn2-dev librtmp-dev libssh2-1-dev libpsl-dev libkrb5-dev libldap-dev
              libzstd-dev libbrotli-dev zlib1g-dev)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The emulator and the Python tests need these in the interpreter that runs them.
python3 - <<'PY' || python3 -m pip install -q --disable-pip-version-check "cryptography>=41" "pytest>=7" requests build
import cryptography, pytest, requests, build  # noqa: F401
PY
