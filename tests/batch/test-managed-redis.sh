#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# "redis": "managed": sluiced starts its own redis-server on a private unix
# socket under its state folder (AOF on), a second daemon on the same state
# folder refuses to start, state survives a restart, and the server stops
# with the daemon.
set -euo pipefail
SLUICED=$1
TMP=$(mktemp -d)
PID=
cleanup () {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  pkill -9 -f "$TMP/state/redis/redis.sock" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*" >&2; cat "$TMP/log" >&2 || true; exit 1; }

mkdir -p "$TMP/workflows" "$TMP/inbox"
cat > "$TMP/sluice.conf" <<CONF
{"workflows": "$TMP/workflows", "connections": "$TMP/none", "plugin_dirs": [],
 "state_dir": "$TMP/state", "redis": "managed"}
CONF
cat > "$TMP/workflows/load.json" <<JSON
{"name": "load", "trigger": {"use": "file.watch", "with": {"path": "$TMP/inbox", "stable_for": "100ms"}},
 "steps": [{"id": "rows", "use": "split", "with": {"format": "jsonl"}},
           {"id": "keep", "use": "batch", "with": {"id": "kept", "close": "manual", "expire": "1h"}},
           {"id": "after", "use": "filter", "with": {"when": {"field": "\$.n", "exists": true}}}]}
JSON

start () {
  "$SLUICED" --config "$TMP/sluice.conf" > "$TMP/log" 2>&1 &
  PID=$!
  for i in $(seq 1 100); do grep -q "running 1 workflow" "$TMP/log" && return 0; sleep 0.1; done
  fail "daemon did not start"
}
stop () {
  kill -TERM "$PID"
  wait "$PID" || fail "daemon exited non-zero on SIGTERM"
  PID=
}

echo "# the daemon starts redis-server on a private socket"
start
grep -q "Redis at unix://$TMP/state/redis/redis.sock" "$TMP/log" || fail "no managed Redis announced"
[ -S "$TMP/state/redis/redis.sock" ] || fail "no socket"
[ "$(stat -c %a "$TMP/state/redis")" = 700 ] || fail "the Redis folder is readable by others"
pgrep -f "redis-server.*$TMP/state/redis/redis.sock" > /dev/null || fail "no redis-server child"

echo "# a second daemon on the same state folder refuses to start"
if "$SLUICED" --config "$TMP/sluice.conf" > "$TMP/second.log" 2>&1; then fail "second daemon started"; fi
grep -q "another sluiced already runs with the state folder" "$TMP/second.log" || { cat "$TMP/second.log"; fail "no clear refusal"; }

echo "# records go into a batch kept open across runs"
seq 1 30 | awk '{ printf "{\"n\": %d}\n", $1 }' > "$TMP/inbox/.a"; mv "$TMP/inbox/.a" "$TMP/inbox/a.jsonl"
for i in $(seq 1 100); do [ -f "$TMP/inbox/processed/a.jsonl" ] && break; sleep 0.1; done
"$SLUICED" --config "$TMP/sluice.conf" --batches > "$TMP/batches" || fail "--batches failed"
grep -Eq "^kept +open +30 +0 +0 +0$" "$TMP/batches" || { cat "$TMP/batches"; fail "batch counts"; }

echo "# SIGTERM stops the daemon and its redis-server"
stop
sleep 0.2
pgrep -f "redis-server.*$TMP/state/redis/redis.sock" > /dev/null && fail "redis-server left running"
[ -f "$TMP/state/redis/appendonlydir/appendonly.aof.1.incr.aof" ] || ls "$TMP/state/redis/appendonlydir" | grep -q aof || fail "no AOF files"

echo "# the batch survives a restart (AOF)"
start
"$SLUICED" --config "$TMP/sluice.conf" --batches > "$TMP/batches" || fail "--batches failed after restart"
grep -Eq "^kept +open +30 +0 +0 +0$" "$TMP/batches" || { cat "$TMP/batches"; fail "batch lost across restart"; }
stop
echo "1 passed, 0 failed"
