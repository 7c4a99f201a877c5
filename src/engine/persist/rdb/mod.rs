//! The Redis RDB snapshot format, as Redis 7.0 writes and loads it (RDB version 10).
//!
//! A neutral model ([`RdbKey`], [`RdbValue`], aux fields) and a codec over it:
//!
//! * [`RdbWriter`] writes what redis-server 7.0 writes: the `REDIS0010` header, aux fields,
//!   `SELECTDB`/`RESIZEDB`, per-key `EXPIRETIME_MS`/`IDLE`/`FREQ`, and the EOF opcode followed by
//!   the CRC-64 of the whole file. Values take the encodings Redis 7.0 would give them for the
//!   same thresholds ([`RdbWriteOptions`]): integer-encoded strings, optional LZF compression,
//!   lists as quicklist (v2) of listpack nodes, sets as intset or plain, hashes and sorted sets
//!   as listpack when small, else plain hash and `ZSET_2` (binary doubles).
//! * [`dump_payload`] and [`read_payload`]: one value in the format of Redis's `DUMP` and
//!   `RESTORE` (the value as a snapshot holds it, the RDB version and a CRC-64).
//! * [`RdbReader`] loads every type and encoding Redis 7.0 writes, and the older ones it still
//!   loads: ziplist-encoded lists, hashes and sorted sets, quicklist (v1) of ziplists, intsets,
//!   Redis 2.x's zipmap-encoded hashes, `ZSET` with doubles as text, second-resolution expiry;
//!   and Redis 7.2's set listpack (RDB version 11). Every error carries the byte offset where it was found; no input makes it
//!   panic, and claimed lengths never allocate more than the input can back.
//!
//! Streams are written as `STREAM_LISTPACKS_2` (Redis 7.0's), and read in that form, in
//! Redis 5/6's `STREAM_LISTPACKS` and in Redis 7.2's `STREAM_LISTPACKS_3`.
//!
//! Deliberately not covered: module values and module aux data
//! (rejected as `Unsupported type N at offset X`), Redis 7.4's hashes with field expiry, and replication aux fields beyond reading them as
//! plain aux pairs. The reader hands back keys whose expiry is already past; dropping them is
//! the loader's choice, as it is Redis's.

mod crc64;
mod intset;
mod lzf;
mod read;
mod write;
mod ziplist;
mod zipmap;

#[cfg(test)]
mod tests;

use std::fmt;
use std::io;

pub(crate) use crate::base::listpack;
pub(crate) use crate::base::listpack::canonical_i64;
pub use crc64::crc64;
pub use read::{read_functions_payload, read_payload, read_rdb, PayloadError, RdbFile, RdbItem, RdbReader};
pub use write::{dump_functions, dump_payload, value_type, write_rdb, RdbWriteOptions, RdbWriter, StandardAux};

/// The RDB version this codec writes: what Redis 7.0 writes.
pub const RDB_VERSION: u32 = 10;
/// The newest RDB version the reader accepts (Redis 7.2 writes 11).
pub const RDB_MAX_READ_VERSION: u32 = 11;

