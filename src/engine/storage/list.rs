//! List values: a deque of packed nodes, each one byte buffer holding many elements.
//!
//! Redis keeps a list in listpacks (one for a small list, a quicklist of them for a big one):
//! elements packed back to back, with no allocation and no pointer per element. Nodes here do
//! the same with one difference: a node keeps its free space at the ends (a gap buffer), so a
//! push at either end writes into the gap instead of moving the node's bytes as a listpack
//! insert does, and a pop or a trim only moves the node's start or end offset. A boxed element
//! per entry, as before, cost its 64-byte payload plus 16 bytes of pointer and the allocator's
//! rounding, and every push a malloc.
//!
//! An element is stored as its length (LEB128), its bytes, then its length again with the
//! varint's bytes reversed, so a node reads in both directions. A node holds up to
//! [`NODE_BYTES`] (8 KB, Redis's default `list-max-listpack-size -2`); an element longer than
//! that gets a node of its own. Edits in the middle (LSET, LINSERT, LREM) rebuild the one node
//! they touch, splitting it if it outgrows the limit, which is the cost of a listpack edit.
//!
//! OBJECT ENCODING follows Redis's rule on the same list (the `list-max-listpack-size` limit on
//! entries or bytes) from an estimate of the list's size as one listpack. Memory is accounted
//! incrementally, so [`ListValue::memory`] is O(1).

use super::entry::alloc_size;
use super::EncodingLimits;
use std::collections::VecDeque;

/// An element handed out of the list (popped): its bytes in one allocation of their length.
pub type Element = Box<[u8]>;

/// Bytes a node holds before the next push starts a new node.
const NODE_BYTES: usize = 8192;

/// Capacity of a node that starts beside others: the list is long, so it will fill.
const LATER_NODE_START: usize = 1024;

/// Bytes of a LEB128 varint for `n`.
fn varint_len(mut n: usize) -> usize {
    let mut bytes = 1;
    while n >= 0x80 {
        n >>= 7;
        bytes += 1;
    }
    bytes
}

/// Bytes one element of `len` bytes takes in a node.
fn encoded_size(len: usize) -> usize {
    len + 2 * varint_len(len)
}

/// Writes `e` into `dst`, which is exactly `encoded_size(e.len())` long.
fn write_entry(dst: &mut [u8], e: &[u8]) {
    let head = varint_len(e.len());
    let mut n = e.len();
    for i in 0..head {
        let more = if i + 1 < head { 0x80 } else { 0 };
        let byte = (n & 0x7f) as u8 | more;
        dst[i] = byte;
        // The trailing copy is reversed: read backwards, its first byte is the low bits.
        dst[dst.len() - 1 - i] = byte;
        n >>= 7;
    }
    dst[head..head + e.len()].copy_from_slice(e);
}

/// Decodes the varint at `pos` reading forwards: (value, bytes).
fn varint_forward(buf: &[u8], pos: usize) -> (usize, usize) {
    let (mut value, mut shift, mut i) = (0usize, 0, pos);
    loop {
        let b = buf[i];
        value |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            return (value, i - pos);
        }
        shift += 7;
    }
}

/// Decodes the varint that ends just before `end` reading backwards: (value, bytes).
fn varint_backward(buf: &[u8], end: usize) -> (usize, usize) {
    let (mut value, mut shift, mut i) = (0usize, 0, end);
    loop {
        i -= 1;
        let b = buf[i];
        value |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return (value, end - i);
        }
        shift += 7;
    }
}

/// The element whose entry starts at `pos`: (data range start, data length, next entry).
fn entry_at(buf: &[u8], pos: usize) -> (usize, usize, usize) {
    let (len, head) = varint_forward(buf, pos);
    let data = pos + head;
    (data, len, data + len + head)
}

/// The element whose entry ends at `end`: (data range start, data length, entry start).
fn entry_before(buf: &[u8], end: usize) -> (usize, usize, usize) {
    let (len, tail) = varint_backward(buf, end);
    let data = end - tail - len;
    (data, len, data - tail)
}

/// One packed node: entries in `buf[start..end]`, free space on both sides.
#[derive(Clone)]
struct Node {
    buf: Box<[u8]>,
    start: u32,
    end: u32,
    count: u32,
}

