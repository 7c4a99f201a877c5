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
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
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

pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_tc() { # policy
    "$TC" --port "$PORT_TC" --bind 127.0.0.1 --loglevel warning --maxmemory "$MAXMEM" --maxmemory-policy "$1" >/dev/null &
    pids+=($!); TC_PID=$!
    for _ in $(seq 50); do redis-cli -p "$PORT_TC" ping >/dev/null 2>&1 && return; sleep 0.1; done
}
start_rs() { # policy
    redis-server --port "$PORT_RS" --bind 127.0.0.1 --save '' --appendonly no --maxmemory "$MAXMEM" \
        --maxmemory-policy "$1" --loglevel warning >/dev/null &
    pids+=($!); RS_PID=$!
    for _ in $(seq 50); do redis-cli -p "$PORT_RS" ping >/dev/null 2>&1 && return; sleep 0.1; done
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

run() { # port flood -> csv
    "$LOAD" --port "$1" --a-keys "$A_KEYS" --flood "$2" --requests "$REQUESTS" --window "$WINDOW" \
        --value-size "$VALUE" --warmup "$A_KEYS"
}

echo "== Noisy neighbour: maxmemory $MAXMEM allkeys-lru, A: $A_KEYS keys x ${VALUE}B Zipf(1.0), B floods at ${FLOOD}x =="
start_tc allkeys-lru
tc_alone=$(run "$PORT_TC" 0); stop "$TC_PID"
start_tc allkeys-lru
redis-cli -p "$PORT_TC" tenant setlimit a reserve "$RESERVE" >/dev/null
tc_flood=$(run "$PORT_TC" "$FLOOD")
b_evicted=$(redis-cli -p "$PORT_TC" tenant info b | awk 'prev=="evicted_keys"{print; exit} {prev=$0}')
a_evicted=$(redis-cli -p "$PORT_TC" tenant info a | awk 'prev=="evicted_keys"{print; exit} {prev=$0}')
stop "$TC_PID"
start_rs allkeys-lru
rs_flood=$(run "$PORT_RS" "$FLOOD"); stop "$RS_PID"

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
    stop "$RS_PID"
    MAXMEM=$Q_MAXMEM start_tc "$policy"
    tc=$("$LOAD" --port "$PORT_TC" --a-keys "$Q_KEYS" --requests 600000 --window 600000 --value-size "$VALUE" --warmup 200000 | awk -F, '/overall/{print $2}')
    stop "$TC_PID"
    awk -v p="$policy" -v r="$rs" -v t="$tc" 'BEGIN{printf "%-14s %-14s %-14s %+.2f\n", p, r, t, (t-r)*100}'
done
