#!/usr/bin/env bash
# Latency while BGSAVE writes a large keyspace: loads KEYS string keys, then a second client
# sends PING and GET alternately, one at a time, and records every round trip, first with the
# server idle, then while a BGSAVE child serializes the keyspace, then under a pipelined writer
# that overwrites keys, without and then with a BGSAVE (so pages are copied on write). A BGSAVE that stopped
# serving would show as the maximum; the fork itself shows there too (it copies the page
# tables while the keyspace is held).
#
#   scripts/bgsave-latency.sh
#
# Per phase it prints the requests the probe measured, their p50, p99, p99.9 and maximum in
# microseconds, the save's wall time, the fork's (INFO latest_fork_usec) and the child's
# copy-on-write memory (peak of INFO current_cow_size, the child's Private_Dirty, which the
# child reads from its /proc/self/smaps_rollup and reports), beside the server's RSS. Keys are loaded with redis-cli --pipe
# (`SET key:<12-digit N> <VALUE_SIZE bytes>`, the names redis-benchmark -r uses, so the
# writer overwrites existing keys); the writer is `redis-benchmark -t set -r KEYS -P 16 -c 2
# -d VALUE_SIZE` over the same key names; the probe is examples/latency_probe.rs, built here.
# Environment: TC_BIN, TC_ARGS (extra arguments for tenantcache), TC_PORT (17170), KEYS (2000000), VALUE_SIZE (32), IDLE_SECONDS (5),
# SERVERS ("tenantcache"; add "redis" for Debian's redis-server on REDIS_PORT, 17171).
set -euo pipefail
cd "$(dirname "$0")/.."

TC_BIN=${TC_BIN:-target/release/tenantcache}
TC_PORT=${TC_PORT:-17170}
REDIS_PORT=${REDIS_PORT:-17171}
KEYS=${KEYS:-2000000}
VALUE_SIZE=${VALUE_SIZE:-32}
IDLE_SECONDS=${IDLE_SECONDS:-5}
SERVERS=${SERVERS:-tenantcache}
PROBE=target/release/examples/latency_probe

SCRIPT_NAME=bgsave-latency
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-benchmark redis-tools
need_tc_bin
cargo build --release --quiet --example latency_probe

WORK=$(mktemp -d "/tmp/$SCRIPT_NAME.XXXXXX")
STOP_FILE=$WORK/stop
PROBE_OUT=$WORK/probe
trap 'stop_servers; rm -rf "$WORK"' EXIT

info() { redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'; }

load_keys() { # load_keys PORT
    local value
    value=$(head -c "$VALUE_SIZE" /dev/zero | tr '\0' v)
    awk -v n="$KEYS" -v v="$value" 'BEGIN {
        for (i = 0; i < n; i++) {
            k = sprintf("key:%012d", i)
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
        }
    }' | redis-cli -p "$1" --pipe >/dev/null
}

start_probe() { # start_probe PORT
    rm -f "$STOP_FILE"
    "$PROBE" --port "$1" --stop-file "$STOP_FILE" --max-seconds 600 --slowest 3 >"$PROBE_OUT" &
    PROBE_PID=$!
}

stop_probe() { # sets SUMMARY: requests N p50_us A p99_us B p99.9_us C max_us D
    touch "$STOP_FILE"
    wait "$PROBE_PID"
    SUMMARY=$(head -n 1 "$PROBE_OUT")
    SLOWEST=$(tail -n +2 "$PROBE_OUT")
}

