# Shared by the memory scripts: installs missing tools, starts one server at a time in the
# background and stops it, reads a process's resident memory. Source it after setting
# SCRIPT_NAME (used in messages and log names) and TC_BIN.

die() { echo "$SCRIPT_NAME: $*" >&2; exit 1; }

need_package() { # need_package COMMAND DEBIAN_PACKAGE
    command -v "$1" >/dev/null && return
    [ "$(id -u)" -eq 0 ] || die "$1 is missing: apt-get install $2"
    echo "installing $2 ..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need_package redis-cli redis-tools
need_package redis-server redis-server
[ -x "$TC_BIN" ] || die "$TC_BIN not found: run 'cargo build --release' first (or set TC_BIN)"

SERVER_PID=
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    SERVER_PID=
}
trap stop_server EXIT

# start_server PORT COMMAND...: starts a server in the background and waits for PING.
start_server() {
    local port=$1
    shift
    redis-cli -p "$port" ping >/dev/null 2>&1 && die "port $port is already in use"
    "$@" >"/tmp/$SCRIPT_NAME-$port.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "/tmp/$SCRIPT_NAME-$port.log" >&2
    die "server '$*' did not start on port $port"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
