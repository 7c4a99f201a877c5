//! Collection values (hashes, lists, sets, sorted sets, streams).

use super::entry::{alloc_size, Kind};
use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::stream::StreamValue;
use super::zset::ZSetValue;

/// A collection value. Strings are stored inline in the entry and are not a variant here.
/// Every kind but the hash, whose header is one pointer to its packed buffer or table, is
/// boxed, so that the enum, which every collection key pays for, stays 24 bytes.
#[derive(Clone)]
pub enum Collection {
    ZSet(Box<ZSetValue>),
    Set(Box<SetValue>),
    Hash(HashValue),
    List(Box<ListValue>),
    Stream(Box<StreamValue>),
}

impl Collection {
    pub fn kind(&self) -> Kind {
        match self {
            Collection::ZSet(_) => Kind::ZSet,
            Collection::Set(_) => Kind::Set,
            Collection::Hash(_) => Kind::Hash,
            Collection::List(_) => Kind::List,
            Collection::Stream(_) => Kind::Stream,
        }
    }

    /// Heap bytes held by the collection: its box, if it has one, and its internals.
    pub fn memory(&self) -> usize {
        match self {
            Collection::ZSet(z) => alloc_size(std::mem::size_of::<ZSetValue>()) + z.memory(),
            Collection::Set(s) => alloc_size(std::mem::size_of::<SetValue>()) + s.memory(),
            Collection::Hash(h) => h.memory(),
            Collection::List(l) => alloc_size(std::mem::size_of::<ListValue>()) + l.memory(),
            Collection::Stream(s) => alloc_size(std::mem::size_of::<StreamValue>()) + s.memory(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Collection::ZSet(z) => z.encoding(),
            Collection::Set(s) => s.encoding(),
            Collection::Hash(h) => h.encoding(),
            Collection::List(l) => l.encoding(),
            Collection::Stream(_) => "stream",
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Collection::ZSet(z) => z.is_empty(),
            Collection::Set(s) => s.is_empty(),
            Collection::Hash(h) => h.is_empty(),
            Collection::List(l) => l.is_empty(),
            // A stream stays a key without entries (its ids and groups live on).
            Collection::Stream(_) => false,
        }
    }

    /// Whether members are found through a [`super::dense::DenseTable`] (a big set, hash or
    /// sorted set).
    pub fn has_member_index(&self) -> bool {
        match self {
            Collection::Set(s) => s.is_table(),
            Collection::Hash(h) => h.is_table(),
            Collection::ZSet(z) => z.is_indexed(),
            Collection::List(_) | Collection::Stream(_) => false,
        }
    }

    /// Starts loading what a lookup of the member hashing to `hash` reads first: its index
    /// word or, with `item` (once that word has arrived), the item itself.
    pub fn prefetch_member(&self, hash: u64, item: bool) {
        match self {
            Collection::Set(s) => s.prefetch_member(hash, item),
            Collection::Hash(h) => h.prefetch_member(hash, item),
            Collection::ZSet(z) => z.prefetch_member(hash, item),
            Collection::List(_) | Collection::Stream(_) => {}
        }
    }
}
