//! Stream values (the data side of Redis's `t_stream.c`): entries in packed nodes, the id
//! counters, trimming, and the consumer groups ([`groups`]).
//!
//! Entries live as Redis keeps them: an ordered tree (a `BTreeMap`, where Redis has a radix
//! tree) from each node's master id to the node, a listpack holding many entries. A node
//! starts with its master entry (live count, deleted count, the fields of the node's first
//! entry, a 0 terminator); each entry follows as flags, the id as its distance from the
//! master id, then its values alone when its fields are the master's (the `SAMEFIELDS` flag),
//! else its field count, fields and values, and last the number of elements it took, so
//! that a node can be walked backwards. Deleting an entry only flags it; a node whose live
//! entries are all gone leaves the tree. The bytes are exactly Redis's, so snapshots save and
//! load nodes as they are (RDB type `STREAM_LISTPACKS_2`).
//!
//! New entries go to the last node until it holds `stream-node-max-entries` entries or its
//! bytes would reach `stream-node-max-bytes`; a new node is created with 4096 bytes reserved
//! (as Redis preallocates), and the node it follows is shrunk to fit.
//!
//! Memory is kept as a running figure (nodes by their allocation, groups by their counts),
//! so that accounting a change costs nothing per entry.

pub mod groups;

use super::entry::alloc_size;
use crate::base::listpack::{self, Element};
use std::collections::BTreeMap;
use std::fmt;

pub use crate::base::listpack::Entry as Item;
pub use groups::{Consumer, ConsumerGroup, PendingEntry};

/// An entry flagged as deleted.
const FLAG_DELETED: i64 = 1;
/// An entry whose fields are its node's master fields (only its values are stored).
const FLAG_SAMEFIELDS: i64 = 2;
/// Bytes reserved for a new node (Redis's `STREAM_LISTPACK_MAX_PRE_ALLOCATE`).
const MAX_PREALLOC: usize = 4096;
/// The largest node, and the most field and value bytes one entry may have
/// (`STREAM_LISTPACK_MAX_SIZE`).
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;
/// What one node costs beyond its listpack: its key and pointer in the tree, with the tree's
/// own nodes spread over them.
const TREE_NODE_OVERHEAD: usize = 64;

/// A stream entry id: milliseconds and a sequence number, ordered as a pair.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The id right after this one, `None` after the last possible id.
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The id right before this one, `None` before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    /// The 128-bit big-endian form Redis keys its trees with (and saves master ids in).
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut b = [0; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    pub fn from_be_bytes(b: &[u8]) -> Option<StreamId> {
        let b: &[u8; 16] = b.try_into().ok()?;
        let ms = u64::from_be_bytes(b[..8].try_into().expect("8 bytes"));
        let seq = u64::from_be_bytes(b[8..].try_into().expect("8 bytes"));
        Some(StreamId::new(ms, seq))
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// How the id of a new entry is chosen (XADD's `*`, `ms-*`, `ms-seq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewId {
    /// From the clock, or after the last id if the clock is behind it.
    Auto,
    /// These milliseconds, with the next free sequence number.
    Ms(u64),
    Exact(StreamId),
}

/// Why an entry could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddError {
    /// The id is not greater than the last one (or no greater one exists).
    NotGreater,
    /// The fields and values are more than a node can hold.
    TooLarge,
}

/// How to trim (XADD's and XTRIM's MAXLEN and MINID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Keep no entry with a smaller id.
    MinId(StreamId),
}

/// Node sizes (`stream-node-max-bytes`, `stream-node-max-entries`; 0 = no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits { max_bytes: 4096, max_entries: 100 }
    }
}

/// A stream: its nodes, counters and consumer groups.
#[derive(Clone, Default)]
pub struct StreamValue {
    /// Master id → node (a listpack).
    nodes: BTreeMap<StreamId, Vec<u8>>,
    length: u64,
    /// The id of the last entry ever added (or set by XSETID).
    pub last_id: StreamId,
    /// The first live entry's id when it was last known (0-0 when empty), as Redis records it.
    pub first_id: StreamId,
    /// The greatest id XDEL deleted.
    pub max_deleted_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name.
    pub groups: BTreeMap<Box<[u8]>, ConsumerGroup>,
    /// Allocated bytes of all nodes, with their tree overhead.
    nodes_memory: usize,
}

