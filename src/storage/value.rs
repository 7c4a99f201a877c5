//! Collection values (hashes, lists, sets, sorted sets).

use super::entry::Kind;
use super::zset::ZSetValue;
use super::set::SetValue;
use super::hash::HashValue;

/// A collection value. Strings are stored inline in the entry and are not a variant here.
#[derive(Clone)]
pub enum Collection {
    ZSet(ZSetValue),
    Set(SetValue),
    Hash(HashValue),
}

impl Collection {
    pub fn kind(&self) -> Kind {
        match self {
            Collection::ZSet(_) => Kind::ZSet,
            Collection::Set(_) => Kind::Set,
            Collection::Hash(_) => Kind::Hash,
        }
    }

    /// Heap bytes held by the collection's internals.
    pub fn memory(&self) -> usize {
        match self {
            Collection::ZSet(z) => z.memory(),
            Collection::Set(s) => s.memory(),
            Collection::Hash(h) => h.memory(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Collection::ZSet(z) => z.encoding(),
            Collection::Set(s) => s.encoding(),
            Collection::Hash(h) => h.encoding(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Collection::ZSet(z) => z.is_empty(),
            Collection::Set(s) => s.is_empty(),
            Collection::Hash(h) => h.is_empty(),
        }
    }
}
