//! Snapshots of the keyspace in the RDB format: the live keyspace to [`super::rdb`]'s model
//! and back.
//!
//! [`write_snapshot`] writes every live key of every database with its expiry and, as Redis
//! does, its idle time under an LRU `maxmemory-policy` or its access frequency under an LFU
//! one. What Redis has no place for travels in aux fields, which Redis skips when it loads
//! the file, so redis-server still reads our snapshots:
//!
//! * `tc-tenants`, once after the standard aux fields: the limits set for tenants at run time
//!   (`TENANT SETLIMIT`, `tenant` lines), see [`encode_tenants`];
//! * `tc-tags`, just before each tagged key: that key's tags, see [`encode_tags`].
//!
//! [`load_snapshot`] restores keys through [`Keyspace::insert`] and [`Keyspace::add_tags`],
//! so memory accounting, per-tenant tables and the tag index come out exactly as if the keys
//! had been written by clients. Tenants are derived from the key names by the tenant patterns
//! in force when loading. Keys whose time has passed are dropped, as Redis drops them.

use std::io::{self, Read, Write};

use super::rdb::{
    PayloadError, RdbError, RdbItem, RdbKey, RdbReader, RdbStream, RdbStreamConsumer, RdbStreamGroup, RdbStreamId,
    RdbValue, RdbWriteOptions, RdbWriter, StandardAux,
};
use crate::storage::evict::{lfu, Policy};
use crate::storage::hash::HashValue;
use crate::storage::list::ListValue;
use crate::storage::set::SetValue;
use crate::storage::stream::{StreamId, StreamValue};
use crate::storage::value::Collection;
use crate::storage::zset::{Item, ZSetValue};
use crate::storage::{Entry, Keyspace};
use crate::tenants::{LimitOverrides, OnLimit};

/// The aux field holding the run-time tenant limits.
pub const AUX_TENANTS: &[u8] = b"tc-tenants";
/// The aux field holding the tags of the key that follows it.
pub const AUX_TAGS: &[u8] = b"tc-tags";
/// The version byte both encodings start with.
const ENCODING_VERSION: u8 = 1;

/// What a snapshot is written with beside the keyspace.
#[derive(Clone, Debug)]
pub struct SaveOptions {
    /// The `redis-ver` aux field.
    pub redis_ver: String,
    /// LZF-compress long strings (`rdbcompression`).
    pub compress: bool,
    /// The function libraries' code, saved with the data as Redis saves it.
    pub functions: Vec<bytes::Bytes>,
    /// `rdb-key-save-delay`: microseconds to wait after each key (tests watch a slow save).
    pub key_delay_us: u64,
    /// `aof-timestamp-enabled`: a base in command form starts with a `#TS` annotation.
    pub timestamp: bool,
}

/// What [`load_snapshot`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Keys stored.
    pub keys_loaded: u64,
    /// Keys dropped because their time had passed.
    pub keys_expired: u64,
    /// The file's RDB version.
    pub version: u32,
    /// The function libraries' code the file holds, for the server to load.
    pub functions: Vec<Vec<u8>>,
    /// The bytes of the input the snapshot took, checksum included: what follows is not RDB
    /// (in a Redis 6 AOF, the commands after its RDB preamble).
    pub bytes: u64,
}

