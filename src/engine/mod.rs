//! The engine: the keyspace and everything it keeps consistent under its lock — databases of
//! per-tenant tables, entries and values, expiry, eviction, memory accounting, tenants and
//! their limits, the tag index, key classes, WATCH versions and the registry of clients
//! blocked in pops. It imports only from [`crate::base`]: the command layer drives it, and
//! whatever it needs from configuration is passed in as plain values.

pub mod blocking;
pub mod keyclass;
pub mod persist;
pub mod storage;
pub mod tags;
pub mod tenants;
