#!/usr/bin/env bash
# Tags: TAG.SET / TAG.INVALIDATE on tenantcache against the client-side way on Debian's
# redis-server (SET + SADD per tag in one MULTI; invalidation by a Lua script), in one run.
#
#   scripts/bench-tags.sh        (needs redis-server; takes about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=bench-tags
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-server redis-server
cargo build --release --quiet --bin tenantcache --example tag_bench
PORT_TC=${PORT_TC:-26479}
PORT_RS=${PORT_RS:-26480}
start_server "$PORT_TC" target/release/tenantcache --port "$PORT_TC" --bind 127.0.0.1 --save '' --loglevel warning
start_server "$PORT_RS" redis-server --port "$PORT_RS" --bind 127.0.0.1 --save '' --appendonly no --loglevel warning
native=$(target/release/examples/tag_bench --port "$PORT_TC" --mode native)
client=$(target/release/examples/tag_bench --port "$PORT_RS" --mode clientside)
printf '%-32s %-22s %-22s\n' metric "redis-server (client-side)" "tenantcache (TAG.*)"
paste -d, <(echo "$client") <(echo "$native") | awk -F, '{printf "%-32s %-22s %-22s\n", $1, $2, $4}'
echo "$client" "$native" | tr ' ' '\n' | awk -F, '/write_ops_per_sec/{v[n++]=$2} END{printf "TAG.SET write rate / client-side write rate: %.2fx\n", v[1]/v[0]}'
