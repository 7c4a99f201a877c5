//! Set values: the three encodings Redis 7.2 uses for sets, and the rules (`t_set.c`) that
//! move a set from one to the next.
//!
//! * `intset`: sorted `i64`s, while every member is an integer as Redis's `string2ll` reads it
//!   and the set holds at most `set-max-intset-entries` members; membership is a binary search.
//! * `listpack`: members back to back in one buffer, each after its length, while the set holds
//!   at most `set-max-listpack-entries` members of at most `set-max-listpack-value` bytes.
//! * `hashtable`: a [`DenseTable`] of members, with O(1) membership, O(1) removal (the last
//!   member moves into the hole) and uniform random choice by position.
//!
//! As in Redis a set only moves to a bigger encoding. `memory()` is O(1): the members' own
//! allocations are counted as they come and go, the containers' from their capacities.

use super::compact_bytes::{self, CompactBytes};
use super::dense::{DenseTable, Keyed};
use super::entry::alloc_size;
use super::EncodingLimits;
use crate::util::{parse_i64, Rng};
use std::collections::HashSet;

/// Members inline up to 22 bytes (see [`CompactBytes`]): a lookup then compares the member
/// in the table's own entry instead of following one more pointer.
type Members = DenseTable<CompactBytes>;

impl Keyed for CompactBytes {
    fn key(&self) -> &[u8] {
        self
    }
}

/// Redis caps intsets at 2^30 entries whatever `set-max-intset-entries` says.
const INTSET_HARD_LIMIT: usize = 1 << 30;

/// A set value. The default is an empty intset, which is what Redis starts result sets from.
#[derive(Clone, Default)]
pub struct SetValue {
    repr: Repr,
    /// Heap bytes of the members' own allocations (hashtable encoding only).
    member_bytes: usize,
}

#[derive(Clone)]
enum Repr {
    Ints(Vec<i64>),
    Packed(Packed),
    Table(Box<Members>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Ints(Vec::new())
    }
}

/// A member as the set holds it: an integer of an intset, or bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl Member<'_> {
    /// Runs `f` on the member's bytes (an integer is formatted on the stack).
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(n) => f(itoa::Buffer::new().format(n).as_bytes()),
            Member::Bytes(b) => f(b),
        }
    }

    pub fn to_vec(self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }
}

impl SetValue {
    /// An empty set in the encoding Redis's `setTypeCreate` picks for a set about to receive
    /// `size_hint` members, the first of which is `first`.
    pub fn for_new(first: &[u8], size_hint: usize, limits: &EncodingLimits) -> SetValue {
        let repr = if parse_i64(first).is_some() && size_hint <= limits.set_max_intset_entries {
            Repr::Ints(Vec::new())
        } else if size_hint <= limits.set_max_listpack_entries {
            Repr::Packed(Packed::default())
        } else {
            Repr::Table(Box::new(Members::with_capacity(size_hint)))
        };
        SetValue { repr, member_bytes: 0 }
    }

    /// Readies the set for `size_hint` additions starting with `first`: a new (empty) set takes
    /// the encoding `for_new` picks; an existing one goes straight to a hash table if the
    /// additions alone would exceed its encoding's limit (Redis's `setTypeMaybeConvert`).
    pub fn prepare_for_adds(&mut self, first: &[u8], size_hint: usize, limits: &EncodingLimits) {
        if self.is_empty() {
            *self = SetValue::for_new(first, size_hint, limits);
            return;
        }
        let too_many = match &self.repr {
            Repr::Ints(_) => size_hint > limits.set_max_intset_entries,
            Repr::Packed(_) => size_hint > limits.set_max_listpack_entries,
            Repr::Table(_) => false,
        };
        if too_many {
            self.convert_to_table(size_hint);
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::Packed(p) => p.len,
            Repr::Table(t) => t.len(),
        }
    }

    /// Whether members are in a hash table (rather than a compact encoding).
    pub fn is_table(&self) -> bool {
        matches!(self.repr, Repr::Table(_))
    }

