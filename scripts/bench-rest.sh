#!/usr/bin/env bash
# The REST API's throughput against the RESP port's, in one run on one server: POST /pipeline
# of 100 GETs over kept-alive HTTP connections (examples/rest_load.rs, 16 connections)
# against redis-benchmark GET -P 16 (50 connections), both on 100 keys of 64 bytes, in
# alternating rounds; prints each round and the median ratio of GET commands per second.
#
#   scripts/bench-rest.sh               (takes about half a minute)
#   ROUNDS=5 SECONDS_REST=10 CONNECTIONS=32 scripts/bench-rest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=bench-rest
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-benchmark redis-tools
cargo build --release --quiet --bin tenantcache --example rest_load
PORT=${PORT:-26579}
CONNECTIONS=${CONNECTIONS:-16}
SECONDS_REST=${SECONDS_REST:-5}
REQUESTS_RESP=${REQUESTS_RESP:-8000000}
ROUNDS=${ROUNDS:-3}
TOKEN=bench-rest-token-0123456789abcdef
start_server "$PORT" target/release/tenantcache --port "$PORT" --bind 127.0.0.1 --save '' \
    --loglevel warning --http-token bench "$TOKEN"
redis-cli -p "$PORT" flushall >/dev/null
value=$(printf 'v%.0s' $(seq 64))
for i in $(seq 0 99); do printf 'SET key:%d %s\n' "$i" "$value"; done | redis-cli -p "$PORT" >/dev/null
[ "$(redis-cli -p "$PORT" dbsize)" = 100 ] || die "the 100 keys were not written"

# -r 100 spreads redis-benchmark's GETs over key:000000000000 .. key:000000000099; fill those too.
for i in $(seq 0 99); do printf 'SET key:%012d %s\n' "$i" "$value"; done | redis-cli -p "$PORT" >/dev/null

# Alternating rounds, so that a neighbour's load on a shared machine hits both sides; the
# figure is the median of the rounds' ratios.
ratios=()
for round in $(seq "$ROUNDS"); do
    rest=$(target/release/examples/rest_load --port "$PORT" --token "$TOKEN" --connections "$CONNECTIONS" \
        --seconds "$SECONDS_REST" --batch 100 --keys 100)
    rest_gets=$(echo "$rest" | awk -F, '$1 == "gets_per_sec" { print $2 }')
    rest_p99=$(echo "$rest" | awk -F, '$1 == "p99_ms" { print $2 }')
    resp=$(redis-benchmark -p "$PORT" -t get -P 16 -n "$REQUESTS_RESP" -r 100 -d 64 -q </dev/null |
        tr '\r' '\n' | grep -v 'rps=' | grep 'GET:')
    resp_gets=$(echo "$resp" | awk '{ print $2 }')
    ratio=$(awk -v a="$rest_gets" -v b="$resp_gets" 'BEGIN { printf "%.2f", a / b }')
    ratios+=("$ratio")
    printf 'round %d: REST POST /pipeline x100 GET %9.0f GET/s (p99 %s ms per request)   RESP GET -P 16 %9.0f GET/s   ratio %s\n' \
        "$round" "$rest_gets" "$rest_p99" "$resp_gets" "$ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "REST / RESP GET commands per second, median of $ROUNDS rounds: $median"
