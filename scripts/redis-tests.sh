#!/usr/bin/env bash
# Runs units of the Redis project's own TCL test suite against tenantcache in external-server
# mode and prints passed/failed per unit.
#
#   scripts/redis-tests.sh [unit ...]          e.g. scripts/redis-tests.sh unit/type/string
#
# REDIS_SRC: a checkout of the Redis repository at the tag to test against (default
# ../redis-7.0.15); it is never part of this repository. TC_BIN: the server binary
# (default target/release/tenantcache). Needs tclsh.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_SRC=${REDIS_SRC:-../redis-7.0.15}
TC_BIN=${TC_BIN:-target/release/tenantcache}
PORT=${PORT:-$((20000 + RANDOM % 10000))}
units=("$@")
[ ${#units[@]} -gt 0 ] || units=(unit/type/string unit/type/incr unit/keyspace unit/expire unit/scan unit/pubsub unit/protocol unit/querybuf unit/introspection unit/info-command)

"$TC_BIN" --port "$PORT" --bind 127.0.0.1 --loglevel warning >/tmp/tenantcache-tcl-$PORT.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

for unit in "${units[@]}"; do
    log=/tmp/tenantcache-tcl-$(echo "$unit" | tr / _).log
    (cd "$REDIS_SRC" && timeout 900 ./runtest --host 127.0.0.1 --port "$PORT" --singledb --durable \
        --ignore-encoding --ignore-digest --clients 1 --timeout 60 \
        --tags "-needs:debug -needs:repl -needs:save" --single "$unit") >"$log" 2>&1 || true
    plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
    ok=$(grep -c '^\[ok\]' <<<"$plain" || true)
    err=$(grep -cE '^\[(err|exception)\]' <<<"$plain" || true)
    printf '%-28s passed %4d  failed %4d   (%s)\n' "$unit" "$ok" "$err" "$log"
done
