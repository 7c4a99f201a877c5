//! Sorted set values.
//!
//! Members are kept in (score, member) order in [`RankedChunks`]: sorted chunks of at most
//! [`MAX_CHUNK`] items with a Fenwick tree over the chunk lengths, so finding a member's
//! rank, the item at a rank and the bounds of a score or lex range all cost O(log n), and a
//! range is then read by walking the chunks.
//!
//! Small sets (within `zset-max-listpack-entries` / `zset-max-listpack-value`) stop there and
//! find a member's score by a linear scan, as Redis's listpack does ("listpack"). Past the
//! thresholds a member index is added ("skiplist"): a [`DenseTable`] of (member, score), which
//! finds a score in about two cache misses and whose dense positions give ZSCAN its cursor, as
//! SSCAN's. Member bytes are shared between the index and the chunks.

use super::dense::{DenseTable, Keyed};
use super::entry::alloc_size;
use super::EncodingLimits;
use std::cmp::Ordering;
use std::sync::Arc;

/// A member's bytes, shared by the ordered chunks and the member index.
pub type Member = Arc<[u8]>;

/// One element of a sorted set.
#[derive(Clone, Debug)]
pub struct Item {
    pub score: f64,
    pub member: Member,
}

/// Redis's order: by score, then by member bytes. Scores are never NaN.
fn order(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score.partial_cmp(&b_score).unwrap_or(Ordering::Equal).then_with(|| a_member.cmp(b_member))
}

/// Chunks split when they grow past this many items.
const MAX_CHUNK: usize = 128;
/// A chunk this small is merged into its successor when both fit in one chunk.
const MIN_CHUNK: usize = MAX_CHUNK / 4;

/// Items in (score, member) order, in sorted chunks with a Fenwick tree of chunk lengths.
#[derive(Clone, Default)]
struct RankedChunks {
    chunks: Vec<Vec<Item>>,
    /// Fenwick tree (1-based) over `chunks[i].len()`; empty while there is one chunk or none.
    tree: Vec<usize>,
    len: usize,
    /// Bytes of the chunks' item buffers, by allocator size class.
    buffers: usize,
}

fn buffer_bytes(chunk: &Vec<Item>) -> usize {
    alloc_size(chunk.capacity() * std::mem::size_of::<Item>())
}

impl RankedChunks {
    fn memory(&self) -> usize {
        alloc_size(self.chunks.capacity() * std::mem::size_of::<Vec<Item>>())
            + alloc_size(self.tree.capacity() * std::mem::size_of::<usize>())
            + self.buffers
    }

    /// Items in chunks before chunk `ci`.
    fn prefix(&self, ci: usize) -> usize {
        if self.tree.is_empty() {
            return 0;
        }
        let (mut i, mut sum) = (ci, 0);
        while i > 0 {
            sum += self.tree[i];
            i &= i - 1;
        }
        sum
    }