/// Writes every key of `ks` to `out` as an RDB file, those whose time passed but that are not
/// reclaimed yet too (as Redis saves them; loading drops them); returns how many it wrote.
/// Nothing of `ks` changes, so a forked child may run it on its copy of the keyspace.
pub fn write_snapshot<W: Write>(ks: &Keyspace, out: W, options: &SaveOptions) -> io::Result<u64> {
    let mut w = RdbWriter::new(out, write_options(ks, options.compress))?;
    w.write_standard_aux(&StandardAux::now(&options.redis_ver, ks.used_memory() as u64))?;
    let tenants = encode_tenants(ks);
    if tenants.len() > 2 {
        w.write_aux(AUX_TENANTS, &tenants)?;
    }
    for code in &options.functions {
        w.write_function(code)?;
    }
    let lru = matches!(ks.policy, Policy::AllKeysLru | Policy::VolatileLru);
    let lfu = ks.policy.is_lfu();
    let mut written = 0;
    for db in 0..ks.databases() {
        let d = ks.db(db);
        if d.is_empty() {
            continue;
        }
        w.select_db(db as u32, Some((d.len() as u64, d.volatile() as u64)))?;
        for entry in ks.stored_entries(db) {
            let mut key = RdbKey::new(db as u32, entry.key(), value_of(entry));
            if entry.expire_at() != 0 {
                key.expire_at_ms = Some(entry.expire_at());
            }
            if lru {
                key.lru_idle_secs = Some(ks.idle_seconds(entry));
            } else if lfu {
                key.lfu_freq = Some(lfu::decayed(entry.access(), ks.now_ms, ks.lfu_decay_time) as u8);
            }
            let tags = entry.tags();
            if !tags.is_empty() {
                w.write_aux(AUX_TAGS, &encode_tags(tags.iter().map(|t| &t[..])))?;
            }
            w.write_key(&key)?;
            written += 1;
            if options.key_delay_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(options.key_delay_us));
            }
        }
    }
    w.finish()?;
    Ok(written)
}

/// The encodings the keyspace's thresholds call for (as Redis writes values by their
/// in-memory encoding), and whether long strings are compressed.
pub fn write_options(ks: &Keyspace, compress: bool) -> RdbWriteOptions {
    let e = &ks.encoding;
    RdbWriteOptions {
        hash_max_listpack_entries: e.hash_max_listpack_entries,
        hash_max_listpack_value: e.hash_max_listpack_value,
        zset_max_listpack_entries: e.zset_max_listpack_entries,
        zset_max_listpack_value: e.zset_max_listpack_value,
        set_max_intset_entries: e.set_max_intset_entries,
        list_max_listpack_size: e.list_max_listpack_size,
        list_plain_node_threshold: e.list_packed_threshold,
        compress,
    }
}

/// DUMP: the entry's value as a Redis DUMP payload (the expiry, access data and tags are not
/// part of one, as in Redis).
pub fn dump_entry(entry: &Entry, options: RdbWriteOptions) -> io::Result<Vec<u8>> {
    super::rdb::dump_payload(&value_of(entry), options)
}

/// RESTORE: the entry a DUMP payload makes under `key`, with no expiry.
pub fn restored_entry(ks: &Keyspace, key: &[u8], payload: &[u8]) -> Result<Box<Entry>, PayloadError> {
    Ok(match super::rdb::read_payload(payload)? {
        RdbValue::String(s) => Entry::string(key, &s, 0),
        value => Entry::new_collection(key, collection_of(value, &ks.encoding), 0),
    })
}

/// The access clock of a stored key from a snapshot's or a RESTORE's idle time (seconds) or
/// LFU counter: the one the current policy keeps, as Redis's `objectSetLRUOrLFU`.
pub fn access_of(ks: &Keyspace, lru_idle_secs: Option<u64>, lfu_freq: Option<u8>) -> Option<u32> {
    if ks.policy.is_lfu() {
        lfu_freq.map(|f| lfu::pack(lfu::minutes(ks.now_ms), u32::from(f)))
    } else {
        lru_idle_secs.map(|idle| ks.lru_clock().saturating_sub(idle.min(u64::from(u32::MAX)) as u32))
    }
}

/// The codec's model of an entry's value.
pub(super) fn value_of(entry: &Entry) -> RdbValue {
    match entry.collection() {
        None => RdbValue::String(entry.str_value().to_vec()),
        Some(Collection::List(l)) => RdbValue::List(l.iter().map(<[u8]>::to_vec).collect()),
        Some(Collection::Set(s)) => RdbValue::Set(s.iter().map(|m| m.to_vec()).collect()),
        Some(Collection::ZSet(z)) => RdbValue::ZSet(z.iter().map(|it| (it.member.to_vec(), it.score)).collect()),
        Some(Collection::Hash(h)) => RdbValue::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        Some(Collection::Stream(s)) => RdbValue::Stream(Box::new(stream_model(s))),
    }
}

