#!/bin/bash
# Health check of the tenantcache image: healthy when one of the TCP ports the server (PID 1)
# listens on answers PING (PONG, or NOAUTH when a password is set). The ports are read from
# /proc rather than assumed, because a command may set --port, as several containers on the
# host network must. HEALTHCHECK_PORT overrides them.
set -u

# Prints "HOST PORT" for every listening TCP socket that PID 1 holds.
listening() {
    local fd link inodes=" "
    for fd in /proc/1/fd/*; do
        link=$(readlink "$fd" 2>/dev/null) || continue
        case $link in socket:\[*\]) inodes+="${link:8:-1} " ;; esac
    done
    local file host
    for file in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$file" ] || continue
        # Fields: sl local_address rem_address st ... inode (10th); st 0A is LISTEN.
        while read -r _ local _ st _ _ _ _ _ inode _; do
            [ "$st" = 0A ] || continue
            case $inodes in *" $inode "*) ;; *) continue ;; esac
            case $file:${local%%:*} in
                /proc/net/tcp:00000000) host=127.0.0.1 ;;
                /proc/net/tcp6:00000000000000000000000000000000) host=::1 ;;
                /proc/net/tcp:*) # little-endian hex IPv4
                    local h=${local%%:*}
                    host=$((16#${h:6:2})).$((16#${h:4:2})).$((16#${h:2:2})).$((16#${h:0:2}))
                    ;;
                *) continue ;;
            esac
            echo "$host $((16#${local##*:}))"
        done < <(tail -n +2 "$file")
    done
}

# Docker's root lacks CAP_SYS_PTRACE, so it cannot list the sockets of the server, which runs
# as another user: look as that user instead.
if ! readlink /proc/1/fd/0 >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && [ -z "${HEALTHCHECK_PORT:-}" ]; then
    read -r _ uid _ < <(grep '^Uid:' /proc/1/status)
    read -r _ gid _ < <(grep '^Gid:' /proc/1/status)
    if [ "$uid" != 0 ]; then
        exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$0" "$@"
    fi
fi

if [ -n "${HEALTHCHECK_PORT:-}" ]; then
    targets="127.0.0.1 $HEALTHCHECK_PORT"
else
    targets=$(listening)
fi
while read -r host port; do
    [ -n "${port:-}" ] || continue
    reply=$(timeout 2 redis-cli -h "$host" -p "$port" ping 2>&1) || true
    case $reply in PONG | NOAUTH*) exit 0 ;; esac
done <<< "$targets"
exit 1
