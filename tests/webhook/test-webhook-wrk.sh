#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# wrk as a real client: a sync-mode webhook under 32 connections for 2 s
# answers every request with 200 and the workflow's reply, signature
# checked each time; then a run with a wrong signature gets only 401s.
set -euo pipefail
SLUICED=$1
TMP=$(mktemp -d)
DAEMON_PID=
cleanup () {
  if [ -n "$DAEMON_PID" ]; then kill "$DAEMON_PID" 2>/dev/null || true; wait "$DAEMON_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*" >&2; tail -n 20 "$TMP/sluiced.log" >&2 2>/dev/null || true; exit 1; }
command -v wrk >/dev/null || fail "wrk is not installed (tools/install-deps installs it)"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$TMP/workflows"
openssl rand -hex 32 > "$TMP/key"
chmod 600 "$TMP/key"
printf '{"id": 7, "note": "%s"}' "$(head -c 600 /dev/zero | tr '\0' 'x')" > "$TMP/body.json"
SIG=sha256=$(openssl dgst -sha256 -hmac "$(cat "$TMP/key")" < "$TMP/body.json" | sed 's/^.*= //')
cat > "$TMP/workflows/hook.json" <<JSON
{"name": "hook", "concurrency": 64,
 "trigger": {"use": "webhook.receive",
             "with": {"listen": "127.0.0.1:$PORT", "path": "/hook", "mode": "sync",
                      "signature": {"preset": "github", "secret": {"file": "$TMP/key"}}}},
 "steps": [{"id": "shape", "use": "map", "with": {"fields": {"id": "\$.id"}}}]}
JSON
cat > "$TMP/sluice.conf" <<CONF
{"workflows": "$TMP/workflows", "connections": "$TMP/none", "plugin_dirs": [], "state_dir": "$TMP/state", "redis": "none"}
CONF
"$SLUICED" --config "$TMP/sluice.conf" > "$TMP/sluiced.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "sluiced exited"
  sleep 0.1
done

cat > "$TMP/post.lua" <<'LUA'
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Hub-Signature-256"] = os.getenv("SIGNATURE")
LUA

echo "# one request by curl: the reply is the workflow's output"
[ "$(curl -s -X POST "http://127.0.0.1:$PORT/hook" -H 'Content-Type: application/json' \
      -H "X-Hub-Signature-256: $SIG" --data-binary @"$TMP/body.json")" = '{"id":7}' ] \
  || fail "sync reply"

echo "# valid signatures under load: every answer is 2xx"
BODY_FILE=$TMP/body.json SIGNATURE=$SIG   wrk -t2 -c32 -d2s -s "$TMP/post.lua" "http://127.0.0.1:$PORT/hook" > "$TMP/wrk.txt"
cat "$TMP/wrk.txt"
! grep -q "Non-2xx" "$TMP/wrk.txt" || fail "non-2xx answers under load"
! grep -q "Socket errors" "$TMP/wrk.txt" || fail "socket errors under load"
[ "$(awk '/requests in/ { print $1 }' "$TMP/wrk.txt")" -gt 200 ] || fail "too few requests"

echo "# a wrong signature: every answer is 401"
BODY_FILE=$TMP/body.json SIGNATURE=sha256=$(printf '0%.0s' $(seq 1 64))   wrk -t1 -c8 -d1s -s "$TMP/post.lua" "http://127.0.0.1:$PORT/hook" > "$TMP/wrk401.txt"
grep -q "Non-2xx or 3xx responses" "$TMP/wrk401.txt" || fail "401s expected"
total=$(awk '/requests in/ { print $1 }' "$TMP/wrk401.txt")
non2xx=$(awk '/Non-2xx or 3xx responses/ { print $5 }' "$TMP/wrk401.txt")
[ "$total" = "$non2xx" ] || fail "$non2xx of $total requests refused"
kill -0 "$DAEMON_PID" || fail "sluiced died under load"
echo "PASS"