fn rdb_id(id: StreamId) -> RdbStreamId {
    (id.ms, id.seq)
}

fn stream_id((ms, seq): RdbStreamId) -> StreamId {
    StreamId::new(ms, seq)
}

/// The codec's model of a stream: its nodes as they are, counters, groups.
fn stream_model(s: &StreamValue) -> RdbStream {
    RdbStream {
        nodes: s.nodes().map(|(id, lp)| (rdb_id(id), lp.to_vec())).collect(),
        length: s.len(),
        last_id: rdb_id(s.last_id),
        first_id: rdb_id(s.first_id),
        max_deleted_id: rdb_id(s.max_deleted_id),
        entries_added: s.entries_added,
        groups: s
            .groups
            .iter()
            .map(|(name, g)| RdbStreamGroup {
                name: name.to_vec(),
                last_id: rdb_id(g.last_id),
                entries_read: g.entries_read,
                pending: g.pending.iter().map(|(id, p)| (rdb_id(*id), p.delivery_time, p.delivery_count)).collect(),
                consumers: g
                    .consumers
                    .iter()
                    .map(|(name, c)| RdbStreamConsumer {
                        name: name.to_vec(),
                        seen_time: c.seen_time,
                        pending: c.pending.iter().map(|id| rdb_id(*id)).collect(),
                    })
                    .collect(),
            })
            .collect(),
        legacy: false,
    }
}

/// A stream from its model (whose nodes the reader validated).
fn stream_of(model: RdbStream) -> StreamValue {
    let mut s = StreamValue::new();
    for (master, lp) in model.nodes {
        s.push_loaded_node(stream_id(master), lp);
    }
    s.set_loaded_counters(
        model.length,
        stream_id(model.last_id),
        stream_id(model.first_id),
        stream_id(model.max_deleted_id),
        model.entries_added,
    );
    for g in model.groups {
        let last_id = stream_id(g.last_id);
        let entries_read = if model.legacy { s.entries_read_at(last_id) } else { g.entries_read };
        s.create_group(&g.name, last_id, entries_read);
        s.with_group(&g.name, |_, group| {
            let mut owners = std::collections::HashMap::new();
            for c in &g.consumers {
                group.create_consumer(&c.name, c.seen_time);
                let name = group.consumer_seen(&c.name, None).expect("created above");
                // Redis 7.0's format keeps no active time: the seen time stands for it, as
                // Redis 7.2 takes it from older files.
                group.mark_active(&name, c.seen_time);
                for id in &c.pending {
                    owners.insert(*id, name.clone());
                }
            }
            // The reader checked that every pending entry has its consumer.
            for (id, time, count) in g.pending {
                if let Some(owner) = owners.get(&id) {
                    group.claim(stream_id(id), owner, time, count);
                }
            }
        });
    }
    s
}

/// What a load writes into. The keyspace is asked for anew for every key, so that a holder
/// may let other threads in between keys ([`LoadTarget::between_keys`]).
pub trait LoadTarget {
    fn keyspace(&mut self) -> &mut Keyspace;
    /// Called after each key, with the offset the file has been read to.
    fn between_keys(&mut self, _offset: u64) {}
}

impl LoadTarget for Keyspace {
    fn keyspace(&mut self) -> &mut Keyspace {
        self
    }
}

/// Loads an RDB file into `ks`, on top of what it holds (a key of the file replaces a key of
/// the same name). Stops at the first error, which names its byte offset; keys read before it
/// stay loaded, so callers that refuse a bad file start over with an empty keyspace.
pub fn load_snapshot<R: Read>(ks: &mut Keyspace, input: R) -> Result<LoadStats, RdbError> {
    load_snapshot_into(ks, input)
}

