#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A throwaway Redis on a free loopback port, for tests and benchmarks.
#   redis-server.sh start DIR [--aof]   prints the URL (redis://127.0.0.1:PORT/0)
#   redis-server.sh stop DIR
# DIR holds its data, log, pid and port files.
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?folder}

case $cmd in
  start)
    aof=no
    [ "${3:-}" = "--aof" ] && aof=yes
    mkdir -p "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly "$aof" --dir "$dir" \
      --daemonize no --protected-mode yes --logfile "$dir/redis.log" </dev/null >/dev/null 2>&1 &
    echo $! > "$dir/pid"
    echo "$port" > "$dir/port"
    for i in $(seq 1 200); do
      if redis-cli -h 127.0.0.1 -p "$port" PING 2>/dev/null | grep -q PONG; then
        echo "redis://127.0.0.1:$port/0"
        exit 0
      fi
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || { echo "redis-server exited; see $dir/redis.log" >&2; exit 1; }
      sleep 0.05
    done
    echo "redis-server not ready after 10 s; see $dir/redis.log" >&2
    exit 1
    ;;
  stop)
    [ -f "$dir/pid" ] || exit 0
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/pid"
    ;;
  *)
    echo "usage: redis-server.sh start|stop DIR [--aof]" >&2
    exit 2
    ;;
esac
