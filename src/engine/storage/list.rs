//! List values: a double-ended queue of owned elements.
//!
//! Redis keeps small lists in one listpack and bigger ones in a quicklist; here the storage is
//! the same `VecDeque` either way and only the reported encoding follows Redis's rule (the
//! `list-max-listpack-size` limit on entries or bytes), so OBJECT ENCODING answers as Redis
//! would. Memory is accounted incrementally, so [`ListValue::memory`] is O(1).

use super::entry::alloc_size;
use super::EncodingLimits;
use std::collections::VecDeque;

/// One element: its bytes in a single allocation of exactly their length.
pub type Element = Box<[u8]>;

#[derive(Clone, Default)]
pub struct ListValue {
    items: VecDeque<Element>,
    /// Heap bytes of the elements' own allocations (the deque's buffer is added in `memory`).
    element_bytes: usize,
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
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Heap bytes: the deque's buffer plus every element's allocation.
    pub fn memory(&self) -> usize {
        alloc_size(self.items.capacity() * std::mem::size_of::<Element>()) + self.element_bytes
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
        let (len, bytes) = (self.items.len(), self.listpack_bytes);
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
        let cap = self.items.capacity();
        if cap > 64 && self.items.len() < cap / 4 {
            // Keeps room to grow again without reallocating at once (amortised O(1)).
            self.items.shrink_to(self.items.len() * 2);
        }
    }

    fn added(&mut self, e: &[u8]) {
        self.element_bytes += alloc_size(e.len());
        self.listpack_bytes += listpack_entry_size(e.len());
    }

    fn removed(&mut self, e: &[u8]) {
        self.element_bytes -= alloc_size(e.len());
        self.listpack_bytes -= listpack_entry_size(e.len());
    }

    pub fn push_front(&mut self, e: &[u8]) {
        self.added(e);
        self.items.push_front(e.into());
    }

    pub fn push_back(&mut self, e: &[u8]) {
        self.added(e);
        self.items.push_back(e.into());
    }

    /// Pushes an element already owned (LMOVE hands the popped element over without a copy).
    pub fn push_owned(&mut self, e: Element, front: bool) {
        self.added(&e);
        if front {
            self.items.push_front(e);
        } else {
            self.items.push_back(e);
        }
    }

    pub fn pop(&mut self, front: bool) -> Option<Element> {
        let e = if front { self.items.pop_front() } else { self.items.pop_back() }?;
        self.removed(&e);
        Some(e)
    }

    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.items.get(index).map(|e| &e[..])
    }

    /// Replaces the element at `index`; false if out of range.
    pub fn set(&mut self, index: usize, value: &[u8]) -> bool {
        let Some(old) = self.items.get(index) else {
            return false;
        };
        let (old_alloc, old_lp) = (alloc_size(old.len()), listpack_entry_size(old.len()));
        self.element_bytes = self.element_bytes - old_alloc + alloc_size(value.len());
        self.listpack_bytes = self.listpack_bytes - old_lp + listpack_entry_size(value.len());
        self.items[index] = value.into();
        true
    }

    /// Inserts `value` so that it ends up at `index` (0..=len).
    pub fn insert(&mut self, index: usize, value: &[u8]) {
        self.added(value);
        self.items.insert(index, value.into());
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|e| &e[..])
    }

    /// Elements `start..=end` (already clamped to the list).
    pub fn range(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.items.range(start..=end).map(|e| &e[..])
    }

    /// Keeps only the elements `start..=end`; an empty range (start > end) empties the list.
    pub fn trim(&mut self, start: usize, end: usize) {
        let len = self.items.len();
        let (start, end) = if start > end || start >= len { (len, len) } else { (start, end.min(len - 1) + 1) };
        for e in self.items.drain(end..) {
            self.element_bytes -= alloc_size(e.len());
            self.listpack_bytes -= listpack_entry_size(e.len());
        }
        for e in self.items.drain(..start) {
            self.element_bytes -= alloc_size(e.len());
            self.listpack_bytes -= listpack_entry_size(e.len());
        }
    }

    /// Removes up to `limit` elements equal to `value` (0 = all), from the head or, with
    /// `from_tail`, from the tail; returns how many were removed.
    pub fn remove_matching(&mut self, value: &[u8], limit: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let len = self.items.len();
        let mut i = if from_tail { len } else { 0 };
        loop {
            if limit != 0 && removed == limit {
                break;
            }
            let index = if from_tail {
                if i == 0 {
                    break;
                }
                i -= 1;
                i
            } else {
                if i >= self.items.len() {
                    break;
                }
                i
            };
            if &self.items[index][..] == value {
                let e = self.items.remove(index).expect("index checked above");
                self.removed(&e);
                removed += 1;
            } else if !from_tail {
                i += 1;
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(fill: i64) -> EncodingLimits {
        EncodingLimits { list_max_listpack_size: fill, ..Default::default() }
    }

    #[test]
    fn memory_follows_changes() {
        let mut l = ListValue::new();
        l.push_back(b"a");
        l.push_front(&[b'x'; 100]);
        assert_eq!(l.element_bytes, alloc_size(1) + alloc_size(100));
        l.set(0, b"yy");
        assert_eq!(l.element_bytes, alloc_size(1) + alloc_size(2));
        l.pop(true);
        l.pop(false);
        assert_eq!(l.element_bytes, 0);
        assert_eq!(l.listpack_bytes, LISTPACK_OVERHEAD);
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
    }
}
