#!/usr/bin/env bash
# Tenant benchmarks, tenantcache against Debian's redis-server in one run:
#
#  1. Noisy neighbour: tenant A reads a Zipf working set that fits in its reserve (cache-aside:
#     every miss writes the key back); tenant B writes unique keys at FLOOD times A's request
#     rate. A's hit ratio per window: tenantcache with A alone, tenantcache under the flood
#     (A has a reserve), redis-server (allkeys-lru, same maxmemory) under the flood.
#  2. Eviction quality: one tenant, Zipf over a keyspace ten times larger than maxmemory;
#     hit ratio with allkeys-lru and allkeys-lfu on both servers.
#
#   scripts/bench-tenants.sh            (takes a few minutes; needs redis-server)
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=bench-tenants
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-server redis-server
cargo build --release --quiet --bin tenantcache --example cache_workload
TC=target/release/tenantcache
LOAD=target/release/examples/cache_workload
PORT_TC=${PORT_TC:-26379}
PORT_RS=${PORT_RS:-26380}
VALUE=1000
A_KEYS=${A_KEYS:-20000}
FLOOD=${FLOOD:-4}
REQUESTS=${REQUESTS:-300000}
WINDOW=${WINDOW:-30000}
MAXMEM=${MAXMEM:-48mb}
RESERVE=${RESERVE:-32mb}

# One server at a time: each run starts one, and stop_servers ends it before the next.
start_tc() { # policy
    start_server "$PORT_TC" "$TC" --port "$PORT_TC" --bind 127.0.0.1 --save '' --loglevel warning --maxmemory "$MAXMEM" \
        --maxmemory-policy "$1"
}
start_rs() { # policy
    start_server "$PORT_RS" redis-server --port "$PORT_RS" --bind 127.0.0.1 --save '' --appendonly no \
        --maxmemory "$MAXMEM" --maxmemory-policy "$1" --loglevel warning
}

run() { # port flood -> csv
    "$LOAD" --port "$1" --a-keys "$A_KEYS" --flood "$2" --requests "$REQUESTS" --window "$WINDOW" \
        --value-size "$VALUE" --warmup "$A_KEYS"
}

echo "== Noisy neighbour: maxmemory $MAXMEM allkeys-lru, A: $A_KEYS keys x ${VALUE}B Zipf(1.0), B floods at ${FLOOD}x =="
start_tc allkeys-lru
tc_alone=$(run "$PORT_TC" 0); stop_servers
start_tc allkeys-lru
redis-cli -p "$PORT_TC" tenant setlimit a reserve "$RESERVE" >/dev/null
tc_flood=$(run "$PORT_TC" "$FLOOD")
b_evicted=$(redis-cli -p "$PORT_TC" tenant info b | awk 'prev=="evicted_keys"{print; exit} {prev=$0}')
a_evicted=$(redis-cli -p "$PORT_TC" tenant info a | awk 'prev=="evicted_keys"{print; exit} {prev=$0}')
stop_servers
start_rs allkeys-lru
rs_flood=$(run "$PORT_RS" "$FLOOD"); stop_servers

printf '%-8s %-22s %-22s %-22s\n' window tenantcache-A-alone tenantcache-A+flood redis-server-A+flood
paste -d, <(echo "$tc_alone" | grep -E '^[0-9]') <(echo "$tc_flood" | grep -E '^[0-9]') <(echo "$rs_flood" | grep -E '^[0-9]') |
    awk -F, '{printf "%-8s %-22s %-22s %-22s\n", $1, $3, $6, $9}'
alone=$(echo "$tc_alone" | awk -F, '/overall/{print $2}')
flood=$(echo "$tc_flood" | awk -F, '/overall/{print $2}')
rs=$(echo "$rs_flood" | awk -F, '/overall/{print $2}')
printf 'overall  %-22s %-22s %-22s\n' "$alone" "$flood" "$rs"
awk -v a="$alone" -v f="$flood" -v r="$rs" 'BEGIN{printf "A under flood / A alone: tenantcache %.3f, redis-server %.3f\n", f/a, r/a}'
echo "tenantcache evictions under flood: tenant a $a_evicted, tenant b $b_evicted"

echo
echo "== Eviction quality: one tenant, Zipf(1.0) over a keyspace 10x larger than maxmemory =="
Q_KEYS=${Q_KEYS:-200000}
Q_MAXMEM=${Q_MAXMEM:-22mb}
printf '%-14s %-14s %-14s %-8s\n' policy redis-server tenantcache diff-pp
for policy in allkeys-lru allkeys-lfu; do
    MAXMEM=$Q_MAXMEM start_rs "$policy"
    rs=$("$LOAD" --port "$PORT_RS" --a-keys "$Q_KEYS" --requests 600000 --window 600000 --value-size "$VALUE" --warmup 200000 | awk -F, '/overall/{print $2}')
    stop_servers
    MAXMEM=$Q_MAXMEM start_tc "$policy"
    tc=$("$LOAD" --port "$PORT_TC" --a-keys "$Q_KEYS" --requests 600000 --window 600000 --value-size "$VALUE" --warmup 200000 | awk -F, '/overall/{print $2}')
    stop_servers
    awk -v p="$policy" -v r="$rs" -v t="$tc" 'BEGIN{printf "%-14s %-14s %-14s %+.2f\n", p, r, t, (t-r)*100}'
done
