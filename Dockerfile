# syntax=docker/dockerfile:1
# tenantcache image: built in a Rust builder stage, run from a slim Debian image as an
# unprivileged user.
#
#   docker build -t tenantcache .
#   docker run -p 6379:6379 tenantcache

FROM rust:1-bookworm AS builder
WORKDIR /src
# Dependencies first: this layer is rebuilt only when Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/hot_paths.rs \
    && cargo build --release --locked \
    && rm -rf src benches
COPY src ./src
COPY benches ./benches
# Make sure the real sources are newer than the placeholder build.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin tenantcache \
    && strip target/release/tenantcache

FROM debian:bookworm-slim
# redis-tools provides redis-cli for the health check and for debugging inside the container.
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-tools \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin tenantcache
COPY --from=builder /src/target/release/tenantcache /usr/local/bin/tenantcache
COPY conf/tenantcache.conf /etc/tenantcache/tenantcache.conf
USER tenantcache
EXPOSE 6379
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
    CMD redis-cli -p 6379 ping | grep -q PONG
CMD ["tenantcache", "/etc/tenantcache/tenantcache.conf", "--bind", "0.0.0.0"]
