//! The RDB writer: the model in, the bytes redis-server 7.0 would write out.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::io::{self, Write};

use super::listpack::{self, ListpackBuilder};
use super::{
    canonical_i64, crc64, intset, lzf, opcodes, score_text, types, RdbKey, RdbStream, RdbStreamId, RdbValue,
    RDB_VERSION,
};
use super::{QUICKLIST_NODE_PACKED, QUICKLIST_NODE_PLAIN};

/// The encoding thresholds, with Redis 7.0's defaults and meanings.
#[derive(Debug, Clone)]
pub struct RdbWriteOptions {
    /// `hash-max-listpack-entries`: more fields and the hash is written plain.
    pub hash_max_listpack_entries: usize,
    /// `hash-max-listpack-value`: a longer field or value and the hash is written plain.
    pub hash_max_listpack_value: usize,
    /// `zset-max-listpack-entries`.
    pub zset_max_listpack_entries: usize,
    /// `zset-max-listpack-value`: the longest member a listpack sorted set may hold.
    pub zset_max_listpack_value: usize,
    /// `set-max-intset-entries`: up to this many all-integer members make an intset.
    pub set_max_intset_entries: usize,
    /// `list-max-listpack-size`: positive, entries a list node holds; -1 to -5, a node's
    /// listpack bytes (4, 8, 16, 32, 64 KiB).
    pub list_max_listpack_size: i64,
    /// List elements at least this long get a node of their own, written plain (Redis's
    /// quicklist packed threshold, 1 GiB).
    pub list_plain_node_threshold: usize,
    /// LZF-compress strings longer than 20 bytes when that saves at least 4 bytes
    /// (`rdbcompression`).
    pub compress: bool,
}

impl Default for RdbWriteOptions {
    fn default() -> Self {
        RdbWriteOptions {
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            set_max_intset_entries: 512,
            list_max_listpack_size: -2,
            list_plain_node_threshold: 1 << 30,
            compress: false,
        }
    }
}

/// Redis's cap on a node's bytes when the list fill is a count of entries.
const NODE_SIZE_SAFETY_LIMIT: usize = 8192;

impl RdbWriteOptions {
    /// Whether a list node of `entries` elements and `bytes` listpack bytes may take one more.
    fn node_has_room(&self, entries: usize, bytes: usize) -> bool {
        match self.list_max_listpack_size {
            fill if fill > 0 => (entries as u64) < fill as u64 && bytes <= NODE_SIZE_SAFETY_LIMIT,
            fill => {
                let level = fill.unsigned_abs().clamp(1, 5) - 1;
                bytes <= 4096 << level
            }
        }
    }
}

/// The aux fields Redis 7.0 writes at the start of every snapshot.
#[derive(Debug, Clone)]
pub struct StandardAux {
    pub redis_ver: String,
    pub redis_bits: u32,
    /// Creation time, Unix seconds.
    pub ctime: u64,
    pub used_mem: u64,
    /// Whether the file is the base of an append-only file.
    pub aof_base: bool,
}

impl StandardAux {
    /// The fields for a snapshot taken now with `used_mem` bytes in use.
    pub fn now(redis_ver: &str, used_mem: u64) -> StandardAux {
        let ctime =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        StandardAux { redis_ver: redis_ver.to_string(), redis_bits: 64, ctime, used_mem, aof_base: false }
    }
}

/// A writer that checksums and counts what goes through it.
struct Sink<W> {
    inner: W,
    crc: u64,
}

impl<W: Write> Sink<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc = crc64(self.crc, bytes);
        self.inner.write_all(bytes)
    }
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