/// [`load_snapshot`] into any [`LoadTarget`].
pub fn load_snapshot_into<R: Read>(target: &mut impl LoadTarget, input: R) -> Result<LoadStats, RdbError> {
    let mut reader = RdbReader::new(input)?;
    let mut stats = LoadStats { version: reader.version(), ..LoadStats::default() };
    let mut pending_tags: Option<Vec<Vec<u8>>> = None;
    loop {
        let at = reader.offset();
        let Some(item) = reader.next_item()? else { break };
        match item {
            RdbItem::Aux(name, value) if name == AUX_TENANTS => {
                let ks = target.keyspace();
                for (tenant, limits) in decode_tenants(&value).map_err(|what| bad_aux(at, AUX_TENANTS, what))? {
                    let id = ks.tenants.intern(&tenant);
                    ks.set_limit_overrides(id, limits);
                }
            }
            RdbItem::Aux(name, value) if name == AUX_TAGS => {
                pending_tags = Some(decode_tags(&value).map_err(|what| bad_aux(at, AUX_TAGS, what))?);
            }
            RdbItem::Aux(..) | RdbItem::ResizeDb { .. } => {}
            RdbItem::Function(code) => stats.functions.push(code),
            RdbItem::Key(key) => {
                let tags = pending_tags.take();
                let ks = target.keyspace();
                if key.db as usize >= ks.databases() {
                    return Err(RdbError {
                        offset: at,
                        kind: super::rdb::RdbErrorKind::Corrupt(format!(
                            "The file holds database {} but the server is configured for {} databases",
                            key.db,
                            ks.databases()
                        )),
                    });
                }
                if key.expire_at_ms.is_some_and(|t| t <= ks.now_ms) {
                    stats.keys_expired += 1;
                    continue;
                }
                store_key(ks, key, tags);
                stats.keys_loaded += 1;
                target.between_keys(reader.offset());
            }
        }
    }
    stats.bytes = reader.offset();
    Ok(stats)
}

fn bad_aux(offset: u64, name: &[u8], what: &str) -> RdbError {
    RdbError {
        offset,
        kind: super::rdb::RdbErrorKind::Corrupt(format!(
            "Malformed aux field '{}' ({what})",
            String::from_utf8_lossy(name)
        )),
    }
}

/// Stores one loaded key with its expiry, access statistics and tags.
fn store_key(ks: &mut Keyspace, key: RdbKey, tags: Option<Vec<Vec<u8>>>) {
    let db = key.db as usize;
    let mut entry = match key.value {
        RdbValue::String(s) => Entry::string(&key.key, &s, 0),
        value => Entry::new_collection(&key.key, collection_of(value, &ks.encoding), 0),
    };
    entry.set_expire_at(key.expire_at_ms.unwrap_or(0));
    ks.insert(db, entry, &[]);
    if let Some(access) = access_of(ks, key.lru_idle_secs, key.lfu_freq) {
        ks.modify(db, &key.key, &[], |e| {
            e.set_access(access);
            ((), false)
        });
    }
    if let Some(tags) = tags.filter(|t| !t.is_empty()) {
        let tags: Vec<&[u8]> = tags.iter().map(Vec::as_slice).collect();
        ks.add_tags(db, &key.key, &tags);
    }
}

/// A collection built from the model, in the encoding its size calls for.
fn collection_of(value: RdbValue, limits: &crate::storage::EncodingLimits) -> Collection {
    match value {
        RdbValue::String(_) => unreachable!("strings are not collections"),
        RdbValue::List(items) => {
            let mut l = ListValue::new();
            for item in &items {
                l.push_back(item);
            }
            l.update_encoding(limits);
            Collection::List(Box::new(l))
        }
        RdbValue::Set(members) => {
            let mut s = SetValue::for_new(&members[0], members.len(), limits);
            for m in &members {
                s.insert(m, limits);
            }
            Collection::Set(Box::new(s))
        }
        RdbValue::ZSet(pairs) => {
            let items = pairs.into_iter().map(|(member, score)| Item { score, member: member.into() }).collect();
            Collection::ZSet(Box::new(ZSetValue::from_items(items, limits)))
        }
        RdbValue::Hash(pairs) => {
            let mut h = HashValue::new();
            for (f, v) in &pairs {
                h.set(f, v, limits);
            }
            Collection::Hash(h)
        }
        RdbValue::Stream(model) => Collection::Stream(Box::new(stream_of(*model))),
    }
}

