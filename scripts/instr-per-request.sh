#!/usr/bin/env bash
# Instructions per request, counted exactly under valgrind (cachegrind without cache simulation),
# for tenantcache with metrics, key classes and latency histograms off and on. Unlike timings,
# instruction counts do not move with the noise of a shared machine, so small costs show.
# (They do not show cache misses; scripts/bench-ab.sh measures time.)
#
#   scripts/instr-per-request.sh [TEST] [N]     # TEST: a redis-benchmark -t name (set), N (200000)
#
# Each configuration runs twice, without requests and with N pipelined requests (-P 16,
# 50 clients), and the difference divided by N is its cost per request.
set -euo pipefail
cd "$(dirname "$0")/.."
TEST=${1:-set}
N=${2:-200000}
TC_BIN=${TC_BIN:-target/release/tenantcache}
PORT=${PORT:-26620}
command -v valgrind >/dev/null || { echo "instr-per-request: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
[ -x "$TC_BIN" ] || cargo build --release --quiet --bin tenantcache

instructions() { # REQUESTS FLAGS... -> instructions the server executed, start to shutdown
    local n=$1 log
    shift
    log=$(mktemp)
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null "$TC_BIN" --port "$PORT" \
        --bind 127.0.0.1 --loglevel warning "$@" >/dev/null 2>"$log" &
    local pid=$!
    for _ in $(seq 120); do redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.5; done
    if [ "$n" -gt 0 ]; then
        redis-benchmark -p "$PORT" -c 50 -n "$n" -P 16 -t "$TEST" -r 100000 -d 64 -q >/dev/null 2>&1
    fi
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    wait "$pid" || true
    grep -E 'I +refs' "$log" | awk '{ gsub(",", "", $4); print $4 }'
    rm -f "$log"
}

per_request() { # FLAGS... -> instructions per request
    local idle busy
    idle=$(instructions 0 "$@")
    busy=$(instructions "$N" "$@")
    awk -v i="$idle" -v b="$busy" -v n="$N" 'BEGIN { printf "%.0f\n", (b - i) / n }'
}

off=$(per_request --metrics-port 0 --latency-tracking no)
on=$(per_request --metrics-port $((PORT + 1000)) --latency-tracking yes --stats-key-pattern '{class}')
echo "$TEST, $N requests at P16: off $off instructions/request, on (metrics, two key classes, latency histograms) $on"
awk -v a="$off" -v b="$on" 'BEGIN { printf "on/off: %.3f\n", b / a }'