    fn tree_add(&mut self, ci: usize, delta: isize) {
        if self.tree.is_empty() {
            return;
        }
        let mut i = ci + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(delta);
            i += i & i.wrapping_neg();
        }
    }

    /// Rebuilds the Fenwick tree and the buffer total after chunks were added or removed.
    fn rebuild(&mut self) {
        self.buffers = self.chunks.iter().map(buffer_bytes).sum();
        self.tree.clear();
        if self.chunks.len() <= 1 {
            self.tree.shrink_to_fit();
            return;
        }
        self.tree.resize(self.chunks.len() + 1, 0);
        for (ci, c) in self.chunks.iter().enumerate() {
            let mut i = ci + 1;
            while i < self.tree.len() {
                self.tree[i] += c.len();
                i += i & i.wrapping_neg();
            }
        }
    }

    /// The chunk holding rank `rank` (< len) and the offset in it.
    fn locate_rank(&self, rank: usize) -> (usize, usize) {
        if self.tree.is_empty() {
            return (0, rank);
        }
        let (mut pos, mut rest) = (0, rank);
        let mut step = (self.tree.len() - 1).next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next < self.tree.len() && self.tree[next] <= rest {
                pos = next;
                rest -= self.tree[next];
            }
            step /= 2;
        }
        (pos, rest)
    }

    /// The rank of the first item for which `before` is false (`before` must hold for a
    /// prefix of the order and fail for the rest).
    fn partition_point(&self, before: impl Fn(&Item) -> bool) -> usize {
        let ci = self.chunks.partition_point(|c| c.last().is_some_and(&before));
        if ci == self.chunks.len() {
            return self.len;
        }
        self.prefix(ci) + self.chunks[ci].partition_point(before)
    }

    /// Where (score, member) is or would go: chunk, offset, and whether it is there.
    fn find(&self, score: f64, member: &[u8]) -> (usize, usize, bool) {
        let below = |it: &Item| order(it.score, &it.member, score, member) == Ordering::Less;
        let ci = self.chunks.partition_point(|c| c.last().is_some_and(below)).min(self.chunks.len().saturating_sub(1));
        let Some(chunk) = self.chunks.get(ci) else {
            return (0, 0, false);
        };
        let pos = chunk.partition_point(below);
        let found = chunk.get(pos).is_some_and(|it| it.score == score && *it.member == *member);
        (ci, pos, found)
    }

    fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let (ci, pos, found) = self.find(score, member);
        found.then(|| self.prefix(ci) + pos)
    }

    fn get(&self, rank: usize) -> Option<&Item> {
        if rank >= self.len {
            return None;
        }
        let (ci, pos) = self.locate_rank(rank);
        self.chunks[ci].get(pos)
    }

    fn insert(&mut self, item: Item) {
        if self.chunks.is_empty() {
            self.chunks.push(Vec::new());
        }
        let (ci, pos, _) = self.find(item.score, &item.member);
        let chunk = &mut self.chunks[ci];
        let before = buffer_bytes(chunk);
        chunk.insert(pos, item);
        self.buffers = self.buffers + buffer_bytes(chunk) - before;
        self.len += 1;
        if chunk.len() > MAX_CHUNK {
            let tail = chunk.split_off(chunk.len() / 2);
            chunk.shrink_to_fit();
            self.chunks.insert(ci + 1, tail);
            self.rebuild();
        } else {
            self.tree_add(ci, 1);
        }
    }

    fn remove(&mut self, score: f64, member: &[u8]) -> Option<Item> {
        let (ci, pos, found) = self.find(score, member);
        if !found {
            return None;
        }
        let chunk = &mut self.chunks[ci];
        let before = buffer_bytes(chunk);
        let item = chunk.remove(pos);
        self.buffers = self.buffers + buffer_bytes(chunk) - before;
        self.len -= 1;
        let small = chunk.len() < MIN_CHUNK;
        if chunk.is_empty() && self.chunks.len() > 1 {
            self.chunks.remove(ci);
            self.rebuild();
        } else if small && self.chunks.get(ci + 1).is_some_and(|next| next.len() + self.chunks[ci].len() <= MAX_CHUNK) {
            let next = self.chunks.remove(ci + 1);
            self.chunks[ci].extend(next);
            self.rebuild();
        } else {
            self.tree_add(ci, -1);
        }
        Some(item)
    }

    /// Removes and returns the items of ranks `start..end`.
    fn remove_ranks(&mut self, start: usize, end: usize) -> Vec<Item> {
        let end = end.min(self.len);
        if start >= end {
            return Vec::new();
        }
        let mut removed = Vec::with_capacity(end - start);
        let (first, offset) = self.locate_rank(start);
        let mut ci = first;
        let mut from = offset;
        let mut emptied = false;
        while removed.len() < end - start {
            let chunk = &mut self.chunks[ci];
            let to = chunk.len().min(from + (end - start - removed.len()));
            removed.extend(chunk.drain(from..to));
            emptied |= chunk.is_empty();
            // Without emptied chunks the tree only needs the new lengths (ZPOPMIN's case).
            if !emptied {
                self.tree_add(ci, -((to - from) as isize));
            }
            ci += 1;
            from = 0;
        }
        self.len -= removed.len();
        if emptied {
            self.chunks.retain(|c| !c.is_empty());
            self.rebuild();
        }
        removed
    }

    /// The items of ranks `start..end` (end ≤ len), in order; reversible.
    fn range(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &Item> + '_ {
        let (first, last, from, to) = if start < end {
            let (first, from) = self.locate_rank(start);
            let (last, to) = self.locate_rank(end - 1);
            (first, last + 1, from, to + 1)
        } else {
            (0, 0, 0, 0)
        };
        let count = last - first;
        self.chunks[first..last].iter().enumerate().flat_map(move |(i, c)| {
            let lo = if i == 0 { from } else { 0 };
            let hi = if i + 1 == count { to } else { c.len() };
            c[lo..hi].iter()
        })
    }

    /// Builds from items already in order.
    fn from_sorted(items: Vec<Item>) -> RankedChunks {
        let len = items.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(MAX_CHUNK));
        if len <= MAX_CHUNK {
            chunks.push(items);
        } else {
            // Chunks start three-quarters full, leaving room to insert without splitting.
            let size = MAX_CHUNK * 3 / 4;
            let mut items = items.into_iter();
            loop {
                let chunk: Vec<Item> = items.by_ref().take(size).collect();
                if chunk.is_empty() {
                    break;
                }
                chunks.push(chunk);
            }
        }
        let mut r = RankedChunks { chunks, tree: Vec::new(), len, buffers: 0 };
        r.rebuild();
        r
    }
}

