#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every function libsluice exports has a gtk-doc comment (" * name:") in the
# SDK's sources or headers.
# usage: check-docs.sh NM LIBRARY SDK_DIR
set -eu
NM=$1
LIB=$2
SDK=$3
missing=0
total=0
for symbol in $("$NM" -D --defined-only "$LIB" | awk '{print $3}' | sed 's/@.*//' \
                | grep '^sluice_' | grep -v '_get_type$' | sort -u); do
  total=$((total + 1))
  if ! grep -q "^ \* $symbol:" "$SDK"/*.c "$SDK"/include/sluice/*.h; then
    echo "no documentation comment for $symbol" >&2
    missing=$((missing + 1))
  fi
done
[ "$total" -gt 100 ] || { echo "only $total symbols found in $LIB" >&2; exit 1; }
echo "$total exported functions, $missing undocumented"
[ "$missing" -eq 0 ]
