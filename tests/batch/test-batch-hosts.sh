#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Two sluiced hosts on one Redis share a batch; one is killed with SIGKILL
# mid-batch; the other reclaims its leased records and the final counts are
# exact: every record counted once, as succeeded.
set -euo pipefail
SLUICED=$1
SRCDIR=$2
TMP=$(mktemp -d)
PIDS=()
cleanup () {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  "$SRCDIR/../services/redis-server.sh" stop "$TMP/redis"
  rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*" >&2; for h in a b; do echo "--- host $h log" >&2; cat "$TMP/$h.log" >&2 || true; done; exit 1; }

URL=$("$SRCDIR/../services/redis-server.sh" start "$TMP/redis")
RECORDS=1500

for h in a b; do
  mkdir -p "$TMP/$h/workflows" "$TMP/$h/inbox"
  cat > "$TMP/$h/sluice.conf" <<CONF
{"workflows": "$TMP/$h/workflows", "connections": "$TMP/$h/none", "plugin_dirs": [],
 "state_dir": "$TMP/$h/state", "redis": "$URL", "shutdown_grace": "2s"}
CONF
  cat > "$TMP/$h/workflows/orders.json" <<JSON
{"name": "orders", "concurrency": 4,
 "trigger": {"use": "file.watch", "with": {"path": "$TMP/$h/inbox", "pattern": "*.jsonl", "stable_for": "200ms"}},
 "steps": [
  {"id": "rows", "use": "split", "with": {"format": "jsonl"}},
  {"id": "load", "use": "batch", "with": {"id": "orders-{run}-{uuid}", "chunk": 25, "lease": "2s", "on_complete": "report"}},
  {"id": "write", "use": "file.write", "with": {"directory": "$TMP/out", "filename": "order-{header:sluice-record}.json", "mode": "replace"}}
 ]}
JSON
  cat > "$TMP/$h/workflows/report.json" <<JSON
{"name": "report", "trigger": {"use": "core.manual"},
 "steps": [{"id": "keep", "use": "file.write", "with": {"directory": "$TMP/reports", "filename": "{header:sluice-batch}.json", "mode": "replace"}}]}
JSON
done

"$SLUICED" --config "$TMP/a/sluice.conf" > "$TMP/a.log" 2>&1 &
PIDS+=($!); A=$!
"$SLUICED" --config "$TMP/b/sluice.conf" > "$TMP/b.log" 2>&1 &
PIDS+=($!)
for h in a b; do
  for i in $(seq 1 100); do grep -q "running 2 workflows" "$TMP/$h.log" && break; sleep 0.1; done
  grep -q "running 2 workflows" "$TMP/$h.log" || fail "host $h did not start"
done

echo "# $RECORDS records into host a's inbox"
seq 1 $RECORDS | awk '{ printf "{\"n\": %d, \"text\": \"order number %d\"}\n", $1, $1 }' > "$TMP/a/inbox/.orders"
mv "$TMP/a/inbox/.orders" "$TMP/a/inbox/orders.jsonl"

counts () { "$SLUICED" --config "$TMP/a/sluice.conf" --batches | awk '$1 ~ /^orders-/ { print $2, $3, $4, $5, $6 }'; }

echo "# wait until the batch is being processed, then kill host a"
for i in $(seq 1 200); do
  read -r state pending processing succeeded failed <<< "$(counts)" || true
  if [ "${state:-}" = "closed" ] && [ "${succeeded:-0}" -gt 50 ]; then break; fi
  sleep 0.05
done
[ "${state:-}" = "closed" ] || fail "the batch never started processing (state ${state:-none})"
[ "${succeeded:-0}" -lt "$RECORDS" ] || fail "the batch finished before host a could be killed"
kill -9 "$A"
echo "#   killed host a at: $pending pending, $processing processing, $succeeded succeeded"

echo "# host b finishes the batch, reclaiming host a's leased records"
for i in $(seq 1 600); do
  read -r state pending processing succeeded failed <<< "$(counts)" || true
  [ "${state:-}" = "completed" ] && break
  sleep 0.1
done
[ "${state:-}" = "completed" ] || fail "batch not completed: $state $pending $processing $succeeded $failed"
[ "$succeeded" -eq "$RECORDS" ] || fail "succeeded $succeeded, expected $RECORDS"
[ "$failed" -eq 0 ] && [ "$pending" -eq 0 ] && [ "$processing" -eq 0 ] || fail "counts $pending/$processing/$failed"
[ "$(ls "$TMP/out" | wc -l)" -eq "$RECORDS" ] || fail "expected $RECORDS output files, found $(ls "$TMP/out" | wc -l)"
grep -q "claimed\|batch orders-" "$TMP/b.log" || fail "host b never worked on the batch"

echo "# the report went out once, with the exact counts"
for i in $(seq 1 50); do [ -n "$(ls "$TMP/reports" 2>/dev/null)" ] && break; sleep 0.1; done
[ "$(ls "$TMP/reports" | wc -l)" -eq 1 ] || fail "expected one report"
/usr/bin/python3 - "$TMP"/reports/*.json "$RECORDS" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert report["state"] == "completed", report
assert report["counts"] == {"pending": 0, "processing": 0, "succeeded": n, "failed": 0}, report
PY

kill -TERM "${PIDS[1]}"
wait "${PIDS[1]}" || fail "host b exited non-zero on SIGTERM"
echo "1 passed, 0 failed"