impl Node {
    /// A node of `cap` bytes whose free space is all on the side pushes will come from.
    fn empty(cap: usize, front: bool) -> Node {
        let at = if front { cap as u32 } else { 0 };
        Node { buf: vec![0; cap].into_boxed_slice(), start: at, end: at, count: 0 }
    }

    /// A node holding exactly `content` (whole entries, `count` of them).
    fn with_content(content: &[u8], count: u32) -> Node {
        Node { buf: content.into(), start: 0, end: content.len() as u32, count }
    }

    fn live(&self) -> &[u8] {
        &self.buf[self.start as usize..self.end as usize]
    }

    fn live_len(&self) -> usize {
        (self.end - self.start) as usize
    }

    fn element(&self, pos: usize) -> &[u8] {
        let (data, len, _) = entry_at(&self.buf, pos);
        &self.buf[data..data + len]
    }

    /// Byte offset of the entry at `index` within the node, walked from the nearer end.
    fn offset_of(&self, index: u32) -> usize {
        if index < self.count / 2 {
            let mut pos = self.start as usize;
            for _ in 0..index {
                pos = entry_at(&self.buf, pos).2;
            }
            pos
        } else {
            let mut pos = self.end as usize;
            for _ in index..self.count {
                pos = entry_before(&self.buf, pos).2;
            }
            pos
        }
    }

    /// Offsets (start, end) of every entry, front to back.
    fn entry_spans(&self) -> Vec<(usize, usize)> {
        let mut spans = Vec::with_capacity(self.count as usize);
        let mut pos = self.start as usize;
        while pos < self.end as usize {
            let next = entry_at(&self.buf, pos).2;
            spans.push((pos, next));
            pos = next;
        }
        spans
    }
}

#[derive(Clone, Default)]
pub struct ListValue {
    nodes: VecDeque<Node>,
    len: usize,
    /// Heap bytes of the nodes' buffers (the deque's own buffer is added in `memory`).
    buffer_bytes: usize,
    /// Estimated size of the same list as one listpack, for the encoding threshold.
    listpack_bytes: usize,
    /// Whether the list is past the listpack thresholds ("quicklist").
    quicklist: bool,
}

/// Listpack header (total bytes, entry count) plus its end byte.
const LISTPACK_OVERHEAD: usize = 7;

/// Bytes one element takes inside a listpack: encoding byte(s), data and back-length.
fn listpack_entry_size(len: usize) -> usize {
    let header = match len {
        0..=63 => 1,
        64..=4095 => 2,
        _ => 5,
    };
    let backlen = match header + len {
        0..=127 => 1,
        128..=16383 => 2,
        16384..=2097151 => 3,
        _ => 5,
    };
    header + len + backlen
}

/// The byte limit a negative `list-max-listpack-size` stands for (-1 = 4 KB ... -5 = 64 KB).
fn size_limit(fill: i64) -> usize {
    4096 << (fill.clamp(-5, -1).unsigned_abs() - 1)
}