/// The master entry of a node.
struct Master<'a> {
    live: i64,
    deleted: i64,
    fields: Vec<Item<'a>>,
    /// Where the first entry's flags are.
    first_entry: Option<usize>,
}

fn master(lp: &[u8]) -> Master<'_> {
    let at = listpack::first(lp).expect("a node has its master entry");
    let live = listpack::get_int(lp, at);
    let at = listpack::next(lp, at).expect("deleted count");
    let deleted = listpack::get_int(lp, at);
    let mut at = listpack::next(lp, at).expect("master field count");
    let n = listpack::get_int(lp, at);
    let mut fields = Vec::with_capacity(n as usize);
    for _ in 0..n {
        at = listpack::next(lp, at).expect("master field");
        fields.push(listpack::get(lp, at));
    }
    let terminator = listpack::next(lp, at).expect("master terminator");
    Master { live, deleted, fields, first_entry: listpack::next(lp, terminator) }
}

/// One entry of a node as read: flags, id, and where the next entry starts.
struct Read {
    flags: i64,
    id: StreamId,
    next: Option<usize>,
}

/// Reads the entry whose flags are at `at`; with `fields`, its fields and values are pushed
/// there (field, value, field, value ...).
fn read_entry<'a>(
    lp: &'a [u8],
    at: usize,
    master_id: StreamId,
    master: &Master<'a>,
    fields: Option<&mut Vec<Item<'a>>>,
) -> Read {
    let flags = listpack::get_int(lp, at);
    let p = listpack::next(lp, at).expect("ms delta");
    let ms = master_id.ms.wrapping_add(listpack::get_int(lp, p) as u64);
    let mut p = listpack::next(lp, p).expect("seq delta");
    let seq = master_id.seq.wrapping_add(listpack::get_int(lp, p) as u64);
    let same = flags & FLAG_SAMEFIELDS != 0;
    let n = if same {
        master.fields.len()
    } else {
        p = listpack::next(lp, p).expect("field count");
        listpack::get_int(lp, p) as usize
    };
    match fields {
        Some(out) => {
            for i in 0..n {
                if same {
                    out.push(master.fields[i].clone());
                } else {
                    p = listpack::next(lp, p).expect("field");
                    out.push(listpack::get(lp, p));
                }
                p = listpack::next(lp, p).expect("value");
                out.push(listpack::get(lp, p));
            }
        }
        None => {
            for _ in 0..if same { n } else { 2 * n } {
                p = listpack::next(lp, p).expect("field or value");
            }
        }
    }
    let lp_count = listpack::next(lp, p).expect("element count");
    Read { flags, id: StreamId::new(ms, seq), next: listpack::next(lp, lp_count) }
}

/// Where each entry of a node starts, in order.
fn entry_offsets(lp: &[u8], master_id: StreamId, m: &Master) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = m.first_entry;
    while let Some(p) = at {
        out.push(p);
        at = read_entry(lp, p, master_id, m, None).next;
    }
    out
}

impl StreamValue {
    pub fn new() -> StreamValue {
        StreamValue::default()
    }

    /// Live entries.
    pub fn len(&self) -> u64 {
        self.length
    }

    /// Whether it has no live entries (it stays a key all the same).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Heap bytes: the nodes and the groups.
    pub fn memory(&self) -> usize {
        self.nodes_memory + self.groups.iter().map(|(name, g)| alloc_size(name.len()) + g.memory()).sum::<usize>()
    }

    /// The nodes as (master id, listpack), for snapshots.
    pub fn nodes(&self) -> impl Iterator<Item = (StreamId, &[u8])> {
        self.nodes.iter().map(|(id, lp)| (*id, lp.as_slice()))
    }

