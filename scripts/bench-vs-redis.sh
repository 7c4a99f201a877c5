#!/usr/bin/env bash
# Throughput and server CPU cost of tenantcache side by side with Redis, in one run.
#
#   scripts/bench-vs-redis.sh [--pinned | --unpinned]
#
# Starts target/release/tenantcache and Debian's redis-server (installed with apt-get if
# missing) on loopback, then runs the same redis-benchmark matrix against both, alternating
# servers row by row so that background load hits both alike: SET, GET, INCR, MSET (10 keys),
# PUBLISH, LPUSH, RPOP, SADD, HSET, ZADD, GEOADD, LRANGE_100, PFADD (random elements into one
# HyperLogLog, dense after the first thousands), PFADD_KEYS (into 100,000 random, sparse
# HyperLogLogs), XADD (`xadd mystream * field value`, one growing stream) and SETBIT (bit 100
# of 100,000 random bitmaps) (ROWS overrides the list), 50 clients, 64-byte values,
# 100,000 random keys, pipeline 1 and 16.
# For each row it prints both servers' requests per second and their ratio, and the server
# CPU time per request (the run time the scheduler charged to every thread of the server, from
# /proc/PID/task/*/schedstat in nanoseconds, around the row) and that ratio.
#
# --pinned (default): each server on CPU 0 (taskset), redis-benchmark on CPU 1, so both
#   servers get one core (tenantcache then runs one worker thread, like Redis's one thread).
# --unpinned: no pinning; tenantcache may use every core, Redis uses one.
#
# Environment: TC_BIN (default target/release/tenantcache), TC_PORT (16400), REDIS_PORT
# (16401), N_P1 / N_P16 (requests per row at pipeline 1 / 16: 100000 / 500000),
# ROW_TIMEOUT (seconds before a row counts as failed: 120), AOF (unset: no log; always,
# everysec or no: both servers log every write with that appendfsync, each into a directory
# of its own that is removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=pinned
for arg in "$@"; do
    case "$arg" in
        --pinned) MODE=pinned ;;
        --unpinned) MODE=unpinned ;;
        -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option '$arg' (use --pinned or --unpinned)" >&2; exit 2 ;;
    esac
done

TC_BIN=${TC_BIN:-target/release/tenantcache}
TC_PORT=${TC_PORT:-16400}
REDIS_PORT=${REDIS_PORT:-16401}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-500000}
ROW_TIMEOUT=${ROW_TIMEOUT:-120}
CLIENTS=50
VALUE_SIZE=64
KEYSPACE=100000
PAYLOAD=$(printf 'p%.0s' $(seq "$VALUE_SIZE"))

SCRIPT_NAME=bench-vs-redis
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-benchmark redis-tools
need_package redis-server redis-server
need_tc_bin

SERVER_PREFIX=()
CLIENT_PREFIX=()
if [ "$MODE" = pinned ]; then
    if [ "$(nproc)" -lt 2 ]; then
        echo "only $(nproc) CPU available: running unpinned"
        MODE=unpinned
    else
        SERVER_PREFIX=(taskset -c 0)
        CLIENT_PREFIX=(taskset -c 1)
    fi
fi

REDIS_PERSIST=(--appendonly no)
TC_PERSIST=()
if [ -n "${AOF:-}" ]; then
    AOF_DIRS=$(mktemp -d)
    trap 'stop_servers; rm -rf "$AOF_DIRS"' EXIT
    mkdir "$AOF_DIRS/redis" "$AOF_DIRS/tc"
    REDIS_PERSIST=(--appendonly yes --appendfsync "$AOF" --dir "$AOF_DIRS/redis")
    TC_PERSIST=(--appendonly yes --appendfsync "$AOF" --dir "$AOF_DIRS/tc")
    echo "both servers log writes: appendonly yes, appendfsync $AOF"
fi
start_server "$REDIS_PORT" "${SERVER_PREFIX[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save '' "${REDIS_PERSIST[@]}" --daemonize no
REDIS_PID=$SERVER_PID
start_server "$TC_PORT" "${SERVER_PREFIX[@]}" "$TC_BIN" --port "$TC_PORT" --bind 127.0.0.1 --save '' --loglevel warning \
    "${TC_PERSIST[@]}"
TC_PID=$SERVER_PID

