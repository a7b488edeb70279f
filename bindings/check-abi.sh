#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Compare the symbols libintunescep.so exports with the committed baseline:
# a symbol that shipped must never disappear; a new one must be added to the
# baseline (and documented in intune_scep.h) on purpose.
#   check-abi.sh LIBRARY BASELINE
set -euo pipefail
lib=$1 baseline=$2
actual=$(nm -D --defined-only "$lib" | awk '$2=="T"{print $3}' | sed 's/@.*//' | sort)
missing=$(comm -23 "$baseline" <(printf '%s\n' "$actual"))
extra=$(comm -13 "$baseline" <(printf '%s\n' "$actual"))
leaked=$(printf '%s\n' "$actual" | grep -v '^intune_scep_' || true)
status=0
[ -z "$missing" ] || { echo "ABI break: symbols removed since the baseline:"; echo "$missing"; status=1; }
[ -z "$extra" ] || { echo "new exported symbols not in $baseline (add them on purpose):"; echo "$extra"; status=1; }
[ -z "$leaked" ] || { echo "symbols exported without the intune_scep_ prefix:"; echo "$leaked"; status=1; }
soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libintunescep.so.1" ] || { echo "SONAME is '$soname', expected libintunescep.so.1"; status=1; }
[ "$status" -eq 0 ] && echo "ABI matches the baseline: $(printf '%s\n' "$actual" | wc -l) symbols, SONAME $soname"
exit "$status"
