#!/usr/bin/env bash
# Tags: TAG.SET / TAG.INVALIDATE on tenantcache against the client-side way on Debian's
# redis-server (SET + SADD per tag in one MULTI; invalidation by a Lua script), in one run.
#
#   scripts/bench-tags.sh        (needs redis-server; takes about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
cargo build --release --quiet --bin tenantcache --example tag_bench
PORT_TC=${PORT_TC:-26479}
PORT_RS=${PORT_RS:-26480}
target/release/tenantcache --port "$PORT_TC" --bind 127.0.0.1 --loglevel warning >/dev/null & tc=$!
redis-server --port "$PORT_RS" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning >/dev/null & rs=$!
trap 'kill $tc $rs 2>/dev/null || true' EXIT
for p in "$PORT_TC" "$PORT_RS"; do for _ in $(seq 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done; done
native=$(target/release/examples/tag_bench --port "$PORT_TC" --mode native)
client=$(target/release/examples/tag_bench --port "$PORT_RS" --mode clientside)
printf '%-32s %-22s %-22s\n' metric "redis-server (client-side)" "tenantcache (TAG.*)"
paste -d, <(echo "$client") <(echo "$native") | awk -F, '{printf "%-32s %-22s %-22s\n", $1, $2, $4}'
echo "$client" "$native" | tr ' ' '\n' | awk -F, '/write_ops_per_sec/{v[n++]=$2} END{printf "TAG.SET write rate / client-side write rate: %.2fx\n", v[1]/v[0]}'
