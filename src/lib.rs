//! tenantcache: a Redis-compatible in-memory cache server with native tenants (quotas,
//! reserves, tenant-aware eviction, per-tenant statistics) and native tags.
//!
//! Layers, each importing only from the ones below it (`tests/layering.rs` checks the two
//! lowest): network (`server`, `connection`, `client`, `protocol`, `pubsub`, `metrics`,
//! `cmdline`, `config`, `expire`, `latency`, `rest`) → [`commands`] (with [`scripting`], which runs
//! commands from Lua) → [`engine`] → [`base`].

pub mod aof;
pub mod base;
pub mod client;
pub mod cmdline;
pub mod commands;
pub mod config;
pub mod connection;
pub mod engine;
pub mod expire;
pub mod latency;
pub mod metrics;
pub mod persistence;
pub mod protocol;
pub mod pubsub;
pub mod rest;
pub mod scripting;
pub mod server;

// The engine's and the base's modules keep their short paths (`crate::storage::Keyspace`).
pub use base::{geohash, glob, logging, util};
pub use engine::{keyclass, storage, tags, tenants};

/// This server's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version whose behaviour is implemented; clients and test suites switch on it.
pub const REDIS_VERSION: &str = "7.2.4";
