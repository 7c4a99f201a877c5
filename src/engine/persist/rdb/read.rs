//! The RDB reader: bytes in, the model out, one item at a time.
//!
//! Claimed lengths are never trusted with memory: strings are read in bounded chunks, so a
//! corrupt length fails on the end of the input instead of allocating it up front, and element
//! counts reserve at most a few thousand slots before the elements are really there.

use std::collections::HashSet;
use std::io::{self, Read};

use super::listpack::{self, Entry};
use super::{crc64, intset, lzf, opcodes, parse_score, types, ziplist, zipmap};
use super::{AuxField, RdbError, RdbErrorKind, RdbKey, RdbValue, RDB_MAX_READ_VERSION};
use super::{RdbStream, RdbStreamConsumer, RdbStreamGroup, RdbStreamId};
use super::{QUICKLIST_NODE_PACKED, QUICKLIST_NODE_PLAIN};

/// Most slots reserved for a collection before its elements have been read.
const MAX_PREALLOCATED_ELEMENTS: usize = 4096;
/// Largest piece a string is read in; the buffer grows only as the bytes arrive.
const READ_CHUNK: usize = 64 * 1024;
/// LZF expands at most 88 times (a 3-byte match of 264 bytes); a larger claimed ratio is
/// corruption, and refusing it keeps a lying length from allocating.
const LZF_MAX_RATIO: u64 = 100;
/// The first RDB version with a checksum after the EOF opcode.
const FIRST_VERSION_WITH_CHECKSUM: u32 = 5;

/// What the reader hands back, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbItem {
    /// An aux field.
    Aux(Vec<u8>, Vec<u8>),
    /// The size hint of a database (`RESIZEDB`).
    ResizeDb { db: u32, keys: u64, expires: u64 },
    /// A key with its value and metadata.
    Key(RdbKey),
    /// A function library's code (FUNCTION LOAD's argument).
    Function(Vec<u8>),
}

/// Why a DUMP payload cannot be restored: the two failures Redis's RESTORE tells apart.
#[derive(Debug)]
pub enum PayloadError {
    /// Too short, an RDB version this reader does not know, or a checksum that does not match
    /// (`DUMP payload version or checksum are wrong`).
    VersionOrChecksum,
    /// The footer is right but the value cannot be read (`Bad data format`).
    BadFormat(RdbError),
}

/// A reader over the body of a DUMP or FUNCTION DUMP payload whose footer checks out (the
/// RDB version, then the CRC-64 of all before the checksum), and the body's length.
fn payload_reader(payload: &[u8]) -> Result<(RdbReader<&[u8]>, usize), PayloadError> {
    let Some(body_len) = payload.len().checked_sub(10) else {
        return Err(PayloadError::VersionOrChecksum);
    };
    let version = u32::from(u16::from_le_bytes([payload[body_len], payload[body_len + 1]]));
    let stored = u64::from_le_bytes(payload[body_len + 2..].try_into().expect("8 bytes"));
    if version > RDB_MAX_READ_VERSION || crc64(0, &payload[..body_len + 2]) != stored {
        return Err(PayloadError::VersionOrChecksum);
    }
    let reader =
        RdbReader { input: &payload[..body_len], offset: 0, crc: 0, version, db: 0, finished: false, last_type: None };
    Ok((reader, body_len))
}

/// The value of a DUMP payload (see [`super::dump_payload`]). As Redis's
/// `verifyDumpPayload`, the footer is checked first: the version (up to the newest this
/// reader knows, so Redis 7.2's payloads restore too) and the CRC-64 of everything before the
/// checksum. Bytes after the value, before the footer, are ignored, as Redis ignores them.
pub fn read_payload(payload: &[u8]) -> Result<RdbValue, PayloadError> {
    let (mut reader, _) = payload_reader(payload)?;
    let value_type = reader.u8().map_err(PayloadError::BadFormat)?;
    reader.value(value_type, 0).map_err(PayloadError::BadFormat)
}

