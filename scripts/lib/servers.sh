# Server plumbing shared by the benchmark and memory scripts: installs missing tools, starts
# servers in the background and stops them all on exit, reads a process's resident memory.
# Source it after setting SCRIPT_NAME (used in messages and log names), then call
# need_package for the tools the script uses.

die() { echo "$SCRIPT_NAME: $*" >&2; exit 1; }

need_package() { # need_package COMMAND DEBIAN_PACKAGE
    command -v "$1" >/dev/null && return
    [ "$(id -u)" -eq 0 ] || die "$1 is missing: apt-get install $2"
    echo "installing $2 ..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# need_tc_bin: dies unless $TC_BIN is a built server.
need_tc_bin() {
    [ -x "$TC_BIN" ] || die "$TC_BIN not found: run 'cargo build --release' first (or set TC_BIN)"
}

# Servers started and not yet stopped; SERVER_PID is the last one started.
SERVER_PIDS=()
SERVER_PID=
stop_servers() { # stops every running server and waits until it is gone (its port free)
    local pid
    for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${SERVER_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    SERVER_PIDS=()
    SERVER_PID=
}
trap stop_servers EXIT

# start_server PORT COMMAND...: starts a server in the background (its PID in SERVER_PID)
# and waits for PING; the log is /tmp/$SCRIPT_NAME-PORT.log.
start_server() {
    local port=$1
    shift
    redis-cli -p "$port" ping >/dev/null 2>&1 && die "port $port is already in use"
    "$@" >"/tmp/$SCRIPT_NAME-$port.log" 2>&1 &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    for _ in $(seq 100); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "/tmp/$SCRIPT_NAME-$port.log" >&2
    die "server '$*' did not start on port $port"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# used_memory PORT: INFO's used_memory of the server on PORT, in bytes.
used_memory() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