    /// See [`super::value::Collection::prefetch_member`].
    pub fn prefetch_member(&self, hash: u64, item: bool) {
        if let Repr::Table(t) = &self.repr {
            t.prefetch(hash, item);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding's name as OBJECT ENCODING reports it in Redis 7.2.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Ints(_) => "intset",
            Repr::Packed(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Heap bytes held by the set's internals, from the containers' capacities (so a clone,
    /// whose containers are sized to fit, reports its own figure).
    pub fn memory(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => alloc_size(v.capacity() * std::mem::size_of::<i64>()),
            Repr::Packed(p) => alloc_size(p.buf.capacity()),
            Repr::Table(t) => alloc_size(std::mem::size_of::<Members>()) + t.heap_bytes() + self.member_bytes,
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(v) => parse_i64(member).is_some_and(|n| v.binary_search(&n).is_ok()),
            Repr::Packed(p) => p.find(member).is_some(),
            Repr::Table(t) => t.contains(member),
        }
    }

    /// Membership of a member taken from another set (integers skip the formatting when this
    /// set is an intset too).
    pub fn contains_member(&self, member: Member) -> bool {
        match (&self.repr, member) {
            (Repr::Ints(v), Member::Int(n)) => v.binary_search(&n).is_ok(),
            _ => member.with_bytes(|b| self.contains(b)),
        }
    }

    /// Adds `member`; returns whether it was new. Moves to a bigger encoding when the member
    /// does not fit the current one (Redis's `setTypeAdd`).
    pub fn insert(&mut self, member: &[u8], limits: &EncodingLimits) -> bool {
        if let Repr::Ints(v) = &self.repr {
            if let Some(n) = parse_i64(member) {
                return self.insert_int(n, limits);
            }
            // A string ends the intset: a listpack if everything would fit one.
            let widest = match (v.first(), v.last()) {
                (Some(&min), Some(&max)) => digits(min).max(digits(max)),
                _ => 0,
            };
            let len = v.len();
            if len < limits.set_max_listpack_entries
                && member.len() <= limits.set_max_listpack_value
                && widest <= limits.set_max_listpack_value
            {
                self.convert_to_packed();
            } else {
                self.convert_to_table(len + 1);
            }
        } else if let Repr::Table(t) = &mut self.repr {
            // A member stored inline costs nothing to build, so one insert both looks it up
            // and adds it; a longer one is looked up first, sparing an allocation when present.
            if member.len() <= compact_bytes::INLINE {
                // Inline members hold no heap bytes of their own: `member_bytes` stays.
                return t.insert(CompactBytes::new(member));
            }
            if t.contains(member) {
                return false;
            }
        } else if self.contains(member) {
            return false;
        } else if let Repr::Packed(p) = &self.repr {
            if p.len >= limits.set_max_listpack_entries || member.len() > limits.set_max_listpack_value {
                let len = p.len;
                self.convert_to_table(len + 1);
            }
        }
        self.push_new(member);
        true
    }

    /// Adds a member taken from another set; integers go into an intset without formatting.
    pub fn insert_member(&mut self, member: Member, limits: &EncodingLimits) -> bool {
        match (&self.repr, member) {
            (Repr::Ints(_), Member::Int(n)) => self.insert_int(n, limits),
            _ => member.with_bytes(|b| self.insert(b, limits)),
        }
    }

    fn insert_int(&mut self, n: i64, limits: &EncodingLimits) -> bool {
        let Repr::Ints(v) = &mut self.repr else { unreachable!("insert_int on an intset only") };
        let Err(at) = v.binary_search(&n) else {
            return false;
        };
        v.insert(at, n);
        if v.len() > limits.set_max_intset_entries.min(INTSET_HARD_LIMIT) {
            let len = v.len();
            self.convert_to_table(len);
        }
        true
    }

    /// Appends a member known to be absent, to a listpack or hash table.
    fn push_new(&mut self, member: &[u8]) {
        match &mut self.repr {
            Repr::Packed(p) => p.push(member),
            Repr::Table(t) => {
                self.member_bytes += CompactBytes::heap_size(member.len());
                t.insert(CompactBytes::new(member));
            }
            Repr::Ints(_) => unreachable!("integers are inserted in order"),
        }
    }

    /// Removes `member`; returns whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => match parse_i64(member).map(|n| v.binary_search(&n)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    shrink_vec(v);
                    true
                }
                _ => false,
            },
            Repr::Packed(p) => match p.find(member) {
                Some(range) => {
                    p.remove(range);
                    true
                }
                None => false,
            },
            Repr::Table(t) => match t.swap_remove(member) {
                Some(m) => {
                    self.member_bytes -= CompactBytes::heap_size(m.len());
                    t.shrink_if_sparse();
                    true
                }
                None => false,
            },
        }
    }

    /// The members, in encoding order (ascending for an intset).
    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Ints(v) => Iter(IterRepr::Ints(v.iter())),
            Repr::Packed(p) => Iter(IterRepr::Packed(p.entries())),
            Repr::Table(t) => Iter(IterRepr::Table(t.iter())),
        }
    }

    /// The members at positions `indexes` (in encoding order), in that order.
    fn members_at(&self, indexes: &[usize]) -> Vec<Member<'_>> {
        match &self.repr {
            Repr::Ints(v) => indexes.iter().map(|&i| Member::Int(v[i])).collect(),
            Repr::Packed(p) => {
                // Positions in a listpack cost a walk: walk once.
                let all: Vec<&[u8]> = p.entries().map(|(_, m)| m).collect();
                indexes.iter().map(|&i| Member::Bytes(all[i])).collect()
            }
            Repr::Table(t) => indexes.iter().map(|&i| Member::Bytes(t.at(i))).collect(),
        }
    }

    /// A uniformly random member of a non-empty set.
    pub fn random(&self, rng: &mut Rng) -> Member<'_> {
        let i = rng.below(self.len() as u64) as usize;
        self.members_at(&[i])[0]
    }

    /// `count` members drawn uniformly and independently (the same member may come twice).
    pub fn random_with_repeats(&self, rng: &mut Rng, count: usize) -> Vec<Member<'_>> {
        let len = self.len() as u64;
        let indexes: Vec<usize> = (0..count).map(|_| rng.below(len) as usize).collect();
        self.members_at(&indexes)
    }

    /// `count` distinct members (fewer than the set holds), in random order.
    pub fn random_distinct(&self, rng: &mut Rng, count: usize) -> Vec<Member<'_>> {
        let len = self.len();
        debug_assert!(count < len);
        let indexes: Vec<usize> = if count * 3 > len {
            // Close to the whole set: a partial Fisher-Yates shuffle of all positions.
            let mut all: Vec<usize> = (0..len).collect();
            for i in 0..count {
                let j = i + rng.below((len - i) as u64) as usize;
                all.swap(i, j);
            }
            all.truncate(count);
            all
        } else {
            // Far fewer than the set holds: draw until enough distinct positions came up.
            let mut seen = HashSet::with_capacity(count);
            let mut picked = Vec::with_capacity(count);
            while picked.len() < count {
                let i = rng.below(len as u64) as usize;
                if seen.insert(i) {
                    picked.push(i);
                }
            }
            picked
        };
        self.members_at(&indexes)
    }

    /// Removes and returns a random member of a non-empty set.
    pub fn pop_random(&mut self, rng: &mut Rng) -> Vec<u8> {
        let member = self.random(rng).to_vec();
        self.remove(&member);
        member
    }

    /// Removes and returns `count` random distinct members, or all of them if `count` reaches
    /// the set's size.
    pub fn pop_many(&mut self, rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
        if count >= self.len() {
            let all = self.iter().map(Member::to_vec).collect();
            *self = SetValue::default();
            return all;
        }
        let popped: Vec<Vec<u8>> = self.random_distinct(rng, count).into_iter().map(Member::to_vec).collect();
        for m in &popped {
            self.remove(m);
        }
        popped
    }

    /// One SSCAN step: calls `visit` for the members of this step and returns the next cursor
    /// (0 when done). Compact encodings are small and answer everything at once, as in Redis.
    /// A hash table is walked from its last position down: the cursor is how many positions
    /// remain below. A removal moves the last member into the hole, so it moves an already
    /// returned member or one still ahead, and additions land past the cursor: every member
    /// present for the whole iteration is returned at least once.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut visit: impl FnMut(Member<'a>)) -> u64 {
        match &self.repr {
            Repr::Table(t) => {
                let start = match usize::try_from(cursor) {
                    Ok(c) if c != 0 && c < t.len() => c,
                    _ => t.len(),
                };
                let end = start.saturating_sub(count);
                for i in (end..start).rev() {
                    visit(Member::Bytes(t.at(i)));
                }
                end as u64
            }
            _ => {
                self.iter().for_each(visit);
                0
            }
        }
    }

    fn convert_to_packed(&mut self) {
        let mut packed = Packed::default();
        for m in self.iter() {
            m.with_bytes(|b| packed.push(b));
        }
        self.repr = Repr::Packed(packed);
        self.member_bytes = 0;
    }

    /// Moves the members into a hash table sized for `capacity`.
    fn convert_to_table(&mut self, capacity: usize) {
        let mut table = Members::with_capacity(capacity.max(self.len()));
        let mut bytes = 0;
        for m in self.iter() {
            m.with_bytes(|b| {
                bytes += CompactBytes::heap_size(b.len());
                table.insert(CompactBytes::new(b));
            });
        }
        self.repr = Repr::Table(Box::new(table));
        self.member_bytes = bytes;
    }
}

