#!/usr/bin/env bash
# Runs units of the Redis project's own TCL test suite against tenantcache and prints
# passed/failed per unit.
#
#   scripts/redis-tests.sh [unit ...]              e.g. scripts/redis-tests.sh unit/type/string
#   MODE=started scripts/redis-tests.sh unit/expire
#
# MODE=external (default): one tenantcache per unit, started here; the suite connects to it
# (--host/--port) as to an external server.
# MODE=started: the suite starts the server itself, as it starts redis-server: for every
# start_server block it writes a redis.conf (tests/assets/default.conf plus overrides) and runs
# src/redis-server with it, then reads the server's log for " PID: " and "Ready to accept".
# The run uses a private copy of REDIS_SRC under $TMPDIR whose src/redis-server execs
# $TC_BIN, so the checkout itself is never written to.
#
# A unit is INCOMPLETE when the suite aborted (an exception, a crash) or timed out: its
# counts cover only the tests that ran.
#
# REDIS_SRC: a checkout of the Redis repository at the tag to test against (default
# ../redis-7.0.15); it is never part of this repository. TC_BIN: the server binary
# (default target/release/tenantcache). Needs tclsh.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_SRC=${REDIS_SRC:-../redis-7.0.15}
TC_BIN=$(realpath "${TC_BIN:-target/release/tenantcache}")
MODE=${MODE:-external}
PORT=${PORT:-$((20000 + RANDOM % 10000))}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-900}
units=("$@")
[ ${#units[@]} -gt 0 ] || units=(unit/type/string unit/type/incr unit/keyspace unit/expire unit/scan unit/pubsub unit/protocol unit/querybuf unit/introspection unit/info-command)
TAGS="-needs:debug -needs:repl -needs:save"
COMMON=(--ignore-encoding --ignore-digest --clients 1 --timeout 60 --tags "$TAGS")

# A fresh server per unit: some units change configuration they never restore (unit/type/set
# raises proto-max-bulk-len), which would leak into the units after them.
pid=
tree=
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
cleanup() {
    stop_server
    [ -z "$tree" ] || rm -rf "$tree"
}
trap cleanup EXIT

case "$MODE" in
external) ;;
started)
    tree=$(mktemp -d "${TMPDIR:-/tmp}/tenantcache-redis-tests.XXXXXX")
    cp -a "$REDIS_SRC/." "$tree/"
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$TC_BIN" >"$tree/src/redis-server"
    chmod +x "$tree/src/redis-server"
    ;;
*) echo "MODE must be external or started" >&2; exit 2 ;;
esac

for unit in "${units[@]}"; do
    log=/tmp/tenantcache-tcl-$MODE-$PORT-$(echo "$unit" | tr / _).log
    rc=0
    if [ "$MODE" = external ]; then
        start_server
        # --baseport keeps the suite's own helper ports next to PORT, so runs for different
        # ports can go on side by side.
        (cd "$REDIS_SRC" && timeout "$UNIT_TIMEOUT" ./runtest --host 127.0.0.1 --port "$PORT" --baseport $((PORT + 40)) \
            --singledb --durable "${COMMON[@]}" --single "$unit") >"$log" 2>&1 || rc=$?
        stop_server
    else
        (cd "$tree" && timeout "$UNIT_TIMEOUT" ./runtest --baseport $((PORT + 40)) --portcount 100 --durable \
            "${COMMON[@]}" --single "$unit") >"$log" 2>&1 || rc=$?
    fi
    plain=$(sed 's/\x1b\[[0-9;]*m//g' "$log")
    ok=$(grep -c '^\[ok\]' <<<"$plain" || true)
    err=$(grep -cE '^\[(err|exception)\]' <<<"$plain" || true)
    state=
    if [ "$rc" = 124 ] || grep -q '^\[exception\]' <<<"$plain" ||
        ! grep -qE 'All tests passed without errors|The following tests failed' <<<"$plain"; then
        state=INCOMPLETE
    fi
    printf '%-8s %-24s passed %4d  failed %4d  %-10s (%s)\n' "$MODE" "$unit" "$ok" "$err" "$state" "$log"
done
