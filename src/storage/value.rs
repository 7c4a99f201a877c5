//! Collection values (hashes, lists, sets, sorted sets).

use super::entry::Kind;
use super::list::ListValue;

/// A collection value. Strings are stored inline in the entry and are not a variant here.
#[derive(Clone)]
pub enum Collection {
    List(ListValue),
}

impl Collection {
    pub fn kind(&self) -> Kind {
        match self {
            Collection::List(_) => Kind::List,
        }
    }

    /// Heap bytes held by the collection's internals.
    pub fn memory(&self) -> usize {
        match self {
            Collection::List(l) => l.memory(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Collection::List(l) => l.encoding(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Collection::List(l) => l.is_empty(),
        }
    }
}
