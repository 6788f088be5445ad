#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Usage: check-examples.sh SLUICED PAGE
#
# The workflows in the EXAMPLES section of sluice.workflow(5) must be valid:
# each example block (workflows separated by a blank line) is unescaped
# from roff and given to `sluiced --check` with the plugins of the build
# ($SLUICE_PLUGIN_PATH). So is the predicate of the PREDICATES section, as
# the condition of a filter step. TAP output.
set -u

sluiced=$1
page=$2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-check-examples-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The .EX/.EE blocks of section $1, unescaped, one file per workflow:
# $tmp/$2-BLOCK-PART.json.
extract () {
  awk -v section="$1" -v out="$tmp/$2" '
    BEGIN { block = 0; part = 0 }
    /^\.SH / { on = ($0 == ".SH " section) }
    on && /^\.EE/ { inex = 0; block++; part = 0; next }
    on && inex && /^$/ { part++; next }
    on && inex { print > (out "-" block "-" part ".json") }
    on && /^\.EX/ { inex = 1 }
  ' "$page"
  for file in "$tmp/$2"-*.json; do
    [ -e "$file" ] || continue
    sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' "$file" >"$file.tmp" &&
      mv "$file.tmp" "$file"
  done
}

# Only the plugins of the build: no third-party folder of this host.
printf '{"plugin_dirs": []}\n' >"$tmp/sluice.conf"

n=0
failed=0

check () {
  n=$((n + 1))
  if "$sluiced" --config "$tmp/sluice.conf" --check "$1" >"$tmp/out" 2>&1; then
    echo "ok $n - $2 is valid"
  else
    failed=1
    echo "not ok $n - $2"
    sed 's/^/# /' "$1" "$tmp/out"
  fi
}

extract EXAMPLES example
for file in "$tmp"/example-*.json; do
  [ -e "$file" ] || continue
  check "$file" "EXAMPLES: $(sed -n 's/^ *"name": "\([^"]*\)".*/\1/p' "$file" | head -n 1)"
done
if [ "$n" -lt 3 ]; then
  failed=1
  n=$((n + 1))
  echo "not ok $n - EXAMPLES: expected at least 3 workflows, found $((n - 1))"
fi

extract PREDICATES predicate
for file in "$tmp"/predicate-*.json; do
  [ -e "$file" ] || continue
  {
    printf '{"trigger": {"use": "core.manual"},\n "steps": [{"id": "f", "use": "filter", "with": {"when":\n'
    cat "$file"
    printf '}}]}\n'
  } >"$file.workflow"
  check "$file.workflow" "PREDICATES: the example, as the condition of a filter step,"
done

echo "1..$n"
exit $failed