/// The libraries' code in a FUNCTION DUMP payload (see [`super::dump_functions`]), after the
/// same footer check as [`read_payload`].
pub fn read_functions_payload(payload: &[u8]) -> Result<Vec<Vec<u8>>, PayloadError> {
    let (mut reader, body_len) = payload_reader(payload)?;
    let mut codes = Vec::new();
    while (reader.offset as usize) < body_len {
        let at = reader.offset;
        let op = reader.u8().map_err(PayloadError::BadFormat)?;
        if op != super::opcodes::FUNCTION2 {
            return Err(PayloadError::BadFormat(RdbError::unsupported(at, "given type is not a function".to_string())));
        }
        codes.push(reader.string().map_err(PayloadError::BadFormat)?);
    }
    Ok(codes)
}

/// A length, or the marker of a specially encoded string.
enum Length {
    Plain(u64),
    Encoded(u8),
}

/// Reads an RDB file item by item. Wrap files in a `BufReader`: the reader reads a few bytes
/// at a time.
pub struct RdbReader<R: Read> {
    input: R,
    offset: u64,
    crc: u64,
    version: u32,
    db: u32,
    finished: bool,
    last_type: Option<u8>,
}

impl<R: Read> RdbReader<R> {
    /// Reads and checks the header (`REDIS` and a four-digit version this reader knows).
    pub fn new(input: R) -> Result<RdbReader<R>, RdbError> {
        let mut reader = RdbReader { input, offset: 0, crc: 0, version: 0, db: 0, finished: false, last_type: None };
        let mut header = [0u8; 9];
        reader.fill(&mut header)?;
        if &header[..5] != b"REDIS" {
            return Err(RdbError::corrupt(0, "Wrong signature trying to load DB from file"));
        }
        let version = std::str::from_utf8(&header[5..])
            .ok()
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u32>().ok())
            .ok_or_else(|| RdbError::corrupt(5, "Malformed RDB version"))?;
        if !(1..=RDB_MAX_READ_VERSION).contains(&version) {
            return Err(RdbError::unsupported(5, format!("Can't handle RDB format version {version}")));
        }
        reader.version = version;
        Ok(reader)
    }

    /// The file's RDB version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The type byte of the last key read: which encoding its value had in the file.
    pub fn last_type(&self) -> Option<u8> {
        self.last_type
    }

    /// The next item; `None` after the EOF opcode (and a matching checksum, when one is
    /// stored). Bytes after the checksum are ignored, as Redis ignores them.
    pub fn next_item(&mut self) -> Result<Option<RdbItem>, RdbError> {
        if self.finished {
            return Ok(None);
        }
        let mut expire_at_ms = None;
        let mut lru_idle_secs = None;
        let mut lfu_freq = None;
        // One opcode a turn; each consumes input, so the loop ends with it.
        loop {
            let at = self.offset;
            let op = self.u8()?;
            match op {
                opcodes::EOF => {
                    self.finish_checksum()?;
                    self.finished = true;
                    return Ok(None);
                }
                opcodes::SELECTDB => {
                    let db = self.len()?;
                    self.db = u32::try_from(db)
                        .map_err(|_| RdbError::corrupt(at, format!("Database number {db} out of range")))?;
                }
                opcodes::RESIZEDB => {
                    let keys = self.len()?;
                    let expires = self.len()?;
                    return Ok(Some(RdbItem::ResizeDb { db: self.db, keys, expires }));
                }
                opcodes::AUX => {
                    let name = self.string()?;
                    let value = self.string()?;
                    return Ok(Some(RdbItem::Aux(name, value)));
                }
                opcodes::EXPIRETIME_MS => {
                    let mut b = [0u8; 8];
                    self.fill(&mut b)?;
                    // A negative time is long past: Redis treats such a key as expired.
                    expire_at_ms = Some(i64::from_le_bytes(b).max(0) as u64);
                }
                opcodes::EXPIRETIME => {
                    let mut b = [0u8; 4];
                    self.fill(&mut b)?;
                    expire_at_ms = Some(i64::from(i32::from_le_bytes(b)).max(0) as u64 * 1000);
                }
                opcodes::IDLE => lru_idle_secs = Some(self.len()?),
                opcodes::FREQ => lfu_freq = Some(self.u8()?),
                opcodes::MODULE_AUX => {
                    return Err(RdbError::unsupported(at, format!("Unsupported type {op} (module aux data)")))
                }
                opcodes::FUNCTION2 => return Ok(Some(RdbItem::Function(self.string()?))),
                opcodes::FUNCTION => {
                    return Err(RdbError::unsupported(at, format!("Unsupported type {op} (function library)")))
                }
                value_type => {
                    let key = self.string()?;
                    let value = self.value(value_type, at)?;
                    self.last_type = Some(value_type);
                    return Ok(Some(RdbItem::Key(RdbKey {
                        db: self.db,
                        key,
                        value,
                        expire_at_ms,
                        lru_idle_secs,
                        lfu_freq,
                    })));
                }
            }
        }
    }

    /// After the EOF opcode: the stored CRC-64 (version 5 on), checked unless it is zero
    /// (`rdbchecksum no`).
    fn finish_checksum(&mut self) -> Result<(), RdbError> {
        if self.version < FIRST_VERSION_WITH_CHECKSUM {
            return Ok(());
        }
        let computed = self.crc;
        let at = self.offset;
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        let stored = u64::from_le_bytes(b);
        if stored != 0 && stored != computed {
            return Err(RdbError { offset: at, kind: RdbErrorKind::ChecksumMismatch { stored, computed } });
        }
        Ok(())
    }

    fn value(&mut self, value_type: u8, at: u64) -> Result<RdbValue, RdbError> {
        match value_type {
            types::STRING => Ok(RdbValue::String(self.string()?)),
            types::LIST => {
                let count = self.count()?;
                let mut items = Vec::with_capacity(capped(count));
                for _ in 0..count {
                    items.push(self.string()?);
                }
                nonempty(RdbValue::List(items), at)
            }
            types::SET => {
                let count = self.count()?;
                let mut members = Vec::with_capacity(capped(count));
                for _ in 0..count {
                    members.push(self.string()?);
                }
                set_value(members, at)
            }
            types::ZSET | types::ZSET_2 => {
                let count = self.count()?;
                let mut pairs = Vec::with_capacity(capped(count));
                for _ in 0..count {
                    let member = self.string()?;
                    let score_at = self.offset;
                    let score = if value_type == types::ZSET_2 {
                        let mut b = [0u8; 8];
                        self.fill(&mut b)?;
                        f64::from_le_bytes(b)
                    } else {
                        self.text_double()?
                    };
                    if score.is_nan() {
                        return Err(RdbError::corrupt(score_at, "Zset with NAN score detected"));
                    }
                    pairs.push((member, score));
                }
                zset_value(pairs, at)
            }
            types::HASH => {
                let count = self.count()?;
                let mut pairs = Vec::with_capacity(capped(count));
                for _ in 0..count {
                    let field = self.string()?;
                    let value = self.string()?;
                    pairs.push((field, value));
                }
                hash_value(pairs, at)
            }
            types::LIST_QUICKLIST | types::LIST_QUICKLIST_2 => self.quicklist(value_type, at),
            types::LIST_ZIPLIST => {
                let blob_at = self.offset;
                let blob = self.string()?;
                let entries = ziplist::decode(&blob).map_err(|e| RdbError::corrupt(blob_at, e))?;
                nonempty(RdbValue::List(entries.iter().map(Entry::to_bytes).collect()), at)
            }
            types::SET_INTSET => {
                let blob_at = self.offset;
                let blob = self.string()?;
                let ints = intset::decode(&blob).map_err(|e| RdbError::corrupt(blob_at, e))?;
                Ok(RdbValue::Set(ints.iter().map(|v| v.to_string().into_bytes()).collect()))
            }
            types::SET_LISTPACK => {
                let blob_at = self.offset;
                let blob = self.string()?;
                let entries = listpack::decode(&blob).map_err(|e| RdbError::corrupt(blob_at, e))?;
                set_value(entries.iter().map(Entry::to_bytes).collect(), at)
            }
            types::ZSET_ZIPLIST | types::ZSET_LISTPACK | types::HASH_ZIPLIST | types::HASH_LISTPACK => {
                let blob_at = self.offset;
                let blob = self.string()?;
                let corrupt = |e: String| RdbError::corrupt(blob_at, e);
                let entries = if matches!(value_type, types::ZSET_ZIPLIST | types::HASH_ZIPLIST) {
                    ziplist::decode(&blob).map_err(corrupt)?
                } else {
                    listpack::decode(&blob).map_err(corrupt)?
                };
                if entries.len() % 2 != 0 {
                    return Err(RdbError::corrupt(blob_at, format!("{} entries cannot form pairs", entries.len())));
                }
                let pairs = entries.chunks_exact(2);
                if matches!(value_type, types::ZSET_ZIPLIST | types::ZSET_LISTPACK) {
                    let mut zset = Vec::with_capacity(pairs.len());
                    for pair in pairs {
                        let score = match &pair[1] {
                            Entry::Int(v) => *v as f64,
                            Entry::Str(s) => parse_score(s).filter(|d| !d.is_nan()).ok_or_else(|| {
                                RdbError::corrupt(blob_at, "Sorted set listpack holds a score that is not a number")
                            })?,
                        };
                        zset.push((pair[0].to_bytes(), score));
                    }
                    zset_value(zset, at)
                } else {
                    hash_value(pairs.map(|p| (p[0].to_bytes(), p[1].to_bytes())).collect(), at)
                }
            }
            types::HASH_ZIPMAP => {
                let blob_at = self.offset;
                let blob = self.string()?;
                let pairs = zipmap::decode(&blob).map_err(|e| RdbError::corrupt(blob_at, e))?;
                hash_value(pairs.into_iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(), at)
            }
            types::MODULE | types::MODULE_2 => {
                Err(RdbError::unsupported(at, format!("Unsupported type {value_type} (module value)")))
            }
            types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 | types::STREAM_LISTPACKS_3 => {
                Ok(RdbValue::Stream(Box::new(self.stream(value_type)?)))
            }
            _ => Err(RdbError::unsupported(at, format!("Unsupported type {value_type}"))),
        }
    }

    /// A stream in any of its three forms (see [`RdbStream`]): the nodes, each validated as a
    /// listpack and as stream entries, the counters (Redis 5/6 saved only the length and the
    /// last id: the rest is derived as Redis derives it), then the groups, whose consumers'
    /// pending ids must each be among the group's (7.2 adds an active time per consumer).
    fn stream(&mut self, value_type: u8) -> Result<RdbStream, RdbError> {
        let mut s = RdbStream::default();
        let nodes = self.len()?;
        let mut first_live: Option<RdbStreamId> = None;
        let mut live_total = 0u64;
        for _ in 0..nodes {
            let key_at = self.offset;
            let key = self.string()?;
            let master = crate::storage::stream::StreamId::from_be_bytes(&key)
                .ok_or_else(|| RdbError::corrupt(key_at, "Stream node key entry is not the size of a stream ID"))?;
            let lp_at = self.offset;
            let lp = self.string()?;
            listpack::decode(&lp).map_err(|e| RdbError::corrupt(lp_at, e))?;
            let node = crate::storage::stream::validate_node(&lp, master)
                .map_err(|e| RdbError::corrupt(lp_at, format!("Bad stream node: {e}")))?;
            if s.nodes.last().is_some_and(|(prev, _)| *prev >= (master.ms, master.seq)) {
                return Err(RdbError::corrupt(key_at, "Stream nodes out of order"));
            }
            if first_live.is_none() {
                first_live = node.first_live.map(|id| (id.ms, id.seq));
            }
            live_total += node.live;
            s.nodes.push(((master.ms, master.seq), lp));
        }
        let at = self.offset;
        s.length = self.len()?;
        if s.length != live_total {
            return Err(RdbError::corrupt(at, "Stream length does not match its nodes"));
        }
        s.last_id = (self.len()?, self.len()?);
        if value_type == types::STREAM_LISTPACKS {
            s.first_id = first_live.unwrap_or((0, 0));
            s.entries_added = s.length;
            s.legacy = true;
        } else {
            s.first_id = (self.len()?, self.len()?);
            s.max_deleted_id = (self.len()?, self.len()?);
            s.entries_added = self.len()?;
        }
        let groups = self.len()?;
        for _ in 0..groups {
            let mut g = RdbStreamGroup { name: self.string()?, ..RdbStreamGroup::default() };
            g.last_id = (self.len()?, self.len()?);
            if value_type != types::STREAM_LISTPACKS {
                let read = self.len()?;
                g.entries_read = (read != u64::MAX).then_some(read);
            }
            let pending = self.len()?;
            g.pending.reserve(capped(pending));
            for _ in 0..pending {
                let id = self.raw_stream_id()?;
                let mut time = [0u8; 8];
                self.fill(&mut time)?;
                g.pending.push((id, u64::from_le_bytes(time), self.len()?));
            }
            let owned: HashSet<RdbStreamId> = g.pending.iter().map(|p| p.0).collect();
            let mut claimed = HashSet::with_capacity(owned.len());
            let consumers = self.len()?;
            for _ in 0..consumers {
                let mut c = RdbStreamConsumer { name: self.string()?, ..RdbStreamConsumer::default() };
                let mut time = [0u8; 8];
                self.fill(&mut time)?;
                c.seen_time = u64::from_le_bytes(time);
                if value_type == types::STREAM_LISTPACKS_3 {
                    // The active time Redis 7.2 adds; 7.0 has no place for it.
                    self.fill(&mut time)?;
                }
                let n = self.len()?;
                for _ in 0..n {
                    let at = self.offset;
                    let id = self.raw_stream_id()?;
                    if !owned.contains(&id) || !claimed.insert(id) {
                        return Err(RdbError::corrupt(at, "Consumer entry not found in group global PEL"));
                    }
                    c.pending.push(id);
                }
                g.consumers.push(c);
            }
            if claimed.len() != owned.len() {
                return Err(RdbError::corrupt(self.offset, "Stream CG PEL entry without consumer"));
            }
            s.groups.push(g);
        }
        Ok(s)
    }

    fn raw_stream_id(&mut self) -> Result<RdbStreamId, RdbError> {
        let mut b = [0u8; 16];
        self.fill(&mut b)?;
        let id = crate::storage::stream::StreamId::from_be_bytes(&b).expect("16 bytes");
        Ok((id.ms, id.seq))
    }

    /// Quicklist v1 (nodes are ziplists) or v2 (each node a container, then a listpack or a
    /// plain element). Empty nodes are skipped, as Redis skips them.
    fn quicklist(&mut self, value_type: u8, at: u64) -> Result<RdbValue, RdbError> {
        let nodes = self.count()?;
        let mut items = Vec::new();
        for _ in 0..nodes {
            let container_at = self.offset;
            let container = if value_type == types::LIST_QUICKLIST_2 { self.len()? } else { QUICKLIST_NODE_PACKED };
            let blob_at = self.offset;
            let blob = self.string()?;
            if blob.is_empty() {
                return Err(RdbError::corrupt(blob_at, "Empty quicklist node"));
            }
            match container {
                QUICKLIST_NODE_PLAIN => items.push(blob),
                QUICKLIST_NODE_PACKED => {
                    let entries = if value_type == types::LIST_QUICKLIST_2 {
                        listpack::decode(&blob)
                    } else {
                        ziplist::decode(&blob)
                    }
                    .map_err(|e| RdbError::corrupt(blob_at, e))?;
                    items.extend(entries.iter().map(Entry::to_bytes));
                }
                other => {
                    return Err(RdbError::corrupt(container_at, format!("Quicklist node container {other} is unknown")))
                }
            }
        }
        nonempty(RdbValue::List(items), at)
    }

    /// Reads `buf.len()` bytes into the checksum.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RdbError> {
        let mut done = 0;
        while done < buf.len() {
            match self.input.read(&mut buf[done..]) {
                Ok(0) => {
                    return Err(RdbError { offset: self.offset + done as u64, kind: RdbErrorKind::Truncated });
                }
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RdbError { offset: self.offset + done as u64, kind: RdbErrorKind::Io(e) }),
            }
        }
        self.crc = crc64(self.crc, buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, RdbError> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    /// `len` bytes, read in chunks so that a lying length runs into the end of the input
    /// before it runs into memory.
    fn bytes(&mut self, len: u64) -> Result<Vec<u8>, RdbError> {
        let mut out = Vec::with_capacity(len.min(READ_CHUNK as u64) as usize);
        let mut left = len;
        while left > 0 {
            let step = left.min(READ_CHUNK as u64) as usize;
            let start = out.len();
            out.resize(start + step, 0);
            self.fill(&mut out[start..])?;
            left -= step as u64;
        }
        Ok(out)
    }

    fn length(&mut self) -> Result<Length, RdbError> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Length::Plain(u64::from(first & 0x3f)),
            1 => Length::Plain((u64::from(first & 0x3f) << 8) | u64::from(self.u8()?)),
            3 => Length::Encoded(first & 0x3f),
            _ if first == 0x80 => {
                let mut b = [0u8; 4];
                self.fill(&mut b)?;
                Length::Plain(u64::from(u32::from_be_bytes(b)))
            }
            _ if first == 0x81 => {
                let mut b = [0u8; 8];
                self.fill(&mut b)?;
                Length::Plain(u64::from_be_bytes(b))
            }
            _ => return Err(RdbError::corrupt(self.offset - 1, format!("Unknown length encoding {first:#04x}"))),
        })
    }

    fn len(&mut self) -> Result<u64, RdbError> {
        let at = self.offset;
        match self.length()? {
            Length::Plain(n) => Ok(n),
            Length::Encoded(_) => Err(RdbError::corrupt(at, "Encoded string where a length belongs")),
        }
    }

    /// An element count; zero is an empty key, which Redis refuses.
    fn count(&mut self) -> Result<u64, RdbError> {
        let at = self.offset;
        match self.len()? {
            0 => Err(RdbError::corrupt(at, "Empty key")),
            n => Ok(n),
        }
    }

    /// A string: raw, integer-encoded (given back in decimal) or LZF-compressed.
    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let at = self.offset;
        match self.length()? {
            Length::Plain(n) => self.bytes(n),
            Length::Encoded(0) => Ok((self.u8()? as i8).to_string().into_bytes()),
            Length::Encoded(1) => {
                let mut b = [0u8; 2];
                self.fill(&mut b)?;
                Ok(i16::from_le_bytes(b).to_string().into_bytes())
            }
            Length::Encoded(2) => {
                let mut b = [0u8; 4];
                self.fill(&mut b)?;
                Ok(i32::from_le_bytes(b).to_string().into_bytes())
            }
            Length::Encoded(3) => {
                let compressed_len = self.len()?;
                let len = self.len()?;
                if len == 0 || len > compressed_len.saturating_mul(LZF_MAX_RATIO) {
                    return Err(RdbError::corrupt(
                        at,
                        format!("LZF string of {compressed_len} bytes claims {len} bytes"),
                    ));
                }
                let compressed = self.bytes(compressed_len)?;
                let len = usize::try_from(len).map_err(|_| RdbError::corrupt(at, "LZF string too long"))?;
                lzf::decompress(&compressed, len)
                    .map_err(|e| RdbError::corrupt(at, format!("Invalid LZF compressed string ({e:?})")))
            }
            Length::Encoded(other) => Err(RdbError::corrupt(at, format!("Unknown string encoding {other}"))),
        }
    }

    /// A double as the old `ZSET` type writes it: a length byte (253 NaN, 254 +inf, 255 -inf)
    /// and that many bytes of text.
    fn text_double(&mut self) -> Result<f64, RdbError> {
        let at = self.offset;
        match self.u8()? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Ok(f64::NAN),
            len => {
                let text = self.bytes(u64::from(len))?;
                parse_score(&text).ok_or_else(|| RdbError::corrupt(at, "Invalid double value"))
            }
        }
    }
}

