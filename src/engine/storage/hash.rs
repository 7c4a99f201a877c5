//! Hash values (the storage side of Redis's `t_hash.c`).
//!
//! Small hashes are one packed buffer of field-value pairs, each after a header holding both
//! lengths (a single byte for short pairs), looked up by a linear scan, as Redis's listpack.
//! The buffer is sized exactly (reallocated whenever its length changes, as a listpack is) and
//! carries its own pair count, so a hash's header is a single boxed slice. A hash grows into
//! an insertion-indexed hash table once it holds more than `hash-max-listpack-entries` fields
//! or is given a field or value longer than `hash-max-listpack-value` bytes, and never
//! converts back (as in Redis).
//!
//! The table keeps its pairs in a dense vector ([`DenseTable`]), which gives HRANDFIELD O(1)
//! random picks and HSCAN a cursor that survives deletions (see [`HashValue::scan`]).
//! `memory()` is O(1): the packed buffer's length, or the table's capacity-derived overhead
//! plus a running total of its field and value allocations.

use super::compact_bytes::{self, CompactBytes};
use super::dense::{DenseTable, Keyed};
use super::entry::alloc_size;
use super::EncodingLimits;
use std::ops::Range;

/// Fields are [`CompactBytes`]: a lookup compares a short field in the pair vector itself,
/// without a third cache miss for the field's own allocation.
type Map = DenseTable<Pair>;

/// A field and its value.
#[derive(Clone)]
pub struct Pair(CompactBytes, Box<[u8]>);

