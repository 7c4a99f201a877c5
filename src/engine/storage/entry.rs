//! One key and its value.
//!
//! A string key costs two allocations: this 40-byte header and one buffer holding the key
//! followed by the string's bytes. The header holds that buffer as a pointer and a 32-bit
//! length (a `Box<[u8]>` taken apart), which leaves room for the key's class id: key classes
//! then count hits and changes without matching the key against patterns again. Expiry and
//! access clock live in the header, so a TTL costs no extra memory (Redis keeps expiries in a
//! second dictionary). What most keys do not have — a collection value, tags — lives behind
//! one optional pointer, so plain strings do not pay for it. That pointer leads straight to
//! the collection when the key has no tags, so an untagged collection key costs the header,
//! the key buffer and one 32-byte allocation besides the collection's own storage.

use super::value::Collection;
use crate::keyclass::ClassId;
use crate::tags::TagName;
use std::ptr::NonNull;

/// Milliseconds since the Unix epoch; 0 means "no expiry".
pub type ExpireAt = u64;

/// Longest key-and-string buffer an entry holds. `proto-max-bulk-len` is at most half of it,
/// so a key and its value always fit together.
pub const MAX_BUFFER: usize = u32::MAX as usize;

pub struct Entry {
    /// The key's bytes, then (for strings) the value's bytes: an owned `Box<[u8]>` of `len`
    /// bytes, taken apart (see [`Entry::buffer`]).
    bytes: BufferPtr,
    len: u32,
    key_len: u32,
    /// LRU clock or LFU state, as `maxmemory-policy` wants (see `storage::evict`).
    pub access: u32,
    /// The key's class while key classes are on (set by the keyspace when the key is stored).
    pub class: ClassId,
    pub expire_at: ExpireAt,
    /// The collection value and the tags, for the keys that have either.
    extra: Option<Box<Extra>>,
}

/// The start of an entry's buffer. The entry owns the buffer alone, as the `Box<[u8]>` it was
/// made from did.
struct BufferPtr(NonNull<u8>);

// SAFETY: the buffer is owned like a `Box<[u8]>`, so its pointer may move to and be shared
// between threads like one (`&Entry` only reads it, `&mut Entry` is unique).
unsafe impl Send for BufferPtr {}
unsafe impl Sync for BufferPtr {}

impl Drop for Entry {
    fn drop(&mut self) {
        drop(self.take_buffer());
    }
}

/// Takes a buffer apart into its pointer and 32-bit length.
fn into_raw(buffer: Box<[u8]>) -> (BufferPtr, u32) {
    let len = u32::try_from(buffer.len()).expect("keys and values are at most proto-max-bulk-len, half of MAX_BUFFER");
    let ptr = NonNull::new(Box::into_raw(buffer).cast::<u8>()).expect("boxes are never null");
    (BufferPtr(ptr), len)
}

/// The rarer parts of an entry, kept out of line: a collection (hashes, lists, sets and sorted
/// sets), tags, or both.
#[derive(Clone)]
enum Extra {
    /// An untagged collection, held directly: the common case pays for one allocation.
    Collection(Collection),
    /// A tagged key. Its collection is boxed again so that a tagged string pays for a pointer
    /// here, not for a collection.
    Tagged {
        /// Never empty; the table's tag index lists the key under each of them. Changed only
        /// through the table, which keeps the index in step.
        tags: Box<[TagName]>,
        /// `None` for strings.
        collection: Option<Box<Collection>>,
    },
}

impl Extra {
    /// The extra part for a key with this collection and these tags, if it needs one.
    fn build(collection: Option<Collection>, tags: Option<Box<[TagName]>>) -> Option<Box<Extra>> {
        match (collection, tags) {
            (None, None) => None,
            (Some(c), None) => Some(Box::new(Extra::Collection(c))),
            (collection, Some(tags)) => Some(Box::new(Extra::Tagged { tags, collection: collection.map(Box::new) })),
        }
    }