# bgsave_phase PORT: runs one BGSAVE to its end; sets SAVE_MS and COW_PEAK (bytes).
bgsave_phase() {
    local port=$1 started cow
    started=$(date +%s%N)
    COW_PEAK=0
    redis-cli -p "$port" bgsave >/dev/null
    for _ in $(seq 6000); do
        [ "$(info "$port" persistence rdb_bgsave_in_progress)" = 0 ] && break
        cow=$(info "$port" persistence current_cow_size)
        [ "${cow:-0}" -gt "$COW_PEAK" ] && COW_PEAK=$cow
        sleep 0.05
    done
    SAVE_MS=$((($(date +%s%N) - started) / 1000000))
    cow=$(info "$port" persistence rdb_last_cow_size)
    [ "${cow:-0}" -gt "$COW_PEAK" ] && COW_PEAK=$cow
    [ "$(info "$port" persistence rdb_last_bgsave_status)" = ok ] || die "BGSAVE failed on port $port"
}

row() { # row SERVER PHASE SUMMARY SAVE_MS FORK_US COW_MB RSS_MB
    awk -v s="$1" -v p="$2" -v sm="$4" -v f="$5" -v c="$6" -v r="$7" \
        '{ printf "%-12s %-16s %9s %7s %7s %8s %8s %8s %8s %7s %7s\n", s, p, $2, $4, $6, $8, $10, sm, f, c, r }' <<<"$3"
}

measure() { # measure NAME PORT COMMAND...
    local name=$1 port=$2 rss fork writer
    shift 2
    start_server "$port" "$@"
    load_keys "$port"
    redis-cli -p "$port" set latency-probe:key "a value the probe reads" >/dev/null
    rss=$(($(rss_kb "$SERVER_PID") / 1024))

    start_probe "$port"
    sleep "$IDLE_SECONDS"
    stop_probe
    row "$name" idle "$SUMMARY" - - - "$rss"

    start_probe "$port"
    bgsave_phase "$port"
    stop_probe
    fork=$(info "$port" stats latest_fork_usec)
    row "$name" bgsave "$SUMMARY" "$SAVE_MS" "$fork" $((COW_PEAK >> 20)) "$rss"
    sed "s/^/    $name bgsave /" <<<"$SLOWEST"

    redis-benchmark -p "$port" -t set -r "$KEYS" -n 100000000 -P 16 -c 2 -d "$VALUE_SIZE" -q >/dev/null 2>&1 &
    writer=$!
    sleep 1
    # The writer alone first: what the probe sees under that load without a save.
    start_probe "$port"
    sleep "$IDLE_SECONDS"
    stop_probe
    row "$name" writes "$SUMMARY" - - - "$rss"
    start_probe "$port"
    bgsave_phase "$port"
    stop_probe
    kill "$writer" 2>/dev/null || true
    wait "$writer" 2>/dev/null || true
    fork=$(info "$port" stats latest_fork_usec)
    rss=$(($(rss_kb "$SERVER_PID") / 1024))
    row "$name" bgsave+writes "$SUMMARY" "$SAVE_MS" "$fork" $((COW_PEAK >> 20)) "$rss"
    sed "s/^/    $name bgsave+writes /" <<<"$SLOWEST"
    stop_servers
}

echo "tenantcache: $("$TC_BIN" --version)"
echo "keys: $KEYS x $VALUE_SIZE-byte values; probe: PING/GET one at a time"
printf '%-12s %-16s %9s %7s %7s %8s %8s %8s %8s %7s %7s\n' \
    server phase requests p50_us p99_us p99.9_us max_us save_ms fork_us cow_MB rss_MB
for server in $SERVERS; do
    case $server in
    tenantcache)
        mkdir -p "$WORK/tc"
        measure tenantcache "$TC_PORT" "$TC_BIN" --port "$TC_PORT" --bind 127.0.0.1 --save '' --loglevel warning \
            --dir "$WORK/tc" --metrics-port 0 ${TC_ARGS:-}
        ;;
    redis)
        need_package redis-server redis-server
        mkdir -p "$WORK/redis"
        measure redis "$REDIS_PORT" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
            --save '' --appendonly no --daemonize no --dir "$WORK/redis"
        ;;
    *) die "unknown server '$server' (tenantcache, redis)" ;;
    esac
done
