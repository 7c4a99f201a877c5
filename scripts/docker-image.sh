#!/usr/bin/env bash
# Builds the image tenantcache:latest without pulling from a registry:
#
#  1. debootstraps a minimal Debian bookworm (with redis-tools for the health check) into a
#     cache directory, once;
#  2. imports it as the base image tenantcache-base:bookworm (once, or again with --rebase);
#  3. builds the release binary on the host and `docker build`s the Dockerfile's runtime stage
#     around it, with host networking.
#
#   scripts/docker-image.sh [--rebase]
#
# Environment: CACHE_DIR (default /var/cache/tenantcache-bookworm), MIRROR (default: the
# first bookworm URI of this machine's apt sources, else http://deb.debian.org/debian),
# BASE_IMAGE (default tenantcache-base:bookworm), IMAGE (default tenantcache:latest).
# Needs root (debootstrap), docker and debootstrap; the host must run bookworm's glibc or
# older, since the binary built here runs in the image.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_NAME=docker-image
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh

CACHE_DIR=${CACHE_DIR:-/var/cache/tenantcache-bookworm}
BASE_IMAGE=${BASE_IMAGE:-tenantcache-base:bookworm}
IMAGE=${IMAGE:-tenantcache:latest}
REBASE=0
[ "${1:-}" = --rebase ] && REBASE=1

apt_mirror() { # the first deb.debian.org-style URI serving bookworm in the apt sources
    local uri
    uri=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
        /etc/apt/sources.list.d/*.list 2>/dev/null |
        grep -v security | sed -E 's/^URIs: *//; s/^deb (\[[^]]*\] )?//; s/ .*//' | head -n1)
    echo "${uri:-http://deb.debian.org/debian}"
}
MIRROR=${MIRROR:-$(apt_mirror)}

need_package docker docker.io
need_package debootstrap debootstrap
docker info >/dev/null 2>&1 || die "the docker daemon is not running (start dockerd)"

ROOTFS=$CACHE_DIR/rootfs
if [ ! -e "$ROOTFS/.complete" ]; then
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    echo "debootstrapping bookworm from $MIRROR into $ROOTFS (once) ..."
    rm -rf "$ROOTFS"
    mkdir -p "$ROOTFS"
    debootstrap --variant=minbase --include=redis-tools bookworm "$ROOTFS" "$MIRROR"
    # A base image needs no package lists, caches or documentation.
    chroot "$ROOTFS" apt-get clean
    rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/*
    touch "$ROOTFS/.complete"
    REBASE=1
fi

if [ "$REBASE" = 1 ] || ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "importing $ROOTFS as $BASE_IMAGE ..."
    tar -C "$ROOTFS" --exclude=./.complete -c . | docker import - "$BASE_IMAGE" >/dev/null
fi

cargo build --release --quiet --bin tenantcache
docker build --network host --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" .
echo "built $IMAGE"