// ----- aux encodings -----
//
// Both start with a version byte; numbers are LEB128 varints, byte strings a varint length
// and the bytes.

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A cursor over an aux value; every read fails cleanly at the end of the input.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Result<u8, &'static str> {
        let (&b, rest) = self.0.split_first().ok_or("ends early")?;
        self.0 = rest;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f).checked_shl(shift).ok_or("number too large")?;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err("number too large")
    }

    fn bytes(&mut self) -> Result<&'a [u8], &'static str> {
        let len = self.varint()?;
        if len > self.0.len() as u64 {
            return Err("ends early");
        }
        let (b, rest) = self.0.split_at(len as usize);
        self.0 = rest;
        Ok(b)
    }

    fn version(&mut self) -> Result<(), &'static str> {
        match self.byte()? {
            ENCODING_VERSION => Ok(()),
            _ => Err("unknown version"),
        }
    }
}

/// `tc-tags`: version, tag count, then each tag.
pub fn encode_tags<'t>(tags: impl ExactSizeIterator<Item = &'t [u8]>) -> Vec<u8> {
    let mut out = vec![ENCODING_VERSION];
    put_varint(&mut out, tags.len() as u64);
    for t in tags {
        put_bytes(&mut out, t);
    }
    out
}

pub fn decode_tags(value: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut c = Cursor(value);
    c.version()?;
    let n = c.varint()?;
    // Each tag takes at least its length byte: a larger count is a lie.
    if n > c.0.len() as u64 {
        return Err("ends early");
    }
    let tags = (0..n).map(|_| c.bytes().map(<[u8]>::to_vec)).collect::<Result<Vec<_>, _>>()?;
    if !c.0.is_empty() {
        return Err("trailing bytes");
    }
    Ok(tags)
}

/// Bits of a tenant record saying which limits follow.
const HAS_MAXMEMORY: u8 = 1;
const HAS_MAXKEYS: u8 = 2;
const HAS_RESERVE: u8 = 4;
const HAS_ONLIMIT: u8 = 8;

/// `tc-tenants`: version, record count, then per tenant with limits of its own: its name, a
/// byte of which limits are set, and those limits (numbers; `onlimit` 0 = evict, 1 = reject).
pub fn encode_tenants(ks: &Keyspace) -> Vec<u8> {
    let records: Vec<(u32, LimitOverrides)> =
        (0..ks.tenants.count() as u32).map(|id| (id, ks.limit_overrides(id))).filter(|(_, o)| !o.is_empty()).collect();
    let mut out = vec![ENCODING_VERSION];
    put_varint(&mut out, records.len() as u64);
    for (id, o) in records {
        put_bytes(&mut out, ks.tenants.name(id));
        let flags = [
            (o.maxmemory.is_some(), HAS_MAXMEMORY),
            (o.maxkeys.is_some(), HAS_MAXKEYS),
            (o.reserve.is_some(), HAS_RESERVE),
            (o.onlimit.is_some(), HAS_ONLIMIT),
        ]
        .iter()
        .filter(|(set, _)| *set)
        .fold(0, |acc, (_, bit)| acc | bit);
        out.push(flags);
        for n in [o.maxmemory, o.maxkeys, o.reserve].into_iter().flatten() {
            put_varint(&mut out, n);
        }
        if let Some(on) = o.onlimit {
            out.push(u8::from(on == OnLimit::Reject));
        }
    }
    out
}