impl ListValue {
    pub fn new() -> Self {
        ListValue { listpack_bytes: LISTPACK_OVERHEAD, ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes: the deque of node headers plus every node's buffer.
    pub fn memory(&self) -> usize {
        alloc_size(self.nodes.capacity() * std::mem::size_of::<Node>()) + self.buffer_bytes
    }

    pub fn encoding(&self) -> &'static str {
        if self.quicklist {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// Re-evaluates the encoding after a change, as Redis converts a listpack to a quicklist
    /// past the limit and back once the list shrinks to half of it. Also returns spare deque
    /// capacity after large removals so memory follows the list down.
    pub fn update_encoding(&mut self, limits: &EncodingLimits) {
        let fill = limits.list_max_listpack_size;
        let (len, bytes) = (self.len, self.listpack_bytes);
        let exceeds = |scale: usize| {
            if fill > 0 {
                len * scale > fill as usize
            } else {
                bytes * scale > size_limit(fill)
            }
        };
        if !self.quicklist && exceeds(1) {
            self.quicklist = true;
        } else if self.quicklist && !exceeds(2) {
            self.quicklist = false;
        }
        let cap = self.nodes.capacity();
        if cap > 16 && self.nodes.len() < cap / 4 {
            // Keeps room to grow again without reallocating at once (amortised O(1)).
            self.nodes.shrink_to(self.nodes.len() * 2);
        }
    }

    fn added(&mut self, len: usize) {
        self.len += 1;
        self.listpack_bytes += listpack_entry_size(len);
    }

    fn removed(&mut self, len: usize) {
        self.len -= 1;
        self.listpack_bytes -= listpack_entry_size(len);
    }

    pub fn push_front(&mut self, e: &[u8]) {
        self.push(e, true);
    }

    pub fn push_back(&mut self, e: &[u8]) {
        self.push(e, false);
    }

    /// Pushes an element popped elsewhere (LMOVE, RPOPLPUSH).
    pub fn push_owned(&mut self, e: Element, front: bool) {
        self.push(&e, front);
    }

    fn push(&mut self, e: &[u8], front: bool) {
        self.added(e.len());
        let size = encoded_size(e.len());
        let node_count = self.nodes.len();
        let edge = if front { self.nodes.front_mut() } else { self.nodes.back_mut() };
        if let Some(node) = edge {
            let (cap, live) = (node.buf.len(), node.live_len());
            let gap = if front { node.start as usize } else { cap - node.end as usize };
            if gap < size && cap < NODE_BYTES && live + size <= NODE_BYTES {
                // Grows the node (doubling, so pushes stay amortised O(1)), all new room on
                // the side being pushed; the other side keeps its gap where it fits.
                let other_gap = cap - live - gap;
                let new_cap = (cap * 2).max(live + size + other_gap).min(NODE_BYTES).max(live + size);
                let keep = other_gap.min(new_cap - live - size);
                let mut buf = vec![0; new_cap].into_boxed_slice();
                let at = if front { new_cap - keep - live } else { keep };
                buf[at..at + live].copy_from_slice(node.live());
                self.buffer_bytes = self.buffer_bytes - alloc_size(cap) + alloc_size(new_cap);
                node.buf = buf;
                node.start = at as u32;
                node.end = (at + live) as u32;
            }
            let gap = if front { node.start as usize } else { node.buf.len() - node.end as usize };
            if gap >= size {
                if front {
                    node.start -= size as u32;
                    let at = node.start as usize;
                    write_entry(&mut node.buf[at..at + size], e);
                } else {
                    let at = node.end as usize;
                    write_entry(&mut node.buf[at..at + size], e);
                    node.end += size as u32;
                }
                node.count += 1;
                return;
            }
        }
        let cap = if node_count == 0 { size } else { size.max(LATER_NODE_START) };
        let mut node = Node::empty(cap, front);
        if front {
            node.start -= size as u32;
        } else {
            node.end += size as u32;
        }
        let at = node.start as usize;
        write_entry(&mut node.buf[at..at + size], e);
        node.count = 1;
        self.buffer_bytes += alloc_size(cap);
        if self.nodes.capacity() == 0 {
            // Most lists are one node: no room reserved for more.
            self.nodes.reserve_exact(1);
        }
        if front {
            self.nodes.push_front(node);
        } else {
            self.nodes.push_back(node);
        }
    }

    pub fn pop(&mut self, front: bool) -> Option<Element> {
        let node = if front { self.nodes.front_mut() } else { self.nodes.back_mut() }?;
        let element: Element = if front {
            let (data, len, next) = entry_at(&node.buf, node.start as usize);
            node.start = next as u32;
            node.buf[data..data + len].into()
        } else {
            let (data, len, entry) = entry_before(&node.buf, node.end as usize);
            node.end = entry as u32;
            node.buf[data..data + len].into()
        };
        node.count -= 1;
        if node.count == 0 {
            let cap = node.buf.len();
            if front {
                self.nodes.pop_front();
            } else {
                self.nodes.pop_back();
            }
            self.buffer_bytes -= alloc_size(cap);
        }
        self.removed(element.len());
        Some(element)
    }

    /// The node holding the element at `index` and the entry's byte offset in it, found by
    /// walking node counts from the nearer end of the list.
    fn locate(&self, index: usize) -> (usize, usize) {
        debug_assert!(index < self.len);
        if index < self.len / 2 {
            let mut i = index;
            for (n, node) in self.nodes.iter().enumerate() {
                if i < node.count as usize {
                    return (n, node.offset_of(i as u32));
                }
                i -= node.count as usize;
            }
        } else {
            let mut from_end = self.len - 1 - index;
            for (n, node) in self.nodes.iter().enumerate().rev() {
                if from_end < node.count as usize {
                    return (n, node.offset_of(node.count - 1 - from_end as u32));
                }
                from_end -= node.count as usize;
            }
        }
        unreachable!("index {index} is within the list's {} elements", self.len)
    }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        if index >= self.len {
            return None;
        }
        let (n, pos) = self.locate(index);
        Some(self.nodes[n].element(pos))
    }

    /// Replaces node `n` by nodes holding `content` (whole entries, `count` of them), split
    /// at entry boundaries so that no node of several entries outgrows [`NODE_BYTES`].
    fn replace_node(&mut self, n: usize, content: &[u8], count: u32) {
        let old = self.nodes.remove(n).expect("node index in range");
        self.buffer_bytes -= alloc_size(old.buf.len());
        let mut pieces = Vec::new();
        let (mut piece_start, mut pos, mut piece_count) = (0, 0, 0);
        while pos < content.len() {
            let next = entry_at(content, pos).2;
            if piece_count > 0 && next - piece_start > NODE_BYTES {
                pieces.push(Node::with_content(&content[piece_start..pos], piece_count));
                (piece_start, piece_count) = (pos, 0);
            }
            piece_count += 1;
            pos = next;
        }
        if piece_count > 0 {
            pieces.push(Node::with_content(&content[piece_start..], piece_count));
        }
        debug_assert_eq!(pieces.iter().map(|p| p.count).sum::<u32>(), count);
        for (i, node) in pieces.into_iter().enumerate() {
            self.buffer_bytes += alloc_size(node.buf.len());
            self.nodes.insert(n + i, node);
        }
    }

    /// Node `n`'s entries with `value` written in place of the bytes `at` (an entry to
    /// replace, or an empty range to insert before).
    fn spliced(&self, n: usize, at: std::ops::Range<usize>, value: &[u8]) -> Vec<u8> {
        let node = &self.nodes[n];
        let mut content = Vec::with_capacity(node.live_len() + encoded_size(value.len()));
        content.extend_from_slice(&node.buf[node.start as usize..at.start]);
        let pos = content.len();
        content.resize(pos + encoded_size(value.len()), 0);
        write_entry(&mut content[pos..], value);
        content.extend_from_slice(&node.buf[at.end..node.end as usize]);
        content
    }

    /// Replaces the element at `index`; false if out of range.
    pub fn set(&mut self, index: usize, value: &[u8]) -> bool {
        if index >= self.len {
            return false;
        }
        let (n, pos) = self.locate(index);
        let (_, old_len, next) = entry_at(&self.nodes[n].buf, pos);
        let content = self.spliced(n, pos..next, value);
        let count = self.nodes[n].count;
        self.replace_node(n, &content, count);
        self.listpack_bytes = self.listpack_bytes - listpack_entry_size(old_len) + listpack_entry_size(value.len());
        true
    }

    /// Inserts `value` so that it ends up at `index` (0..=len).
    pub fn insert(&mut self, index: usize, value: &[u8]) {
        if index == 0 || index >= self.len {
            return self.push(value, index == 0);
        }
        let (n, pos) = self.locate(index);
        let content = self.spliced(n, pos..pos, value);
        let count = self.nodes[n].count + 1;
        self.replace_node(n, &content, count);
        self.added(value.len());
    }

    pub fn iter(&self) -> Iter<'_> {
        match (self.nodes.front(), self.nodes.back()) {
            (Some(first), Some(last)) => Iter {
                nodes: &self.nodes,
                front: (0, first.start as usize),
                back: (self.nodes.len() - 1, last.end as usize),
                remaining: self.len,
            },
            _ => Iter { nodes: &self.nodes, front: (0, 0), back: (0, 0), remaining: 0 },
        }
    }

    /// Elements `start..=end` (already clamped to the list).
    pub fn range(&self, start: usize, end: usize) -> Iter<'_> {
        let front = self.locate(start);
        let (n, pos) = self.locate(end);
        let back = (n, entry_at(&self.nodes[n].buf, pos).2);
        Iter { nodes: &self.nodes, front, back, remaining: end - start + 1 }
    }

