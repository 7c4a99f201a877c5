//! Collection values (hashes, lists, sets, sorted sets).

use super::entry::Kind;
use super::zset::ZSetValue;

/// A collection value. Strings are stored inline in the entry and are not a variant here.
#[derive(Clone)]
pub enum Collection {
    ZSet(ZSetValue),
}

impl Collection {
    pub fn kind(&self) -> Kind {
        match self {
            Collection::ZSet(_) => Kind::ZSet,
        }
    }

    /// Heap bytes held by the collection's internals.
    pub fn memory(&self) -> usize {
        match self {
            Collection::ZSet(z) => z.memory(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Collection::ZSet(z) => z.encoding(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Collection::ZSet(z) => z.is_empty(),
        }
    }
}
