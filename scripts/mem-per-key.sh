#!/usr/bin/env bash
# Memory per key of tenantcache and Redis: resident memory growth for 1,000,000 distinct
# keys (key:0000000001, key:0000000002, ...: 14 bytes each) with 32-byte values, once with
# plain SETs and once with a TTL on every key (SET k v EX 100000).
#
#   scripts/mem-per-key.sh
#
# Each case starts a fresh server on loopback, reads VmRSS from /proc/PID/status, loads the
# keys with `redis-cli --pipe`, checks DBSIZE, reads VmRSS again and prints the growth divided
# by the number of keys. Uses target/release/tenantcache and Debian's redis-server (installed
# with apt-get if missing), and a Valkey server when VALKEY_BIN names one (built from source;
# its rows say "skipped" otherwise). Environment: TC_BIN, TC_PORT (16400), REDIS_PORT (16401),
# VALKEY_BIN, VALKEY_PORT (16402), KEYS, TC_ARGS (extra arguments for tenantcache).
set -euo pipefail
cd "$(dirname "$0")/.."

TC_BIN=${TC_BIN:-target/release/tenantcache}
TC_PORT=${TC_PORT:-16400}
REDIS_PORT=${REDIS_PORT:-16401}
VALKEY_PORT=${VALKEY_PORT:-16402}
VALKEY_BIN=${VALKEY_BIN:-}
KEYS=${KEYS:-1000000}
VALUE_SIZE=32

SCRIPT_NAME=mem-per-key
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-server redis-server
need_tc_bin

# RESP for KEYS SET commands with distinct 14-byte keys and VALUE_SIZE-byte values; with
# "ttl" each SET carries EX 100000.
generate() {
    awk -v keys="$KEYS" -v size="$VALUE_SIZE" -v ttl="$1" 'BEGIN {
        value = sprintf("%0" size "d", 0); gsub(/0/, "v", value)
        head = ttl == "ttl" ? "*5\r\n" : "*3\r\n"
        tail = ttl == "ttl" ? "$2\r\nEX\r\n$6\r\n100000\r\n" : ""
        for (i = 1; i <= keys; i++) {
            key = sprintf("key:%010d", i)
            printf "%s$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n%s", head, length(key), key, size, value, tail
        }
    }'
}

# measure NAME PORT TTL COMMAND...: prints one result line.
measure() {
    local name=$1 port=$2 ttl=$3 before after out keys
    shift 3
    start_server "$port" "$@"
    sleep 0.5
    before=$(rss_kb "$SERVER_PID")
    out=$(generate "$ttl" | redis-cli -p "$port" --pipe 2>&1)
    if ! printf '%s\n' "$out" | grep -q "errors: 0, replies: $KEYS"; then
        printf '%-12s %-5s FAILED: %s\n' "$name" "$ttl" "$(printf '%s' "$out" | tail -n 1)"
        stop_servers
        return 1
    fi
    keys=$(redis-cli -p "$port" dbsize)
    sleep 1 # let background work (expiry cycle, allocator) settle
    after=$(rss_kb "$SERVER_PID")
    stop_servers
    [ "$keys" = "$KEYS" ] || { printf '%-12s %-5s FAILED: DBSIZE %s\n' "$name" "$ttl" "$keys"; return 1; }
    awk -v n="$name" -v t="$ttl" -v b="$before" -v a="$after" -v k="$KEYS" 'BEGIN {
        printf "%-12s %-5s %10.1f %10.1f %14.1f\n", n, t, b / 1024, a / 1024, (a - b) * 1024 / k }'
}

echo "tenantcache: $("$TC_BIN" --version)   redis: $(redis-server --version | cut -d' ' -f3)"
echo "$KEYS keys of 14 bytes, values of $VALUE_SIZE bytes; RSS from /proc/PID/status VmRSS"
printf '%-12s %-5s %10s %10s %14s\n' server ttl rss_MB_0 rss_MB_1 bytes_per_key
failures=0
for ttl in none ttl; do
    measure redis "$REDIS_PORT" "$ttl" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
        --save '' --appendonly no --daemonize no || failures=$((failures + 1))
    if [ -n "$VALKEY_BIN" ] && [ -x "$VALKEY_BIN" ]; then
        measure valkey "$VALKEY_PORT" "$ttl" "$VALKEY_BIN" --port "$VALKEY_PORT" --bind 127.0.0.1 \
            --save '' --appendonly no --daemonize no || failures=$((failures + 1))
    else
        printf '%-12s %-5s skipped (set VALKEY_BIN to a valkey-server)\n' valkey "$ttl"
    fi
    measure tenantcache "$TC_PORT" "$ttl" "$TC_BIN" --port "$TC_PORT" --bind 127.0.0.1 --save '' \
        --loglevel warning ${TC_ARGS:-} || failures=$((failures + 1))
done
[ "$failures" -eq 0 ] || exit 1