    /// Drops `k` elements from one end, whole nodes where it can, else by moving the edge
    /// node's offset; a node left mostly empty is shrunk so memory follows the list down.
    fn drop_from(&mut self, mut k: usize, front: bool) {
        while k > 0 {
            let node = if front { self.nodes.front_mut() } else { self.nodes.back_mut() };
            let node = node.expect("k is within the list");
            let take = k.min(node.count as usize);
            let mut lp_bytes = 0;
            for _ in 0..take {
                let len = if front {
                    let (_, len, next) = entry_at(&node.buf, node.start as usize);
                    node.start = next as u32;
                    len
                } else {
                    let (_, len, entry) = entry_before(&node.buf, node.end as usize);
                    node.end = entry as u32;
                    len
                };
                lp_bytes += listpack_entry_size(len);
            }
            node.count -= take as u32;
            let (count, cap, live) = (node.count, node.buf.len(), node.live_len());
            self.len -= take;
            self.listpack_bytes -= lp_bytes;
            k -= take;
            let n = if front { 0 } else { self.nodes.len() - 1 };
            if count == 0 {
                self.nodes.remove(n);
                self.buffer_bytes -= alloc_size(cap);
            } else if live < cap / 4 {
                let content = self.nodes[n].live().to_vec();
                self.replace_node(n, &content, count);
            }
        }
    }

