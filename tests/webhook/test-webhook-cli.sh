#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# webhook.receive in sluiced, with curl as the client: the shipped example
# (GitHub-style signature made with openssl, orders into a batch), then
# HTTPS with client certificates made with openssl req.
set -euo pipefail
SLUICED=$1
SRCDIR=$2
TMP=$(mktemp -d)
DAEMON_PID=
cleanup () {
  if [ -n "$DAEMON_PID" ]; then kill "$DAEMON_PID" 2>/dev/null || true; wait "$DAEMON_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*" >&2; cat "$TMP"/*.log >&2 2>/dev/null || true; exit 1; }

free_port () {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts sluiced on $1 (a folder with sluice.conf) and waits for its port.
start () {
  "$SLUICED" --config "$1/sluice.conf" > "$1.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    kill -0 "$DAEMON_PID" 2>/dev/null || fail "sluiced exited"
    sleep 0.1
  done
  fail "sluiced does not listen on $2"
}

stop () {
  kill "$DAEMON_PID"
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=
}

echo "# the example: a signed order is accepted once it is in the batch"
PORT=$(free_port)
D=$TMP/example
mkdir -p "$D/workflows" "$D/secrets"
install -m 0600 "$SRCDIR/../../data/examples/secrets/webhook-orders.key" "$D/secrets/webhook-orders.key"
sed -e "s#/var/lib/sluice/examples#$D#g" -e "s#127.0.0.1:8085#127.0.0.1:$PORT#" \
  "$SRCDIR/../../data/examples/webhook-orders.json" > "$D/workflows/webhook-orders.json"
cat > "$D/sluice.conf" <<CONF
{"workflows": "$D/workflows", "connections": "$D/none", "plugin_dirs": [], "state_dir": "$D/state"}
CONF
"$SLUICED" --config "$D/sluice.conf" --check "$D/workflows/webhook-orders.json" > /dev/null \
  || fail "--check refused the example"
start "$D" "$PORT"

BODY='{"id": "A-1", "total": 250}'
SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$(cat "$D/secrets/webhook-orders.key")" | sed 's/^.*= //')
CODE=$(curl -s -o "$TMP/out" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/hooks/orders" \
  -H 'Content-Type: application/json' -H "X-Hub-Signature-256: sha256=$SIG" \
  -H 'X-Request-Id: order-A-1' --data-binary "$BODY")
[ "$CODE" = 202 ] || fail "signed order: HTTP $CODE $(cat "$TMP/out")"
grep -q '"request_id":"order-A-1"' "$TMP/out" || fail "202 body: $(cat "$TMP/out")"

CODE=$(curl -s -o "$TMP/out" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/hooks/orders" \
  -H 'Content-Type: application/json' -H "X-Hub-Signature-256: sha256=$SIG" \
  --data-binary '{"id": "A-1", "total": 999}')
[ "$CODE" = 401 ] || fail "tampered order: HTTP $CODE"
grep -q '"error":"invalid signature"' "$TMP/out" || fail "401 body: $(cat "$TMP/out")"
# The secret never reaches the log.
if grep -q "$(cat "$D/secrets/webhook-orders.key")" "$D.log"; then fail "secret in the log"; fi
stop

echo "# mTLS: a client certificate from the CA is accepted, others are refused"
PORT=$(free_port)
T=$TMP/tls
mkdir -p "$T/workflows" "$T/pki"
P=$T/pki
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=test-ca" \
  -keyout "$P/ca.key" -out "$P/ca.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other-ca" \
  -keyout "$P/other-ca.key" -out "$P/other-ca.pem" 2>/dev/null
issue () { # name subject ca
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$P/$1.key" -out "$P/$1.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' > "$P/$1.ext"
  openssl x509 -req -in "$P/$1.csr" -CA "$P/$3.pem" -CAkey "$P/$3.key" -CAcreateserial \
    -days 2 -extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
}
issue server "/CN=127.0.0.1" ca
issue partner-a "/CN=partner-a" ca
issue partner-b "/CN=partner-b" ca
issue stranger "/CN=partner-a" other-ca
cat > "$T/workflows/mtls.json" <<JSON
{"name": "mtls",
 "trigger": {"use": "webhook.receive", "with": {"listen": "127.0.0.1:$PORT", "path": "/in",
   "tls": {"certificate": "$P/server.pem", "key": "$P/server.key", "client_ca": "$P/ca.pem",
           "allowed_subjects": ["CN=partner-a"]}}},
 "steps": [{"id": "m", "use": "map", "with": {"fields": {"ok": {"const": true}}}}]}
JSON
cat > "$T/sluice.conf" <<CONF
{"workflows": "$T/workflows", "connections": "$T/none", "plugin_dirs": [], "redis": "none"}
CONF
start "$T" "$PORT"

post () { # cert-name-or-empty
  local args=(-s -o "$TMP/out" -w '%{http_code}' --cacert "$P/ca.pem" -X POST
              -H 'Content-Type: application/json' --data-binary '{}')
  [ -n "$1" ] && args+=(--cert "$P/$1.pem" --key "$P/$1.key")
  curl "${args[@]}" "https://127.0.0.1:$PORT/in" || true
}
CODE=$(post partner-a)
[ "$CODE" = 202 ] || fail "partner-a: HTTP $CODE $(cat "$TMP/out" 2>/dev/null)"
# Refused either in the handshake (curl reports 000) or with 403.
for who in partner-b stranger ""; do
  CODE=$(post "$who")
  case "$CODE" in 000|403) ;; *) fail "client '${who:-none}' got HTTP $CODE";; esac
done
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/in" \
  -H 'Content-Type: application/json' --data-binary '{}' || true)
[ "$CODE" != 202 ] || fail "plain HTTP accepted on a TLS listener"
stop
echo "# ok"
