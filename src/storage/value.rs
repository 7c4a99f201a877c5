//! Collection values (hashes, lists, sets, sorted sets).

use super::entry::Kind;
use super::hash::HashValue;

/// A collection value. Strings are stored inline in the entry and are not a variant here.
#[derive(Clone)]
pub enum Collection {
    Hash(HashValue),
}

impl Collection {
    pub fn kind(&self) -> Kind {
        match self {
            Collection::Hash(_) => Kind::Hash,
        }
    }

    /// Heap bytes held by the collection's internals.
    pub fn memory(&self) -> usize {
        match self {
            Collection::Hash(h) => h.memory(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Collection::Hash(h) => h.encoding(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Collection::Hash(h) => h.is_empty(),
        }
    }
}