    /// Keeps only the elements `start..=end`; an empty range (start > end) empties the list.
    pub fn trim(&mut self, start: usize, end: usize) {
        let len = self.len;
        let (start, end) = if start > end || start >= len { (len, len) } else { (start, end.min(len - 1) + 1) };
        self.drop_from(len - end, false);
        self.drop_from(start, true);
    }

    /// Removes up to `limit` elements equal to `value` (0 = all), from the head or, with
    /// `from_tail`, from the tail; returns how many were removed.
    pub fn remove_matching(&mut self, value: &[u8], limit: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let mut n = if from_tail { self.nodes.len() } else { 0 };
        loop {
            if limit != 0 && removed == limit {
                break;
            }
            if from_tail {
                if n == 0 {
                    break;
                }
                n -= 1;
            } else if n >= self.nodes.len() {
                break;
            }
            let node = &self.nodes[n];
            let mut spans = node.entry_spans();
            if from_tail {
                spans.reverse();
            }
            let mut doomed = Vec::new();
            for &(s, e) in &spans {
                if limit != 0 && removed + doomed.len() == limit {
                    break;
                }
                let (data, len, _) = entry_at(&node.buf, s);
                if &node.buf[data..data + len] == value {
                    doomed.push((s, e));
                }
            }
            if doomed.is_empty() {
                n += usize::from(!from_tail);
                continue;
            }
            doomed.sort_unstable();
            let mut content = Vec::with_capacity(node.live_len());
            let mut pos = node.start as usize;
            for &(s, e) in &doomed {
                content.extend_from_slice(&node.buf[pos..s]);
                pos = e;
            }
            content.extend_from_slice(&node.buf[pos..node.end as usize]);
            let count = node.count - doomed.len() as u32;
            for _ in 0..doomed.len() {
                self.removed(value.len());
            }
            removed += doomed.len();
            if count == 0 {
                let cap = self.nodes.remove(n).expect("node index in range").buf.len();
                self.buffer_bytes -= alloc_size(cap);
            } else {
                self.replace_node(n, &content, count);
                n += usize::from(!from_tail);
            }
        }
        removed
    }
}