cpu_ns() { # CPU time of a process (all its threads), in nanoseconds
    # The first field of schedstat is the time on CPU; /proc/PID/stat's utime and stime count
    # whole clock ticks (10 ms), too coarse for rows that take a second.
    cat /proc/"$1"/task/*/schedstat | awk '{ sum += $1 } END { printf "%.0f\n", sum }'
}

# run_row NAME PIPELINE PORT PID: prints "RPS CPU_US_PER_REQUEST" or "FAILED reason".
run_row() {
    local name=$1 pipeline=$2 port=$3 pid=$4 n args before after out status rps err
    n=$N_P1
    [ "$pipeline" -eq 1 ] || n=$N_P16
    case "$name" in
        PUBLISH) args=(publish "channel:__rand_int__" "$PAYLOAD") ;;
        # Like ZADD's row: random members into one key, at positions that vary in the
        # decimals (__rand_int__ is twelve digits).
        GEOADD) args=(geoadd geo:key "13.__rand_int__" "38.__rand_int__" "member:__rand_int__") ;;
        PFADD) args=(pfadd hll "element:__rand_int__") ;;
        PFADD_KEYS) args=(pfadd "hll:__rand_int__" "element:__rand_int__") ;;
        XADD) args=(xadd mystream "*" field value) ;;
        # A flag bit in 100,000 small bitmaps (a random key: __rand_int__ has leading zeros,
        # which neither server takes as a bit offset).
        SETBIT) args=(setbit "bits:__rand_int__" 100 1) ;;
        *) args=(-t "${name,,}") ;;
    esac
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "FAILED server-exited"
        return
    fi
    before=$(cpu_ns "$pid")
    set +e
    out=$(timeout "$ROW_TIMEOUT" "${CLIENT_PREFIX[@]}" redis-benchmark -h 127.0.0.1 -p "$port" \
        -c "$CLIENTS" -n "$n" -P "$pipeline" -d "$VALUE_SIZE" -r "$KEYSPACE" --csv "${args[@]}" 2>&1 </dev/null)
    status=$?
    set -e
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "FAILED server-exited"
        return
    fi
    after=$(cpu_ns "$pid")
    err=$(printf '%s\n' "$out" | tr '\r' '\n' | grep -iE 'error|ERR ' | head -n 1 || true)
    rps=$(printf '%s\n' "$out" | grep '^"' | grep -v '^"test"' | tail -n 1 | cut -d, -f2 | tr -d '"' || true)
    if [ "$status" -eq 124 ]; then
        echo "FAILED timeout-${ROW_TIMEOUT}s"
    elif [ -n "$err" ]; then
        echo "FAILED ${err:0:90}"
    elif [ "$status" -ne 0 ] || [ -z "$rps" ]; then
        echo "FAILED exit-status-$status"
    else
        awk -v r="$rps" -v t=$((after - before)) -v n="$n" \
            'BEGIN { printf "%.0f %.3f\n", r, t / 1e3 / n }'
    fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0) printf "%.2f", b / a; else print "-" }'; }

echo "tenantcache: $("$TC_BIN" --version)   redis: $(redis-server --version | cut -d' ' -f3)"
echo "mode: $MODE$([ "$MODE" = pinned ] && echo ' (servers on CPU 0, redis-benchmark on CPU 1)')," \
    "$CLIENTS clients, -d $VALUE_SIZE, -r $KEYSPACE, -n $N_P1 at P1 / $N_P16 at P16," \
    "CPU from /proc/PID/task/*/schedstat"
printf '%-10s %3s %12s %12s %8s %13s %13s %9s\n' \
    test P redis_rps tc_rps tc/redis redis_us/req tc_us/req cpu_tc/r
failures=0
for pipeline in 1 16; do
    # SET first: it fills the keys that GET then reads.
    for name in ${ROWS:-SET GET INCR MSET PUBLISH LPUSH RPOP SADD HSET ZADD GEOADD LRANGE_100 PFADD PFADD_KEYS XADD SETBIT}; do
        read -r redis_rps redis_cpu < <(run_row "$name" "$pipeline" "$REDIS_PORT" "$REDIS_PID")
        read -r tc_rps tc_cpu < <(run_row "$name" "$pipeline" "$TC_PORT" "$TC_PID")
        if [ "$redis_rps" = FAILED ] || [ "$tc_rps" = FAILED ]; then
            failures=$((failures + 1))
            printf '%-10s %3s  redis: %s  tenantcache: %s\n' "$name" "$pipeline" \
                "$([ "$redis_rps" = FAILED ] && echo "FAILED ($redis_cpu)" || echo "$redis_rps rps")" \
                "$([ "$tc_rps" = FAILED ] && echo "FAILED ($tc_cpu)" || echo "$tc_rps rps")"
            continue
        fi
        printf '%-10s %3s %12s %12s %8s %13s %13s %9s\n' "$name" "$pipeline" "$redis_rps" "$tc_rps" \
            "$(ratio "$redis_rps" "$tc_rps")" "$redis_cpu" "$tc_cpu" "$(ratio "$redis_cpu" "$tc_cpu")"
    done
done
echo "tc/redis > 1: tenantcache serves more requests per second; cpu_tc/r < 1: it spends less CPU per request."
[ "$failures" -eq 0 ] || { echo "$failures row(s) failed"; exit 1; }