    /// Adds a node read from a snapshot (validated by the caller), after the ones present.
    pub fn push_loaded_node(&mut self, master_id: StreamId, lp: Vec<u8>) {
        self.nodes_memory += alloc_size(lp.capacity()) + TREE_NODE_OVERHEAD;
        self.nodes.insert(master_id, lp);
    }

    /// Sets the counters a snapshot holds, once its nodes are loaded.
    pub fn set_loaded_counters(
        &mut self,
        length: u64,
        last_id: StreamId,
        first_id: StreamId,
        max_deleted_id: StreamId,
        entries_added: u64,
    ) {
        self.length = length;
        self.last_id = last_id;
        self.first_id = first_id;
        self.max_deleted_id = max_deleted_id;
        self.entries_added = entries_added;
    }

    /// Live entries counted from the nodes' master entries (a snapshot's length is checked
    /// against it).
    pub fn counted_length(&self) -> u64 {
        self.nodes.values().map(|lp| master(lp).live as u64).sum()
    }

    /// The id a new entry gets, or why it cannot be added.
    pub fn new_id(&self, how: NewId, now_ms: u64) -> Result<StreamId, AddError> {
        let last = self.last_id;
        let id = match how {
            NewId::Auto if now_ms > last.ms => StreamId::new(now_ms, 0),
            NewId::Auto => last.next().ok_or(AddError::NotGreater)?,
            NewId::Ms(ms) if ms == last.ms => last.next().filter(|n| n.ms == ms).ok_or(AddError::NotGreater)?,
            NewId::Ms(ms) => StreamId::new(ms, 0),
            NewId::Exact(id) => id,
        };
        if id <= last {
            return Err(AddError::NotGreater);
        }
        Ok(id)
    }

