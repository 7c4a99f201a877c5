//! The tag index of one tenant in one database: tag → the keys carrying it.
//!
//! It lives inside the tenant's [`Table`](crate::storage::Table) and is updated by the table's
//! own insert and remove paths, so no way of removing a key (DEL, overwrite, expiry, eviction,
//! flush) can leave a dangling index entry. A tag whose last key goes away is dropped: a tag
//! with no keys takes no memory.
//!
//! Members are kept in insertion order with O(1) removal (swap-remove). TAG.SCAN walks that
//! order from the end towards the start, so a swap-remove (which moves the last member into
//! the hole) can make a member appear twice but never hides one.

use crate::storage::entry::alloc_size;
use indexmap::IndexSet;
use std::collections::HashMap;
use std::sync::Arc;

/// A tag name, shared between the index and the entries that carry it.
pub type TagName = Arc<[u8]>;

type Members = IndexSet<Box<[u8]>, foldhash::fast::RandomState>;

#[derive(Default)]
pub struct TagIndex {
    tags: HashMap<TagName, Members, foldhash::fast::RandomState>,
    memory: usize,
}

/// Bytes one member costs: its key copy, the (hash, pointer) bucket and an index slot.
fn member_cost(key: &[u8]) -> usize {
    alloc_size(key.len()) + 24 + 9
}

/// Bytes a tag costs besides its members: the shared name and its map slot.
fn tag_cost(tag: &[u8]) -> usize {
    alloc_size(16 + tag.len()) + 64
}

impl TagIndex {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    pub fn memory(&self) -> usize {
        self.memory
    }

    /// The shared name for `tag`, if the tag has keys here.
    pub fn name(&self, tag: &[u8]) -> Option<TagName> {
        self.tags.get_key_value(tag).map(|(k, _)| k.clone())
    }

    /// Adds `key` to `tag`; returns whether it was new.
    pub fn add(&mut self, tag: &TagName, key: &[u8]) -> bool {
        let members = match self.tags.get_mut(&tag[..]) {
            Some(m) => m,
            None => {
                self.memory += tag_cost(tag);
                self.tags.entry(tag.clone()).or_default()
            }
        };
        let before = members.capacity();
        let added = members.insert(key.into());
        if added {
            self.memory += member_cost(key);
        }
        // Account the growth of the member arrays themselves.
        self.memory += (members.capacity() - before) * 8;
        added
    }

    /// Removes `key` from `tag`; returns whether it was there.
    pub fn remove(&mut self, tag: &[u8], key: &[u8]) -> bool {
        let Some(members) = self.tags.get_mut(tag) else {
            return false;
        };
        if !members.swap_remove(key) {
            return false;
        }
        self.memory -= member_cost(key);
        if members.is_empty() {
            let capacity = members.capacity();
            self.tags.remove(tag);
            self.memory -= tag_cost(tag) + capacity * 8;
        }
        true
    }

    pub fn count(&self, tag: &[u8]) -> usize {
        self.tags.get(tag).map_or(0, |m| m.len())
    }

    /// Members of `tag` at positions `[start, end)`.
    pub fn members(&self, tag: &[u8]) -> Option<&Members> {
        self.tags.get(tag)
    }

    /// Every tag name here.
    pub fn tag_names(&self) -> impl Iterator<Item = &TagName> {
        self.tags.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tags_take_no_memory() {
        let mut idx = TagIndex::default();
        let tag: TagName = Arc::from(&b"plan"[..]);
        assert!(idx.add(&tag, b"k1"));
        assert!(!idx.add(&tag, b"k1"));
        assert!(idx.add(&tag, b"k2"));
        assert_eq!(idx.count(b"plan"), 2);
        assert!(idx.remove(b"plan", b"k1"));
        assert!(idx.remove(b"plan", b"k2"));
        assert!(!idx.remove(b"plan", b"k2"));
        assert!(idx.is_empty());
        assert_eq!(idx.memory(), 0);
    }
}