pub fn decode_tenants(value: &[u8]) -> Result<Vec<(Vec<u8>, LimitOverrides)>, &'static str> {
    let mut c = Cursor(value);
    c.version()?;
    let n = c.varint()?;
    if n > c.0.len() as u64 {
        return Err("ends early");
    }
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let name = c.bytes()?.to_vec();
        let flags = c.byte()?;
        if flags & !(HAS_MAXMEMORY | HAS_MAXKEYS | HAS_RESERVE | HAS_ONLIMIT) != 0 {
            return Err("unknown limit");
        }
        let mut number = |bit: u8| if flags & bit != 0 { c.varint().map(Some) } else { Ok(None) };
        let maxmemory = number(HAS_MAXMEMORY)?;
        let maxkeys = number(HAS_MAXKEYS)?;
        let reserve = number(HAS_RESERVE)?;
        let onlimit = if flags & HAS_ONLIMIT != 0 {
            Some(match c.byte()? {
                0 => OnLimit::Evict,
                1 => OnLimit::Reject,
                _ => return Err("unknown onlimit"),
            })
        } else {
            None
        };
        out.push((name, LimitOverrides { maxmemory, maxkeys, reserve, onlimit }));
    }
    if !c.0.is_empty() {
        return Err("trailing bytes");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::events;
    use crate::tenants::{KeyPattern, TenantRegistry};

    fn keyspace() -> Keyspace {
        let pattern = KeyPattern::compile("{tenant}", b':', "{tenant}").unwrap();
        Keyspace::new(16, TenantRegistry::new(vec![pattern], b':'))
    }

    fn options() -> SaveOptions {
        SaveOptions {
            redis_ver: "7.0.15".into(),
            compress: true,
            functions: Vec::new(),
            key_delay_us: 0,
            timestamp: false,
        }
    }

    fn fill(ks: &mut Keyspace) {
        let now = ks.now_ms;
        let mut s = Entry::string(b"acme:s", b"value", 0);
        s.set_expire_at(now + 60_000);
        ks.insert(0, s, &[events::SET]);
        ks.insert(3, Entry::string(b"n", b"12345", 0), &[]);
        let limits = ks.encoding;
        let mut l = ListValue::new();
        for i in 0..1000 {
            l.push_back(format!("item-{i}").as_bytes());
        }
        l.update_encoding(&limits);
        ks.insert(0, Entry::new_collection(b"acme:l", Collection::List(Box::new(l)), 0), &[]);
        let mut set = SetValue::for_new(b"1", 3, &limits);
        for m in ["1", "2", "x"] {
            set.insert(m.as_bytes(), &limits);
        }
        ks.insert(1, Entry::new_collection(b"beta:set", Collection::Set(Box::new(set)), 0), &[]);
        let items = vec![Item { score: 1.5, member: b"a"[..].into() }, Item { score: -2.0, member: b"b"[..].into() }];
        let z = ZSetValue::from_items(items, &limits);
        ks.insert(0, Entry::new_collection(b"beta:z", Collection::ZSet(Box::new(z)), 0), &[]);
        let mut h = HashValue::new();
        h.set(b"f", b"v", &limits);
        h.set(b"g", b"w", &limits);
        ks.insert(0, Entry::new_collection(b"acme:h", Collection::Hash(h), 0), &[]);
        ks.add_tags(0, b"acme:s", &[b"plan", b"user:7"]);
        ks.add_tags(0, b"acme:h", &[b"plan"]);
        let acme = ks.tenants.intern(b"acme");
        ks.set_limit_overrides(
            acme,
            LimitOverrides {
                maxmemory: Some(10 << 20),
                maxkeys: None,
                reserve: Some(1 << 20),
                onlimit: Some(OnLimit::Reject),
            },
        );
    }

    /// Every key as `db key value expiry tags` lines, sorted.
    fn dump(ks: &Keyspace) -> Vec<String> {
        let mut out = Vec::new();
        for db in 0..ks.databases() {
            for e in ks.live_entries(db) {
                let tags: Vec<String> = e.tags().iter().map(|t| String::from_utf8_lossy(t).into_owned()).collect();
                out.push(format!(
                    "{db} {} {:?} {} {}",
                    String::from_utf8_lossy(e.key()),
                    value_of(e),
                    e.expire_at(),
                    tags.join(",")
                ));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn round_trip_keeps_keys_tags_limits_and_accounting() {
        let mut ks = keyspace();
        fill(&mut ks);
        let mut file = Vec::new();
        assert_eq!(write_snapshot(&ks, &mut file, &options()).unwrap(), 6);
        let mut loaded = keyspace();
        let stats = load_snapshot(&mut loaded, &file[..]).unwrap();
        assert_eq!(stats.keys_loaded, 6);
        assert_eq!(dump(&loaded), dump(&ks));
        assert_eq!(loaded.used_memory(), ks.used_memory());
        assert_eq!(loaded.tag_count(0, b"plan"), 2);
        assert_eq!(loaded.tag_count(0, b"user:7"), 1);
        let acme = loaded.tenants.id_of(b"acme").unwrap();
        assert_eq!(loaded.limit_overrides(acme), ks.limit_overrides(ks.tenants.id_of(b"acme").unwrap()));
        assert_eq!(loaded.tenant_keys(acme), 3);
        // Redis's own reader sees a valid file with the aux fields it skips.
        let plain = super::super::rdb::read_rdb(&file[..]).unwrap();
        assert_eq!(plain.keys.len(), 6);
        assert!(plain.aux.iter().any(|(n, _)| n == AUX_TENANTS));
    }

    #[test]
    fn expired_keys_are_dropped_on_load() {
        let mut ks = keyspace();
        fill(&mut ks);
        let mut file = Vec::new();
        write_snapshot(&ks, &mut file, &options()).unwrap();
        let mut later = keyspace();
        later.now_ms = ks.now_ms + 120_000;
        let stats = load_snapshot(&mut later, &file[..]).unwrap();
        assert_eq!((stats.keys_loaded, stats.keys_expired), (5, 1));
        // The tags of the dropped key do not stick to the next one.
        assert_eq!(later.tag_count(0, b"user:7"), 0);
        assert_eq!(later.tag_count(0, b"plan"), 1);
    }

    #[test]
    fn lfu_frequency_and_lru_idle_time_survive() {
        let mut ks = keyspace();
        ks.apply_setting("maxmemory-policy", "allkeys-lfu");
        ks.insert(0, Entry::string(b"k", b"v", 0), &[]);
        let now = ks.now_ms;
        ks.modify(0, b"k", &[], |e| {
            e.set_access(lfu::pack(lfu::minutes(now), 42));
            ((), false)
        });
        let mut file = Vec::new();
        write_snapshot(&ks, &mut file, &options()).unwrap();
        let mut loaded = keyspace();
        loaded.apply_setting("maxmemory-policy", "allkeys-lfu");
        load_snapshot(&mut loaded, &file[..]).unwrap();
        assert_eq!(lfu::counter(loaded.peek(0, b"k").unwrap().access()), 42);

        let mut ks = keyspace();
        ks.apply_setting("maxmemory-policy", "allkeys-lru");
        ks.insert(0, Entry::string(b"k", b"v", 0), &[]);
        ks.now_ms += 30_000;
        let mut file = Vec::new();
        write_snapshot(&ks, &mut file, &options()).unwrap();
        let key = &super::super::rdb::read_rdb(&file[..]).unwrap().keys[0];
        assert_eq!(key.lru_idle_secs, Some(30));
    }

    #[test]
    fn aux_encodings_reject_bad_input_without_panicking() {
        let tags = encode_tags([&b"a"[..], b"bc"].into_iter());
        assert_eq!(decode_tags(&tags).unwrap(), vec![b"a".to_vec(), b"bc".to_vec()]);
        for cut in 0..tags.len() {
            assert!(decode_tags(&tags[..cut]).is_err());
        }
        assert!(decode_tags(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).is_err());
        let mut ks = keyspace();
        fill(&mut ks);
        let tenants = encode_tenants(&ks);
        assert_eq!(decode_tenants(&tenants).unwrap().len(), 1);
        for cut in 0..tenants.len() {
            assert!(decode_tenants(&tenants[..cut]).is_err());
        }
        assert!(decode_tenants(&[2, 0]).is_err());
    }

    #[test]
    fn truncated_files_fail_with_an_offset() {
        let mut ks = keyspace();
        fill(&mut ks);
        let mut file = Vec::new();
        write_snapshot(&ks, &mut file, &options()).unwrap();
        for cut in [0, 5, 9, 30, file.len() / 2, file.len() - 1] {
            let err = load_snapshot(&mut keyspace(), &file[..cut]).unwrap_err();
            assert!(err.to_string().contains("at offset"), "{err}");
        }
    }
}