/// Elements front to back (or back to front with `rev`), reading the nodes in place.
pub struct Iter<'a> {
    nodes: &'a VecDeque<Node>,
    /// Node and byte offset of the next entry from the front.
    front: (usize, usize),
    /// Node and byte offset just past the next entry from the back.
    back: (usize, usize),
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let nodes = self.nodes;
        while self.front.1 >= nodes[self.front.0].end as usize {
            self.front.0 += 1;
            self.front.1 = nodes[self.front.0].start as usize;
        }
        let buf = &nodes[self.front.0].buf;
        let (data, len, next) = entry_at(buf, self.front.1);
        self.front.1 = next;
        Some(&buf[data..data + len])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let nodes = self.nodes;
        while self.back.1 <= nodes[self.back.0].start as usize {
            self.back.0 -= 1;
            self.back.1 = nodes[self.back.0].end as usize;
        }
        let buf = &nodes[self.back.0].buf;
        let (data, len, entry) = entry_before(buf, self.back.1);
        self.back.1 = entry;
        Some(&buf[data..data + len])
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;

    fn limits(fill: i64) -> EncodingLimits {
        EncodingLimits { list_max_listpack_size: fill, ..Default::default() }
    }

    /// Checks the bookkeeping against the nodes themselves: counts, both reading directions,
    /// the node size limit and the accounted buffer bytes.
    fn check(l: &ListValue) {
        let mut total = 0;
        let mut buffers = 0;
        for node in &l.nodes {
            assert!(node.count > 0, "no empty node is kept");
            let forward: Vec<&[u8]> = node.entry_spans().iter().map(|&(s, _)| node.element(s)).collect();
            assert_eq!(forward.len(), node.count as usize);
            let mut backward = Vec::new();
            let mut pos = node.end as usize;
            while pos > node.start as usize {
                let (data, len, entry) = entry_before(&node.buf, pos);
                backward.push(&node.buf[data..data + len]);
                pos = entry;
            }
            backward.reverse();
            assert_eq!(forward, backward);
            assert!(node.count == 1 || node.live_len() <= NODE_BYTES, "a node of several entries fits the limit");
            total += node.count as usize;
            buffers += alloc_size(node.buf.len());
        }
        assert_eq!(total, l.len());
        assert_eq!(buffers, l.buffer_bytes);
        let expected_lp = LISTPACK_OVERHEAD + l.iter().map(|e| listpack_entry_size(e.len())).sum::<usize>();
        assert_eq!(expected_lp, l.listpack_bytes);
    }

    #[test]
    fn varints_read_both_ways() {
        for len in [0, 1, 127, 128, 16383, 16384, 70000] {
            let e = vec![7u8; len];
            let mut buf = vec![0; encoded_size(len)];
            write_entry(&mut buf, &e);
            assert_eq!(entry_at(&buf, 0), (varint_len(len), len, buf.len()));
            assert_eq!(entry_before(&buf, buf.len()), (varint_len(len), len, 0));
        }
    }

    #[test]
    fn memory_follows_changes() {
        let mut l = ListValue::new();
        l.push_back(b"a");
        l.push_front(&[b'x'; 100]);
        check(&l);
        l.set(0, b"yy");
        check(&l);
        l.pop(true);
        l.pop(false);
        assert_eq!(l.buffer_bytes, 0);
        assert_eq!(l.listpack_bytes, LISTPACK_OVERHEAD);
    }

    #[test]
    fn a_long_list_packs_its_elements() {
        let mut l = ListValue::new();
        for i in 0..100_000u32 {
            l.push_front(format!("{i:064}").as_bytes());
        }
        check(&l);
        // 64 bytes of data and two length bytes per element, plus a little for node headers
        // and the last node's free space.
        assert!(l.memory() < 100_000 * 70, "{} bytes", l.memory());
        assert_eq!(l.get(0), Some(format!("{:064}", 99_999).as_bytes()));
        assert_eq!(l.get(99_999), Some(format!("{:064}", 0).as_bytes()));
    }

    #[test]
    fn encoding_by_entries_and_bytes() {
        let mut l = ListValue::new();
        for _ in 0..5 {
            l.push_back(b"v");
        }
        l.update_encoding(&limits(4));
        assert_eq!(l.encoding(), "quicklist");
        l.trim(0, 2);
        l.update_encoding(&limits(4));
        assert_eq!(l.encoding(), "quicklist", "3 entries are more than half of 4");
        l.pop(true);
        l.update_encoding(&limits(4));
        assert_eq!(l.encoding(), "listpack");
        l.push_back(&[b'x'; 9000]);
        l.update_encoding(&limits(-2));
        assert_eq!(l.encoding(), "quicklist");
    }

    #[test]
    fn remove_and_trim() {
        let mut l = ListValue::new();
        for e in [b"a", b"b", b"a", b"c", b"a"] {
            l.push_back(e);
        }
        assert_eq!(l.remove_matching(b"a", 1, true), 1);
        assert_eq!(l.iter().collect::<Vec<_>>(), [b"a", b"b", b"a", b"c"]);
        assert_eq!(l.remove_matching(b"a", 0, false), 2);
        assert_eq!(l.iter().collect::<Vec<_>>(), [b"b", b"c"]);
        l.trim(1, 5);
        assert_eq!(l.iter().collect::<Vec<_>>(), [b"c"]);
        l.trim(1, 0);
        assert!(l.is_empty());
        check(&l);
    }

    /// Every operation, at random, against a `VecDeque` model; elements of all sizes so that
    /// nodes fill, split, hold one big element, and empty.
    #[test]
    fn random_operations_match_a_deque() {
        let mut rng = Rng::for_test("random_operations_match_a_deque", "LIST_SEED");
        for _round in 0..20 {
            let mut l = ListValue::new();
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..3000 {
                let len = match rng.next_u64() % 10 {
                    0 => (rng.next_u64() % 20_000) as usize,
                    1..=3 => (rng.next_u64() % 300) as usize,
                    _ => (rng.next_u64() % 8) as usize,
                };
                let value: Vec<u8> = (0..len).map(|i| b"abc"[(i + step) % 3]).collect();
                let index = |n: usize, rng: &mut Rng| (rng.next_u64() % n.max(1) as u64) as usize;
                match rng.next_u64() % 12 {
                    0..=2 => {
                        l.push_front(&value);
                        model.push_front(value);
                    }
                    3..=5 => {
                        l.push_back(&value);
                        model.push_back(value);
                    }
                    6 => {
                        let front = rng.next_u64().is_multiple_of(2);
                        let got = l.pop(front).map(|e| e.to_vec());
                        let want = if front { model.pop_front() } else { model.pop_back() };
                        assert_eq!(got, want);
                    }
                    7 if !model.is_empty() => {
                        let i = index(model.len(), &mut rng);
                        assert!(l.set(i, &value));
                        model[i] = value;
                    }
                    8 => {
                        let i = index(model.len() + 1, &mut rng);
                        l.insert(i, &value);
                        model.insert(i, value);
                    }
                    9 if !model.is_empty() => {
                        let (a, b) = (index(model.len(), &mut rng), index(model.len(), &mut rng));
                        let (s, e) = (a.min(b), a.max(b));
                        l.trim(s, e);
                        model = model.range(s..=e).cloned().collect();
                    }
                    10 if !model.is_empty() => {
                        let target = model[index(model.len(), &mut rng)].clone();
                        let limit = (rng.next_u64() % 3) as usize;
                        let from_tail = rng.next_u64().is_multiple_of(2);
                        let got = l.remove_matching(&target, limit, from_tail);
                        let mut removed = 0;
                        let mut kept: Vec<Vec<u8>> = Vec::new();
                        let items: Vec<Vec<u8>> = if from_tail {
                            model.iter().rev().cloned().collect()
                        } else {
                            model.iter().cloned().collect()
                        };
                        for item in items {
                            if item == target && (limit == 0 || removed < limit) {
                                removed += 1;
                            } else {
                                kept.push(item);
                            }
                        }
                        if from_tail {
                            kept.reverse();
                        }
                        model = kept.into();
                        assert_eq!(got, removed);
                    }
                    _ if !model.is_empty() => {
                        let (a, b) = (index(model.len(), &mut rng), index(model.len(), &mut rng));
                        let (s, e) = (a.min(b), a.max(b));
                        let got: Vec<&[u8]> = l.range(s, e).rev().collect();
                        let want: Vec<&[u8]> = model.range(s..=e).rev().map(Vec::as_slice).collect();
                        assert_eq!(got, want);
                        assert_eq!(l.get(a), Some(model[a].as_slice()));
                    }
                    _ => {}
                }
                assert_eq!(l.len(), model.len());
                if step % 100 == 0 {
                    check(&l);
                    assert!(l.iter().eq(model.iter().map(Vec::as_slice)));
                }
            }
            check(&l);
            assert!(l.iter().rev().eq(model.iter().rev().map(Vec::as_slice)));
        }
    }
}
