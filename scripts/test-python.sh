#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build and install the Python package (pip install ./python) into a virtualenv
# under build-py/, then run its tests (python/tests, emulator tests included)
# against the INSTALLED package, never the source tree.
#
#   scripts/test-python.sh [--dist] [--no-test] [pytest arguments and test paths...]
#
#   Test paths are relative to the repository (python/tests/test_calls.py);
#   without one, all of python/tests runs, then examples/python (a CA's first
#   test with the emulator's pytest plugin) and emulator/check-dist.sh (the
#   emulator's own pure-Python distribution, installed without a compiler).
#
#   --dist     also build an sdist and a wheel with `python -m build` (the wheel
#              from the unpacked sdist with SWIG out of reach, proving the sdist
#              needs no SWIG), install the wheel in a clean virtualenv and run a
#              smoke check with it against the emulator.
#   --no-test  skip pytest (e.g. with --dist for the packaging check alone).
#
# Needs: python3 with venv, a C compiler, SWIG 4.1, pkg-config, and the
# development files of libcurl, OpenSSL and cJSON (scripts/install-deps.sh),
# and PyPI for pytest, cryptography (the emulator: the extra intune-scep[emulator]),
# build and setuptools.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-py"
VENV="$BUILD/venv"
PYTHON="${PYTHON:-python3}"
DIST=0
TEST=1
PYTEST_ARGS=()
HAVE_PATH=0
for arg in "$@"; do
  case "$arg" in
    --dist) DIST=1 ;;
    --no-test) TEST=0 ;;
    *)
      # a test path relative to the repository (e.g. python/tests/test_calls.py::test_x)
      if [ -e "$ROOT/${arg%%::*}" ] && [[ "$arg" != -* ]]; then
        PYTEST_ARGS+=("$ROOT/$arg"); HAVE_PATH=1
      else
        PYTEST_ARGS+=("$arg")
      fi ;;
  esac
done

PIP_FLAGS=(-q --disable-pip-version-check)
mkdir -p "$BUILD"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

echo "== pip install ./python"
"$VENV/bin/python" -m pip install "${PIP_FLAGS[@]}" "pytest>=7" requests
# pip always rebuilds and reinstalls a project given as a directory
"$VENV/bin/python" -m pip install "${PIP_FLAGS[@]}" "$ROOT/python[test]"

if [ "$TEST" = 1 ]; then
  echo "== pytest python/tests (installed package)"
  # Run from build-py/: neither the repository nor python/ is on sys.path, so
  # `import intune_scep` finds the installed package (conftest.py checks it).
  cd "$BUILD"
  [ "$HAVE_PATH" = 1 ] || PYTEST_ARGS+=("$ROOT/python/tests")
  INTUNE_SCEP_TEST_INSTALLED=1 "$VENV/bin/python" -m pytest -p no:cacheprovider \
    --rootdir "$ROOT/python" "${PYTEST_ARGS[@]}"
  cd "$ROOT"
  if [ "$HAVE_PATH" = 0 ]; then
    echo "== examples/python: a CA's first test, with the emulator's pytest plugin"
    (cd "$BUILD" && "$VENV/bin/python" -m pytest -p no:cacheprovider --rootdir "$ROOT/examples/python" \
      "$ROOT/examples/python")
    echo "== emulator/: the emulator's own distribution in a fresh virtualenv, without a compiler"
    PYTHON="$VENV/bin/python" "$ROOT/emulator/check-dist.sh" "$ROOT/build-emulator"
  fi
fi

if [ "$DIST" = 1 ]; then
  echo "== python -m build: sdist"
  "$VENV/bin/python" -m pip install "${PIP_FLAGS[@]}" build
  rm -rf "$BUILD/dist" "$BUILD/sdist-unpacked"
  "$VENV/bin/python" -m build --sdist --outdir "$BUILD/dist" "$ROOT/python"
  sdist=$(ls "$BUILD"/dist/intune_scep-*.tar.gz)
  listing=$(tar -tzf "$sdist")
  grep -q '/csrc/swig/intune_scep_wrap.c$' <<<"$listing" || { echo "sdist lacks the generated wrapper"; exit 1; }
  grep -q '/csrc/core/.*\.c$' <<<"$listing" || { echo "sdist lacks the C sources"; exit 1; }
  grep -q '/csrc/bindings/include/intune_scep.h$' <<<"$listing" || { echo "sdist lacks the header"; exit 1; }

  echo "== python -m build: wheel from the unpacked sdist, without SWIG"
  mkdir -p "$BUILD/sdist-unpacked"
  tar -xzf "$sdist" -C "$BUILD/sdist-unpacked"
  INTUNE_SCEP_SWIG=/nonexistent/swig "$VENV/bin/python" -m build --wheel --outdir "$BUILD/dist" \
    "$BUILD"/sdist-unpacked/intune_scep-*/
  wheel=$(ls "$BUILD"/dist/intune_scep-*.whl)
  echo "built: $sdist"
  echo "built: $wheel"

  echo "== the wheel in a clean virtualenv"
  rm -rf "$BUILD/venv-wheel"
  "$PYTHON" -m venv "$BUILD/venv-wheel"
  "$BUILD/venv-wheel/bin/python" -m pip install "${PIP_FLAGS[@]}" "$wheel[emulator]"
  cd /
  env -u LD_LIBRARY_PATH "$BUILD/venv-wheel/bin/python" - <<'PY'
import intune_scep, sys
from intune_scep.emulator import Emulator
assert "/venv-wheel/" in intune_scep.__file__, intune_scep.__file__
with Emulator() as emu, intune_scep.IntuneScepServiceClient(emu.config) as client:
    uri = client.discover_service()
    client.fetch_token("intune")
print("wheel smoke check ok: intune_scep %s (library %s), discovered %s"
      % (intune_scep.__version__, intune_scep.library_version(), uri))
PY
  cd "$ROOT"
fi
