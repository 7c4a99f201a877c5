#!/usr/bin/env bash
# Memory of big collections on tenantcache and Redis: one list of LIST_LEN 64-byte elements
# (LPUSH), one set and one hash of SET_LEN 20-byte members (element:NNNNNNNNNNNN) / fields with
# 8-byte values, each loaded into a fresh server with `redis-cli --pipe`.
#
#   scripts/mem-big-collections.sh
#
# For each server and collection the script reads VmRSS from /proc/PID/status and INFO's
# used_memory before and after loading, checks the collection's length, and prints both
# growths per element. Uses Debian's redis-server (installed with apt-get if missing).
# Environment: TC_BIN (default target/release/tenantcache), TC_PORT (28410), REDIS_PORT
# (28411), LIST_LEN (3000000), SET_LEN (1000000).
set -euo pipefail
cd "$(dirname "$0")/.."

TC_BIN=${TC_BIN:-target/release/tenantcache}
TC_PORT=${TC_PORT:-28410}
REDIS_PORT=${REDIS_PORT:-28411}
LIST_LEN=${LIST_LEN:-3000000}
SET_LEN=${SET_LEN:-1000000}

SCRIPT_NAME=mem-big-collections
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-server redis-server
need_tc_bin

# RESP for KIND's commands: LPUSH of 64-byte elements, SADD of members, HSET of fields.
generate() {
    awk -v kind="$1" -v n="$2" 'BEGIN {
        value = sprintf("%064d", 0)
        for (i = 1; i <= n; i++) {
            m = sprintf("element:%012d", i)
            if (kind == "list") printf "*3\r\n$5\r\nLPUSH\r\n$6\r\nmylist\r\n$64\r\n%s\r\n", value
            else if (kind == "set") printf "*3\r\n$4\r\nSADD\r\n$5\r\nmyset\r\n$20\r\n%s\r\n", m
            else printf "*4\r\n$4\r\nHSET\r\n$6\r\nmyhash\r\n$20\r\n%s\r\n$8\r\n%08d\r\n", m, i % 100000000
        }
    }'
}

# measure SERVER KIND N LENGTH_COMMAND PORT COMMAND...: prints one result line.
measure() {
    local name=$1 kind=$2 n=$3 length_cmd=$4 port=$5 rss0 rss1 mem0 mem1 out len encoding
    shift 5
    start_server "$port" "$@"
    sleep 0.5
    rss0=$(rss_kb "$SERVER_PID")
    mem0=$(used_memory "$port")
    out=$(generate "$kind" "$n" | redis-cli -p "$port" --pipe 2>&1)
    printf '%s\n' "$out" | grep -q "errors: 0, replies: $n" || {
        printf '%-12s %-5s FAILED: %s\n' "$name" "$kind" "$(printf '%s' "$out" | tail -n 1)"
        stop_servers
        return 1
    }
    len=$(redis-cli -p "$port" $length_cmd)
    encoding=$(redis-cli -p "$port" object encoding "my$kind")
    sleep 1 # let the allocator settle
    rss1=$(rss_kb "$SERVER_PID")
    mem1=$(used_memory "$port")
    stop_servers
    [ "$len" = "$n" ] || { printf '%-12s %-5s FAILED: length %s\n' "$name" "$kind" "$len"; return 1; }
    awk -v s="$name" -v k="$kind" -v e="$encoding" -v r0="$rss0" -v r1="$rss1" -v m0="$mem0" -v m1="$mem1" -v n="$n" 'BEGIN {
        printf "%-12s %-5s %-10s %10d %10.1f %10.1f %12.1f %12.1f\n", s, k, e, n, (r1 - r0) / 1024, (m1 - m0) / 1048576,
            (r1 - r0) * 1024 / n, (m1 - m0) / n }'
}

echo "tenantcache: $("$TC_BIN" --version)   redis: $(redis-server --version | cut -d' ' -f3)"
printf '%-12s %-5s %-10s %10s %10s %10s %12s %12s\n' server kind encoding elements rss_MB+ used_MB+ rss_B/elem used_B/elem
failures=0
for spec in "list $LIST_LEN llen mylist" "set $SET_LEN scard myset" "hash $SET_LEN hlen myhash"; do
    read -r kind n len_cmd len_key <<<"$spec"
    measure redis "$kind" "$n" "$len_cmd $len_key" "$REDIS_PORT" redis-server --port "$REDIS_PORT" \
        --bind 127.0.0.1 --save '' --appendonly no --daemonize no || failures=$((failures + 1))
    measure tenantcache "$kind" "$n" "$len_cmd $len_key" "$TC_PORT" "$TC_BIN" --port "$TC_PORT" \
        --bind 127.0.0.1 --save '' --loglevel warning || failures=$((failures + 1))
done
[ "$failures" -eq 0 ] || exit 1
