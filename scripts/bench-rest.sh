#!/usr/bin/env bash
# The REST API's throughput against the RESP port's, in one run on one server: POST /pipeline
# of 100 GETs over kept-alive HTTP connections (examples/rest_load.rs, 16 connections)
# against redis-benchmark GET -P 16 (50 connections), both on 100 keys of 64 bytes.
#
#   scripts/bench-rest.sh               (takes about half a minute)
#   SECONDS_REST=20 CONNECTIONS=32 scripts/bench-rest.sh
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
SECONDS_REST=${SECONDS_REST:-10}
REQUESTS_RESP=${REQUESTS_RESP:-2000000}
TOKEN=bench-rest-token-0123456789abcdef
start_server "$PORT" target/release/tenantcache --port "$PORT" --bind 127.0.0.1 --save '' \
    --loglevel warning --http-token bench "$TOKEN"
value=$(printf 'v%.0s' $(seq 64))
for i in $(seq 0 99); do printf 'SET key:%d %s\n' "$i" "$value"; done | redis-cli -p "$PORT" >/dev/null
[ "$(redis-cli -p "$PORT" dbsize)" = 100 ] || die "the 100 keys were not written"

echo "REST: POST /pipeline of 100 GETs, $CONNECTIONS kept-alive connections, ${SECONDS_REST}s"
rest=$(target/release/examples/rest_load --port "$PORT" --token "$TOKEN" --connections "$CONNECTIONS" \
    --seconds "$SECONDS_REST" --batch 100 --keys 100)
echo "$rest" | sed 's/^/  /'
rest_gets=$(echo "$rest" | awk -F, '$1 == "gets_per_sec" { print $2 }')

echo "RESP: redis-benchmark -t get -P 16 -n $REQUESTS_RESP -r 100 -d 64"
# -r 100 spreads the GETs over key:000000000000 .. key:000000000099; fill those too.
for i in $(seq 0 99); do printf 'SET key:%012d %s\n' "$i" "$value"; done | redis-cli -p "$PORT" >/dev/null
resp=$(redis-benchmark -p "$PORT" -t get -P 16 -n "$REQUESTS_RESP" -r 100 -d 64 -q </dev/null | tr '\r' '\n' | grep -v 'rps=' | grep 'GET:')
echo "  $resp"
resp_gets=$(echo "$resp" | awk '{ print $2 }')

awk -v rest="$rest_gets" -v resp="$resp_gets" 'BEGIN {
    printf "GET commands/s: REST %.0f, RESP %.0f; REST / RESP = %.2f\n", rest, resp, rest / resp
}'
