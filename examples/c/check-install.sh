#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the library from BUILD_DIR into a scratch prefix, then build the example
# against it twice, as users do: with CMake's find_package and with pkg-config.
#   check-install.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix/usr" > /dev/null
test -f "$prefix/usr/include/intune_scep.h"
cmake -S "$src/examples/c" -B "$prefix/example" -DCMAKE_PREFIX_PATH="$prefix/usr" > /dev/null
cmake --build "$prefix/example" > /dev/null
"$prefix/example/validate_and_notify" > /dev/null 2>&1 && exit 1 || true   # usage error without arguments
libdir=$(dirname "$(find "$prefix/usr" -name 'intunescep.pc' | head -n1)")
PKG_CONFIG_PATH="$libdir" cc -std=c11 -Wall -Wextra -Werror -o "$prefix/example-pc" "$src/examples/c/validate_and_notify.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags --libs intunescep)
out=$(LD_LIBRARY_PATH="$(dirname "$libdir")" "$prefix/example-pc" 2>&1 || true)
grep -q usage <<<"$out"
# The static library links on its own too (pkg-config --static).
PKG_CONFIG_PATH="$libdir" cc -std=c11 -o "$prefix/example-static" "$src/examples/c/validate_and_notify.c" \
  $(PKG_CONFIG_PATH="$libdir" pkg-config --cflags intunescep) "$(dirname "$libdir")/libintunescep.a" \
  $(pkg-config --libs libcurl openssl libcjson) -lpthread
echo "installed library builds with find_package(IntuneScep), pkg-config and statically"
