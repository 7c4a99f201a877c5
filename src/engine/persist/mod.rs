//! Persistence: the on-disk formats the keyspace can be saved to and loaded from.
//!
//! [`rdb`] is the Redis RDB codec, a self-contained encoder and decoder over a neutral model
//! of keys and values; [`snapshot`] converts between that model and the live keyspace (with
//! tags and tenant limits in aux fields Redis skips). Files, forks and schedules are the
//! server's business (`crate::persistence`). [`digest`] fingerprints the data (DEBUG DIGEST)
//! to check that a round trip kept it. [`commands_form`] writes the dataset as commands (the
//! AOF base with `aof-use-rdb-preamble no`).

pub mod commands_form;
pub mod digest;
pub mod rdb;
pub mod snapshot;