fn capped(count: u64) -> usize {
    count.min(MAX_PREALLOCATED_ELEMENTS as u64) as usize
}

fn nonempty(value: RdbValue, at: u64) -> Result<RdbValue, RdbError> {
    let empty = match &value {
        RdbValue::String(_) => false,
        RdbValue::List(v) | RdbValue::Set(v) => v.is_empty(),
        RdbValue::ZSet(v) => v.is_empty(),
        RdbValue::Hash(v) => v.is_empty(),
        RdbValue::Stream(_) => false,
    };
    if empty {
        Err(RdbError::corrupt(at, "Empty key"))
    } else {
        Ok(value)
    }
}

fn all_distinct<'a>(mut names: impl Iterator<Item = &'a [u8]>, len: usize) -> bool {
    let mut seen = HashSet::with_capacity(len);
    names.all(|n| seen.insert(n))
}

fn set_value(members: Vec<Vec<u8>>, at: u64) -> Result<RdbValue, RdbError> {
    if !all_distinct(members.iter().map(|m| m.as_slice()), members.len()) {
        return Err(RdbError::corrupt(at, "Duplicate set members detected"));
    }
    nonempty(RdbValue::Set(members), at)
}

fn zset_value(pairs: Vec<(Vec<u8>, f64)>, at: u64) -> Result<RdbValue, RdbError> {
    if !all_distinct(pairs.iter().map(|(m, _)| m.as_slice()), pairs.len()) {
        return Err(RdbError::corrupt(at, "Duplicate zset members detected"));
    }
    nonempty(RdbValue::ZSet(pairs), at)
}

