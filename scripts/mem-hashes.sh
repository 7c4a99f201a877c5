#!/usr/bin/env bash
# Memory of small hashes on tenantcache and Redis: 100,000 hashes (hash:000001 ...) of 10
# fields each (field1 .. field10, 8-byte values), loaded with one HSET per hash.
#
#   scripts/mem-hashes.sh
#
# Each server starts fresh on loopback; the script reads VmRSS from /proc/PID/status and
# INFO's used_memory before and after loading with `redis-cli --pipe`, checks DBSIZE and the
# encoding of one hash, and prints both growths in total and per hash. Uses Debian's
# redis-server (installed with apt-get if missing). Environment: TC_BIN (default
# target/release/tenantcache), TC_PORT (28400), REDIS_PORT (28401), HASHES (100000).
set -euo pipefail
cd "$(dirname "$0")/.."

TC_BIN=${TC_BIN:-target/release/tenantcache}
TC_PORT=${TC_PORT:-28400}
REDIS_PORT=${REDIS_PORT:-28401}
HASHES=${HASHES:-100000}
FIELDS=10

SCRIPT_NAME=mem-hashes
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-server redis-server
need_tc_bin

# RESP for HASHES commands `HSET hash:NNNNNN field1 vNNNNNN1 ... field10 vNNNNN10`.
generate() {
    awk -v hashes="$HASHES" -v fields="$FIELDS" 'BEGIN {
        for (i = 1; i <= hashes; i++) {
            key = sprintf("hash:%06d", i)
            printf "*%d\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", 2 + 2 * fields, length(key), key
            for (f = 1; f <= fields; f++) {
                field = "field" f
                value = sprintf("v%05d-%d", i % 100000, f % 10)
                printf "$%d\r\n%s\r\n$8\r\n%s\r\n", length(field), field, value
            }
        }
    }'
}

# measure NAME PORT COMMAND...: prints one result line.
measure() {
    local name=$1 port=$2 rss0 rss1 mem0 mem1 out keys encoding
    shift 2
    start_server "$port" "$@"
    sleep 0.5
    rss0=$(rss_kb "$SERVER_PID")
    mem0=$(used_memory "$port")
    out=$(generate | redis-cli -p "$port" --pipe 2>&1)
    if ! printf '%s\n' "$out" | grep -q "errors: 0, replies: $HASHES"; then
        printf '%-12s FAILED: %s\n' "$name" "$(printf '%s' "$out" | tail -n 1)"
        stop_servers
        return 1
    fi
    keys=$(redis-cli -p "$port" dbsize)
    encoding=$(redis-cli -p "$port" object encoding hash:000001)
    sleep 1 # let the allocator settle
    rss1=$(rss_kb "$SERVER_PID")
    mem1=$(used_memory "$port")
    stop_servers
    [ "$keys" = "$HASHES" ] || { printf '%-12s FAILED: DBSIZE %s\n' "$name" "$keys"; return 1; }
    awk -v n="$name" -v e="$encoding" -v r0="$rss0" -v r1="$rss1" -v m0="$mem0" -v m1="$mem1" -v k="$HASHES" 'BEGIN {
        printf "%-12s %-9s %10.1f %10.1f %14.1f %12.1f %14.1f\n", n, e, (r1 - r0) / 1024, (m1 - m0) / 1048576,
            (r1 - r0) * 1024 / k, m1 / 1048576, (m1 - m0) / k }'
}

echo "tenantcache: $("$TC_BIN" --version)   redis: $(redis-server --version | cut -d' ' -f3)"
echo "$HASHES hashes of $FIELDS fields (field1..field10, 8-byte values); RSS from /proc/PID/status"
printf '%-12s %-9s %10s %10s %14s %12s %14s\n' server encoding rss_MB+ used_MB+ rss_B/hash used_MB used_B/hash
failures=0
measure redis "$REDIS_PORT" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save '' --appendonly no --daemonize no || failures=$((failures + 1))
measure tenantcache "$TC_PORT" "$TC_BIN" --port "$TC_PORT" --bind 127.0.0.1 --save '' \
    --loglevel warning || failures=$((failures + 1))
[ "$failures" -eq 0 ] || exit 1