/// Gives back memory once a vector is less than a quarter full.
fn shrink_vec<T>(v: &mut Vec<T>) {
    if v.capacity() > 16 && v.len() * 4 < v.capacity() {
        v.shrink_to(v.len() * 2);
    }
}

/// Characters of `n` in decimal, sign included (Redis's `sdigits10`).
fn digits(n: i64) -> usize {
    itoa::Buffer::new().format(n).len()
}

/// Members of a small set in one buffer, each after its length as a LEB128 varint.
#[derive(Clone, Default)]
struct Packed {
    buf: Vec<u8>,
    len: usize,
}

impl Packed {
    /// (byte range of the entry, member) for each member, in insertion order.
    fn entries(&self) -> PackedEntries<'_> {
        PackedEntries { buf: &self.buf, pos: 0 }
    }

    fn find(&self, member: &[u8]) -> Option<std::ops::Range<usize>> {
        self.entries().find(|(_, m)| *m == member).map(|(range, _)| range)
    }

    fn push(&mut self, member: &[u8]) {
        let mut n = member.len();
        while n >= 0x80 {
            self.buf.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.buf.push(n as u8);
        self.buf.extend_from_slice(member);
        self.len += 1;
    }

    fn remove(&mut self, range: std::ops::Range<usize>) {
        self.buf.drain(range);
        self.len -= 1;
        shrink_vec(&mut self.buf);
    }
}