    fn into_collection(self) -> Option<Collection> {
        match self {
            Extra::Collection(c) => Some(c),
            Extra::Tagged { collection, .. } => collection.map(|c| *c),
        }
    }
}

/// What kind of value an entry holds, as `TYPE` names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    String,
    Hash,
    List,
    Set,
    ZSet,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::ZSet => "zset",
        }
    }
}

impl Entry {
    fn new(buffer: Box<[u8]>, key_len: usize, access: u32, extra: Option<Box<Extra>>) -> Box<Entry> {
        let (bytes, len) = into_raw(buffer);
        Box::new(Entry { bytes, len, key_len: key_len as u32, access, class: 0, expire_at: 0, extra })
    }

    pub fn string(key: &[u8], value: &[u8], access: u32) -> Box<Entry> {
        Entry::new(key_and_value(key, value), key.len(), access, None)
    }

    pub fn new_collection(key: &[u8], value: Collection, access: u32) -> Box<Entry> {
        Entry::new(key.into(), key.len(), access, Some(Box::new(Extra::Collection(value))))
    }

    /// The key-and-string buffer.
    #[inline]
    fn buffer(&self) -> &[u8] {
        // SAFETY: `bytes` and `len` come from a `Box<[u8]>` this entry owns (`into_raw`).
        unsafe { std::slice::from_raw_parts(self.bytes.0.as_ptr(), self.len as usize) }
    }

