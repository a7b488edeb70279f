#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build and test the Java package from a fresh clone:
#  1. CMake builds the JNI library (SWIG wrapper + the C library, statically) and
#     bundles it with the shared objects it needs beyond glibc (target intunescep_jni_bundle);
#  2. Maven compiles the facade with the generated classes, packages the bundle inside
#     the jar (the only way the jar is built), and runs the JUnit 5 tests against the
#     Intune emulator (python/). The version is the file VERSION.
# Maven downloads its plugins and JUnit once into ~/.m2; later runs work offline.
#
# usage: scripts/test-java.sh [maven goals/options...]   (default: verify)
# env:   INTUNE_SCEP_JAVA_BUILD  CMake build directory (default: <repo>/build-java)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${INTUNE_SCEP_JAVA_BUILD:-$ROOT/build-java}

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINTUNE_SCEP_WERROR=ON \
  -DINTUNE_SCEP_BUILD_JAVA=ON -DINTUNE_SCEP_BUILD_TESTS=OFF -DINTUNE_SCEP_BUILD_CLI=OFF -DINTUNE_SCEP_BUILD_SERVER=OFF \
  -DINTUNE_SCEP_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" -j2 --target intunescep_jni_bundle

cd "$ROOT/java"
if [ $# -eq 0 ]; then
  set -- verify
fi
exec mvn -B -ntp -Drevision="$(cat "$ROOT/VERSION")" -Dintunescep.native.dir="$BUILD/java" "$@"
