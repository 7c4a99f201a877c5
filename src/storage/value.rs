//! Collection values (hashes, lists, sets, sorted sets).

use super::entry::Kind;

/// A collection value. Strings are stored inline in the entry and are not a variant here.
#[derive(Clone)]
pub enum Collection {}

impl Collection {
    pub fn kind(&self) -> Kind {
        match *self {}
    }

    /// Heap bytes held by the collection's internals.
    pub fn memory(&self) -> usize {
        match *self {}
    }

    pub fn encoding(&self) -> &'static str {
        match *self {}
    }

    pub fn is_empty(&self) -> bool {
        match *self {}
    }
}