// ----- the member index -----

/// A member in the index, with its score.
#[derive(Clone)]
struct Indexed {
    member: Member,
    score: f64,
}

impl Keyed for Indexed {
    fn key(&self) -> &[u8] {
        &self.member
    }
}

/// Heap bytes of a member's shared allocation (two reference counts, then the bytes).
fn member_bytes(len: usize) -> usize {
    alloc_size(2 * std::mem::size_of::<usize>() + len)
}

// ----- ranges -----

/// A score interval as ZRANGEBYSCORE takes it; `(` makes a bound exclusive.
#[derive(Clone, Copy, Debug)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_exclusive: bool,
    pub max_exclusive: bool,
}

impl ScoreRange {
    fn below_min(&self, score: f64) -> bool {
        if self.min_exclusive {
            score <= self.min
        } else {
            score < self.min
        }
    }

    fn within_max(&self, score: f64) -> bool {
        if self.max_exclusive {
            score < self.max
        } else {
            score <= self.max
        }
    }
}

/// One end of a lex range: `-`, `+`, `[member` or `(member`.
#[derive(Clone, Debug)]
pub enum LexBound {
    NegInf,
    PosInf,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    fn below_min(&self, member: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(m) => member < &m[..],
            LexBound::Exclusive(m) => member <= &m[..],
        }
    }

    fn within_max(&self, member: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(m) => member <= &m[..],
            LexBound::Exclusive(m) => member < &m[..],
        }
    }
}

// ----- the value -----

/// A sorted set.
#[derive(Clone, Default)]
pub struct ZSetValue {
    order: RankedChunks,
    /// Member → score; present in the "skiplist" encoding only.
    index: Option<Box<DenseTable<Indexed>>>,
    /// Bytes of the members' allocations.
    member_heap: usize,
}

impl ZSetValue {
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of `items` in any order (members distinct), encoded as its size calls for.
    pub fn from_items(mut items: Vec<Item>, limits: &EncodingLimits) -> Self {
        items.sort_unstable_by(|a, b| order(a.score, &a.member, b.score, &b.member));
        let compact = items.len() <= limits.zset_max_listpack_entries
            && items.iter().all(|it| it.member.len() <= limits.zset_max_listpack_value);
        let member_heap = items.iter().map(|it| member_bytes(it.member.len())).sum();
        let mut z = ZSetValue { order: RankedChunks::from_sorted(items), index: None, member_heap };
        if !compact {
            z.build_index();
        }
        z
    }

    pub fn len(&self) -> usize {
        self.order.len
    }

    pub fn is_empty(&self) -> bool {
        self.order.len == 0
    }

    /// Heap bytes held by the set (O(1)).
    pub fn memory(&self) -> usize {
        let index =
            self.index.as_ref().map_or(0, |i| alloc_size(std::mem::size_of::<DenseTable<Indexed>>()) + i.heap_bytes());
        self.order.memory() + self.member_heap + index
    }

