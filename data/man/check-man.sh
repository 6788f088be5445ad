#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: check-man.sh PAGE...
#
# Each page must format without a single groff warning (-ww) and read well
# in an 80-column terminal: man-db renders it, and no line is wider.
# TAP output; skipped without groff and man-db.
set -u

if ! command -v groff >/dev/null 2>&1 || ! command -v man >/dev/null 2>&1; then
  echo "1..0 # SKIP groff or man is not installed (Debian: man-db, groff-base)"
  exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-check-man-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
for page in "$@"; do
  name=$(basename "$page")

  n=$((n + 1))
  groff -man -Tutf8 -ww -z "$page" >"$tmp/groff.out" 2>&1
  if [ -s "$tmp/groff.out" ]; then
    failed=1
    echo "not ok $n - $name: groff warns"
    sed 's/^/# /' "$tmp/groff.out"
  else
    echo "ok $n - $name: groff -ww has no warning"
  fi

  n=$((n + 1))
  if MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" >"$tmp/page.txt" 2>"$tmp/man.err" &&
     [ ! -s "$tmp/man.err" ] && grep -q '^NAME' "$tmp/page.txt"; then
    width=$(LC_ALL=C.UTF-8 wc -L <"$tmp/page.txt")
    if [ "$width" -le 80 ]; then
      echo "ok $n - $name: man renders it within 80 columns"
    else
      failed=1
      echo "not ok $n - $name: a line is $width columns wide"
      LC_ALL=C.UTF-8 awk 'length($0) > 80 { print "# " $0 }' "$tmp/page.txt"
    fi
  else
    failed=1
    echo "not ok $n - $name: man -l fails"
    sed 's/^/# /' "$tmp/man.err"
  fi
done

echo "1..$n"
exit $failed
