//! Collection values (hashes, lists, sets, sorted sets).

use super::entry::Kind;
use super::set::SetValue;

/// A collection value. Strings are stored inline in the entry and are not a variant here.
#[derive(Clone)]
pub enum Collection {
    Set(SetValue),
}

impl Collection {
    pub fn kind(&self) -> Kind {
        match self {
            Collection::Set(_) => Kind::Set,
        }
    }

    /// Heap bytes held by the collection's internals.
    pub fn memory(&self) -> usize {
        match self {
            Collection::Set(s) => s.memory(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Collection::Set(s) => s.encoding(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Collection::Set(s) => s.is_empty(),
        }
    }
}
