//! Persistence: the on-disk formats the keyspace can be saved to and loaded from.
//!
//! For now this holds the Redis RDB codec ([`rdb`]), a self-contained encoder and decoder
//! over a neutral model of keys and values. Nothing here touches the live keyspace yet:
//! taking a snapshot of the tables and loading one into them are separate steps.

pub mod rdb;
