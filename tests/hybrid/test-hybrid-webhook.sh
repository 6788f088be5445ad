#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Hybrid 2 end to end with the shipped examples: signed webhooks (curl)
# append orders to the day's batch (webhook-orders.json); a schedule
# (hybrid-hourly.json, every 2 s here instead of hourly) works through the
# batch with a rate-limited step (hybrid-orders-post.json). The partner is
# down at first (its folder is missing): every record fails; once it is
# back, the next tick retries only the failed records, and orders that
# arrive later are processed too.
set -euo pipefail
SLUICED=$1
SRCDIR=$2
EXAMPLES=$SRCDIR/../../data/examples
TMP=$(mktemp -d)
DAEMON_PID=
cleanup () {
  if [ -n "$DAEMON_PID" ]; then kill "$DAEMON_PID" 2>/dev/null || true; wait "$DAEMON_PID" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
fail () { echo "FAIL: $*" >&2; tail -n 30 "$TMP/sluiced.log" >&2 2>/dev/null || true; exit 1; }
S () { "$SLUICED" --config "$TMP/sluice.conf" "$@"; }

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$TMP/workflows" "$TMP/secrets"
install -m 0600 "$EXAMPLES/secrets/webhook-orders.key" "$TMP/secrets/"
for f in webhook-orders hybrid-hourly hybrid-orders-post; do
  sed -e "s#/var/lib/sluice/examples#$TMP#g" -e "s#127.0.0.1:8085#127.0.0.1:$PORT#" \
      -e 's#"cron": "0 \* \* \* \*"#"cron": "*/2 * * * * *"#' -e 's#"lookback": "1h"#"lookback": "0s"#' \
      -e 's#"mode": "append"}#"mode": "append", "create_dirs": false}#' \
      "$EXAMPLES/$f.json" > "$TMP/workflows/$f.json"
done
grep -q '"create_dirs": false' "$TMP/workflows/hybrid-orders-post.json" || fail "example shape changed"
cat > "$TMP/sluice.conf" <<CONF
{"workflows": "$TMP/workflows", "connections": "$TMP/none", "plugin_dirs": [], "state_dir": "$TMP/state"}
CONF
"$SLUICED" --config "$TMP/sluice.conf" > "$TMP/sluiced.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 "$DAEMON_PID" 2>/dev/null || fail "sluiced exited"
  sleep 0.1
done

KEY=$(cat "$TMP/secrets/webhook-orders.key")
post () {
  local body=$1 sig
  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$KEY" | sed 's/^.*= //')
  curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/hooks/orders" \
    -H 'Content-Type: application/json' -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body"
}
batch_counts () {
  # succeeded failed pending of today's webhook batch
  S --batches | awk '$1 ~ /^webhook-orders-/ { print $5, $6, $3 }'
}
wait_counts () {
  for _ in $(seq 1 150); do
    [ "$(batch_counts)" = "$1" ] && return 0
    sleep 0.2
  done
  fail "batch counts '$(batch_counts)', expected '$1' (succeeded failed pending)"
}

echo "# 20 signed orders are accepted (202) into the batch; a tampered one is refused"
for i in $(seq 1 20); do
  code=$(post "{\"id\": \"W-$i\", \"total\": $i}")
  [ "$code" = 202 ] || fail "order $i: HTTP $code"
done
sig=$(printf '%s' '{"id": "W-1"}' | openssl dgst -sha256 -hmac "$KEY" | sed 's/^.*= //')
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/hooks/orders" \
  -H 'Content-Type: application/json' -H "X-Hub-Signature-256: sha256=$sig" --data-binary '{"id": "W-2"}')
[ "$code" = 401 ] || fail "tampered order: HTTP $code"

echo "# the partner is down: the next tick fails every record, the batch stays open"
wait_counts "0 20 0"
[ ! -e "$TMP/outbox" ] || fail "nothing may have been delivered"

echo "# the partner is back, 10 more orders come: only the failed ones are retried"
mkdir "$TMP/outbox"
for i in $(seq 21 30); do
  code=$(post "{\"id\": \"W-$i\", \"total\": $i}")
  [ "$code" = 202 ] || fail "order $i: HTTP $code"
done
wait_counts "30 0 0"
[ "$(wc -l < "$TMP/outbox/webhook-orders.jsonl")" = 30 ] || fail "30 orders delivered once each"
[ "$(sort -u "$TMP/outbox/webhook-orders.jsonl" | wc -l)" = 30 ] || fail "an order was delivered twice"
S --batches | awk '$1 ~ /^webhook-orders-/ { print "  " $0 }'
S --batches | awk '$1 ~ /^webhook-orders-/ { exit $2 == "open" ? 0 : 1 }' || fail "the batch must stay open"
echo "PASS"
