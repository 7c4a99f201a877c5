#!/usr/bin/env bash
# Latency while the keyspace grows: for tenantcache and Redis in one run, a pipelined writer
# loads millions of fresh keys while a second client sends PING and GET alternately, one at
# a time, and records every round trip. A table that doubles in one step stalls every client
# for as long as the rehash takes; this shows it as the maximum and the p99.9.
#
#   scripts/growth-latency.sh
#
# Per server it prints the requests the probe measured, their p50, p99, p99.9 and maximum in
# microseconds, the DBSIZE reached, and the slowest round trips with their time into the
# load. The writer is `redis-benchmark -t set -r 100000000 -n $REQUESTS -P 64 -c 4 -d 32`
# (random keys out of 10^8, so DBSIZE ends a little below REQUESTS); the probe is
# examples/latency_probe.rs, built by this script. Uses target/release/tenantcache and
# Debian's redis-server (installed with apt-get if missing).
# Environment: TC_BIN, TC_PORT (17000), REDIS_PORT (17001), REQUESTS (5000000),
# SERVERS ("redis tenantcache"), PROBE_SLOWEST (5), TC_ARGS (extra arguments for tenantcache).
set -euo pipefail
cd "$(dirname "$0")/.."

TC_BIN=${TC_BIN:-target/release/tenantcache}
TC_PORT=${TC_PORT:-17000}
REDIS_PORT=${REDIS_PORT:-17001}
REQUESTS=${REQUESTS:-5000000}
SERVERS=${SERVERS:-redis tenantcache}
PROBE_SLOWEST=${PROBE_SLOWEST:-5}
PROBE=target/release/examples/latency_probe

SCRIPT_NAME=growth-latency
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-benchmark redis-tools
need_package redis-server redis-server
need_tc_bin
cargo build --release --quiet --example latency_probe

STOP_FILE=$(mktemp -u "/tmp/$SCRIPT_NAME-stop.XXXXXX")
PROBE_OUT=$(mktemp "/tmp/$SCRIPT_NAME-probe.XXXXXX")
trap 'stop_servers; rm -f "$STOP_FILE" "$PROBE_OUT"' EXIT

# measure NAME PORT COMMAND...: loads the keys with the probe running and prints the results.
measure() {
    local name=$1 port=$2 probe_pid keys summary
    shift 2
    start_server "$port" "$@"
    rm -f "$STOP_FILE"
    redis-cli -p "$port" set latency-probe:key "a value the probe reads" >/dev/null
    "$PROBE" --port "$port" --stop-file "$STOP_FILE" --max-seconds 600 --slowest "$PROBE_SLOWEST" >"$PROBE_OUT" &
    probe_pid=$!
    redis-benchmark -p "$port" -t set -r 100000000 -n "$REQUESTS" -P 64 -c 4 -d 32 -q >/dev/null
    touch "$STOP_FILE"
    wait "$probe_pid"
    keys=$(redis-cli -p "$port" dbsize)
    stop_servers
    summary=$(head -n 1 "$PROBE_OUT")
    # summary: requests N p50_us A p99_us B p99.9_us C max_us D
    awk -v n="$name" -v k="$keys" '{ printf "%-12s %10s %8s %8s %8s %8s %10s\n", n, $2, $4, $6, $8, $10, k }' <<<"$summary"
    tail -n +2 "$PROBE_OUT" | sed "s/^/    $name /"
}

echo "tenantcache: $("$TC_BIN" --version)   redis: $(redis-server --version | cut -d' ' -f3)"
echo "writer: redis-benchmark -t set -r 100000000 -n $REQUESTS -P 64 -c 4 -d 32; probe: PING/GET one at a time"
printf '%-12s %10s %8s %8s %8s %8s %10s\n' server requests p50_us p99_us p99.9_us max_us dbsize
for server in $SERVERS; do
    case $server in
    redis)
        measure redis "$REDIS_PORT" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
            --save '' --appendonly no --daemonize no
        ;;
    tenantcache)
        measure tenantcache "$TC_PORT" "$TC_BIN" --port "$TC_PORT" --bind 127.0.0.1 --save '' --loglevel warning ${TC_ARGS:-}
        ;;
    *) die "unknown server '$server' (redis, tenantcache)" ;;
    esac
done