    /// Appends an entry with this id (from [`StreamValue::new_id`]) and these fields and values
    /// (field, value, field, value ...).
    pub fn append<A: AsRef<[u8]>>(&mut self, id: StreamId, pairs: &[A], limits: NodeLimits) -> Result<(), AddError> {
        debug_assert!(id > self.last_id && pairs.len().is_multiple_of(2));
        let total: usize = pairs.iter().map(|p| p.as_ref().len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AddError::TooLarge);
        }
        let numfields = pairs.len() / 2;
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        // Whether the last node takes the entry, and with which flags (its master entry is
        // read once).
        let mut tail = None;
        if let Some((&master_id, lp)) = self.nodes.last_key_value() {
            let m = master(lp);
            let full = lp.len() + total >= max_bytes
                || (limits.max_entries > 0 && (m.live + m.deleted) as usize >= limits.max_entries);
            if !full {
                let same = m.fields.len() == numfields
                    && m.fields.iter().zip(pairs.iter().step_by(2)).all(|(f, p)| item_eq(f, p.as_ref()));
                tail = Some((master_id, if same { FLAG_SAMEFIELDS } else { 0 }));
            } else {
                let lp = self.nodes.get_mut(&master_id).expect("the last node");
                let before = alloc_size(lp.capacity());
                lp.shrink_to_fit();
                self.nodes_memory = self.nodes_memory - before + alloc_size(lp.capacity());
            }
        }
        let (master_id, flags) = match tail {
            Some(found) => found,
            None => {
                let prealloc = if limits.max_bytes > 0 { MAX_PREALLOC.min(limits.max_bytes) } else { MAX_PREALLOC };
                let mut lp = listpack::empty(prealloc);
                listpack::append(&mut lp, Element::Int(0));
                listpack::append(&mut lp, Element::Int(0));
                listpack::append(&mut lp, Element::Int(numfields as i64));
                for f in pairs.iter().step_by(2) {
                    listpack::append(&mut lp, Element::Bytes(f.as_ref()));
                }
                listpack::append(&mut lp, Element::Int(0));
                self.nodes_memory += alloc_size(lp.capacity()) + TREE_NODE_OVERHEAD;
                self.nodes.insert(id, lp);
                (id, FLAG_SAMEFIELDS)
            }
        };
        let lp = self.nodes.get_mut(&master_id).expect("the node taking the entry");
        let before = alloc_size(lp.capacity());
        let at = listpack::first(lp).expect("live count");
        let live = listpack::get_int(lp, at);
        listpack::replace_int(lp, at, live + 1);
        listpack::append(lp, Element::Int(flags));
        listpack::append(lp, Element::Int(id.ms.wrapping_sub(master_id.ms) as i64));
        listpack::append(lp, Element::Int(id.seq.wrapping_sub(master_id.seq) as i64));
        let same = flags & FLAG_SAMEFIELDS != 0;
        if !same {
            listpack::append(lp, Element::Int(numfields as i64));
        }
        for pair in pairs.chunks_exact(2) {
            if !same {
                listpack::append(lp, Element::Bytes(pair[0].as_ref()));
            }
            listpack::append(lp, Element::Bytes(pair[1].as_ref()));
        }
        let lp_count = numfields + 3 + if same { 0 } else { numfields + 1 };
        listpack::append(lp, Element::Int(lp_count as i64));
        self.nodes_memory = self.nodes_memory - before + alloc_size(lp.capacity());
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// Visits the live entries with ids in `start..=end`, in order (reversed with `rev`):
    /// `visit` gets the id and the fields and values, and returns whether to go on.
    pub fn range<'a>(
        &'a self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut visit: impl FnMut(StreamId, &[Item<'a>]) -> bool,
    ) {
        if start > end {
            return;
        }
        let mut fields = Vec::new();
        // The node holding `start` is the last one whose master id is not after it.
        let first_node = self.nodes.range(..=start).next_back().map_or(start, |(k, _)| *k);
        let nodes: Box<dyn Iterator<Item = (&StreamId, &Vec<u8>)>> = if rev {
            Box::new(self.nodes.range(first_node..=end).rev())
        } else {
            Box::new(self.nodes.range(first_node..=end))
        };
        for (&master_id, lp) in nodes {
            let m = master(lp);
            let mut offsets = entry_offsets(lp, master_id, &m);
            if rev {
                offsets.reverse();
            }
            for at in offsets {
                fields.clear();
                let read = read_entry(lp, at, master_id, &m, Some(&mut fields));
                if read.flags & FLAG_DELETED != 0 {
                    continue;
                }
                if read.id < start {
                    if rev {
                        return;
                    }
                    continue;
                }
                if read.id > end {
                    if rev {
                        continue;
                    }
                    return;
                }
                if !visit(read.id, &fields) {
                    return;
                }
            }
        }
    }

    /// The first (or last) live entry's id.
    pub fn edge_id(&self, last: bool) -> Option<StreamId> {
        let mut found = None;
        self.range(StreamId::MIN, StreamId::MAX, last, |id, _| {
            found = Some(id);
            false
        });
        found
    }

    /// Whether a live entry has this id.
    pub fn contains(&self, id: StreamId) -> bool {
        let mut found = false;
        self.range(id, id, false, |_, _| {
            found = true;
            false
        });
        found
    }

    /// Flags the entry `id` as deleted; false if there is no such live entry. Counters other
    /// than the length are the caller's (XDEL's and the trims' rules differ).
    fn delete_entry(&mut self, id: StreamId) -> bool {
        let Some((&master_id, lp)) = self.nodes.range(..=id).next_back() else {
            return false;
        };
        let m = master(lp);
        let mut found = None;
        let mut at = m.first_entry;
        while let Some(p) = at {
            let read = read_entry(lp, p, master_id, &m, None);
            if read.id == id {
                if read.flags & FLAG_DELETED == 0 {
                    found = Some((p, read.flags));
                }
                break;
            }
            if read.id > id {
                break;
            }
            at = read.next;
        }
        let Some((flags_at, flags)) = found else {
            return false;
        };
        let (live, deleted) = (m.live, m.deleted);
        if live == 1 {
            let lp = self.nodes.remove(&master_id).expect("the node");
            self.nodes_memory -= alloc_size(lp.capacity()) + TREE_NODE_OVERHEAD;
        } else {
            let lp = self.nodes.get_mut(&master_id).expect("the node");
            let before = alloc_size(lp.capacity());
            // Flags, counts: small integers whose encodings keep their size or shift the rest.
            listpack::replace_int(lp, flags_at, flags | FLAG_DELETED);
            let at = listpack::first(lp).expect("live count");
            listpack::replace_int(lp, at, live - 1);
            let at = listpack::next(lp, at).expect("deleted count");
            listpack::replace_int(lp, at, deleted + 1);
            self.nodes_memory = self.nodes_memory - before + alloc_size(lp.capacity());
        }
        self.length -= 1;
        true
    }

    /// XDEL of one id: deletes it, moves the greatest deleted id and the first id. Returns
    /// whether it existed.
    pub fn delete(&mut self, id: StreamId) -> bool {
        if !self.delete_entry(id) {
            return false;
        }
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if id == self.first_id {
            self.first_id = self.edge_id(false).unwrap_or_default();
        }
        true
    }

    /// Trims from the oldest entries (Redis's `streamTrim`): with `approx`, only whole nodes
    /// go; `limit` (0: none) caps the entries removed. Returns how many were removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        loop {
            if let Trim::MaxLen(max) = how {
                if self.length <= max {
                    break;
                }
            }
            let Some((&master_id, lp)) = self.nodes.first_key_value() else { break };
            let m = master(lp);
            let entries = m.live as u64;
            if limit > 0 && removed + entries > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(max) => self.length - entries >= max,
                Trim::MinId(min) => {
                    // The node's last entry, deleted or not.
                    let offsets = entry_offsets(lp, master_id, &m);
                    let last = offsets.last().map_or(master_id, |&at| read_entry(lp, at, master_id, &m, None).id);
                    last < min
                }
            };
            if whole {
                let lp = self.nodes.remove(&master_id).expect("the first node");
                self.nodes_memory -= alloc_size(lp.capacity()) + TREE_NODE_OVERHEAD;
                self.length -= entries;
                removed += entries;
                continue;
            }
            if approx {
                break;
            }
            // Entries of this node are flagged one by one, oldest first.
            let mut doomed = Vec::new();
            let mut length = self.length;
            let mut at = m.first_entry;
            while let Some(p) = at {
                let read = read_entry(lp, p, master_id, &m, None);
                let stop = match how {
                    Trim::MaxLen(max) => length <= max,
                    Trim::MinId(min) => read.id >= min,
                };
                if stop {
                    break;
                }
                if read.flags & FLAG_DELETED == 0 {
                    doomed.push(read.id);
                    length -= 1;
                }
                at = read.next;
            }
            // Flagging through delete_entry keeps the counts in the master entry right; the
            // node keeps at least one live entry (else it would have gone whole).
            for id in doomed {
                self.delete_entry(id);
                removed += 1;
            }
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if removed > 0 {
            self.first_id = self.edge_id(false).unwrap_or_default();
        }
        removed
    }

    /// What a trim's argument is after it ran, so that a log replays it exactly: the length
    /// for MAXLEN, the first entry's id for MINID (0-0 when empty).
    pub fn trimmed_to(&self, how: Trim) -> Trim {
        match how {
            Trim::MaxLen(_) => Trim::MaxLen(self.length),
            Trim::MinId(_) => Trim::MinId(self.edge_id(false).unwrap_or_default()),
        }
    }

    /// Whether an entry was deleted (not trimmed) with an id in `start..` (Redis's
    /// `streamRangeHasTombstones` with an open end).
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() || self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id
    }

    /// The number of entries ever added up to `id`, when it can be known (Redis's
    /// `streamEstimateDistanceFromFirstEverEntry`).
    pub fn entries_read_at(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.length == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return Some(self.entries_added - self.length),
                std::cmp::Ordering::Equal => return Some(self.entries_added - self.length + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// A group's lag: entries added that it has not read, when it can be known. Signed as
    /// Redis's: an ENTRIESREAD past the entries added gives a negative lag, not 0.
    pub fn lag(&self, group: &ConsumerGroup) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let read = match group.entries_read.filter(|_| !self.has_tombstones_from(group.last_id)) {
            Some(read) => read,
            None => self.entries_read_at(group.last_id)?,
        };
        Some((self.entries_added as i64).wrapping_sub(read as i64))
    }
}