/// Value type bytes of the RDB format (the byte before each key).
pub mod types {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Opcode bytes that may stand where a value type would.
mod opcodes {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Quicklist (v2) node containers.
const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// A value, independent of how it is encoded in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    /// Members, each once.
    Set(Vec<Vec<u8>>),
    /// (member, score) pairs, each member once; no NaN scores.
    ZSet(Vec<(Vec<u8>, f64)>),
    /// (field, value) pairs, each field once.
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    Stream(Box<RdbStream>),
}

/// A stream id as (milliseconds, sequence).
pub type RdbStreamId = (u64, u64);

/// A stream as Redis saves it: its nodes as they are in memory (listpacks keyed by their
/// master id), its counters and its consumer groups.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbStream {
    /// (master id, listpack), in id order.
    pub nodes: Vec<(RdbStreamId, Vec<u8>)>,
    pub length: u64,
    pub last_id: RdbStreamId,
    pub first_id: RdbStreamId,
    pub max_deleted_id: RdbStreamId,
    pub entries_added: u64,
    pub groups: Vec<RdbStreamGroup>,
    /// Saved by Redis 5 or 6 (`STREAM_LISTPACKS`), which kept no read counter per group:
    /// the loader estimates them, as Redis 7.0 does.
    pub legacy: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbStreamGroup {
    pub name: Vec<u8>,
    pub last_id: RdbStreamId,
    /// `None` where Redis saves -1 (not known).
    pub entries_read: Option<u64>,
    /// (id, delivery time in Unix ms, delivery count), in id order.
    pub pending: Vec<(RdbStreamId, u64, u64)>,
    pub consumers: Vec<RdbStreamConsumer>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RdbStreamConsumer {
    pub name: Vec<u8>,
    pub seen_time: u64,
    /// The ids of its pending entries, in order.
    pub pending: Vec<RdbStreamId>,
}

impl RdbValue {
    /// The value with set members, hash fields and sorted-set members in byte order: two
    /// values are the same data exactly when their canonical forms are equal (intsets,
    /// listpacks and a server's own tables each keep their own order).
    pub fn canonical(&self) -> RdbValue {
        match self {
            RdbValue::Set(m) => {
                let mut m = m.clone();
                m.sort();
                RdbValue::Set(m)
            }
            RdbValue::ZSet(p) => {
                let mut p = p.clone();
                p.sort_by(|a, b| a.0.cmp(&b.0));
                RdbValue::ZSet(p)
            }
            RdbValue::Hash(p) => {
                let mut p = p.clone();
                p.sort();
                RdbValue::Hash(p)
            }
            other => other.clone(),
        }
    }
}

/// One key of a snapshot, with what Redis keeps beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbKey {
    /// The database number (`SELECT` index).
    pub db: u32,
    pub key: Vec<u8>,
    pub value: RdbValue,
    /// Absolute expiry, Unix milliseconds.
    pub expire_at_ms: Option<u64>,
    /// Seconds since last access (written by Redis under an LRU `maxmemory-policy`).
    pub lru_idle_secs: Option<u64>,
    /// Logarithmic access counter (written by Redis under an LFU `maxmemory-policy`).
    pub lfu_freq: Option<u8>,
}

impl RdbKey {
    /// A key of database `db` with no expiry and no access statistics.
    pub fn new(db: u32, key: impl Into<Vec<u8>>, value: RdbValue) -> RdbKey {
        RdbKey { db, key: key.into(), value, expire_at_ms: None, lru_idle_secs: None, lfu_freq: None }
    }
}

/// An aux field: (name, value), e.g. (`redis-ver`, `7.0.15`).
pub type AuxField = (Vec<u8>, Vec<u8>);

/// What went wrong while reading, and where.
#[derive(Debug)]
pub struct RdbError {
    /// Byte offset in the file of the item that could not be read.
    pub offset: u64,
    pub kind: RdbErrorKind,
}

/// The kinds of read failure.
#[derive(Debug)]
pub enum RdbErrorKind {
    /// The file ends before the item does.
    Truncated,
    /// The bytes do not form a valid item; the text says which and why.
    Corrupt(String),
    /// A valid item this codec does not handle (streams, modules, functions ...).
    Unsupported(String),
    /// The CRC-64 stored after the EOF opcode does not match the file.
    ChecksumMismatch { stored: u64, computed: u64 },
    /// The underlying reader failed.
    Io(io::Error),
}

impl RdbError {
    pub(crate) fn corrupt(offset: u64, what: impl Into<String>) -> RdbError {
        RdbError { offset, kind: RdbErrorKind::Corrupt(what.into()) }
    }

    pub(crate) fn unsupported(offset: u64, what: impl Into<String>) -> RdbError {
        RdbError { offset, kind: RdbErrorKind::Unsupported(what.into()) }
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RdbErrorKind::Truncated => write!(f, "Unexpected end of file")?,
            RdbErrorKind::Corrupt(what) | RdbErrorKind::Unsupported(what) => write!(f, "{what}")?,
            RdbErrorKind::ChecksumMismatch { stored, computed } => {
                // "RDB CRC error" is the phrase Redis logs (and tools look for).
                write!(f, "RDB CRC error: wrong RDB checksum: stored {stored:#018x}, computed {computed:#018x}")?
            }
            RdbErrorKind::Io(e) => write!(f, "Read error ({e})")?,
        }
        write!(f, " at offset {}", self.offset)
    }
}

impl std::error::Error for RdbError {}

/// A score as text that parses back to the same double (integers without a fraction, as
/// Redis writes them into listpacks so that they take an integer encoding).
pub(crate) fn score_text(score: f64) -> String {
    if score.is_infinite() {
        return if score > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if score == 0.0 {
        return if score.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if score.fract() == 0.0 && score.abs() < 1e17 {
        return (score as i64).to_string();
    }
    let plain = format!("{score}");
    let scientific = format!("{score:e}");
    if scientific.len() < plain.len() {
        scientific
    } else {
        plain
    }
}

/// The double a score text spells, as `strtod` would read what Redis writes.
pub(crate) fn parse_score(text: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(text).ok()?;
    match text {
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse::<f64>().ok(),
    }
}
