//! The hash table of big sets and hashes: items in one dense vector, found through an index
//! of 8-byte words.
//!
//! A word holds the item's position in the vector (low 32 bits, plus one so that 0 means
//! empty) and the top 32 bits of its hash. The index is open addressing with linear probing
//! over a power-of-two array at most 3/4 full, and a word's home slot is the top bits of its
//! hash, so a lookup reads its home word, compares hash bits there, and touches only the item
//! it is after: two cache misses where `IndexMap` (hashbrown's control bytes, then its index
//! slot, then the entry) takes three. Growing rebuilds the index from the words alone, never
//! reading an item. Removal moves the last item into the hole (so positions stay dense for
//! random picks and the positional SSCAN/HSCAN cursor) and closes the probe run by backward
//! shifting, so there are no tombstones.
//!
//! Because the first load of a lookup is a word whose address follows from the hash alone, a
//! pipelined batch can prefetch the words of all its members at once, then their items
//! ([`DenseTable::prefetch`]).

use super::entry::alloc_size;
use std::hash::BuildHasher;

/// What a table item is found by.
pub trait Keyed {
    fn key(&self) -> &[u8];
}

/// The process-wide member hasher, seeded at random (against hash flooding).
fn hasher() -> &'static foldhash::fast::RandomState {
    static HASHER: std::sync::OnceLock<foldhash::fast::RandomState> = std::sync::OnceLock::new();
    HASHER.get_or_init(foldhash::fast::RandomState::default)
}

#[inline]
pub fn hash_member(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

/// Smallest index a table with items holds.
const MIN_SLOTS: usize = 8;

#[derive(Clone)]
pub struct DenseTable<T> {
    items: Vec<T>,
    words: Box<[u64]>,
}

impl<T> Default for DenseTable<T> {
    fn default() -> Self {
        DenseTable { items: Vec::new(), words: Box::default() }
    }
}

#[inline]
fn word(hash_hi: u32, index: usize) -> u64 {
    (u64::from(hash_hi) << 32) | (index as u64 + 1)
}

#[inline]
fn word_index(w: u64) -> usize {
    (w as u32 - 1) as usize
}

/// Index slots for `n` items: a power of two at most 3/4 full.
fn slots_for(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n * 4).div_ceil(3).next_power_of_two().max(MIN_SLOTS)
    }
}

