#!/bin/sh
# Entrypoint of the tenantcache image. Like the entrypoints of Redis's and Dragonfly's images,
# so that a compose `command:` written for either runs unchanged:
#
#   --flag ... | -f ... | file.conf ...   runs `tenantcache` with those arguments
#   redis-server ARGS | dragonfly ARGS    runs `tenantcache ARGS`
#   tenantcache ARGS                      runs `tenantcache ARGS`
#   anything else                         is executed as given (sh, redis-cli, ...)
#
# The server gets `--protected-mode no` unless its arguments or its config file set
# protected-mode, as Redis's image turns protected mode off by default (a container's
# clients are not on its loopback interface). Started as root, it hands /data to the
# tenantcache user (uid 999) and drops to it.
set -e

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- tenantcache "$@"
fi
case "$1" in
    redis-server | dragonfly)
        shift
        set -- tenantcache "$@"
        ;;
esac

# protected_mode_set ARGS...: whether a flag or the config file among ARGS sets protected-mode.
protected_mode_set() {
    for arg in "$@"; do
        case "$arg" in
            --protected-mode | --protected-mode=* | --protected_mode | --protected_mode=*) return 0 ;;
            -*) ;;
            *.conf)
                if [ -r "$arg" ] && grep -Eiq '^[[:space:]]*protected-mode[[:space:]]' "$arg"; then
                    return 0
                fi
                ;;
        esac
    done
    return 1
}

if [ "$1" = tenantcache ]; then
    if ! protected_mode_set "$@"; then
        set -- "$@" --protected-mode no
    fi
    # Allow `docker run --user ...`: only root changes owners and drops privileges.
    if [ "$(id -u)" = 0 ]; then
        find . \! -user tenantcache -exec chown tenantcache:tenantcache '{}' +
        exec setpriv --reuid=tenantcache --regid=tenantcache --init-groups -- "$0" "$@"
    fi
    # Files the server creates are its own only, as in Redis's image.
    if [ "$(umask)" = 0022 ]; then
        umask 0077
    fi
fi

exec "$@"