/// What [`validate_node`] found in a node.
pub struct NodeSummary {
    pub live: u64,
    pub first_live: Option<StreamId>,
}

/// Checks that a listpack (from a snapshot or a RESTORE payload) is a well-formed stream node
/// under `master_id`: its master entry, then entries with increasing ids not before the
/// master id, each as long as its element count says, and counts that match (what Redis's
/// `streamValidateListpackIntegrity` checks). Nothing else reads a node without this.
pub fn validate_node(lp: &[u8], master_id: StreamId) -> Result<NodeSummary, String> {
    let items = listpack::decode(lp)?;
    let int = |i: usize| -> Result<i64, String> {
        match items.get(i) {
            Some(Item::Int(v)) => Ok(*v),
            Some(Item::Str(s)) => listpack::canonical_i64(s).ok_or_else(|| format!("element {i} is not an integer")),
            None => Err("the node ends inside an entry".into()),
        }
    };
    let count = |i: usize| -> Result<usize, String> {
        usize::try_from(int(i)?).map_err(|_| format!("element {i} is a negative count"))
    };
    if items.is_empty() {
        return Err("empty listpack".into());
    }
    let (live, deleted, fields) = (count(0)?, count(1)?, count(2)?);
    let mut p = 3usize.checked_add(fields).filter(|&p| p < items.len()).ok_or("master fields run past the node")?;
    if int(p)? != 0 {
        return Err("no master entry terminator".into());
    }
    p += 1;
    let (mut seen_live, mut seen_deleted) = (0usize, 0usize);
    let mut previous: Option<StreamId> = None;
    let mut first_live = None;
    while p < items.len() {
        let start = p;
        let flags = int(p)?;
        let id = StreamId::new(
            master_id.ms.wrapping_add(int(p + 1)? as u64),
            master_id.seq.wrapping_add(int(p + 2)? as u64),
        );
        p += 3;
        if id < master_id || previous.is_some_and(|prev| prev >= id) {
            return Err(format!("entry {id} out of order"));
        }
        previous = Some(id);
        let values = if flags & FLAG_SAMEFIELDS != 0 {
            fields
        } else {
            let n = count(p)?;
            p += 1;
            n.checked_mul(2).ok_or("field count out of range")?
        };
        p = p.checked_add(values).filter(|&p| p < items.len()).ok_or("an entry runs past the node")?;
        if int(p)? != (p - start) as i64 {
            return Err(format!("entry {id} has a wrong element count"));
        }
        p += 1;
        if flags & FLAG_DELETED != 0 {
            seen_deleted += 1;
        } else {
            seen_live += 1;
            first_live.get_or_insert(id);
        }
    }
    if (seen_live, seen_deleted) != (live, deleted) {
        return Err("the master entry's counts do not match its entries".into());
    }
    Ok(NodeSummary { live: live as u64, first_live })
}

