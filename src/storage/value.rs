//! Collection values (hashes, lists, sets, sorted sets).

use super::entry::Kind;
use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::zset::ZSetValue;

/// A collection value. Strings are stored inline in the entry and are not a variant here.
/// The two largest kinds are boxed so that the enum, which every collection key pays for, stays
/// the size of a hash's or set's header.
#[derive(Clone)]
pub enum Collection {
    ZSet(Box<ZSetValue>),
    Set(SetValue),
    Hash(HashValue),
    List(Box<ListValue>),
}

impl Collection {
    pub fn kind(&self) -> Kind {
        match self {
            Collection::ZSet(_) => Kind::ZSet,
            Collection::Set(_) => Kind::Set,
            Collection::Hash(_) => Kind::Hash,
            Collection::List(_) => Kind::List,
        }
    }

    /// Heap bytes held by the collection's internals.
    pub fn memory(&self) -> usize {
        match self {
            Collection::ZSet(z) => z.memory(),
            Collection::Set(s) => s.memory(),
            Collection::Hash(h) => h.memory(),
            Collection::List(l) => l.memory(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Collection::ZSet(z) => z.encoding(),
            Collection::Set(s) => s.encoding(),
            Collection::Hash(h) => h.encoding(),
            Collection::List(l) => l.encoding(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Collection::ZSet(z) => z.is_empty(),
            Collection::Set(s) => s.is_empty(),
            Collection::Hash(h) => h.is_empty(),
            Collection::List(l) => l.is_empty(),
        }
    }
}
