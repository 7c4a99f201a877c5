#!/usr/bin/env bash
# Runs the image tenantcache:latest as the compose services under docker/compose/ (a
# Dragonfly service and two Redis services with only `image:` swapped, on the host network)
# and checks each: it becomes healthy, answers PING/SET/GET on loopback and on a
# non-loopback address of this machine (protected-mode is off in the image), runs as uid 999,
# and took the command line's settings. Tears each down (with its volumes) afterwards.
#
#   scripts/docker-image.sh && scripts/docker-test.sh [NAME ...]   (NAME: dragonfly, ...)
#
# Needs docker, docker-compose and redis-cli; uses host ports 16379-16381. Prints one line per
# check, the container's log for a service that fails, and exits non-zero if any check failed.
set -uo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=docker-test
die() { echo "$SCRIPT_NAME: $*" >&2; exit 1; }
command -v docker-compose >/dev/null || die "docker-compose is missing: apt-get install docker-compose"
command -v redis-cli >/dev/null || die "redis-cli is missing: apt-get install redis-tools"
docker image inspect tenantcache:latest >/dev/null 2>&1 || die "no image tenantcache:latest: run scripts/docker-image.sh"

# name, compose file, port, then CONFIG GET checks as directive=value.
SERVICES=(
    "dragonfly docker/compose/dragonfly.yml 16379 maxmemory=1073741824"
    "redis-appendonly docker/compose/redis-appendonly.yml 16380 appendonly=yes"
    "redis-flags docker/compose/redis-flags.yml 16381 maxmemory=104857600"
)
REMOTE=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+$' | grep -v '^127\.' | head -n1)

FAILED=0
SERVICE_FAILED=0
check() { # check DESCRIPTION EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        echo "  ok   $1"
    else
        echo "  FAIL $1: expected '$2', got '$3'"
        SERVICE_FAILED=1
    fi
}

run_service() { # run_service NAME FILE PORT CHECKS...
    local name=$1 file=$2 port=$3
    shift 3
    SERVICE_FAILED=0
    echo "== $name ($file, port $port)"
    # Raising RLIMIT_MEMLOCK (Dragonfly's `ulimits: memlock: -1`) needs CAP_SYS_RESOURCE on
    # the host; where it is missing, run a copy of the file without that block.
    if grep -q 'memlock:' "$file" && ! (ulimit -l unlimited) 2>/dev/null; then
        echo "  note this host cannot raise RLIMIT_MEMLOCK: running $file without its ulimits block"
        sed '/^ *ulimits:/,/^ *memlock:/d' "$file" >"/tmp/docker-test-$name.yml"
        file=/tmp/docker-test-$name.yml
    fi
    local compose=(docker-compose -p "tctest-$name" -f "$file")
    "${compose[@]}" up -d >"/tmp/docker-test-$name.log" 2>&1 || { cat "/tmp/docker-test-$name.log"; SERVICE_FAILED=1; }
    local id state=""
    id=$("${compose[@]}" ps -q | head -n1)
    for _ in $(seq 60); do
        [ -n "$id" ] && [ "$SERVICE_FAILED" = 0 ] || break
        state=$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" 2>/dev/null)
        case $state in running/healthy | exited/* | dead/*) break ;; esac
        sleep 1
    done
    check "container healthy" "running/healthy" "$state"
    if [ "$state" = running/healthy ]; then
        local r=(redis-cli -h 127.0.0.1 -p "$port")
        check "PING" PONG "$("${r[@]}" ping 2>&1)"
        check "SET" OK "$("${r[@]}" set org_demo:greeting hello 2>&1)"
        check "GET" hello "$("${r[@]}" get org_demo:greeting 2>&1)"
        if [ -n "$REMOTE" ]; then
            check "GET from $REMOTE (not loopback)" hello "$(redis-cli -h "$REMOTE" -p "$port" get org_demo:greeting 2>&1)"
        fi
        check "PING with the image's redis-cli" PONG "$(docker exec "$id" redis-cli -p "$port" ping 2>&1)"
        check "server runs as uid 999" 999 "$(docker exec "$id" awk '/^Uid:/ {print $2}' /proc/1/status 2>&1)"
        check "working directory /data" /data "$(docker exec "$id" pwd 2>&1)"
        local c
        for c in "$@"; do
            check "CONFIG GET ${c%%=*}" "${c#*=}" "$("${r[@]}" config get "${c%%=*}" 2>&1 | sed -n 2p)"
        done
    fi
    if [ "$SERVICE_FAILED" = 1 ]; then
        FAILED=1
        echo "  -- log of $name:"
        [ -n "$id" ] && docker logs "$id" 2>&1 | tail -n 20 | sed 's/^/  | /'
    fi
    "${compose[@]}" down -v >>/tmp/docker-test-$name.log 2>&1
}

ONLY=" $* "
for line in "${SERVICES[@]}"; do
    # shellcheck disable=SC2086
    set -- $line
    if [ "$ONLY" != "  " ] && [ "${ONLY#* "$1" }" = "$ONLY" ]; then
        continue
    fi
    run_service "$@"
done
[ "$FAILED" = 0 ] && echo "all services passed" || echo "some checks failed"
exit "$FAILED"
