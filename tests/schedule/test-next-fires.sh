#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sluicectl cron next as an operator uses it: the next fire times of a
# cron expression, one per line, in ISO 8601 with the zone's offset,
# computed locally (no daemon, no bus).
set -euo pipefail
SLUICECTL=${SLUICECTL:?SLUICECTL must name the sluicectl binary}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail () { echo "not ok - $*"; exit 1; }
n=0
ok () { n=$((n + 1)); echo "ok $n - $*"; }
echo "1..10"

# No bus at all: cron next must not need one.
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$TMP/no-such-bus
export DBUS_SESSION_BUS_ADDRESS=unix:path=$TMP/no-such-bus

# The DST night in Berlin: 02:30 does not exist on 2026-03-29.
"$SLUICECTL" cron next '30 2 * * *' --timezone Europe/Berlin \
  --from 2026-03-27T12:00:00+01:00 --count 4 > "$TMP/out"
printf '%s\n' 2026-03-28T02:30:00+01:00 2026-03-29T03:00:00+02:00 \
  2026-03-30T02:30:00+02:00 2026-03-31T02:30:00+02:00 > "$TMP/expected"
diff -u "$TMP/expected" "$TMP/out" || fail "spring forward in Europe/Berlin"
ok "spring forward in Europe/Berlin"

# Falling back in New York: 01:30 runs at its first occurrence.
"$SLUICECTL" cron next '30 1 * * *' --timezone America/New_York \
  --from 2026-10-31T12:00:00-04:00 --count 2 > "$TMP/out"
printf '%s\n' 2026-11-01T01:30:00-04:00 2026-11-02T01:30:00-05:00 > "$TMP/expected"
diff -u "$TMP/expected" "$TMP/out" || fail "fall back in America/New_York"
ok "fall back in America/New_York"

# Default count 5, UTC, seconds field, macros.
"$SLUICECTL" cron next '*/20 * * * * *' --from 2026-01-01T00:00:00Z > "$TMP/out"
printf '%s\n' 2026-01-01T00:00:20Z 2026-01-01T00:00:40Z 2026-01-01T00:01:00Z \
  2026-01-01T00:01:20Z 2026-01-01T00:01:40Z > "$TMP/expected"
diff -u "$TMP/expected" "$TMP/out" || fail "five by default, in UTC"
ok "five by default, in UTC"

"$SLUICECTL" cron next '@weekly' --from 2026-01-01T00:00:00Z --count 1 > "$TMP/out"
[ "$(cat "$TMP/out")" = 2026-01-04T00:00:00Z ] || fail "@weekly: $(cat "$TMP/out")"
ok "@weekly"

# --json, before or after the command: one JSON array of the same times.
"$SLUICECTL" --json cron next '@daily' --from 2026-01-01T12:00:00Z --count 2 > "$TMP/out"
"$SLUICECTL" cron next '@daily' --from 2026-01-01T12:00:00Z --count 2 --json > "$TMP/out2"
diff -u "$TMP/out" "$TMP/out2" || fail "--json after the command differs"
python3 - "$TMP/out" <<'PY' || fail "--json: $(cat "$TMP/out")"
import json, sys
assert json.load(open(sys.argv[1])) == ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]
PY
ok "--json"

# Without --from: from now, strictly increasing, in the future.
"$SLUICECTL" cron next '* * * * *' --count 3 > "$TMP/out"
[ "$(wc -l < "$TMP/out")" -eq 3 ] || fail "three lines from now"
now=$(date -u +%s)
prev=$now
while read -r line; do
  t=$(date -u -d "$line" +%s)
  [ "$t" -gt "$prev" ] || fail "not after $prev: $line"
  prev=$t
done < "$TMP/out"
ok "from now"

# Bad input: a message on stderr naming what is wrong, exit status 7
# (invalid input), nothing on stdout.
status=0
"$SLUICECTL" cron next '0 0 32 * *' > "$TMP/out" 2> "$TMP/err" || status=$?
[ "$status" -eq 7 ] || fail "bad expression: exit status $status"
[ ! -s "$TMP/out" ] || fail "bad expression printed on stdout"
grep -qF "sluicectl: cron '0 0 32 * *': field 3 (day of month): '32' is out of range 1-31" "$TMP/err" \
  || fail "bad expression message: $(cat "$TMP/err")"
ok "bad expression"

status=0
"$SLUICECTL" cron next '@daily' --timezone Mars/Olympus_Mons 2> "$TMP/err" || status=$?
[ "$status" -eq 7 ] || fail "unknown zone: exit status $status"
grep -qF "unknown time zone 'Mars/Olympus_Mons'" "$TMP/err" || fail "zone message: $(cat "$TMP/err")"
ok "unknown time zone"

status=0
"$SLUICECTL" cron next '@daily' --from yesterday 2> "$TMP/err" || status=$?
[ "$status" -eq 7 ] || fail "bad --from: exit status $status"
grep -qF "'yesterday' is not an ISO 8601 date and time" "$TMP/err" || fail "--from message: $(cat "$TMP/err")"
ok "bad --from"

# Usage errors: exit status 2.
status=0
"$SLUICECTL" cron next '@daily' --count 0 2> "$TMP/err" || status=$?
[ "$status" -eq 2 ] || fail "--count 0: exit status $status"
grep -qF -- "--count 0: expected at least 1" "$TMP/err" || fail "--count message: $(cat "$TMP/err")"
status=0
"$SLUICECTL" cron next 2> "$TMP/err" || status=$?
[ "$status" -eq 2 ] || fail "no expression: exit status $status"
ok "usage errors"