/// Writes an RDB file: header at creation, then aux fields, databases and keys in any
/// order the caller chooses, then [`RdbWriter::finish`] for the EOF opcode and checksum.
/// Wrap files in a `BufWriter`: the writer issues many small writes.
pub struct RdbWriter<W: Write> {
    out: Sink<W>,
    options: RdbWriteOptions,
    current_db: Option<u32>,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a file with the `REDIS0010` header.
    pub fn new(inner: W, options: RdbWriteOptions) -> io::Result<RdbWriter<W>> {
        let mut writer = RdbWriter { out: Sink { inner, crc: 0 }, options, current_db: None };
        writer.out.put(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        Ok(writer)
    }

    /// An aux field (`redis-ver`, `ctime` ...).
    pub fn write_aux(&mut self, name: &[u8], value: &[u8]) -> io::Result<()> {
        self.out.put(&[opcodes::AUX])?;
        self.write_string(name)?;
        self.write_string(value)
    }

    /// A function library (its code), as Redis 7 writes one after the aux fields.
    pub fn write_function(&mut self, code: &[u8]) -> io::Result<()> {
        self.out.put(&[opcodes::FUNCTION2])?;
        self.write_string(code)
    }

    /// The aux fields Redis 7.0 writes, in its order.
    pub fn write_standard_aux(&mut self, aux: &StandardAux) -> io::Result<()> {
        self.write_aux(b"redis-ver", aux.redis_ver.as_bytes())?;
        self.write_aux(b"redis-bits", aux.redis_bits.to_string().as_bytes())?;
        self.write_aux(b"ctime", aux.ctime.to_string().as_bytes())?;
        self.write_aux(b"used-mem", aux.used_mem.to_string().as_bytes())?;
        self.write_aux(b"aof-base", if aux.aof_base { b"1" } else { b"0" })
    }

    /// Starts database `db`; `sizes` (keys, keys with expiry) is the hint Redis sizes its
    /// tables by on load (`RESIZEDB`).
    pub fn select_db(&mut self, db: u32, sizes: Option<(u64, u64)>) -> io::Result<()> {
        self.out.put(&[opcodes::SELECTDB])?;
        self.write_len(u64::from(db))?;
        if let Some((keys, expires)) = sizes {
            self.out.put(&[opcodes::RESIZEDB])?;
            self.write_len(keys)?;
            self.write_len(expires)?;
        }
        self.current_db = Some(db);
        Ok(())
    }

    /// One key; selects its database first when it is not the current one. Values Redis would
    /// refuse to load (empty collections, repeated members or fields, NaN scores) are refused
    /// with `InvalidInput`, before anything of the key is written.
    pub fn write_key(&mut self, key: &RdbKey) -> io::Result<()> {
        check_value(&key.value)?;
        if self.current_db != Some(key.db) {
            self.select_db(key.db, None)?;
        }
        if let Some(at) = key.expire_at_ms {
            self.out.put(&[opcodes::EXPIRETIME_MS])?;
            self.out.put(&at.to_le_bytes())?;
        }
        if let Some(idle) = key.lru_idle_secs {
            self.out.put(&[opcodes::IDLE])?;
            self.write_len(idle)?;
        }
        if let Some(freq) = key.lfu_freq {
            self.out.put(&[opcodes::FREQ, freq])?;
        }
        let value_type = value_type(&key.value, &self.options);
        self.out.put(&[value_type])?;
        self.write_string(&key.key)?;
        self.write_value(value_type, &key.value)
    }

    /// Ends the file: EOF opcode and the CRC-64 of everything before it. Hands back the inner
    /// writer, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.put(&[opcodes::EOF])?;
        let crc = self.out.crc;
        self.out.inner.write_all(&crc.to_le_bytes())?;
        self.out.inner.flush()?;
        Ok(self.out.inner)
    }

    /// Lengths: 6 bits, 14 bits, or a marker byte and 32 or 64 bits big-endian.
    fn write_len(&mut self, len: u64) -> io::Result<()> {
        if len < 1 << 6 {
            self.out.put(&[len as u8])
        } else if len < 1 << 14 {
            self.out.put(&[0x40 | (len >> 8) as u8, len as u8])
        } else if len <= u64::from(u32::MAX) {
            self.out.put(&[0x80])?;
            self.out.put(&(len as u32).to_be_bytes())
        } else {
            self.out.put(&[0x81])?;
            self.out.put(&len.to_be_bytes())
        }
    }