    #[inline]
    fn buffer_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `buffer`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.bytes.0.as_ptr(), self.len as usize) }
    }

    /// Takes the buffer back as a box, leaving an empty one in its place.
    fn take_buffer(&mut self) -> Box<[u8]> {
        let (empty, zero) = into_raw(Box::default());
        let BufferPtr(ptr) = std::mem::replace(&mut self.bytes, empty);
        let len = std::mem::replace(&mut self.len, zero);
        // SAFETY: `ptr` and `len` came from a `Box<[u8]>` (`into_raw`) that nothing else owns:
        // the entry no longer refers to it.
        unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr.as_ptr(), len as usize)) }
    }

    /// Replaces the buffer (the old one is freed).
    fn set_buffer(&mut self, buffer: Box<[u8]>) {
        drop(self.take_buffer());
        (self.bytes, self.len) = into_raw(buffer);
    }

    /// The collection value; `None` for strings.
    #[inline]
    pub fn collection(&self) -> Option<&Collection> {
        match self.extra.as_deref()? {
            Extra::Collection(c) => Some(c),
            Extra::Tagged { collection, .. } => collection.as_deref(),
        }
    }

    #[inline]
    pub fn collection_mut(&mut self) -> Option<&mut Collection> {
        match self.extra.as_deref_mut()? {
            Extra::Collection(c) => Some(c),
            Extra::Tagged { collection, .. } => collection.as_deref_mut(),
        }
    }

    /// The key's tags (empty if it has none).
    #[inline]
    pub fn tags(&self) -> &[TagName] {
        match self.extra.as_deref() {
            Some(Extra::Tagged { tags, .. }) => tags,
            _ => &[],
        }
    }

    /// Replaces the key's tags; only the table calls this, keeping its tag index in step.
    pub(crate) fn set_tags(&mut self, tags: Vec<TagName>) {
        let tags = if tags.is_empty() { None } else { Some(tags.into_boxed_slice()) };
        match (self.extra.as_deref_mut(), tags) {
            (Some(Extra::Tagged { tags: old, .. }), Some(new)) => *old = new,
            // Tagging or untagging moves the collection between its two places.
            (_, tags) => {
                let collection = self.extra.take().and_then(|x| x.into_collection());
                self.extra = Extra::build(collection, tags);
            }
        }
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        &self.buffer()[..self.key_len as usize]
    }

    /// The string value (empty for collections).
    #[inline]
    pub fn str_value(&self) -> &[u8] {
        &self.buffer()[self.key_len as usize..]
    }

    /// The string value's bytes for an in-place change that keeps its length (SETBIT,
    /// SETRANGE inside the string); empty for collections.
    #[inline]
    pub fn str_value_mut(&mut self) -> &mut [u8] {
        let key_len = self.key_len as usize;
        &mut self.buffer_mut()[key_len..]
    }

    pub fn kind(&self) -> Kind {
        match self.collection() {
            None => Kind::String,
            Some(c) => c.kind(),
        }
    }

    pub fn is_string(&self) -> bool {
        self.collection().is_none()
    }

    /// Replaces the value with a string, keeping key, expiry and tags.
    pub fn set_string(&mut self, value: &[u8]) {
        if self.is_string() && self.str_value().len() == value.len() {
            self.str_value_mut().copy_from_slice(value);
            return;
        }
        let buffer = key_and_value(self.key(), value);
        self.set_buffer(buffer);
        match self.extra.as_deref_mut() {
            Some(Extra::Tagged { collection, .. }) => *collection = None,
            Some(Extra::Collection(_)) => self.extra = None,
            None => {}
        }
    }

    /// Edits the string value in place through a `Vec` (APPEND, SETRANGE).
    pub fn edit_string(&mut self, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut v = self.take_buffer().into_vec();
        let mut value = v.split_off(self.key_len as usize);
        edit(&mut value);
        v.extend_from_slice(&value);
        self.set_buffer(v.into_boxed_slice());
    }

    /// A copy of this entry under another name (COPY): value, expiry and tags.
    pub fn renamed(&self, new_key: &[u8]) -> Box<Entry> {
        let mut copy =
            Entry::new(key_and_value(new_key, self.str_value()), new_key.len(), self.access, self.extra.clone());
        copy.expire_at = self.expire_at;
        copy
    }

    /// This entry under another name (RENAME): the header, collection and tags move, only
    /// the key-and-string buffer is rebuilt.
    pub fn into_renamed(mut self: Box<Self>, new_key: &[u8]) -> Box<Entry> {
        let buffer = key_and_value(new_key, self.str_value());
        self.set_buffer(buffer);
        self.key_len = new_key.len() as u32;
        self
    }

    /// Bytes this entry occupies on the heap, by allocator size class.
    pub fn memory(&self) -> usize {
        let extra = self.extra.as_deref().map_or(0, |x| {
            alloc_size(std::mem::size_of::<Extra>())
                + match x {
                    Extra::Collection(c) => c.memory(),
                    Extra::Tagged { tags, collection } => {
                        alloc_size(std::mem::size_of_val::<[TagName]>(tags))
                            + collection
                                .as_ref()
                                .map_or(0, |c| alloc_size(std::mem::size_of::<Collection>()) + c.memory())
                    }
                }
        });
        alloc_size(std::mem::size_of::<Entry>()) + alloc_size(self.len as usize) + extra
    }

    /// Whether the expiry has passed. As in Redis, a key is still alive during the very
    /// millisecond it expires at (so PTTL can report 0).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at < now_ms
    }
}

/// One buffer holding `key` followed by `value`.
fn key_and_value(key: &[u8], value: &[u8]) -> Box<[u8]> {
    let mut bytes = Vec::with_capacity(key.len() + value.len());
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(value);
    bytes.into_boxed_slice()
}

