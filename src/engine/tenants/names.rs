//! Interned names (of tenants, of key classes): name → dense id and back.
//!
//! Every keyed command looks up the name its key's pattern captured, so this lookup is on the
//! hot path. A general hash map spends most of its time hashing the name byte by byte and
//! calling `memcmp`. Here a name of up to 16 bytes is read as two words ([`NameWords`]), which
//! are at once its hash input and its identity: a lookup is two or four loads, one multiply,
//! and word comparisons against an open-addressing table of ids.

/// A name as its length and two words that hold all its bytes when it has 16 or fewer, so
/// short names are equal exactly when their words are. Longer names put their first and last
/// 8 bytes in the words and must then be compared whole.
#[derive(Clone, Copy, PartialEq, Eq)]
struct NameWords {
    len: usize,
    head: u64,
    tail: u64,
}

impl NameWords {
    #[inline]
    fn of(name: &[u8]) -> NameWords {
        let n = name.len();
        let word = |at: usize| u64::from_le_bytes(name[at..at + 8].try_into().expect("8 bytes"));
        let half = |at: usize| u32::from_le_bytes(name[at..at + 4].try_into().expect("4 bytes")) as u64;
        // Each form covers every byte: first and last 8, first and last 4, or bytes 0, n/2, n-1.
        let (head, tail) = match n {
            0 => (0, 0),
            1..=3 => (name[0] as u64 | (name[n / 2] as u64) << 8 | (name[n - 1] as u64) << 16, 0),
            4..=7 => (half(0) | half(n - 4) << 32, 0),
            _ => (word(0), word(n - 8)),
        };
        NameWords { len: n, head, tail }
    }

    /// Whether equal words mean equal names.
    #[inline]
    fn exact(&self) -> bool {
        self.len <= 16
    }

    /// The words folded with a per-process random seed (as foldhash does), so clients that
    /// choose key names cannot choose collisions.
    #[inline]
    fn hash(&self, seed: u64) -> u64 {
        let a = self.head ^ seed;
        let b = self.tail ^ (self.len as u64).rotate_left(32) ^ seed.rotate_left(17);
        let product = (a as u128).wrapping_mul((b | 1) as u128);
        (product as u64) ^ ((product >> 64) as u64)
    }
}

/// Names by dense id (0, 1, 2 ... in order of first sight), and ids by name.
pub struct NameIndex {
    names: Vec<Box<[u8]>>,
    /// Open addressing with linear probing, at most half full. A slot holds the name's words
    /// next to its id, so a probe reads one cache line.
    slots: Vec<Slot>,
    seed: u64,
}

#[derive(Clone, Copy)]
struct Slot {
    words: NameWords,
    /// The id + 1; 0 marks an empty slot.
    id: u32,
}

const EMPTY: Slot = Slot { words: NameWords { len: 0, head: 0, tail: 0 }, id: 0 };

impl NameIndex {
    pub fn new() -> NameIndex {
        use std::hash::BuildHasher;
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x6e61_6d65_u64);
        NameIndex { names: Vec::new(), slots: vec![EMPTY; 16], seed }
    }

    /// The id of `name`, if it was interned.
    #[inline]
    pub fn get(&self, name: &[u8]) -> Option<u32> {
        let query = NameWords::of(name);
        if !query.exact() {
            return self.get_long(name, query);
        }
        self.probe(query, |_| true)
    }

    /// [`NameIndex::get`] for names whose words are not all of them (kept out of line, so
    /// the short path stays small).
    #[inline(never)]
    fn get_long(&self, name: &[u8], query: NameWords) -> Option<u32> {
        self.probe(query, |id| *self.names[id as usize] == *name)
    }

    /// The first id on `query`'s probe path with the same words that `confirm` accepts.
    #[inline]
    fn probe(&self, query: NameWords, confirm: impl Fn(u32) -> bool) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut i = query.hash(self.seed) as usize & mask;
        loop {
            let slot = &self.slots[i];
            let id = slot.id.checked_sub(1)?;
            if slot.words == query && confirm(id) {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    /// The id of `name`, interning it on first sight.
    pub fn intern(&mut self, name: &[u8]) -> u32 {
        if let Some(id) = self.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        if self.names.len() * 2 > self.slots.len() {
            self.slots = vec![EMPTY; self.slots.len() * 2];
            for id in 0..self.names.len() as u32 {
                self.place(id);
            }
        } else {
            self.place(id);
        }
        id
    }

    fn place(&mut self, id: u32) {
        let words = NameWords::of(&self.names[id as usize]);
        let mask = self.slots.len() - 1;
        let mut i = words.hash(self.seed) as usize & mask;
        while self.slots[i].id != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = Slot { words, id: id + 1 };
    }

    pub fn name(&self, id: u32) -> &[u8] {
        &self.names[id as usize]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }
}

impl Default for NameIndex {
    fn default() -> Self {
        NameIndex::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names of every length up to 40 that differ in one byte, and prefixes of each other, get
    /// their own ids and are found again, also after the table grew.
    #[test]
    fn near_names_get_their_own_ids() {
        let mut index = NameIndex::new();
        let mut interned: Vec<(Vec<u8>, u32)> = Vec::new();
        for n in 0..40usize {
            let base: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let mut variants = vec![base.clone()];
            for i in (0..n).step_by(n.div_ceil(6).max(1)) {
                let mut v = base.clone();
                v[i] = b'#';
                variants.push(v);
            }
            for v in variants {
                let id = index.intern(&v);
                assert_eq!(id as usize, interned.len(), "a new name gets the next id");
                interned.push((v, id));
            }
        }
        assert!(interned.len() > 100);
        for (name, id) in &interned {
            assert_eq!(index.get(name), Some(*id));
            assert_eq!(index.intern(name), *id);
            assert_eq!(index.name(*id), name.as_slice());
        }
        assert_eq!(index.get(b"not-there-at-all"), None);
        assert_eq!(index.len(), interned.len());
    }
}
