#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Dead letters as an operator sees them: runs that fail are kept in Redis;
# sluiced lists, inspects, replays (after the cause is fixed) and purges
# them.
set -euo pipefail
SLUICED=$1
SRCDIR=$2
TMP=$(mktemp -d)
cleanup () {
  "$SRCDIR/../services/redis-server.sh" stop "$TMP/redis" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*" >&2; exit 1; }

URL=$("$SRCDIR/../services/redis-server.sh" start "$TMP/redis")
mkdir -p "$TMP/workflows" "$TMP/connections.d"
cat > "$TMP/sluice.conf" <<CONF
{"workflows": "$TMP/workflows", "connections": "$TMP/connections.d", "plugin_dirs": [],
 "redis": "$URL", "state_dir": "$TMP/state"}
CONF
# The output folder does not exist yet, so every run fails.
cat > "$TMP/workflows/w.json" <<JSON
{"name": "w", "trigger": {"use": "core.manual"},
 "steps": [{"id": "out", "use": "file.write",
            "with": {"directory": "$TMP/out", "create_dirs": false, "mode": "append",
                     "filename": "all.jsonl"}}]}
JSON
S () { "$SLUICED" --config "$TMP/sluice.conf" "$@"; }

echo "# three failing runs leave three dead letters"
for n in 1 2 3; do
  printf '{"order": %s}\n' "$n" > "$TMP/in-$n.json"
  S --run "$TMP/workflows/w.json" --input "$TMP/in-$n.json" >/dev/null 2>&1 || true
done
S --dead-letters > "$TMP/list"
[ "$(grep -c ' w ' "$TMP/list")" = 3 ] || { cat "$TMP/list"; fail "expected 3 dead letters"; }
grep -q ' out ' "$TMP/list" || fail "the failing node is not listed"

echo "# --dead-letter ID prints the whole record, payload included"
ID=$(awk 'NR == 2 { print $1 }' "$TMP/list")
S --dead-letter "$ID" > "$TMP/letter.json"
python3 - "$TMP/letter.json" <<'PY'
import base64, json, sys
letter = json.load(open(sys.argv[1]))
assert letter["workflow"] == "w" and letter["node"] == "out", letter
assert letter["attempts"] == 1 and letter["source"] == "core.manual", letter
assert json.loads(base64.b64decode(letter["payload"]))["order"] in (1, 2, 3), letter
assert len(letter["trace_id"]) == 32, letter
PY

echo "# filters"
[ "$(S --dead-letters --workflow other | wc -l)" = 1 ] || fail "--workflow other should list none"
[ "$(S --dead-letters --error-contains "$TMP/out" | grep -c ' w ')" = 3 ] || fail "--error-contains"

echo "# once the cause is fixed, --replay-all runs them all and they are gone"
mkdir "$TMP/out"
S --replay-all --workflow w > "$TMP/replay"
grep -q '^3 dead letters replayed: 3 succeeded, 0 failed again$' "$TMP/replay" || { cat "$TMP/replay"; fail "replay summary"; }
[ "$(wc -l < "$TMP/out/all.jsonl")" = 3 ] || fail "three payloads written"
for n in 1 2 3; do grep -q "\"order\": $n" "$TMP/out/all.jsonl" || fail "order $n missing"; done
[ "$(S --dead-letters | wc -l)" = 1 ] || fail "dead letters left after replay"

echo "# --purge removes by id"
rmdir "$TMP/out" 2>/dev/null || mv "$TMP/out" "$TMP/out.done"
S --run "$TMP/workflows/w.json" --input "$TMP/in-1.json" >/dev/null 2>&1 || true
ID=$(S --dead-letters | awk 'NR == 2 { print $1 }')
[ -n "$ID" ] || fail "no dead letter to purge"
S --purge "$ID" | grep -q '^1 dead letter removed$' || fail "purge"
[ "$(S --dead-letters | wc -l)" = 1 ] || fail "dead letter left after purge"
if S --dead-letter "$ID" 2> "$TMP/err"; then fail "a purged dead letter is still there"; fi
grep -q "$ID" "$TMP/err" || { cat "$TMP/err"; fail "unknown id not named"; }
echo "PASS"