    pub fn encoding(&self) -> &'static str {
        if self.index.is_some() {
            "skiplist"
        } else {
            "listpack"
        }
    }

    fn build_index(&mut self) {
        let mut index = DenseTable::with_capacity(self.order.len);
        for it in self.order.chunks.iter().flatten() {
            index.insert(Indexed { member: it.member.clone(), score: it.score });
        }
        self.index = Some(Box::new(index));
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.index {
            Some(index) => index.get(member).map(|i| i.score),
            None => self.order.chunks.iter().flatten().find(|it| *it.member == *member).map(|it| it.score),
        }
    }

    /// Sets `member`'s score, adding it if new; returns the previous score. Converts to the
    /// "skiplist" encoding when the set outgrows `limits`.
    pub fn set(&mut self, member: &[u8], score: f64, limits: &EncodingLimits) -> Option<f64> {
        if let Some(old) = self.score(member) {
            if old != score {
                let mut item = self.order.remove(old, member).expect("indexed member is ordered");
                item.score = score;
                self.order.insert(item);
                if let Some(index) = &mut self.index {
                    index.get_mut(member).expect("indexed").score = score;
                }
            }
            return Some(old);
        }
        if self.index.is_none()
            && (self.len() + 1 > limits.zset_max_listpack_entries || member.len() > limits.zset_max_listpack_value)
        {
            self.build_index();
        }
        let member: Member = Arc::from(member);
        self.member_heap += member_bytes(member.len());
        if let Some(index) = &mut self.index {
            index.insert(Indexed { member: member.clone(), score });
        }
        self.order.insert(Item { score, member });
        None
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.score(member)?;
        let item = self.order.remove(score, member).expect("member is ordered");
        self.forget(&item);
        Some(score)
    }

    /// Drops a member that left the order from the index and the accounting.
    fn forget(&mut self, item: &Item) {
        self.member_heap -= member_bytes(item.member.len());
        if let Some(index) = &mut self.index {
            index.swap_remove(&item.member);
            index.shrink_if_sparse();
        }
    }

    /// 0-based rank of `member` in ascending order, with its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let score = self.score(member)?;
        self.order.rank(score, member).map(|r| (r, score))
    }

    pub fn get(&self, rank: usize) -> Option<&Item> {
        self.order.get(rank)
    }

    /// Items of ranks `start..end` in ascending order (`.rev()` for descending).
    pub fn range(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &Item> + '_ {
        self.order.range(start, end.min(self.len()))
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Item> + '_ {
        self.order.chunks.iter().flatten()
    }

    /// Ranks `lo..hi` of the items whose score is in `range`.
    pub fn score_span(&self, range: &ScoreRange) -> (usize, usize) {
        let lo = self.order.partition_point(|it| range.below_min(it.score));
        let hi = self.order.partition_point(|it| range.within_max(it.score));
        (lo, hi.max(lo))
    }

    /// Ranks `lo..hi` of the items whose member is in `range` (all scores equal).
    pub fn lex_span(&self, range: &LexRange) -> (usize, usize) {
        let lo = self.order.partition_point(|it| range.below_min(&it.member));
        let hi = self.order.partition_point(|it| range.within_max(&it.member));
        (lo, hi.max(lo))
    }

    /// Removes and returns the items of ranks `start..end`.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> Vec<Item> {
        let removed = self.order.remove_ranks(start, end);
        for item in &removed {
            self.forget(item);
        }
        removed
    }

    /// One ZSCAN step: calls `visit` for about `count` members and returns the next cursor
    /// (0 when done). Compact sets are returned whole. An indexed set is walked through its
    /// index from the last position down, the cursor being how many positions remain below:
    /// a removal moves the last member into the hole, so it moves an already returned member
    /// or one still ahead, and additions land past the cursor, so every member present for
    /// the whole iteration is returned at least once (as SSCAN and HSCAN).
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&Item)) -> u64 {
        let Some(index) = &self.index else {
            self.iter().for_each(visit);
            return 0;
        };
        let start = match usize::try_from(cursor) {
            Ok(c) if c != 0 && c < index.len() => c,
            _ => index.len(),
        };
        let end = start.saturating_sub(count.max(1));
        for i in (end..start).rev() {
            let Indexed { member, score } = index.at(i);
            visit(&Item { score: *score, member: member.clone() });
        }
        end as u64
    }

    /// See [`super::value::Collection::prefetch_member`].
    pub fn prefetch_member(&self, hash: u64, item: bool) {
        if let Some(index) = &self.index {
            index.prefetch(hash, item);
        }
    }

    /// Whether members are found through an index (the "skiplist" encoding).
    pub fn is_indexed(&self) -> bool {
        self.index.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: usize) -> EncodingLimits {
        EncodingLimits { zset_max_listpack_entries: entries, ..EncodingLimits::default() }
    }

    fn members(z: &ZSetValue) -> Vec<String> {
        z.iter().map(|it| String::from_utf8_lossy(&it.member).into_owned()).collect()
    }

    #[test]
    fn order_rank_and_conversion() {
        let l = limits(4);
        let mut z = ZSetValue::new();
        for (m, s) in [("c", 3.0), ("a", 1.0), ("b", 2.0), ("d", 3.0)] {
            assert_eq!(z.set(m.as_bytes(), s, &l), None);
        }
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(members(&z), ["a", "b", "c", "d"]);
        assert_eq!(z.set(b"e", 0.5, &l), None);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.rank(b"e"), Some((0, 0.5)));
        assert_eq!(z.rank(b"d"), Some((4, 3.0)));
        assert_eq!(z.set(b"a", 10.0, &l), Some(1.0));
        assert_eq!(members(&z), ["e", "b", "c", "d", "a"]);
        assert_eq!(z.remove(b"c"), Some(3.0));
        assert_eq!(z.score(b"c"), None);
        assert_eq!(z.len(), 4);
    }

    #[test]
    fn many_members_keep_ranks_and_memory_in_step() {
        let l = limits(128);
        let mut z = ZSetValue::new();
        let n = 5000;
        // Insert in a scrambled order so chunks split everywhere.
        for i in 0..n {
            let k = (i * 7919) % n;
            z.set(format!("m{k:05}").as_bytes(), k as f64, &l);
        }
        assert_eq!(z.len(), n);
        for k in (0..n).step_by(97) {
            assert_eq!(z.rank(format!("m{k:05}").as_bytes()), Some((k, k as f64)));
            assert_eq!(z.get(k).unwrap().score, k as f64);
        }
        let window: Vec<f64> = z.range(1000, 1005).map(|it| it.score).collect();
        assert_eq!(window, [1000.0, 1001.0, 1002.0, 1003.0, 1004.0]);
        let back: Vec<f64> = z.range(1000, 1003).rev().map(|it| it.score).collect();
        assert_eq!(back, [1002.0, 1001.0, 1000.0]);
        let range = ScoreRange { min: 10.0, max: 20.0, min_exclusive: true, max_exclusive: false };
        assert_eq!(z.score_span(&range), (11, 21));
        let removed = z.remove_ranks(100, 4000);
        assert_eq!(removed.len(), 3900);
        assert_eq!(z.len(), n - 3900);
        assert_eq!(z.rank(b"m04000"), Some((100, 4000.0)));
        // Pops from both ends, as ZPOPMIN/ZPOPMAX do, keep the ranks right.
        for _ in 0..50 {
            assert_eq!(z.remove_ranks(0, 1).len(), 1);
            let len = z.len();
            assert_eq!(z.remove_ranks(len - 1, len).len(), 1);
        }
        assert_eq!(z.rank(b"m04000"), Some((50, 4000.0)));
        assert_eq!(z.get(0).unwrap().score, 50.0);
        // Removing one by one brings the accounting back to an empty set's.
        for it in z.iter().cloned().collect::<Vec<_>>() {
            z.remove(&it.member);
        }
        assert!(z.is_empty());
        assert_eq!(z.member_heap, 0);
        assert_eq!(z.order.buffers, z.order.chunks.iter().map(buffer_bytes).sum::<usize>());
    }

    #[test]
    fn scan_cursor_returns_every_member_once_without_changes() {
        let l = limits(0);
        let mut z = ZSetValue::new();
        for i in 0..1000 {
            z.set(format!("{i}").as_bytes(), i as f64, &l);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        for _ in 0..10_000 {
            cursor = z.scan(cursor, 10, |it| assert!(seen.insert(it.member.clone())));
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }
}
