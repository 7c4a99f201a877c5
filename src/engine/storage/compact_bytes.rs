//! A byte string that keeps up to 22 bytes inline and longer ones on the heap.
//!
//! Members of big sets are looked up through a hash index and then compared: with the bytes
//! inline, that comparison reads the member's slot in the table and nothing else, one cache
//! miss less per lookup than a boxed member, and a short member costs no allocation of its own.
//! The type is 24 bytes, the size of a boxed slice plus the tag.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest string kept inline.
pub const INLINE: usize = 22;

#[derive(Clone)]
pub struct CompactBytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

const _: () = assert!(std::mem::size_of::<CompactBytes>() == 24);

impl CompactBytes {
    pub fn new(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            let mut inline = [0; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            CompactBytes(Repr::Inline { len: bytes.len() as u8, bytes: inline })
        } else {
            CompactBytes(Repr::Heap(bytes.into()))
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..*len as usize],
            Repr::Heap(b) => b,
        }
    }

    /// Heap bytes a string of `len` bytes allocates beside the 24 inline ones.
    pub fn heap_size(len: usize) -> usize {
        if len <= INLINE {
            0
        } else {
            super::entry::alloc_size(len)
        }
    }
}

impl Deref for CompactBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Hashes exactly as `[u8]` does, so that a table keyed by this type can be probed with `&[u8]`.
impl Hash for CompactBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for CompactBytes {}

impl std::fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn inline_and_heap_round_trip_and_hash_like_slices() {
        let hasher = foldhash::fast::RandomState::default();
        for len in [0, 1, INLINE, INLINE + 1, 100] {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let c = CompactBytes::new(&bytes);
            assert_eq!(c.as_slice(), &bytes[..]);
            assert_eq!(hasher.hash_one(&c), hasher.hash_one(&bytes[..]));
            assert_eq!(CompactBytes::heap_size(len) == 0, len <= INLINE);
        }
    }
}