fn hash_value(pairs: Vec<(Vec<u8>, Vec<u8>)>, at: u64) -> Result<RdbValue, RdbError> {
    if !all_distinct(pairs.iter().map(|(f, _)| f.as_slice()), pairs.len()) {
        return Err(RdbError::corrupt(at, "Duplicate hash fields detected"));
    }
    nonempty(RdbValue::Hash(pairs), at)
}

/// A whole file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct RdbFile {
    pub version: u32,
    pub aux: Vec<AuxField>,
    pub keys: Vec<RdbKey>,
    /// Function libraries' code.
    pub functions: Vec<Vec<u8>>,
}

/// Reads a whole file into memory (size hints are dropped).
pub fn read_rdb<R: Read>(input: R) -> Result<RdbFile, RdbError> {
    let mut reader = RdbReader::new(input)?;
    let mut file = RdbFile { version: reader.version(), aux: Vec::new(), keys: Vec::new(), functions: Vec::new() };
    while let Some(item) = reader.next_item()? {
        match item {
            RdbItem::Aux(name, value) => file.aux.push((name, value)),
            RdbItem::ResizeDb { .. } => {}
            RdbItem::Key(key) => file.keys.push(key),
            RdbItem::Function(code) => file.functions.push(code),
        }
    }
    Ok(file)
}