/// The size class the allocator (mimalloc) rounds a request of `n` bytes up to.
pub fn alloc_size(n: usize) -> usize {
    if n == 0 {
        0
    } else if n <= 64 {
        (n + 7) & !7
    } else {
        // Four size classes per power of two.
        let p = usize::BITS - 1 - (n - 1).leading_zeros();
        let step = 1usize << (p - 2);
        (n + step - 1) & !(step - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_entry_layout() {
        let mut e = Entry::string(b"key", b"value", 0);
        assert_eq!(e.key(), b"key");
        assert_eq!(e.str_value(), b"value");
        e.set_string(b"longer value");
        assert_eq!(e.key(), b"key");
        assert_eq!(e.str_value(), b"longer value");
        e.edit_string(|v| v.extend_from_slice(b"!"));
        assert_eq!(e.str_value(), b"longer value!");
        e.str_value_mut()[0] = b'L';
        assert_eq!(e.str_value(), b"Longer value!");
        assert_eq!(e.renamed(b"k2").str_value(), b"Longer value!");
        e.expire_at = 42;
        let moved = e.into_renamed(b"a-much-longer-key");
        assert_eq!(moved.key(), b"a-much-longer-key");
        assert_eq!(moved.str_value(), b"Longer value!");
        assert_eq!(moved.expire_at, 42);
    }

    #[test]
    fn expiry_is_exclusive_of_its_millisecond() {
        let mut e = Entry::string(b"k", b"v", 0);
        assert!(!e.is_expired(u64::MAX));
        e.expire_at = 1000;
        assert!(!e.is_expired(999));
        assert!(!e.is_expired(1000));
        assert!(e.is_expired(1001));
    }

    #[test]
    fn header_stays_small() {
        // The per-key headline figure depends on it: key+value buffer plus this header.
        assert_eq!(std::mem::size_of::<Entry>(), 40);
        // And the small-hash figure on these: an untagged collection is one 32-byte allocation.
        assert_eq!(std::mem::size_of::<Collection>(), 24);
        assert_eq!(std::mem::size_of::<Extra>(), 32);
        // A set's box then makes up for the size of the boxed collection an entry used to hold.
        assert_eq!(std::mem::size_of::<crate::storage::set::SetValue>(), 40);
        let mut e = Entry::string(b"k", b"v", 0);
        let plain = e.memory();
        e.set_tags(vec![crate::tags::TagName::from(&b"t"[..])]);
        assert!(e.memory() > plain);
        e.set_tags(Vec::new());
        assert_eq!(e.memory(), plain);
    }

    #[test]
    fn collections_keep_their_value_through_tagging() {
        use crate::storage::hash::HashValue;
        let limits = crate::storage::EncodingLimits::default();
        let mut h = HashValue::new();
        h.set(b"f", b"v", &limits);
        let mut e = Entry::new_collection(b"h", Collection::Hash(h), 0);
        let untagged = e.memory();
        e.set_tags(vec![TagName::from(&b"t"[..])]);
        e.set_tags(vec![TagName::from(&b"t"[..]), TagName::from(&b"u"[..])]);
        assert_eq!(e.tags().len(), 2);
        let Some(Collection::Hash(h)) = e.collection() else { panic!("lost the hash") };
        assert_eq!(h.get(b"f"), Some(&b"v"[..]));
        assert!(e.memory() > untagged);
        assert_eq!(e.renamed(b"h2").memory(), e.memory());
        e.set_tags(Vec::new());
        assert_eq!(e.memory(), untagged);
        assert_eq!(e.kind(), Kind::Hash);

        // A string replacing a tagged collection keeps the tags; one replacing an untagged
        // collection leaves nothing out of line.
        e.set_tags(vec![TagName::from(&b"t"[..])]);
        e.set_string(b"s");
        assert!(e.is_string());
        assert_eq!(e.tags().len(), 1);
        let mut plain = Entry::new_collection(b"h", Collection::Hash(HashValue::new()), 0);
        plain.set_string(b"s");
        assert_eq!(plain.memory(), Entry::string(b"h", b"s", 0).memory());
    }

    #[test]
    fn size_classes() {
        assert_eq!(alloc_size(1), 8);
        assert_eq!(alloc_size(48), 48);
        assert_eq!(alloc_size(65), 80);
        assert_eq!(alloc_size(129), 160);
    }
}
