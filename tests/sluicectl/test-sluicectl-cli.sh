#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sluicectl without a daemon: usage errors exit 2 before any bus is
# touched, an unreachable bus or a bus without sluiced exits 5 with a
# message that says which.
set -euo pipefail
SLUICECTL=${SLUICECTL:?SLUICECTL must name the sluicectl binary}
TMP=$(mktemp -d)
BUS_PID=
cleanup () {
  [ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "not ok - $*"; exit 1; }
n=0
ok () { n=$((n + 1)); echo "ok $n - $*"; }
echo "1..12"

# Nothing here may reach a real bus.
NO_BUS=unix:path=$TMP/no-such-bus
export DBUS_SYSTEM_BUS_ADDRESS=$NO_BUS
export DBUS_SESSION_BUS_ADDRESS=$NO_BUS

# expect STATUS [STDERR-TEXT] -- ARGS...: runs sluicectl, checks the exit
# status and that stderr holds the text.
expect () {
  local want=$1 text=$2 status=0
  shift 3
  "$SLUICECTL" "$@" > "$TMP/out" 2> "$TMP/err" || status=$?
  [ "$status" -eq "$want" ] || fail "sluicectl $*: exit status $status, not $want: $(cat "$TMP/err")"
  if [ -n "$text" ]; then
    grep -qF -- "$text" "$TMP/err" || fail "sluicectl $*: stderr lacks '$text': $(cat "$TMP/err")"
  fi
}

"$SLUICECTL" --help > "$TMP/out" || fail "--help failed"
grep -q '^Exit status:' "$TMP/out" || fail "--help lacks the exit status table"
grep -q 'dead-letters purge' "$TMP/out" || fail "--help lacks the commands"
"$SLUICECTL" batch watch --help > "$TMP/out" || fail "batch watch --help failed"
grep -q -- '--json' "$TMP/out" || fail "a command's --help lacks the global options"
"$SLUICECTL" --version | grep -Eq '^sluicectl [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
ok "--help and --version"

expect 2 "no command given" -- 
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 "workflow: no command given" -- workflow
expect 2 "workflow: unknown command 'explode'" -- workflow explode
ok "unknown and missing commands"

expect 2 "Unknown option --bogus" -- --bogus status
expect 2 "Unknown option --bogus" -- status --bogus
expect 2 "--timeout 0" -- --timeout 0 status
ok "unknown options and bad values"

expect 2 "missing argument" -- batch show
expect 2 "missing argument" -- workflow trigger
expect 2 "unexpected argument 'extra'" -- status extra
expect 2 "unexpected argument 'b'" -- workflow enable a b
ok "missing and extra arguments"

expect 2 "give dead letter ids, or --all" -- dead-letters purge
expect 2 "give dead letter ids, or --all" -- dead-letters replay
expect 2 "not both" -- dead-letters purge some-id --all
expect 2 "go with --all" -- dead-letters replay some-id --workflow orders
ok "purge and replay need ids or --all"

expect 2 "exclude each other" -- workflow trigger orders --payload x --payload-file "$TMP/p"
expect 2 "expected NAME=VALUE" -- workflow trigger orders --header nonsense
expect 2 "both set the content type" -- workflow trigger orders --header Content-Type=a/b --content-type c/d
ok "trigger option errors"

expect 2 "--limit 0" -- runs --limit 0
expect 2 "--offset -1" -- batch failed some-batch --offset -1
ok "paging option errors"

# No bus: --address to a socket that is not there, and the system bus
# through DBUS_SYSTEM_BUS_ADDRESS.
expect 5 "cannot connect to the bus at '$NO_BUS'" -- --address "$NO_BUS" status
expect 5 "cannot connect to the system bus" -- workflows
expect 5 "cannot connect to the session bus" -- --session batches
ok "no bus: exit 5"

# An exit 5 in JSON mode prints no half document.
expect 5 "" -- --json --address "$NO_BUS" runs
[ ! -s "$TMP/out" ] || fail "--json printed on stdout without a daemon: $(cat "$TMP/out")"
ok "no output on failure"

# A bus without sluiced on it.
dbus-daemon --session --fork --nopidfile --print-address=1 --print-pid=1 > "$TMP/bus" \
  || fail "cannot start a private dbus-daemon"
BUS=$(sed -n 1p "$TMP/bus")
BUS_PID=$(sed -n 2p "$TMP/bus")
expect 5 "sluiced is not running" -- --address "$BUS" status
expect 5 "sluiced is not running" -- --address "$BUS" workflow pause orders
expect 5 "sluiced is not running" -- --address "$BUS" batch watch some-batch
expect 5 "sluiced is not running" -- --address "$BUS" dead-letters show some-id
ok "a bus without sluiced: exit 5"

DBUS_SYSTEM_BUS_ADDRESS=$BUS expect 5 "nothing owns org.sluice.Sluice1 on the system bus" -- plugins
DBUS_SESSION_BUS_ADDRESS=$BUS expect 5 "nothing owns org.sluice.Sluice1 on the session bus" -- --session runs
ok "the system and session bus from the environment"

# Usage errors come before any connection: no bus is needed to get 2.
expect 2 "missing argument" -- --address "$NO_BUS" run show
ok "usage errors need no bus"