/// Whether a listpack element holds these bytes.
fn item_eq(item: &Item, bytes: &[u8]) -> bool {
    match item {
        Item::Str(s) => *s == bytes,
        Item::Int(v) => listpack::canonical_i64(bytes) == Some(*v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &StreamValue, rev: bool) -> Vec<StreamId> {
        let mut out = Vec::new();
        s.range(StreamId::MIN, StreamId::MAX, rev, |id, _| {
            out.push(id);
            true
        });
        out
    }

    fn add(s: &mut StreamValue, id: StreamId, pairs: &[&[u8]], limits: NodeLimits) {
        s.append(id, pairs, limits).unwrap();
    }

    #[test]
    fn entries_read_back_in_both_directions_across_nodes() {
        let limits = NodeLimits { max_bytes: 4096, max_entries: 3 };
        let mut s = StreamValue::new();
        for i in 1..=10u64 {
            let v = i.to_string();
            let pairs: Vec<&[u8]> =
                if i % 4 == 0 { vec![b"other", v.as_bytes()] } else { vec![b"field", v.as_bytes(), b"n", b"12"] };
            add(&mut s, StreamId::new(i, i % 3), &pairs, limits);
        }
        assert_eq!(s.len(), 10);
        assert_eq!(s.node_count(), 4);
        let forward = ids(&s, false);
        let mut backward = ids(&s, true);
        backward.reverse();
        assert_eq!(forward, backward);
        assert_eq!(forward.len(), 10);
        let mut seen = Vec::new();
        s.range(StreamId::new(4, 0), StreamId::new(4, u64::MAX), false, |id, f| {
            seen.push((id, f.iter().map(Item::to_bytes).collect::<Vec<_>>()));
            true
        });
        assert_eq!(seen, vec![(StreamId::new(4, 1), vec![b"other".to_vec(), b"4".to_vec()])]);
        for lp in s.nodes.values() {
            assert!(listpack::decode(lp).is_ok());
        }
    }

    #[test]
    fn deletes_and_trims_keep_counts() {
        let limits = NodeLimits { max_bytes: 0, max_entries: 4 };
        let mut s = StreamValue::new();
        for i in 1..=12u64 {
            add(&mut s, StreamId::new(i, 0), &[b"f", b"v"], limits);
        }
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        assert_eq!(s.first_id, StreamId::new(2, 0));
        assert_eq!(s.max_deleted_id, StreamId::new(1, 0));
        assert_eq!(s.trim(Trim::MaxLen(9), true, 0), 0, "the first node cannot go whole");
        assert_eq!(s.trim(Trim::MaxLen(8), true, 0), 3, "the first node goes whole");
        assert_eq!(s.trim(Trim::MaxLen(6), false, 0), 2);
        assert_eq!(s.len(), 6);
        assert_eq!(s.trim(Trim::MinId(StreamId::new(10, 0)), false, 0), 3);
        assert_eq!(ids(&s, false), vec![StreamId::new(10, 0), StreamId::new(11, 0), StreamId::new(12, 0)]);
        assert_eq!(s.counted_length(), 3);
        assert_eq!(s.first_id, StreamId::new(10, 0));
        for id in [10, 11, 12] {
            s.delete(StreamId::new(id, 0));
        }
        assert_eq!((s.len(), s.node_count(), s.first_id), (0, 0, StreamId::MIN));
        assert_eq!(s.memory(), 0);
    }

    #[test]
    fn nodes_validate_and_corruption_is_found() {
        let mut s = StreamValue::new();
        for i in 1..=5u64 {
            let pairs: Vec<&[u8]> = if i == 3 { vec![b"x", b"1", b"y", b"2"] } else { vec![b"f", b"v"] };
            add(&mut s, StreamId::new(i, 0), &pairs, NodeLimits::default());
        }
        s.delete(StreamId::new(2, 0));
        let (master, lp) = s.nodes().next().unwrap();
        let summary = validate_node(lp, master).unwrap();
        assert_eq!((summary.live, summary.first_live), (4, Some(StreamId::new(1, 0))));
        let mut broken = lp.to_vec();
        let last = listpack::last(&broken).unwrap();
        listpack::replace_int(&mut broken, last, 9);
        assert!(validate_node(&broken, master).is_err());
    }

    #[test]
    fn new_ids_follow_redis() {
        let mut s = StreamValue::new();
        assert_eq!(s.new_id(NewId::Auto, 5), Ok(StreamId::new(5, 0)));
        assert_eq!(s.new_id(NewId::Ms(0), 5), Ok(StreamId::new(0, 1)));
        add(&mut s, StreamId::new(5, 0), &[b"a", b"1"], NodeLimits::default());
        assert_eq!(s.new_id(NewId::Auto, 3), Ok(StreamId::new(5, 1)));
        assert_eq!(s.new_id(NewId::Ms(5), 9), Ok(StreamId::new(5, 1)));
        assert_eq!(s.new_id(NewId::Ms(4), 9), Err(AddError::NotGreater));
        assert_eq!(s.new_id(NewId::Exact(StreamId::new(5, 0)), 9), Err(AddError::NotGreater));
        s.last_id = StreamId::new(7, u64::MAX);
        assert_eq!(s.new_id(NewId::Ms(7), 1), Err(AddError::NotGreater));
    }
}
