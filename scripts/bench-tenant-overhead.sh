#!/usr/bin/env bash
# What tenancy and eviction cost, tenantcache against itself in one run:
#
#  1. tenants off (no key matches the pattern: every key in the default tenant, no limits)
#     against tenants on (`{tenant}` over 100 tenants, with a key quota on every tenant so
#     each write goes through the quota check);
#  2. continuous SET load of fresh keys with no memory limit against the same load at
#     `maxmemory` with allkeys-lru, where nearly every write evicts a key.
#
# Each server runs on CPU 0, redis-benchmark on CPU 1; rows alternate between the two servers.
#
#   scripts/bench-tenant-overhead.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin tenantcache
TC=target/release/tenantcache
N=${N:-300000}
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

start() { # port flags...
    local port=$1
    shift
    taskset -c 0 "$TC" --port "$port" --bind 127.0.0.1 --loglevel warning --metrics-port 0 "$@" >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return; sleep 0.1; done
}
rps() { # port pipeline args... -> requests per second
    local port=$1 p=$2
    shift 2
    taskset -c 1 redis-benchmark -p "$port" -c 50 -n "$N" -P "$p" --csv "$@" 2>/dev/null | grep '^"' | grep -v '^"test"' |
        tail -n 1 | cut -d, -f2 | tr -d '"'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b / a }'; }

start 26501 --tenant-key-pattern 'no-such-prefix:{tenant}'
start 26502 --tenant-key-pattern '{tenant}' --tenant-default-maxkeys 1000000000
echo "== tenants off (26501) vs 100 tenants with quotas (26502): keys t<n>:k<m>, 100 x 100"
printf '%-6s %3s %12s %12s %8s\n' test P off_rps on_rps on/off
for p in 1 16; do
    for row in SET GET; do
        if [ "$row" = SET ]; then cmd=(-r 100 SET "t__rand_int__:k__rand_int__" "value-of-sixty-four-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"); else cmd=(-r 100 GET "t__rand_int__:k__rand_int__"); fi
        a=$(rps 26501 "$p" "${cmd[@]}")
        b=$(rps 26502 "$p" "${cmd[@]}")
        printf '%-6s %3s %12s %12s %8s\n' "$row" "$p" "$a" "$b" "$(ratio "$a" "$b")"
    done
done
echo "tenants on 26502: $(redis-cli -p 26502 info tenants | grep -c '^tenant:') tenants"

start 26503
start 26504 --maxmemory 24mb --maxmemory-policy allkeys-lru
echo "== continuous SET of fresh keys: no limit (26503) vs maxmemory 24mb allkeys-lru (26504)"
printf '%-6s %3s %12s %12s %8s\n' test P nolimit_rps maxmem_rps ratio
for p in 1 16; do
    a=$(rps 26503 "$p" -t set -r 10000000 -d 64)
    b=$(rps 26504 "$p" -t set -r 10000000 -d 64)
    printf '%-6s %3s %12s %12s %8s\n' SET "$p" "$a" "$b" "$(ratio "$a" "$b")"
done
echo "evicted at maxmemory: $(redis-cli -p 26504 info stats | grep evicted_keys | tr -d '\r'), used_memory: $(redis-cli -p 26504 info memory | grep '^used_memory:' | tr -d '\r')"