    /// A string as Redis writes one: as an 8, 16 or 32-bit integer when it spells one, else
    /// LZF-compressed when enabled and worth it, else raw.
    fn write_string(&mut self, s: &[u8]) -> io::Result<()> {
        if s.len() <= 11 {
            if let Some(v) = canonical_i64(s) {
                if let Ok(v) = i8::try_from(v) {
                    return self.out.put(&[0xc0, v as u8]);
                } else if let Ok(v) = i16::try_from(v) {
                    self.out.put(&[0xc1])?;
                    return self.out.put(&v.to_le_bytes());
                } else if let Ok(v) = i32::try_from(v) {
                    self.out.put(&[0xc2])?;
                    return self.out.put(&v.to_le_bytes());
                }
            }
        }
        if self.options.compress && s.len() > 20 {
            if let Some(packed) = lzf::compress(s, s.len() - 4) {
                self.out.put(&[0xc3])?;
                self.write_len(packed.len() as u64)?;
                self.write_len(s.len() as u64)?;
                return self.out.put(&packed);
            }
        }
        self.write_len(s.len() as u64)?;
        self.out.put(s)
    }

    fn write_value(&mut self, value_type: u8, value: &RdbValue) -> io::Result<()> {
        match value {
            RdbValue::String(s) => self.write_string(s),
            RdbValue::List(items) => self.write_quicklist(items),
            RdbValue::Set(members) if value_type == types::SET_INTSET => {
                let mut ints: Vec<i64> = members.iter().filter_map(|m| canonical_i64(m)).collect();
                ints.sort_unstable();
                self.write_string(&intset::encode(&ints))
            }
            RdbValue::Set(members) => {
                self.write_len(members.len() as u64)?;
                members.iter().try_for_each(|m| self.write_string(m))
            }
            RdbValue::ZSet(pairs) => {
                let mut sorted: Vec<&(Vec<u8>, f64)> = pairs.iter().collect();
                // Score, then member bytes: the order a listpack sorted set must keep (-0 and 0
                // are one score, as in Redis; NaN was refused).
                sorted.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
                if value_type == types::ZSET_LISTPACK {
                    let mut lp = ListpackBuilder::new();
                    for (member, score) in sorted {
                        lp.push(member);
                        lp.push(score_text(*score).as_bytes());
                    }
                    self.write_string(&lp.finish())
                } else {
                    // Highest first, as Redis does: it loads fastest that way.
                    self.write_len(sorted.len() as u64)?;
                    for (member, score) in sorted.into_iter().rev() {
                        self.write_string(member)?;
                        self.out.put(&score.to_le_bytes())?;
                    }
                    Ok(())
                }
            }
            RdbValue::Hash(pairs) if value_type == types::HASH_LISTPACK => {
                let mut lp = ListpackBuilder::new();
                for (field, value) in pairs {
                    lp.push(field);
                    lp.push(value);
                }
                self.write_string(&lp.finish())
            }
            RdbValue::Hash(pairs) => {
                self.write_len(pairs.len() as u64)?;
                for (field, value) in pairs {
                    self.write_string(field)?;
                    self.write_string(value)?;
                }
                Ok(())
            }
            RdbValue::Stream(s) => self.write_stream(s),
        }
    }

