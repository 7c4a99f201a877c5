//! tenantcache: a Redis-compatible in-memory cache server with native tenants (quotas,
//! reserves, tenant-aware eviction, per-tenant statistics) and native tags.

pub mod blocking;
pub mod client;
pub mod cmdline;
pub mod commands;
pub mod config;
pub mod connection;
pub mod expire;
pub mod glob;
pub mod keyclass;
pub mod latency;
pub mod logging;
pub mod metrics;
pub mod protocol;
pub mod pubsub;
pub mod server;
pub mod storage;
pub mod tags;
pub mod tenants;
pub mod util;

/// This server's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version whose behaviour is implemented; clients and test suites switch on it.
pub const REDIS_VERSION: &str = "7.2.4";
