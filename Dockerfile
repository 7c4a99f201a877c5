# tenantcache image: the release binary built on the host, in a Debian bookworm runtime.
#
#   cargo build --release && docker build -t tenantcache .
#   scripts/docker-image.sh        (the same, on a debootstrapped base: no registry needed)
#   docker run -p 6379:6379 tenantcache
#
# The entrypoint takes the commands of Redis's and Dragonfly's images (`redis-server
# --appendonly yes`, `--logtostderr --cache_mode=true`, `redis.conf`), see
# docker/entrypoint.sh. The host's glibc must not be newer than bookworm's.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# redis-cli for the health check and for debugging inside the container (a base made by
# scripts/docker-image.sh has it already). uid/gid 999 as in Redis's and Dragonfly's images.
RUN if ! command -v redis-cli >/dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends redis-tools \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && groupadd --system --gid 999 tenantcache \
    && useradd --system --uid 999 --gid tenantcache --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin tenantcache \
    && mkdir /data \
    && chown tenantcache:tenantcache /data

COPY target/release/tenantcache /usr/local/bin/tenantcache
COPY conf/tenantcache.conf /etc/tenantcache/tenantcache.conf
COPY docker/entrypoint.sh docker/healthcheck.sh /usr/local/bin/

VOLUME /data
WORKDIR /data
EXPOSE 6379 9121
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 CMD ["healthcheck.sh"]
ENTRYPOINT ["entrypoint.sh"]
CMD ["tenantcache"]