    /// A stream as `STREAM_LISTPACKS_2`: the nodes (master id as 16 big-endian bytes, then the
    /// listpack), the counters, then each group with its pending entries and consumers (ids
    /// raw, times as 8 little-endian bytes), as Redis 7.0's `rdbSaveObject` writes them.
    fn write_stream(&mut self, s: &RdbStream) -> io::Result<()> {
        let raw_id = |id: RdbStreamId| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&id.0.to_be_bytes());
            b[8..].copy_from_slice(&id.1.to_be_bytes());
            b
        };
        self.write_len(s.nodes.len() as u64)?;
        for (master, lp) in &s.nodes {
            self.write_string(&raw_id(*master))?;
            self.write_string(lp)?;
        }
        self.write_len(s.length)?;
        for id in [s.last_id, s.first_id, s.max_deleted_id] {
            self.write_len(id.0)?;
            self.write_len(id.1)?;
        }
        self.write_len(s.entries_added)?;
        self.write_len(s.groups.len() as u64)?;
        for g in &s.groups {
            self.write_string(&g.name)?;
            self.write_len(g.last_id.0)?;
            self.write_len(g.last_id.1)?;
            self.write_len(g.entries_read.unwrap_or(u64::MAX))?;
            self.write_len(g.pending.len() as u64)?;
            for &(id, time, count) in &g.pending {
                self.out.put(&raw_id(id))?;
                self.out.put(&time.to_le_bytes())?;
                self.write_len(count)?;
            }
            self.write_len(g.consumers.len() as u64)?;
            for c in &g.consumers {
                self.write_string(&c.name)?;
                self.out.put(&c.seen_time.to_le_bytes())?;
                self.write_len(c.pending.len() as u64)?;
                for &id in &c.pending {
                    self.out.put(&raw_id(id))?;
                }
            }
        }
        Ok(())
    }

    /// A list as quicklist v2: the node count, then per node its container and its payload
    /// (a listpack, or the bare element for a plain node).
    fn write_quicklist(&mut self, items: &[Vec<u8>]) -> io::Result<()> {
        enum Node<'a> {
            Packed(Vec<u8>),
            Plain(&'a [u8]),
        }
        let mut nodes = Vec::new();
        let mut current = ListpackBuilder::new();
        for item in items {
            if item.len() >= self.options.list_plain_node_threshold {
                if !current.is_empty() {
                    nodes.push(Node::Packed(std::mem::take(&mut current).finish()));
                }
                nodes.push(Node::Plain(item));
                continue;
            }
            let grown = current.size() + listpack::entry_size(item);
            if !current.is_empty() && !self.options.node_has_room(current.len(), grown) {
                nodes.push(Node::Packed(std::mem::take(&mut current).finish()));
            }
            current.push(item);
        }
        if !current.is_empty() {
            nodes.push(Node::Packed(current.finish()));
        }
        self.write_len(nodes.len() as u64)?;
        for node in nodes {
            match node {
                Node::Packed(lp) => {
                    self.write_len(QUICKLIST_NODE_PACKED)?;
                    self.write_string(&lp)?;
                }
                Node::Plain(item) => {
                    self.write_len(QUICKLIST_NODE_PLAIN)?;
                    self.write_string(item)?;
                }
            }
        }
        Ok(())
    }
}

/// A DUMP payload of `value`, as Redis's DUMP writes one: the type byte and the value as a
/// snapshot holds it, the RDB version (2 bytes), then the CRC-64 of all that (8 bytes), both
/// little-endian. Values a snapshot refuses are refused alike.
pub fn dump_payload(value: &RdbValue, options: RdbWriteOptions) -> io::Result<Vec<u8>> {
    check_value(value)?;
    let mut w = RdbWriter { out: Sink { inner: Vec::new(), crc: 0 }, options, current_db: None };
    let value_type = value_type(value, &w.options);
    w.out.put(&[value_type])?;
    w.write_value(value_type, value)?;
    w.out.put(&(RDB_VERSION as u16).to_le_bytes())?;
    let crc = w.out.crc;
    let mut payload = w.out.inner;
    payload.extend_from_slice(&crc.to_le_bytes());
    Ok(payload)
}

/// A FUNCTION DUMP payload, as Redis writes one: a FUNCTION2 record (the library's code) per
/// library, then the RDB version and the CRC-64, as in a DUMP payload.
pub fn dump_functions(codes: &[&[u8]]) -> io::Result<Vec<u8>> {
    let mut w =
        RdbWriter { out: Sink { inner: Vec::new(), crc: 0 }, options: RdbWriteOptions::default(), current_db: None };
    for code in codes {
        w.out.put(&[super::opcodes::FUNCTION2])?;
        w.write_string(code)?;
    }
    w.out.put(&(RDB_VERSION as u16).to_le_bytes())?;
    let crc = w.out.crc;
    let mut payload = w.out.inner;
    payload.extend_from_slice(&crc.to_le_bytes());
    Ok(payload)
}

