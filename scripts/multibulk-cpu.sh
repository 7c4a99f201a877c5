#!/usr/bin/env bash
# Server CPU time to parse one huge multibulk request, tenantcache against Redis: a request
# of ARGS arguments (1,000,000 and 2,000,000 by default) sent on one connection as fast as
# loopback takes it, as `ECHO x x x ...` (parsed, then refused for its arity: the parser
# alone) and as `RPUSH list x x x ...` (parsed and executed).
#
#   scripts/multibulk-cpu.sh
#
# For each row a fresh server is started; its CPU time (user + system, from /proc/PID/stat)
# is read before the request is sent and after its reply has arrived. A parser that rescans
# what it already parsed on every read shows up as time growing faster than the argument
# count. Uses target/release/tenantcache and Debian's redis-server (installed with apt-get
# if missing). Environment: TC_BIN, TC_PORT (16410), REDIS_PORT (16411), ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."

TC_BIN=${TC_BIN:-target/release/tenantcache}
TC_PORT=${TC_PORT:-16410}
REDIS_PORT=${REDIS_PORT:-16411}
ARGS=${ARGS:-1000000 2000000}

SCRIPT_NAME=multibulk-cpu
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
need_package redis-cli redis-tools
need_package redis-server redis-server
need_package python3 python3
need_tc_bin

# send PORT PID COMMAND ARGS: sends the request, waits for its reply; prints the server's
# CPU seconds for it and the first bytes of the reply.
send() {
    python3 - "$@" <<'PY'
import os, socket, sys
port, pid, command, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
head = [command.encode()] + ([b"list"] if command == "RPUSH" else [])
request = b"*%d\r\n" % (len(head) + n) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in head)
request += b"$1\r\nx\r\n" * n
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
s = socket.create_connection(("127.0.0.1", port))
before = cpu()
s.sendall(request)
reply = s.recv(4096)
while not reply.endswith(b"\r\n"):
    reply += s.recv(4096)
after = cpu()
print(f"{after - before:8.2f}  {reply[:40].decode(errors='replace').strip()}")
PY
}

# row NAME PORT COMMAND ARGS SERVER...: one result line.
row() {
    local name=$1 port=$2 command=$3 n=$4
    shift 4
    start_server "$port" "$@"
    printf '%-12s %-6s %9s %s\n' "$name" "$command" "$n" "$(send "$port" "$SERVER_PID" "$command" "$n")"
    stop_servers
}

echo "tenantcache: $("$TC_BIN" --version)   redis: $(redis-server --version | cut -d' ' -f3)"
printf '%-12s %-6s %9s %8s  %s\n' server cmd args cpu_s reply
for n in $ARGS; do
    for command in ECHO RPUSH; do
        row redis "$REDIS_PORT" "$command" "$n" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
            --save '' --appendonly no --daemonize no
        row tenantcache "$TC_PORT" "$command" "$n" "$TC_BIN" --port "$TC_PORT" --bind 127.0.0.1 --save '' \
            --metrics-port 0 --loglevel warning
    done
done
