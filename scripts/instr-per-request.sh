#!/usr/bin/env bash
# What a feature costs per request, counted exactly under valgrind (cachegrind): instructions
# and first-level data cache misses, for two tenantcache configurations that differ only in
# that feature. Unlike timings, these counts do not move with the noise of a shared machine,
# so costs of a few percent show. (The cache model is cachegrind's, without prefetching;
# scripts/bench-ab.sh measures time.)
#
#   scripts/instr-per-request.sh [PRESET] [ROW] [N]
#     PRESET  metrics (default): metrics endpoint, key classes, latency histograms off vs on
#             tenants: every key in one tenant vs the same keys over 100 tenants
#             eviction: SET of fresh keys without a limit vs at maxmemory (ROW is ignored)
#             build: one build against another with the same flags, TC_BIN (off) vs
#             TC_BIN_B (on): a change's cost per request, before and after (ROW as for metrics)
#     ROW     SET (default), GET, INCR or MSET, as in scripts/bench-ab.sh;
#             GET_MISSES (metrics only): GET of keys that were never written
#     N       requests (200000; 600000 for eviction)
#
# Each configuration runs twice, without requests and with N pipelined requests (-P 16,
# 50 clients), and the difference divided by N is its cost per request. Both runs first take
# N uncounted requests of the same row (of SET for GET), so the counted ones meet the keys
# that the rounds of scripts/bench-ab.sh meet: there, every row after the first round
# overwrites, increments or reads keys that exist. The eviction preset has no warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
PRESET=${1:-metrics}
ROW=${2:-SET}
# At maxmemory the first ~170,000 writes only fill: eviction counts more requests by default.
if [ "$PRESET" = eviction ]; then N=${3:-600000}; else N=${3:-200000}; fi
TC_BIN=${TC_BIN:-target/release/tenantcache}
TC_BIN_B=${TC_BIN_B:-$TC_BIN}
PORT=${PORT:-26620}
SCRIPT_NAME=instr-per-request
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package valgrind valgrind
need_package redis-cli redis-tools
need_package redis-benchmark redis-tools
[ -x "$TC_BIN" ] || cargo build --release --quiet --bin tenantcache
need_tc_bin
[ -x "$TC_BIN_B" ] || die "$TC_BIN_B not found (TC_BIN_B)"

BIN_A=$TC_BIN BIN_B=$TC_BIN
WARMUP=() # redis-benchmark arguments run before the counted requests (in both runs)
VALUE='value-of-sixty-four-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
case "$PRESET" in
    metrics)
        FLAGS_A=(--metrics-port 0 --latency-tracking no)
        FLAGS_B=(--metrics-port $((PORT + 1000)) --latency-tracking yes --stats-key-pattern '{class}')
        DESCRIBE="off: metrics, key classes, latency histograms; on: all three (two key classes)"
        case "$ROW" in
            SET | INCR | MSET) LOAD=(-t "${ROW,,}" -r 100000 -d 64) ;;
            GET) LOAD=(-t get -r 100000 -d 64) WARMUP=(-t set -r 100000 -d 64) ;;
            GET_MISSES) LOAD=(-t get -r 100000 -d 64) ;;
            *) echo "instr-per-request: unknown row $ROW" >&2; exit 2 ;;
        esac
        [ ${#WARMUP[@]} -gt 0 ] || WARMUP=("${LOAD[@]}")
        ;;
    tenants)
        FLAGS_A=(--tenant-key-pattern 'no-such-prefix:{tenant}')
        FLAGS_B=(--tenant-key-pattern '{tenant}')
        DESCRIBE="off: keys t<n>:k<m> in one tenant; on: the same keys over 100 tenants"
        case "$ROW" in
            SET) LOAD=(-r 100 SET 't__rand_int__:k__rand_int__' "$VALUE") ;;
            GET) LOAD=(-r 100 GET 't__rand_int__:k__rand_int__') WARMUP=(-r 100 SET 't__rand_int__:k__rand_int__' "$VALUE") ;;
            INCR) LOAD=(-r 100 INCR 't__rand_int__:c__rand_int__') ;;
            MSET) LOAD=(-r 100 MSET 't__rand_int__:k__rand_int__' v 't__rand_int__:k__rand_int__' v) ;;
            *) echo "instr-per-request: unknown row $ROW" >&2; exit 2 ;;
        esac
        [ ${#WARMUP[@]} -gt 0 ] || WARMUP=("${LOAD[@]}")
        ;;
    build)
        FLAGS_A=() FLAGS_B=() BIN_B=$TC_BIN_B
        DESCRIBE="off: $TC_BIN; on: $TC_BIN_B; default flags"
        case "$ROW" in
            SET | INCR | MSET) LOAD=(-t "${ROW,,}" -r 100000 -d 64) ;;
            GET) LOAD=(-t get -r 100000 -d 64) WARMUP=(-t set -r 100000 -d 64) ;;
            *) echo "instr-per-request: unknown row $ROW" >&2; exit 2 ;;
        esac
        [ ${#WARMUP[@]} -gt 0 ] || WARMUP=("${LOAD[@]}")
        ;;
    eviction)
        FLAGS_A=()
        FLAGS_B=(--maxmemory 24mb --maxmemory-policy allkeys-lru)
        DESCRIBE="SET of fresh keys; off: no memory limit; on: maxmemory 24mb allkeys-lru, so that nearly every write evicts"
        LOAD=(-t set -r 100000000 -d 64)
        ;;
    *)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac

counts() { # BINARY REQUESTS FLAGS... -> "instructions D1-misses" the server had, start to shutdown
    local bin=$1 n=$2 pid log
    shift 2
    start_server "$PORT" valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file=/dev/null "$bin" \
        --port "$PORT" --bind 127.0.0.1 --save '' --loglevel warning "$@"
    pid=$SERVER_PID
    log=/tmp/$SCRIPT_NAME-$PORT.log
    if [ ${#WARMUP[@]} -gt 0 ]; then
        redis-benchmark -q -p "$PORT" -c 50 -n "$N" -P 16 "${WARMUP[@]}" >/dev/null 2>&1
    fi
    if [ "$n" -gt 0 ]; then
        redis-benchmark -q -p "$PORT" -c 50 -n "$n" -P 16 "${LOAD[@]}" >/dev/null 2>&1
    fi
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "the server on port $PORT did not shut down"
    SERVER_PIDS=()
    awk '/I +refs/ { gsub(",", "", $4); i = $4 } /D1 +misses/ { gsub(",", "", $4); d = $4 } END { print i, d }' "$log"
}

per_request() { # BINARY FLAGS... -> "instructions D1-misses" per request
    local idle busy
    idle=$(counts "$1" 0 "${@:2}")
    busy=$(counts "$1" "$N" "${@:2}")
    echo "$idle $busy" | awk -v n="$N" '{ printf "%.0f %.2f\n", ($3 - $1) / n, ($4 - $2) / n }'
}

read -r off_i off_d <<<"$(per_request "$BIN_A" "${FLAGS_A[@]}")"
read -r on_i on_d <<<"$(per_request "$BIN_B" "${FLAGS_B[@]}")"
echo "$PRESET, $ROW, $N requests at P16 ($DESCRIBE)"
printf '%-5s %14s %14s\n' "" instructions "D1 misses"
printf '%-5s %14s %14s\n' off "$off_i" "$off_d" on "$on_i" "$on_d"
awk -v a="$off_i" -v b="$on_i" -v c="$off_d" -v d="$on_d" \
    'BEGIN { printf "%-5s %14.3f %14.3f\n", "on/off", b / a, (c > 0 ? d / c : 0) }'
