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

# A fresh server per unit: some units change configuration they never restore (unit/type/set
# raises proto-max-bulk-len), which would leak into the units after them.
pid=
start_server() {
    "$TC_BIN" --port "$PORT" --bind 127.0.0.1 --loglevel warning --enable-debug-command local >"/tmp/tenantcache-tcl-$PORT.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
}
stop_server() {
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
}
trap stop_server EXIT

for unit in "${units[@]}"; do
    start_server
    log=/tmp/tenantcache-tcl-$PORT-$(echo "$unit" | tr / _).log
    # --baseport keeps the suite's own helper ports next to PORT, so runs for different
    # ports can go on side by side.
    (cd "$REDIS_SRC" && timeout 900 ./runtest --host 127.0.0.1 --port "$PORT" --baseport $((PORT + 40)) --singledb --durable \
        --ignore-encoding --ignore-digest --clients 1 --timeout 60 \
        --tags "-needs:debug -needs:repl -needs:save" --single "$unit") >"$log" 2>&1 || true
    plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
    ok=$(grep -c '^\[ok\]' <<<"$plain" || true)
    err=$(grep -cE '^\[(err|exception)\]' <<<"$plain" || true)
    printf '%-28s passed %4d  failed %4d   (%s)\n' "$unit" "$ok" "$err" "$log"
    stop_server
done
