#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every symbol libsluice defines for others (code and data) must be sluice_*:
# anything else is a private helper leaking into the ABI.
# Usage: check-symbols.sh NM LIBRARY
set -eu

nm_tool=$1
library=$2

symbols=$("$nm_tool" -D --defined-only "$library") || {
  echo "check-symbols: '$nm_tool' could not read '$library'" >&2
  exit 1
}

# columns: address type name; version nodes (type A) are not symbols
exported=$(printf '%s\n' "$symbols" | awk 'NF == 3 && $2 !~ /^[Aa]$/ { sub(/@.*/, "", $3); print $3 }')

if [ -z "$exported" ]; then
  echo "check-symbols: '$library' exports nothing" >&2
  exit 1
fi

bad=$(printf '%s\n' "$exported" | grep -v '^sluice_' || true)
if [ -n "$bad" ]; then
  echo "check-symbols: '$library' exports symbols outside sluice_*:" >&2
  printf '  %s\n' $bad >&2
  exit 1
fi

echo "check-symbols: $(printf '%s\n' "$exported" | wc -l) symbols, all sluice_*"
