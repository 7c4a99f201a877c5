//! DEBUG DIGEST and DEBUG DIGEST-VALUE: fingerprints of the data, to check that a save and a
//! load (or any other round trip) kept every key exactly.
//!
//! As in Redis, a value's digest depends on its contents only, not on its encoding or on the
//! order a set or hash happens to keep (members are digested in byte order), and the
//! keyspace's digest combines its keys' digests (each over database, key, value and expiry)
//! by exclusive or, so it does not depend on the order keys are visited; an empty keyspace
//! digests to zeros. The bytes are not Redis's (which are SHA-1 based): digests are compared
//! between runs of this server, never with redis-server's.

use std::hash::{BuildHasher, Hasher};

use super::rdb::RdbValue;
use super::snapshot::value_of;
use crate::storage::{Entry, Keyspace};

/// A digest: 20 bytes, shown as 40 hex digits as Redis shows its own.
pub type Digest = [u8; 20];

/// Three independently seeded 64-bit hashes of the same input, kept to 160 bits.
struct Digester([foldhash::fast::FoldHasher; 3]);

impl Digester {
    fn new() -> Self {
        const SEEDS: [u64; 3] = [0x9e37_79b9_7f4a_7c15, 0xc2b2_ae3d_27d4_eb4f, 0x1656_67b1_9e37_79f9];
        Digester(SEEDS.map(|s| foldhash::fast::FixedState::with_seed(s).build_hasher()))
    }

    /// One field: its length first, so that ("ab", "c") and ("a", "bc") differ.
    fn field(&mut self, bytes: &[u8]) {
        for h in &mut self.0 {
            h.write_usize(bytes.len());
            h.write(bytes);
        }
    }

    fn finish(self) -> Digest {
        let mut out = [0u8; 20];
        let [a, b, c] = self.0.map(|h| h.finish());
        out[..8].copy_from_slice(&a.to_le_bytes());
        out[8..16].copy_from_slice(&b.to_le_bytes());
        out[16..].copy_from_slice(&c.to_le_bytes()[..4]);
        out
    }
}

/// DEBUG DIGEST-VALUE of one key: its value's digest.
pub fn value_digest(entry: &Entry) -> Digest {
    let mut d = Digester::new();
    digest_value(&mut d, &value_of(entry));
    d.finish()
}

fn digest_value(d: &mut Digester, value: &RdbValue) {
    match value.canonical() {
        RdbValue::String(s) => {
            d.field(b"string");
            d.field(&s);
        }
        RdbValue::List(items) => {
            d.field(b"list");
            items.iter().for_each(|i| d.field(i));
        }
        RdbValue::Set(members) => {
            d.field(b"set");
            members.iter().for_each(|m| d.field(m));
        }
        RdbValue::ZSet(pairs) => {
            d.field(b"zset");
            for (member, score) in &pairs {
                d.field(member);
                d.field(&score.to_bits().to_le_bytes());
            }
        }
        RdbValue::Hash(pairs) => {
            d.field(b"hash");
            for (field, value) in &pairs {
                d.field(field);
                d.field(value);
            }
        }
        // Nodes, counters and groups, all in a fixed order.
        RdbValue::Stream(s) => {
            d.field(b"stream");
            d.field(format!("{s:?}").as_bytes());
        }
    }
}

/// DEBUG DIGEST: every live key of every database, with its value and expiry.
pub fn keyspace_digest(ks: &Keyspace) -> Digest {
    let mut total = [0u8; 20];
    for db in 0..ks.databases() {
        for entry in ks.live_entries(db) {
            let mut d = Digester::new();
            d.field(&db.to_le_bytes());
            d.field(entry.key());
            d.field(&value_digest(entry));
            d.field(&entry.expire_at().to_le_bytes());
            for (t, b) in total.iter_mut().zip(d.finish()) {
                *t ^= b;
            }
        }
    }
    total
}

/// The 40 hex digits of a digest.
pub fn hex(digest: &Digest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