impl<T: Keyed> DenseTable<T> {
    pub fn with_capacity(n: usize) -> Self {
        assert!(n < u32::MAX as usize, "a collection holds fewer than 2^32 items");
        DenseTable { items: Vec::with_capacity(n), words: vec![0; slots_for(n)].into_boxed_slice() }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Heap bytes of the item vector and the index (not what the items themselves own).
    pub fn heap_bytes(&self) -> usize {
        alloc_size(self.items.capacity() * std::mem::size_of::<T>()) + alloc_size(self.words.len() * 8)
    }

    #[inline]
    fn home(&self, hash_hi: u32) -> usize {
        // Top bits of the hash: the slot count is a power of two of at most 2^32.
        let bits = self.words.len().trailing_zeros();
        ((u64::from(hash_hi) << bits) >> 32) as usize
    }

    /// The slot of the word for `key` (Ok) or the empty slot that ends its probe run (Err).
    #[inline]
    fn probe(&self, key: &[u8], hash: u64) -> Result<usize, usize> {
        let hash_hi = (hash >> 32) as u32;
        let mask = self.words.len() - 1;
        let mut i = self.home(hash_hi);
        loop {
            let w = self.words[i];
            if w == 0 {
                return Err(i);
            }
            if (w >> 32) as u32 == hash_hi && self.items[word_index(w)].key() == key {
                return Ok(i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Position of the item with `key`.
    #[inline]
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        if self.items.is_empty() {
            return None;
        }
        self.probe(key, hash_member(key)).ok().map(|slot| word_index(self.words[slot]))
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    pub fn get(&self, key: &[u8]) -> Option<&T> {
        self.find(key).map(|i| &self.items[i])
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        self.find(key).map(|i| &mut self.items[i])
    }

    /// The item at position `i` (< len).
    pub fn at(&self, i: usize) -> &T {
        &self.items[i]
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// The item with `key`, made by `make` and added if absent; true if it was added.
    #[inline]
    pub fn find_or_insert(&mut self, key: &[u8], make: impl FnOnce() -> T) -> (&mut T, bool) {
        let hash = hash_member(key);
        match self.probe_for_insert(key, hash) {
            Ok(slot) => (&mut self.items[word_index(self.words[slot])], false),
            Err(slot) => {
                let index = self.push_at(slot, hash, make());
                (&mut self.items[index], true)
            }
        }
    }

    /// Adds `item` if no item has its key; returns whether it was added.
    pub fn insert(&mut self, item: T) -> bool {
        let hash = hash_member(item.key());
        match self.probe_for_insert(item.key(), hash) {
            Ok(_) => false,
            Err(slot) => {
                self.push_at(slot, hash, item);
                true
            }
        }
    }

    /// [`probe`](Self::probe) after making room for one more item.
    #[inline]
    fn probe_for_insert(&mut self, key: &[u8], hash: u64) -> Result<usize, usize> {
        if self.items.len() + 1 > self.words.len() / 4 * 3 {
            self.grow();
        }
        self.probe(key, hash)
    }

    /// Appends `item`, whose key hashes to `hash`, with its word in the empty `slot`.
    #[inline]
    fn push_at(&mut self, slot: usize, hash: u64, item: T) -> usize {
        let index = self.items.len();
        assert!(index < u32::MAX as usize - 1, "a collection holds fewer than 2^32 items");
        self.words[slot] = word((hash >> 32) as u32, index);
        self.items.push(item);
        index
    }

    /// Doubles the index (or makes the first one), rebuilt from the words alone.
    fn grow(&mut self) {
        let slots = (self.words.len() * 2).max(MIN_SLOTS);
        if self.items.capacity() < slots / 4 * 3 {
            self.items.reserve(slots / 4 * 3 - self.items.len());
        }
        self.rebuild(slots);
    }

    fn rebuild(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.words, vec![0; slots].into_boxed_slice());
        let mask = slots - 1;
        for w in old.iter().copied().filter(|&w| w != 0) {
            let mut i = self.home((w >> 32) as u32);
            while self.words[i] != 0 {
                i = (i + 1) & mask;
            }
            self.words[i] = w;
        }
    }

    /// Removes the item with `key`; the last item takes its position.
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        let slot = self.probe(key, hash_member(key)).ok()?;
        let index = word_index(self.words[slot]);
        self.clear_slot(slot);
        let last = self.items.len() - 1;
        if index != last {
            // The last item moves into the hole: its word must say so.
            let moved = self.probe(self.items[last].key(), hash_member(self.items[last].key()));
            let moved = moved.expect("every item has a word");
            let hash_hi = (self.words[moved] >> 32) as u32;
            self.words[moved] = word(hash_hi, index);
        }
        let item = self.items.swap_remove(index);
        Some(item)
    }

    /// Empties `slot` and shifts the words after it back, so no probe run has a hole.
    fn clear_slot(&mut self, mut hole: usize) {
        let mask = self.words.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let w = self.words[j];
            if w == 0 {
                break;
            }
            let home = self.home((w >> 32) as u32);
            // The word at j may fill the hole if the hole lies on its probe path (home..j).
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.words[hole] = w;
                hole = j;
            }
        }
        self.words[hole] = 0;
    }

    /// Gives memory back once the table is less than an eighth full (Redis resizes its dicts
    /// at 10 % fill), keeping room for twice the items. Positions do not change.
    pub fn shrink_if_sparse(&mut self) {
        let len = self.items.len();
        if self.items.capacity() > 64 && len * 8 < self.items.capacity() {
            self.items.shrink_to(len * 2);
            let slots = slots_for(len * 2);
            if slots < self.words.len() {
                self.rebuild(slots);
            }
        }
    }

    /// Starts loading what a lookup of `hash` reads: its index word or, with `item` (for a
    /// batch, once the words have arrived), the item that word points at.
    #[inline]
    pub fn prefetch(&self, hash: u64, item: bool) {
        if item {
            self.prefetch_item(hash);
        } else {
            self.prefetch_home(hash);
        }
    }

    /// Starts loading the index word a lookup of `hash` reads first.
    #[inline]
    fn prefetch_home(&self, hash: u64) {
        if !self.words.is_empty() {
            super::table::prefetch(&self.words[self.home((hash >> 32) as u32)]);
        }
    }

    /// Starts loading the item a lookup of `hash` will compare (call after
    /// `prefetch_home` for a batch, when its word has arrived).
    #[inline]
    fn prefetch_item(&self, hash: u64) {
        if self.words.is_empty() {
            return;
        }
        let hash_hi = (hash >> 32) as u32;
        let mask = self.words.len() - 1;
        let mut i = self.home(hash_hi);
        for _ in 0..8 {
            let w = self.words[i];
            if w == 0 {
                return;
            }
            if (w >> 32) as u32 == hash_hi {
                super::table::prefetch(&self.items[word_index(w)]);
                return;
            }
            i = (i + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::Rng;
    use std::collections::HashMap;

    impl Keyed for Vec<u8> {
        fn key(&self) -> &[u8] {
            self
        }
    }

    /// Every item is found through its word, every word points at an item with those hash
    /// bits, and no probe run has a hole between a word and its home.
    fn check(t: &DenseTable<Vec<u8>>) {
        let words: Vec<u64> = t.words.iter().copied().filter(|&w| w != 0).collect();
        assert_eq!(words.len(), t.len());
        for (i, item) in t.items.iter().enumerate() {
            assert_eq!(t.find(item), Some(i));
        }
        assert!(t.len() <= t.words.len() / 4 * 3 || t.words.is_empty());
    }

    #[test]
    fn random_operations_match_a_map() {
        let mut rng = Rng::for_test("random_operations_match_a_map", "DENSE_SEED");
        for round in 0..10 {
            let mut t: DenseTable<Vec<u8>> = DenseTable::default();
            let mut model: HashMap<Vec<u8>, ()> = HashMap::new();
            let keyspace = 50 + round * 400;
            for step in 0..20_000 {
                let key = format!("m{}", rng.next_u64() % keyspace).into_bytes();
                match rng.next_u64() % 4 {
                    0 | 1 => assert_eq!(t.insert(key.clone()), model.insert(key, ()).is_none()),
                    2 => {
                        assert_eq!(t.swap_remove(&key), model.remove(&key).map(|_| key.clone()));
                        t.shrink_if_sparse();
                    }
                    _ => assert_eq!(t.contains(&key), model.contains_key(&key)),
                }
                assert_eq!(t.len(), model.len());
                if step % 1000 == 0 {
                    check(&t);
                }
            }
            check(&t);
            for k in model.keys() {
                assert!(t.contains(k));
            }
        }
    }

    #[test]
    fn shrinks_after_mass_removal() {
        let mut t: DenseTable<Vec<u8>> = DenseTable::default();
        for i in 0..10_000 {
            t.insert(format!("{i}").into_bytes());
        }
        let full = t.heap_bytes();
        for i in 0..9_990 {
            t.swap_remove(format!("{i}").as_bytes());
            t.shrink_if_sparse();
        }
        check(&t);
        assert!(t.heap_bytes() * 20 < full, "{} of {full} bytes kept", t.heap_bytes());
    }
}