struct PackedEntries<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackedEntries<'a> {
    type Item = (std::ops::Range<usize>, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let b = self.buf[self.pos];
            self.pos += 1;
            len |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let member = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Some((start..self.pos, member))
    }
}

/// Iterator over a set's members.
pub struct Iter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Ints(std::slice::Iter<'a, i64>),
    Packed(PackedEntries<'a>),
    Table(std::slice::Iter<'a, CompactBytes>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match &mut self.0 {
            IterRepr::Ints(it) => it.next().map(|&n| Member::Int(n)),
            IterRepr::Packed(it) => it.next().map(|(_, m)| Member::Bytes(m)),
            IterRepr::Table(it) => it.next().map(|m| Member::Bytes(m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> EncodingLimits {
        EncodingLimits::default()
    }

    fn sorted(set: &SetValue) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = set.iter().map(Member::to_vec).collect();
        v.sort();
        v
    }

    #[test]
    fn encodings_grow_like_redis() {
        let l = limits();
        let mut s = SetValue::for_new(b"1", 1, &l);
        assert!(s.insert(b"1", &l));
        assert!(!s.insert(b"1", &l));
        assert_eq!(s.encoding(), "intset");
        // "012" and "-0" are not integers for Redis.
        assert!(s.insert(b"012", &l));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"1") && s.contains(b"012") && !s.contains(b"12"));
        for i in 0..126 {
            s.insert(format!("m{i}").as_bytes(), &l);
        }
        assert_eq!((s.len(), s.encoding()), (128, "listpack"));
        s.insert(b"one more", &l);
        assert_eq!((s.len(), s.encoding()), (129, "hashtable"));

        let mut ints = SetValue::default();
        for i in 0..512 {
            ints.insert(i.to_string().as_bytes(), &l);
        }
        assert_eq!(ints.encoding(), "intset");
        ints.insert(b"512", &l);
        assert_eq!(ints.encoding(), "hashtable");

        let mut long = SetValue::for_new(b"x", 1, &l);
        long.insert(&[b'a'; 65], &l);
        assert_eq!(long.encoding(), "hashtable");
        assert_eq!(SetValue::for_new(b"a", 200, &l).encoding(), "hashtable");
        assert_eq!(SetValue::for_new(b"1", 200, &l).encoding(), "intset");
    }

    #[test]
    fn intset_to_hashtable_when_a_listpack_would_not_fit() {
        let l = limits();
        let mut s = SetValue::default();
        for i in 0..200 {
            s.insert_member(Member::Int(i), &l);
        }
        s.insert(b"a", &l);
        assert_eq!((s.encoding(), s.len()), ("hashtable", 201));
        assert_eq!(sorted(&s).len(), 201);
    }

    #[test]
    fn removal_and_memory_in_every_encoding() {
        let l = limits();
        let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        // Hashtable members longer than the 22 inline bytes, so that they allocate.
        let long = (0..300).map(|i| format!("member-with-a-long-name-{i}")).collect();
        for members in [words(&["1", "2", "3"]), words(&["a", "b", "c"]), long] {
            let mut s = SetValue::for_new(members[0].as_bytes(), members.len(), &l);
            let empty = s.memory();
            for m in &members {
                s.insert(m.as_bytes(), &l);
            }
            assert!(s.memory() > empty);
            assert!(!s.remove(b"nope"));
            for m in &members {
                assert!(s.remove(m.as_bytes()), "{m}");
            }
            assert!(s.is_empty());
        }
    }

    #[test]
    fn random_choices_stay_inside_the_set() {
        let l = limits();
        let mut rng = Rng::new();
        for n in [5usize, 100, 1000] {
            let mut s = SetValue::default();
            for i in 0..n {
                s.insert(format!("{i}").as_bytes(), &l);
            }
            let picked = s.random_distinct(&mut rng, n - 1);
            let distinct: HashSet<Vec<u8>> = picked.iter().map(|m| m.to_vec()).collect();
            assert_eq!(distinct.len(), n - 1);
            assert!(picked.iter().all(|m| s.contains_member(*m)));
            assert_eq!(s.random_with_repeats(&mut rng, 50).len(), 50);
            let popped = s.pop_many(&mut rng, 3);
            assert_eq!(s.len(), n - 3);
            assert!(popped.iter().all(|m| !s.contains(m)));
            assert_eq!(s.pop_many(&mut rng, n).len(), n - 3);
            assert!(s.is_empty());
        }
    }

    #[test]
    fn table_scan_survives_removals_and_additions() {
        let l = limits();
        let mut s = SetValue::default();
        for i in 0..1000 {
            s.insert(format!("m{i}").as_bytes(), &l);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = s.scan(cursor, 10, |m| {
                seen.insert(m.to_vec());
            });
            // Churn: remove some early members, add new ones.
            s.remove(format!("m{}", round * 3).as_bytes());
            s.insert(format!("new{round}").as_bytes(), &l);
            round += 1;
            if cursor == 0 {
                break;
            }
            assert!(round < 1000);
        }
        for i in 0..1000 {
            let m = format!("m{i}");
            if s.contains(m.as_bytes()) {
                assert!(seen.contains(m.as_bytes()), "{m} missed");
            }
        }
    }
}