/// The RDB type byte the writer gives `value` under `options`: the encoding Redis 7.0 would
/// have chosen for it in memory, and so writes.
pub fn value_type(value: &RdbValue, options: &RdbWriteOptions) -> u8 {
    match value {
        RdbValue::String(_) => types::STRING,
        RdbValue::List(_) => types::LIST_QUICKLIST_2,
        RdbValue::Stream(_) => types::STREAM_LISTPACKS_2,
        RdbValue::Set(members) => {
            if members.len() <= options.set_max_intset_entries && members.iter().all(|m| canonical_i64(m).is_some()) {
                types::SET_INTSET
            } else {
                types::SET
            }
        }
        RdbValue::ZSet(pairs) => {
            if pairs.len() <= options.zset_max_listpack_entries
                && pairs.iter().all(|(m, _)| m.len() <= options.zset_max_listpack_value)
            {
                types::ZSET_LISTPACK
            } else {
                types::ZSET_2
            }
        }
        RdbValue::Hash(pairs) => {
            let limit = options.hash_max_listpack_value;
            if pairs.len() <= options.hash_max_listpack_entries
                && pairs.iter().all(|(f, v)| f.len() <= limit && v.len() <= limit)
            {
                types::HASH_LISTPACK
            } else {
                types::HASH
            }
        }
    }
}

/// Refuses what Redis would refuse to load.
fn check_value(value: &RdbValue) -> io::Result<()> {
    let (kind, len) = match value {
        RdbValue::String(_) | RdbValue::Stream(_) => return Ok(()),
        RdbValue::List(v) => ("list", v.len()),
        RdbValue::Set(v) => ("set", v.len()),
        RdbValue::ZSet(v) => ("sorted set", v.len()),
        RdbValue::Hash(v) => ("hash", v.len()),
    };
    if len == 0 {
        return Err(invalid(format!("empty {kind}: Redis does not load empty keys")));
    }
    let unique = |names: &mut dyn Iterator<Item = &[u8]>| {
        let mut seen = HashSet::with_capacity(len);
        for name in names {
            if !seen.insert(name) {
                return false;
            }
        }
        true
    };
    let distinct = match value {
        RdbValue::Set(members) => unique(&mut members.iter().map(|m| m.as_slice())),
        RdbValue::ZSet(pairs) => {
            if pairs.iter().any(|(_, score)| score.is_nan()) {
                return Err(invalid("sorted set with a NaN score".into()));
            }
            unique(&mut pairs.iter().map(|(m, _)| m.as_slice()))
        }
        RdbValue::Hash(pairs) => unique(&mut pairs.iter().map(|(f, _)| f.as_slice())),
        _ => true,
    };
    if !distinct {
        return Err(invalid(format!("{kind} with a repeated member or field")));
    }
    Ok(())
}

/// Writes a whole file: the standard aux fields, then `keys` database by database (each
/// with its `RESIZEDB` hint), in the order they are given within a database.
pub fn write_rdb<W: Write>(inner: W, options: RdbWriteOptions, aux: &StandardAux, keys: &[RdbKey]) -> io::Result<W> {
    let mut writer = RdbWriter::new(inner, options)?;
    writer.write_standard_aux(aux)?;
    let mut dbs: Vec<u32> = keys.iter().map(|k| k.db).collect();
    dbs.sort_unstable();
    dbs.dedup();
    for db in dbs {
        let in_db = || keys.iter().filter(move |k| k.db == db);
        let expires = in_db().filter(|k| k.expire_at_ms.is_some()).count();
        writer.select_db(db, Some((in_db().count() as u64, expires as u64)))?;
        for key in in_db() {
            writer.write_key(key)?;
        }
    }
    writer.finish()
}