impl Keyed for Pair {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

/// A hash value: field → value, both binary strings.
#[derive(Clone, Default)]
pub struct HashValue {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Packed(Packed),
    Table(Box<Table>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Packed(Packed::default())
    }
}

impl HashValue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.pairs(),
            Repr::Table(t) => t.map.len(),
        }
    }

    /// Whether members are in a hash table (rather than a compact encoding).
    pub fn is_table(&self) -> bool {
        matches!(self.repr, Repr::Table(_))
    }

    /// See [`super::value::Collection::prefetch_member`].
    pub fn prefetch_member(&self, hash: u64, item: bool) {
        if let Repr::Table(t) = &self.repr {
            t.map.prefetch(hash, item);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Packed(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Heap bytes held by the hash (O(1)).
    pub fn memory(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => alloc_size(p.buf.len()),
            Repr::Table(t) => t.memory(),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed(p) => p.find(field).map(|slot| p.value_of(&slot)),
            Repr::Table(t) => t.map.get(field).map(|p| &p.1[..]),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`; returns whether the field is new. Converts a packed hash to a
    /// table when the pair is too long for it, or when it then has too many fields.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &EncodingLimits) -> bool {
        let max = limits.hash_max_listpack_value;
        if matches!(self.repr, Repr::Packed(_)) && (field.len() > max || value.len() > max) {
            self.convert();
        }
        match &mut self.repr {
            Repr::Packed(p) => {
                let added = p.set(field, value);
                if p.pairs() > limits.hash_max_listpack_entries {
                    self.convert();
                }
                added
            }
            Repr::Table(t) => t.set(field, value),
        }
    }

    /// Removes `field`; returns whether it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Packed(p) => p.remove(field),
            Repr::Table(t) => t.remove(field),
        }
    }

    /// The pairs, in storage order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.repr {
            Repr::Packed(p) => IterRepr::Packed { buf: &p.buf, pos: HEADER },
            Repr::Table(t) => IterRepr::Table(t.map.iter()),
        })
    }

    /// Positional access to the pairs, for random picks.
    pub fn pair_index(&self) -> PairIndex<'_> {
        match &self.repr {
            Repr::Packed(_) => PairIndex::Listed(self.iter().collect()),
            Repr::Table(t) => PairIndex::Table(&t.map),
        }
    }

    /// One HSCAN step: visits up to `count` pairs from `cursor` and returns the next cursor
    /// (0 when done). A packed hash is visited whole in one step, as Redis does for listpacks.
    ///
    /// A table is walked from the end of its pair vector towards the start; the cursor is the
    /// number of positions still to visit. Deleting swaps the last pair into the hole, so a
    /// pair below the cursor never moves above it: every pair present for the whole
    /// iteration is returned at least once (one moved down may be returned twice).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(&'a [u8], &'a [u8])) -> u64 {
        match &self.repr {
            Repr::Packed(_) => {
                self.iter().for_each(|(f, v)| visit(f, v));
                0
            }
            Repr::Table(t) => {
                let len = t.map.len();
                let start = if cursor == 0 { len } else { (cursor.min(len as u64)) as usize };
                let end = start.saturating_sub(count.max(1));
                for i in (end..start).rev() {
                    let Pair(f, v) = t.map.at(i);
                    visit(f, v);
                }
                end as u64
            }
        }
    }

    /// Moves the pairs of a packed hash into a table.
    fn convert(&mut self) {
        let Repr::Packed(p) = &self.repr else {
            return;
        };
        let mut table = Table { map: Map::with_capacity(p.pairs() + 1), item_bytes: 0 };
        for (f, v) in p.iter() {
            table.set(f, v);
        }
        self.repr = Repr::Table(Box::new(table));
    }
}

/// Pairs by position: a packed hash's pairs listed once, or the table itself.
pub enum PairIndex<'a> {
    Listed(Vec<(&'a [u8], &'a [u8])>),
    Table(&'a Map),
}

impl<'a> PairIndex<'a> {
    pub fn len(&self) -> usize {
        match self {
            PairIndex::Listed(v) => v.len(),
            PairIndex::Table(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pair at position `i` (< len).
    pub fn get(&self, i: usize) -> (&'a [u8], &'a [u8]) {
        match self {
            PairIndex::Listed(v) => v[i],
            PairIndex::Table(m) => {
                let Pair(f, v) = m.at(i);
                (f, v)
            }
        }
    }
}

/// Iterator over the pairs of a hash.
pub struct Iter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Packed { buf: &'a [u8], pos: usize },
    Table(std::slice::Iter<'a, Pair>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Packed { buf, pos } => {
                if *pos >= buf.len() {
                    return None;
                }
                let pair = read_pair(buf, *pos);
                *pos = pair.end;
                Some((&buf[pair.field], &buf[pair.value]))
            }
            IterRepr::Table(it) => it.next().map(|Pair(f, v)| (&f[..], &v[..])),
        }
    }
}

// ----- packed encoding -----

/// The pair count (a little-endian `u32`), then the pairs, each a header giving the field's
/// and the value's lengths followed by the field's and the value's bytes. An empty hash has an
/// empty buffer, header and all, so it allocates nothing.
///
/// A pair header is one byte `0fffvvvv` when the field is shorter than 8 bytes and the value
/// shorter than 16 (short field names and values are what small hashes mostly hold, and
/// Redis's listpack spends 4 bytes per pair on its own headers). Otherwise it is `10ffffff`
/// for a field shorter than 64 bytes, or `11ffffff` followed by the rest of the field length
/// (`len >> 6`) as a LEB128 varint, and then the value's length as a varint: never longer
/// than a varint for each length would be, for fields up to the default
/// `hash-max-listpack-value` of 64 bytes.
#[derive(Clone, Default)]
struct Packed {
    buf: Box<[u8]>,
}

/// Bytes of the pair count that starts a non-empty buffer.
const HEADER: usize = 4;

/// Where one pair sits in the packed buffer.
struct Slot {
    /// Start of the pair's header.
    start: usize,
    field: Range<usize>,
    value: Range<usize>,
    /// End of the value, where the next pair starts.
    end: usize,
}

impl Packed {
    fn pairs(&self) -> usize {
        match self.buf.first_chunk::<HEADER>() {
            Some(count) => u32::from_le_bytes(*count) as usize,
            None => 0,
        }
    }

    fn set_pairs(&mut self, pairs: usize) {
        if pairs == 0 {
            self.buf = Box::default();
        } else {
            self.buf[..HEADER].copy_from_slice(&(pairs as u32).to_le_bytes());
        }
    }

    fn iter(&self) -> Iter<'_> {
        Iter(IterRepr::Packed { buf: &self.buf, pos: HEADER })
    }

    fn find(&self, field: &[u8]) -> Option<Slot> {
        let mut pos = HEADER;
        while pos < self.buf.len() {
            let pair = read_pair(&self.buf, pos);
            if self.buf[pair.field.clone()] == *field {
                return Some(pair);
            }
            pos = pair.end;
        }
        None
    }

    fn value_of(&self, slot: &Slot) -> &[u8] {
        &self.buf[slot.value.clone()]
    }

    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        match self.find(field) {
            Some(slot) if slot.value.len() == value.len() => {
                self.buf[slot.value].copy_from_slice(value);
                false
            }
            Some(slot) => {
                // The header holds both lengths, so the pair is written anew.
                self.replace(slot.start..slot.end, pair_len(field, value), |buf| push_pair(buf, field, value));
                false
            }
            None => {
                let pairs = self.pairs();
                let mut buf = std::mem::take(&mut self.buf).into_vec();
                let header = if buf.is_empty() { HEADER } else { 0 };
                // Growing by exactly the pair lets the allocator extend the block in place
                // while it fits its size class, and leaves no spare capacity behind.
                buf.reserve_exact(header + pair_len(field, value));
                buf.resize(buf.len() + header, 0);
                push_pair(&mut buf, field, value);
                self.buf = buf.into_boxed_slice();
                self.set_pairs(pairs + 1);
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(slot) = self.find(field) else {
            return false;
        };
        let pairs = self.pairs() - 1;
        if pairs > 0 {
            self.replace(slot.start..slot.end, 0, |_| {});
        }
        self.set_pairs(pairs);
        true
    }

    /// Replaces a byte range of the buffer with the `len` bytes `write` appends, in one
    /// allocation that keeps the buffer exactly as long as its contents.
    fn replace(&mut self, range: Range<usize>, len: usize, write: impl FnOnce(&mut Vec<u8>)) {
        let mut buf = Vec::with_capacity(self.buf.len() - range.len() + len);
        buf.extend_from_slice(&self.buf[..range.start]);
        write(&mut buf);
        buf.extend_from_slice(&self.buf[range.end..]);
        self.buf = buf.into_boxed_slice();
    }
}

/// Whether a pair's header is the one-byte form that holds both lengths.
fn is_short_pair(field_len: usize, value_len: usize) -> bool {
    field_len < 8 && value_len < 16
}

/// Bytes a pair takes in the buffer, header included.
fn pair_len(field: &[u8], value: &[u8]) -> usize {
    let (f, v) = (field.len(), value.len());
    let header = if is_short_pair(f, v) {
        1
    } else if f < 64 {
        1 + varint_len(v)
    } else {
        1 + varint_len(f >> 6) + varint_len(v)
    };
    header + f + v
}

fn push_pair(buf: &mut Vec<u8>, field: &[u8], value: &[u8]) {
    let (f, v) = (field.len(), value.len());
    if is_short_pair(f, v) {
        buf.push((f << 4 | v) as u8);
    } else {
        if f < 64 {
            buf.push(0x80 | f as u8);
        } else {
            buf.push(0xc0 | (f & 0x3f) as u8);
            push_varint(buf, f >> 6);
        }
        push_varint(buf, v);
    }
    buf.extend_from_slice(field);
    buf.extend_from_slice(value);
}

/// The pair whose header starts at `pos`.
fn read_pair(buf: &[u8], pos: usize) -> Slot {
    let b = buf[pos];
    let (f, v, at) = if b < 0x80 {
        ((b >> 4) as usize, (b & 0x0f) as usize, pos + 1)
    } else {
        let (f, at) = if b & 0x40 == 0 {
            ((b & 0x3f) as usize, pos + 1)
        } else {
            let (high, at) = read_varint(buf, pos + 1);
            ((b & 0x3f) as usize | high << 6, at)
        };
        let (v, at) = read_varint(buf, at);
        (f, v, at)
    };
    Slot { start: pos, field: at..at + f, value: at + f..at + f + v, end: at + f + v }
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn push_varint(buf: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        buf.push(n as u8 | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

/// The varint at `pos`: (its value, the position after it).
fn read_varint(buf: &[u8], mut pos: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = buf[pos];
        pos += 1;
        n |= ((b & 0x7f) as usize) << shift;
        if b < 0x80 {
            return (n, pos);
        }
        shift += 7;
    }
}

// ----- table encoding -----

#[derive(Clone)]
struct Table {
    map: Map,
    /// Bytes of the field and value allocations, kept in step with every change.
    item_bytes: usize,
}

impl Table {
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        // A field stored inline costs nothing to build, so one lookup serves both an
        // overwrite and an insert; a longer field is looked up first, sparing an allocation.
        let present = if field.len() <= compact_bytes::INLINE {
            let (pair, added) = self.map.find_or_insert(field, || Pair(CompactBytes::new(field), value.into()));
            if added {
                // An inline field holds no heap bytes of its own.
                self.item_bytes += alloc_size(value.len());
                return true;
            }
            Some(pair)
        } else {
            self.map.get_mut(field)
        };
        match present {
            // A value of the same length is written over: no allocation, no free.
            Some(Pair(_, v)) if v.len() == value.len() => {
                v.copy_from_slice(value);
                false
            }
            Some(Pair(_, v)) => {
                self.item_bytes = self.item_bytes - alloc_size(v.len()) + alloc_size(value.len());
                *v = value.into();
                false
            }
            None => {
                self.item_bytes += CompactBytes::heap_size(field.len()) + alloc_size(value.len());
                self.map.insert(Pair(CompactBytes::new(field), value.into()));
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(Pair(f, v)) = self.map.swap_remove(field) else {
            return false;
        };
        self.item_bytes -= CompactBytes::heap_size(f.len()) + alloc_size(v.len());
        // Give memory back once the table is mostly empty, as Redis's dict shrinks.
        self.map.shrink_if_sparse();
        true
    }

    /// The table's own allocations (box, pair vector, index) plus its items.
    fn memory(&self) -> usize {
        alloc_size(std::mem::size_of::<Table>()) + self.map.heap_bytes() + self.item_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: usize, value: usize) -> EncodingLimits {
        EncodingLimits { hash_max_listpack_entries: entries, hash_max_listpack_value: value, ..Default::default() }
    }

    #[test]
    fn packed_set_get_remove() {
        let l = limits(128, 64);
        let mut h = HashValue::new();
        assert!(h.set(b"a", b"1", &l));
        assert!(h.set(b"b", b"", &l));
        assert!(!h.set(b"a", b"a much longer value", &l));
        assert_eq!(h.get(b"a"), Some(&b"a much longer value"[..]));
        assert!(!h.set(b"a", b"x", &l));
        assert_eq!(h.get(b"a"), Some(&b"x"[..]));
        assert_eq!(h.get(b"b"), Some(&b""[..]));
        assert_eq!(h.get(b"c"), None);
        assert_eq!(h.len(), 2);
        assert_eq!(h.encoding(), "listpack");
        assert!(h.remove(b"a"));
        assert!(!h.remove(b"a"));
        assert_eq!(h.iter().collect::<Vec<_>>(), vec![(&b"b"[..], &b""[..])]);
        assert!(h.remove(b"b"));
        assert!(h.is_empty());
        assert_eq!(h.memory(), 0);
    }

    #[test]
    fn long_strings_use_multi_byte_lengths() {
        let l = limits(128, 1 << 20);
        let mut h = HashValue::new();
        let big = vec![b'x'; 70_000];
        h.set(&big, b"v", &l);
        h.set(b"k", &big, &l);
        assert_eq!(h.get(&big), Some(&b"v"[..]));
        assert_eq!(h.get(b"k").map(<[u8]>::len), Some(70_000));
        assert_eq!(h.encoding(), "listpack");
    }

    #[test]
    fn converts_past_the_thresholds() {
        let mut h = HashValue::new();
        let l = limits(4, 8);
        for i in 0..4 {
            h.set(format!("f{i}").as_bytes(), b"v", &l);
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f4", b"v", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        for i in 0..5 {
            assert_eq!(h.get(format!("f{i}").as_bytes()), Some(&b"v"[..]));
        }

        let mut h = HashValue::new();
        h.set(b"f", b"12345678", &l);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f", b"123456789", &l);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"f"), Some(&b"123456789"[..]));

        // A limit of 0 entries converts on the first field, as in Redis.
        let mut h = HashValue::new();
        h.set(b"f", b"v", &limits(0, 64));
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn table_memory_follows_changes() {
        let l = limits(0, 64);
        let mut h = HashValue::new();
        let empty_table = {
            h.set(b"f", b"v", &l);
            h.remove(b"f");
            h.memory()
        };
        for i in 0..1000 {
            h.set(format!("field:{i}").as_bytes(), b"value", &l);
        }
        let full = h.memory();
        // Per pair at least its slot in the vector and its value's allocation.
        assert!(full > empty_table + 1000 * (std::mem::size_of::<Pair>() + 8));
        for i in 0..1000 {
            h.remove(format!("field:{i}").as_bytes());
        }
        // The table shrinks as it empties.
        assert!(h.memory() < full / 8, "{} of {full}", h.memory());
    }

    #[test]
    fn table_scan_survives_deletions() {
        let l = limits(0, 64);
        let mut h = HashValue::new();
        for i in 0..100 {
            h.set(format!("{i}").as_bytes(), b"v", &l);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut rounds = 0;
        loop {
            let mut batch = Vec::new();
            cursor = h.scan(cursor, 7, |f, _| batch.push(f.to_vec()));
            seen.extend(batch);
            // Delete a field not yet returned now and then, and one already returned.
            if rounds % 2 == 0 {
                let victim =
                    (0..100).map(|i| format!("{i}")).find(|f| !seen.contains(f.as_bytes()) && h.contains(f.as_bytes()));
                if let Some(v) = victim {
                    h.remove(v.as_bytes());
                }
            }
            rounds += 1;
            if cursor == 0 {
                break;
            }
        }
        for (f, _) in h.iter() {
            assert!(seen.contains(f), "{:?} was never returned", String::from_utf8_lossy(f));
        }
    }

    #[test]
    fn clones_are_independent() {
        let l = limits(128, 64);
        let mut h = HashValue::new();
        h.set(b"a", b"1", &l);
        let copy = h.clone();
        h.set(b"a", b"2", &l);
        assert_eq!(copy.get(b"a"), Some(&b"1"[..]));
        // The count, then a one-byte pair header, the field and the value.
        assert_eq!(copy.memory(), alloc_size(HEADER + 3));
    }

    #[test]
    fn every_pair_header_form_round_trips() {
        let l = limits(1000, 1 << 20);
        let lengths = [0, 1, 7, 8, 15, 16, 63, 64, 65, 127, 128, 200, 20_000];
        let mut h = HashValue::new();
        let mut expected = Vec::new();
        for (i, &f) in lengths.iter().enumerate() {
            for (j, &v) in lengths.iter().enumerate() {
                // Fields differ in their last byte; the empty field is used once.
                let mut field = vec![b'f'; f];
                if let Some(last) = field.last_mut() {
                    *last = j as u8;
                } else if j > 0 {
                    continue;
                }
                let value = vec![i as u8; v];
                let before = h.memory();
                assert!(h.set(&field, &value, &l));
                let Repr::Packed(p) = &h.repr else { panic!("converted") };
                let header = if before == 0 { HEADER } else { 0 };
                assert_eq!(p.buf.len(), expected_len(&expected) + header + pair_len(&field, &value));
                expected.push((field, value));
            }
        }
        assert_eq!(h.len(), expected.len());
        let pairs: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(pairs, expected);
        // Values change length (rewriting the pair header) or keep it (written in place).
        for (k, (field, value)) in expected.iter_mut().enumerate() {
            *value = vec![b'n'; lengths[(k + 3) % lengths.len()]];
            assert!(!h.set(field, value, &l));
        }
        for (field, value) in &expected {
            assert_eq!(h.get(field), Some(&value[..]));
        }
        for (field, _) in expected.iter().step_by(2) {
            assert!(h.remove(field));
        }
        let rest: Vec<_> = expected.iter().skip(1).step_by(2).cloned().collect();
        assert_eq!(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect::<Vec<_>>(), rest);
        assert_eq!(h.len(), rest.len());
        assert_eq!(h.memory(), alloc_size(HEADER + expected_len(&rest)));
    }

    fn expected_len(pairs: &[(Vec<u8>, Vec<u8>)]) -> usize {
        let body: usize = pairs.iter().map(|(f, v)| pair_len(f, v)).sum();
        if pairs.is_empty() {
            0
        } else {
            HEADER + body
        }
    }
}
