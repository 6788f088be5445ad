#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sluiced as an operator uses it: --version, --list-plugins, --check, --run,
# and the daemon running a file.watch workflow end to end.
set -euo pipefail
SLUICED=$1
SRCDIR=$2
TMP=$(mktemp -d)
DAEMON_PID=
cleanup () {
  [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*" >&2; exit 1; }
PY=/usr/bin/python3

cat > "$TMP/sluice.conf" <<CONF
{"workflows": "$TMP/workflows", "connections": "$TMP/connections.d", "state_dir": "$TMP/state",
 "plugin_dirs": [], "redis": "none"}
CONF
mkdir -p "$TMP/workflows" "$TMP/connections.d"
S () { "$SLUICED" --config "$TMP/sluice.conf" "$@"; }

echo "# --version"
S --version | grep -Eq '^sluiced [0-9]+\.[0-9]+\.[0-9]+ \(plugin ABI [0-9]+\.[0-9]+\)$' || fail "--version"

echo "# --list-plugins --json lists core and file with their components"
S --list-plugins --json > "$TMP/plugins.json"
$PY - "$TMP/plugins.json" <<'PY'
import json, sys
plugins = {p["name"]: p for p in json.load(open(sys.argv[1]))}
assert plugins["core"]["path"] == "built-in", plugins["core"]
core = {c["name"]: c["interface"] for c in plugins["core"]["components"]}
assert core == {"core.manual": "trigger", "core.split": "step", "core.map": "step",
                "core.filter": "step", "core.batch": "step", "core.dispatch": "step",
                "core.batch-process": "step"}, core
files = {c["name"]: c["interface"] for c in plugins["file"]["components"]}
assert files == {"file.watch": "trigger", "file.read": "source", "file.write": "step"}, files
assert plugins["file"]["path"].endswith("sluice-file.so")
for p in plugins.values():
    for key in ("name", "version", "path", "license", "description", "components"):
        assert key in p, (p["name"], key)
PY

echo "# --check: unknown component names node and component, exit non-zero"
cat > "$TMP/bad.json" <<'JSON'
{
  "name": "bad",
  "trigger": {"use": "core.manual"},
  "steps": [
    {"id": "fetch", "use": "sftp.read", "with": {"path": "/out"}}
  ]
}
JSON
if S --check "$TMP/bad.json" 2> "$TMP/err"; then fail "--check accepted an unknown component"; fi
grep -q "bad.json:5: node 'fetch', key 'use': unknown component 'sftp.read'" "$TMP/err" || { cat "$TMP/err"; fail "unknown component message"; }

echo "# --check: broken JSON names file and line"
printf '{\n  "name": "x",\n  "steps": [\n' > "$TMP/broken.json"
if S --check "$TMP/broken.json" 2> "$TMP/err"; then fail "--check accepted broken JSON"; fi
grep -Eq "broken.json:[0-9]+:[0-9]+: " "$TMP/err" || { cat "$TMP/err"; fail "broken JSON message"; }

echo "# --check: every shipped example is valid"
S --check "$SRCDIR"/../../data/examples/*.json > /dev/null || fail "an example workflow is invalid"

echo "# a world-writable plugin folder is refused, with a message saying so"
mkdir -p "$TMP/unsafe"
cp "$(dirname "$($PY -c 'import json,sys; print([p["path"] for p in json.load(open(sys.argv[1])) if p["name"]=="file"][0])' "$TMP/plugins.json")")/sluice-file.so" "$TMP/unsafe/sluice-other.so"
chmod 0777 "$TMP/unsafe"
SLUICE_PLUGIN_PATH="$TMP/unsafe" S --list-plugins > /dev/null 2> "$TMP/err"
grep -q "$TMP/unsafe" "$TMP/err" && grep -qi "writable" "$TMP/err" || { cat "$TMP/err"; fail "unsafe folder not refused"; }

echo "# --run: one event through split, filter, map and file.write"
mkdir -p "$TMP/out"
cat > "$TMP/orders.csv" <<'CSV'
id,customer,status,total
1,ada,paid,10.50
2,bob,open,7.00
3,cy,paid,99.90
CSV
cat > "$TMP/run.json" <<JSON
{"name": "paid-orders", "trigger": {"use": "core.manual"},
 "steps": [
  {"id": "rows", "use": "split", "with": {"format": "csv"}},
  {"id": "paid", "use": "filter", "with": {"when": {"field": "\$.status", "equals": "paid"}}},
  {"id": "shape", "use": "map", "with": {"fields": {"order": "\$.id", "who": "\$.customer"}}},
  {"id": "out", "use": "file.write", "with": {"directory": "$TMP/out", "filename": "paid.jsonl", "mode": "append"}}
 ]}
JSON
S --run "$TMP/run.json" --input "$TMP/orders.csv" > "$TMP/run.out" 2> "$TMP/err" || { cat "$TMP/err"; fail "--run failed"; }
grep -q "succeeded" "$TMP/run.out" || fail "--run did not report success"
$PY - "$TMP/out/paid.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows == [{"order": "1", "who": "ada"}, {"order": "3", "who": "cy"}], rows
PY

echo "# --run: a failing run exits non-zero and says why"
printf 'id,status\n1,"open\n' > "$TMP/broken.csv"
if S --run "$TMP/run.json" --input "$TMP/broken.csv" > /dev/null 2> "$TMP/err"; then fail "broken CSV run succeeded"; fi
grep -q "failed: csv" "$TMP/err" || { cat "$TMP/err"; fail "failure reason"; }

echo "# daemon: file.watch end to end, then SIGTERM"
mkdir -p "$TMP/inbox"
cat > "$TMP/workflows/watch.json" <<JSON
{"name": "watch", "trigger": {"use": "file.watch", "with": {"path": "$TMP/inbox", "pattern": "*.csv", "stable_for": "200ms"}},
 "steps": [
  {"id": "rows", "use": "split", "with": {"format": "csv"}},
  {"id": "out", "use": "file.write", "with": {"directory": "$TMP/out", "filename": "watched-{name}.jsonl", "mode": "append"}}
 ]}
JSON
"$SLUICED" --config "$TMP/sluice.conf" > "$TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
for i in $(seq 1 50); do grep -q "workflow 'watch' started" "$TMP/daemon.log" && break; sleep 0.1; done
grep -q "workflow 'watch' started" "$TMP/daemon.log" || { cat "$TMP/daemon.log"; fail "daemon did not start the workflow"; }
cp "$TMP/orders.csv" "$TMP/inbox/.orders.tmp" && mv "$TMP/inbox/.orders.tmp" "$TMP/inbox/orders.csv"
cp "$TMP/broken.csv" "$TMP/inbox/broken.csv"
for i in $(seq 1 100); do
  [ -f "$TMP/inbox/processed/orders.csv" ] && [ -f "$TMP/inbox/failed/broken.csv" ] && break
  sleep 0.1
done
[ -f "$TMP/inbox/processed/orders.csv" ] || { cat "$TMP/daemon.log"; fail "orders.csv not moved to processed/"; }
[ -f "$TMP/inbox/failed/broken.csv" ] || { cat "$TMP/daemon.log"; fail "broken.csv not moved to failed/"; }
grep -q "csv" "$TMP/inbox/failed/broken.csv.error" || fail "no error file beside the failed input"
[ "$(wc -l < "$TMP/out/watched-orders.csv.jsonl")" -eq 3 ] || fail "watched output has the wrong number of records"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" || { cat "$TMP/daemon.log"; fail "daemon exited non-zero on SIGTERM"; }
DAEMON_PID=
echo "1 passed, 0 failed"
