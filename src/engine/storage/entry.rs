//! One key and its value, in one allocation.
//!
//! A string key is a single heap block: a 16-byte header (the length of what follows, the
//! access clock, the expiry), then a flags byte and the key's length, then the key and the
//! string's bytes. A 14-byte key with a 32-byte value takes 64 bytes, with or without a TTL
//! (Redis keeps expiries in a second dictionary). The expiry is always there, so EXPIRE and
//! PERSIST change a key in place.
//!
//! Two fields are present only when their flag is set, so plain strings do not pay for them:
//! the key's class id (while key classes are on) and a pointer to what most keys do not have
//! — a collection value, tags — which leads straight to the collection when the key has no
//! tags. Changing what an entry holds beyond its fixed fields (a string of another length,
//! tags, a class) reallocates it: those methods take the entry's `Box`, and the table lends
//! it out for them (see `Table::at_box_mut`).
//!
//! `Entry` is a dynamically sized type (its bytes are a `[u8]` tail), so `Box<Entry>` owns the
//! allocation with its exact layout, and the table keeps only the thin address: the length
//! the fat pointer needs is the header's first field ([`Entry::from_thin`]).

use super::value::Collection;
use crate::keyclass::ClassId;
use crate::tags::TagName;
use std::alloc::Layout;
use std::ptr::NonNull;

/// Milliseconds since the Unix epoch; 0 means "no expiry".
pub type ExpireAt = u64;

/// Longest key plus string value an entry holds (its header's length field is 32 bits).
/// `proto-max-bulk-len` is at most half of it, so a key and its value always fit together
/// (with the few bytes of flags and lengths beside them: the query buffer limit keeps a
/// command far below 4 GiB).
pub const MAX_BUFFER: usize = u32::MAX as usize;

#[repr(C)]
pub struct Entry {
    /// Bytes in `data`.
    data_len: u32,
    /// LRU clock or LFU state, as `maxmemory-policy` wants (see `storage::evict`).
    access: u32,
    expire_at: ExpireAt,
    /// Flags, key length (1 byte, or 4 after a [`LONG_KEY`] flag), the class id if
    /// [`HAS_CLASS`], the extra pointer if [`HAS_EXTRA`] (both unaligned), the key, the string.
    data: [u8],
}

/// The key's length takes 4 bytes instead of 1.
const LONG_KEY: u8 = 1;
/// A 4-byte class id follows the key length.
const HAS_CLASS: u8 = 2;
/// An 8-byte `Extra` pointer follows the class id (or the key length).
const HAS_EXTRA: u8 = 4;

const HEADER: usize = std::mem::size_of::<u32>() * 2 + std::mem::size_of::<ExpireAt>();

/// An entry's parts, to lay out in a new allocation.
struct Parts<'a> {
    key: &'a [u8],
    value: &'a [u8],
    access: u32,
    expire_at: ExpireAt,
    class: ClassId,
    /// Owned by the entry built from these parts.
    extra: Option<NonNull<Extra>>,
}

/// The rarer parts of an entry, kept out of line: a collection (hashes, lists, sets, sorted
/// sets and streams), tags, or both.
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

// The entry owns its `Extra` through an address stored among its bytes, which the compiler
// does not see: an entry may cross threads (lazy freeing) only because an `Extra` may.
const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Extra>()
};

impl Extra {
    /// The extra part for a key with this collection and these tags, if it needs one.
    fn build(collection: Option<Collection>, tags: Option<Box<[TagName]>>) -> Option<NonNull<Extra>> {
        let extra = match (collection, tags) {
            (None, None) => return None,
            (Some(c), None) => Extra::Collection(c),
            (collection, Some(tags)) => Extra::Tagged { tags, collection: collection.map(Box::new) },
        };
        Some(extra.into_owned())
    }

    /// Boxes the extra part for an entry to own through its address.
    fn into_owned(self) -> NonNull<Extra> {
        NonNull::from(Box::leak(Box::new(self)))
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
    Stream,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Hash => "hash",
            Kind::List => "list",
            Kind::Set => "set",
            Kind::ZSet => "zset",
            Kind::Stream => "stream",
        }
    }
}

/// The allocation layout of an entry with `data_len` bytes of data.
#[inline]
fn layout(data_len: usize) -> Layout {
    Layout::from_size_align(HEADER + data_len, std::mem::align_of::<u64>()).expect("entry size").pad_to_align()
}

impl Entry {
    /// Lays `parts` out in one new allocation.
    fn assemble(parts: Parts) -> Box<Entry> {
        let long_key = parts.key.len() > u8::MAX as usize;
        let flags = if long_key { LONG_KEY } else { 0 }
            | if parts.class != 0 { HAS_CLASS } else { 0 }
            | if parts.extra.is_some() { HAS_EXTRA } else { 0 };
        let fixed = 1
            + if long_key { 4 } else { 1 }
            + if parts.class != 0 { 4 } else { 0 }
            + if parts.extra.is_some() { 8 } else { 0 };
        let data_len = fixed + parts.key.len() + parts.value.len();
        assert!(data_len <= u32::MAX as usize, "keys and values are at most proto-max-bulk-len, half of MAX_BUFFER");
        let layout = layout(data_len);
        // SAFETY: the layout has a non-zero size (the header).
        let block = unsafe { std::alloc::alloc(layout) };
        if block.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        /// Copies `bytes` to `*at` and moves `*at` past them.
        ///
        /// # Safety
        /// `*at` must have room for `bytes`.
        unsafe fn put(at: &mut *mut u8, bytes: &[u8]) {
            // SAFETY: the caller vouches for the room.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), *at, bytes.len());
                *at = at.add(bytes.len());
            }
        }
        // SAFETY: `block` holds `layout.size()` bytes, at least HEADER + data_len; every write
        // below stays inside them, and the fat pointer made last covers exactly those bytes
        // with the length `Layout::for_value` recomputes this layout from.
        unsafe {
            block.cast::<u32>().write(data_len as u32);
            block.add(4).cast::<u32>().write(parts.access);
            block.add(8).cast::<u64>().write(parts.expire_at);
            let mut at = block.add(HEADER);
            put(&mut at, &[flags]);
            if long_key {
                put(&mut at, &(parts.key.len() as u32).to_le_bytes());
            } else {
                put(&mut at, &[parts.key.len() as u8]);
            }
            if parts.class != 0 {
                put(&mut at, &parts.class.to_le_bytes());
            }
            if let Some(extra) = parts.extra {
                at.cast::<*mut Extra>().write_unaligned(extra.as_ptr());
                at = at.add(8);
            }
            put(&mut at, parts.key);
            put(&mut at, parts.value);
            Box::from_raw(Entry::from_thin(block))
        }
    }

    /// The entry whose allocation starts at `thin` (an address [`Entry::into_thin`] gave).
    ///
    /// # Safety
    /// `thin` must address a live entry.
    #[inline]
    pub unsafe fn from_thin(thin: *mut u8) -> *mut Entry {
        // SAFETY: the caller vouches for a live entry, whose first field is its data length.
        let data_len = unsafe { thin.cast::<u32>().read() } as usize;
        std::ptr::slice_from_raw_parts_mut(thin, data_len) as *mut Entry
    }

    /// Gives up the box for the address of its allocation ([`Entry::from_thin`] undoes it).
    #[inline]
    pub fn into_thin(entry: Box<Entry>) -> *mut u8 {
        Box::into_raw(entry).cast::<u8>()
    }

    pub fn string(key: &[u8], value: &[u8], access: u32) -> Box<Entry> {
        Entry::assemble(Parts { key, value, access, expire_at: 0, class: 0, extra: None })
    }

    pub fn new_collection(key: &[u8], value: Collection, access: u32) -> Box<Entry> {
        let extra = Extra::build(Some(value), None);
        Entry::assemble(Parts { key, value: &[], access, expire_at: 0, class: 0, extra })
    }

    #[inline]
    fn flags(&self) -> u8 {
        self.data[0]
    }

    /// Where the class id (or what follows it) starts, and the key's length.
    #[inline]
    fn after_key_len(&self) -> (usize, usize) {
        if self.flags() & LONG_KEY == 0 {
            (2, self.data[1] as usize)
        } else {
            (5, u32::from_le_bytes(self.data[1..5].try_into().expect("4 bytes")) as usize)
        }
    }

    /// Where the extra pointer is (when [`HAS_EXTRA`] is set), or the key when it is not.
    #[inline]
    fn extra_offset(&self) -> usize {
        let (at, _) = self.after_key_len();
        if self.flags() & HAS_CLASS != 0 {
            at + 4
        } else {
            at
        }
    }

    /// Where the key starts, and its length.
    #[inline]
    fn key_span(&self) -> (usize, usize) {
        let (_, len) = self.after_key_len();
        let at = self.extra_offset();
        (if self.flags() & HAS_EXTRA != 0 { at + 8 } else { at }, len)
    }

    #[inline]
    fn extra_ptr(&self) -> Option<NonNull<Extra>> {
        if self.flags() & HAS_EXTRA == 0 {
            return None;
        }
        // SAFETY: the flag says 8 bytes at the offset hold the address of the entry's `Extra`,
        // written there as a pointer by `assemble` (or `set_extra_in_place`).
        let p = unsafe { self.data.as_ptr().add(self.extra_offset()).cast::<*mut Extra>().read_unaligned() };
        NonNull::new(p)
    }

    /// Replaces the extra pointer of an entry that has one (same size, no reallocation).
    fn set_extra_in_place(&mut self, extra: NonNull<Extra>) {
        debug_assert!(self.flags() & HAS_EXTRA != 0);
        let at = self.extra_offset();
        // SAFETY: as in `extra_ptr`; `&mut self` makes the write unique.
        unsafe { self.data.as_mut_ptr().add(at).cast::<*mut Extra>().write_unaligned(extra.as_ptr()) };
    }

    #[inline]
    fn extra(&self) -> Option<&Extra> {
        // SAFETY: the entry owns its `Extra`; the borrow of the entry keeps it alive.
        self.extra_ptr().map(|p| unsafe { &*p.as_ptr() })
    }

    #[inline]
    fn extra_mut(&mut self) -> Option<&mut Extra> {
        // SAFETY: as in `extra`, and `&mut self` makes the access unique.
        self.extra_ptr().map(|p| unsafe { &mut *p.as_ptr() })
    }

    /// Lays this entry out again with another string value (or its own), class and extra,
    /// keeping key, access clock and expiry. The old allocation is freed, but not the old
    /// extra: `extra` says what the new entry owns.
    fn rebuild(this: &mut Box<Entry>, value: Option<&[u8]>, class: ClassId, extra: Option<NonNull<Extra>>) {
        let parts = Parts {
            key: this.key(),
            value: value.unwrap_or_else(|| this.str_value()),
            access: this.access,
            expire_at: this.expire_at,
            class,
            extra,
        };
        let rebuilt = Entry::assemble(parts);
        let old = std::mem::replace(this, rebuilt);
        free_block(old);
    }

    /// The key's class (0 while key classes are off).
    #[inline]
    pub fn class(&self) -> ClassId {
        if self.flags() & HAS_CLASS == 0 {
            return 0;
        }
        let (at, _) = self.after_key_len();
        ClassId::from_le_bytes(self.data[at..at + 4].try_into().expect("4 bytes"))
    }

    /// Sets the key's class; the entry grows or shrinks by the field when it appears or goes.
    pub fn set_class(self: &mut Box<Self>, class: ClassId) {
        if (class != 0) == (self.flags() & HAS_CLASS != 0) {
            if class != 0 {
                let (at, _) = self.after_key_len();
                self.data[at..at + 4].copy_from_slice(&class.to_le_bytes());
            }
            return;
        }
        let extra = self.extra_ptr();
        Entry::rebuild(self, None, class, extra);
    }

    #[inline]
    pub fn access(&self) -> u32 {
        self.access
    }

    #[inline]
    pub fn set_access(&mut self, access: u32) {
        self.access = access;
    }

    /// When the key expires (0: never).
    #[inline]
    pub fn expire_at(&self) -> ExpireAt {
        self.expire_at
    }

    #[inline]
    pub fn set_expire_at(&mut self, at: ExpireAt) {
        self.expire_at = at;
    }

    /// Removes the expiry (PERSIST); returns whether there was one.
    pub fn take_expiry(&mut self) -> bool {
        std::mem::replace(&mut self.expire_at, 0) != 0
    }

    /// The collection value; `None` for strings.
    #[inline]
    pub fn collection(&self) -> Option<&Collection> {
        match self.extra()? {
            Extra::Collection(c) => Some(c),
            Extra::Tagged { collection, .. } => collection.as_deref(),
        }
    }

    #[inline]
    pub fn collection_mut(&mut self) -> Option<&mut Collection> {
        match self.extra_mut()? {
            Extra::Collection(c) => Some(c),
            Extra::Tagged { collection, .. } => collection.as_deref_mut(),
        }
    }

    /// The key's tags (empty if it has none).
    #[inline]
    pub fn tags(&self) -> &[TagName] {
        match self.extra() {
            Some(Extra::Tagged { tags, .. }) => tags,
            _ => &[],
        }
    }

    /// Replaces the key's tags; only the table calls this, keeping its tag index in step.
    pub(crate) fn set_tags(self: &mut Box<Self>, tags: Vec<TagName>) {
        let tags = if tags.is_empty() { None } else { Some(tags.into_boxed_slice()) };
        if let Some(Extra::Tagged { tags: old, .. }) = self.extra_mut() {
            if let Some(new) = tags {
                *old = new;
                return;
            }
        } else if tags.is_none() {
            return;
        }
        // Tagging or untagging moves the collection between its two places.
        let collection = self.extra_ptr().and_then(|p| {
            // SAFETY: the entry owns its extra; it is taken out here, and the entry is given
            // what replaces it below.
            let extra = unsafe { Box::from_raw(p.as_ptr()) };
            (*extra).into_collection()
        });
        match (self.flags() & HAS_EXTRA != 0, Extra::build(collection, tags)) {
            (true, Some(extra)) => self.set_extra_in_place(extra),
            (_, extra) => {
                let class = self.class();
                Entry::rebuild(self, None, class, extra);
            }
        }
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        let (at, len) = self.key_span();
        &self.data[at..at + len]
    }

    /// The string value (empty for collections).
    #[inline]
    pub fn str_value(&self) -> &[u8] {
        let (at, len) = self.key_span();
        &self.data[at + len..]
    }

    /// The string value's bytes for an in-place change that keeps its length (SETBIT,
    /// SETRANGE inside the string); empty for collections.
    #[inline]
    pub fn str_value_mut(&mut self) -> &mut [u8] {
        let (at, len) = self.key_span();
        &mut self.data[at + len..]
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
    pub fn set_string(self: &mut Box<Self>, value: &[u8]) {
        if self.is_string() && self.str_value().len() == value.len() {
            self.str_value_mut().copy_from_slice(value);
            return;
        }
        let mut extra = self.extra_ptr();
        if let Some(p) = extra {
            // SAFETY: the entry owns its extra; the borrow ends before the entry changes.
            match unsafe { &mut *p.as_ptr() } {
                Extra::Tagged { collection, .. } => *collection = None,
                Extra::Collection(_) => {
                    // SAFETY: as above; the entry is rebuilt without it below.
                    drop(unsafe { Box::from_raw(p.as_ptr()) });
                    extra = None;
                }
            }
        }
        let class = self.class();
        Entry::rebuild(self, Some(value), class, extra);
    }

    /// Writes `value` over the string value if this is a string of that length without
    /// tags or anything else out of line; returns whether it did.
    pub fn overwrite_plain_string(&mut self, value: &[u8]) -> bool {
        let fits = self.flags() & HAS_EXTRA == 0 && self.str_value().len() == value.len();
        if fits {
            self.str_value_mut().copy_from_slice(value);
        }
        fits
    }

    /// Edits the string value through a `Vec` (APPEND, SETRANGE).
    pub fn edit_string(self: &mut Box<Self>, edit: impl FnOnce(&mut Vec<u8>)) {
        let mut value = self.str_value().to_vec();
        edit(&mut value);
        self.set_string(&value);
    }

    /// A copy of this entry under another name (COPY): value, expiry, access and tags; the
    /// copy has no class (the keyspace classifies it by its name).
    pub fn renamed(&self, new_key: &[u8]) -> Box<Entry> {
        self.copy_as(new_key, 0)
    }

    /// An exact copy, class included (the before-image of a write that may be undone).
    pub fn duplicate(&self) -> Box<Entry> {
        self.copy_as(self.key(), self.class())
    }

    fn copy_as(&self, key: &[u8], class: ClassId) -> Box<Entry> {
        Entry::assemble(Parts {
            key,
            value: self.str_value(),
            access: self.access,
            expire_at: self.expire_at,
            class,
            extra: self.extra().map(|x| x.clone().into_owned()),
        })
    }

    /// This entry under another name (RENAME): the access clock, expiry, collection and tags
    /// move; the class stays with the old name (0).
    pub fn into_renamed(self: Box<Self>, new_key: &[u8]) -> Box<Entry> {
        let parts = Parts {
            key: new_key,
            value: self.str_value(),
            access: self.access,
            expire_at: self.expire_at,
            class: 0,
            extra: self.extra_ptr(),
        };
        let renamed = Entry::assemble(parts);
        free_block(self);
        renamed
    }

    /// Bytes this entry occupies on the heap, by allocator size class.
    pub fn memory(&self) -> usize {
        let block = alloc_size((HEADER + self.data_len as usize + 7) & !7);
        if self.flags() & HAS_EXTRA == 0 {
            return block;
        }
        let extra = self.extra().map_or(0, |x| {
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
        block + extra
    }

    /// Whether the expiry has passed. As in Redis, a key is still alive during the very
    /// millisecond it expires at (so PTTL can report 0).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at < now_ms
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Some(p) = self.extra_ptr() {
            // SAFETY: the entry owns its extra, allocated as a `Box` by `Extra::build` (or a
            // clone in `renamed`), and is the only one to free it.
            drop(unsafe { Box::from_raw(p.as_ptr()) });
        }
    }
}

/// Frees an entry's allocation without dropping its extra, which another entry now owns.
fn free_block(entry: Box<Entry>) {
    let raw = Box::into_raw(entry);
    // SAFETY: `raw` came from a `Box<Entry>`, so it was allocated with `Layout::for_value`;
    // nothing refers to it any more, and `Entry` has no fields of its own that need dropping.
    unsafe {
        let layout = Layout::for_value(&*raw);
        std::alloc::dealloc(raw.cast::<u8>(), layout);
    }
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
        e.set_expire_at(42);
        let moved = e.into_renamed(b"a-much-longer-key");
        assert_eq!(moved.key(), b"a-much-longer-key");
        assert_eq!(moved.str_value(), b"Longer value!");
        assert_eq!(moved.expire_at(), 42);
    }

    #[test]
    fn expiry_is_exclusive_of_its_millisecond() {
        let mut e = Entry::string(b"k", b"v", 0);
        assert!(!e.is_expired(u64::MAX));
        e.set_expire_at(1000);
        assert!(!e.is_expired(999));
        assert!(!e.is_expired(1000));
        assert!(e.is_expired(1001));
    }

    #[test]
    fn one_block_per_string_key() {
        // The per-key headline figure depends on it: a 14-byte key with a 32-byte value is one
        // 64-byte block, with or without an expiry.
        let mut e = Entry::string(b"key:0000000001", &[b'x'; 32], 0);
        assert_eq!(e.memory(), 64);
        e.set_expire_at(1 << 40);
        assert_eq!(e.memory(), 64);
        assert_eq!(std::mem::size_of_val(&*e), 64);
        // And the small-hash figure on these: an untagged collection is one 32-byte allocation.
        assert_eq!(std::mem::size_of::<Collection>(), 24);
        assert_eq!(std::mem::size_of::<Extra>(), 32);
        // A set's box then makes up for the size of the boxed collection an entry used to hold.
        assert_eq!(std::mem::size_of::<crate::storage::set::SetValue>(), 40);
        let plain = e.memory();
        e.set_tags(vec![crate::tags::TagName::from(&b"t"[..])]);
        assert!(e.memory() > plain);
        e.set_tags(Vec::new());
        assert_eq!(e.memory(), plain);
        e.set_class(3);
        assert_eq!((e.class(), e.memory()), (3, 80));
        e.set_class(0);
        assert_eq!((e.class(), e.memory()), (0, plain));
    }

    fn seeded_rng(test: &str) -> crate::util::Rng {
        crate::util::Rng::for_test(test, "ENTRY_SEED")
    }

    /// What an entry should hold, to check it against.
    #[derive(Clone, Debug, PartialEq)]
    struct Model {
        key: Vec<u8>,
        value: Option<Vec<u8>>,
        access: u32,
        expire_at: u64,
        class: ClassId,
        tags: Vec<Vec<u8>>,
    }

    fn observed(e: &Entry) -> Model {
        let value = match e.collection() {
            None => Some(e.str_value().to_vec()),
            Some(Collection::Hash(h)) => {
                assert_eq!(h.get(b"f"), Some(&b"v"[..]), "the collection survives");
                None
            }
            Some(_) => panic!("unexpected collection"),
        };
        Model {
            key: e.key().to_vec(),
            value,
            access: e.access(),
            expire_at: e.expire_at(),
            class: e.class(),
            tags: e.tags().iter().map(|t| t.to_vec()).collect(),
        }
    }

    fn bytes(rng: &mut crate::util::Rng) -> Vec<u8> {
        let len = match rng.below(8) {
            0 => 0,
            1 => 255 + rng.below(3) as usize,
            2 => 70_000 + rng.below(100) as usize,
            _ => rng.below(60) as usize,
        };
        (0..len).map(|i| (i as u8).wrapping_mul(31) ^ rng.below(256) as u8).collect()
    }

    #[test]
    fn random_changes_keep_every_other_field() {
        use crate::storage::hash::HashValue;
        let mut rng = seeded_rng("random_changes_keep_every_other_field");
        let limits = crate::storage::EncodingLimits::default();
        for _ in 0..300 {
            let key = bytes(&mut rng);
            let (mut e, mut m) = if rng.below(4) == 0 {
                let mut h = HashValue::new();
                h.set(b"f", b"v", &limits);
                let m = Model { key: key.clone(), value: None, access: 0, expire_at: 0, class: 0, tags: vec![] };
                (Entry::new_collection(&key, Collection::Hash(h), 0), m)
            } else {
                let value = bytes(&mut rng);
                let m = Model {
                    key: key.clone(),
                    value: Some(value.clone()),
                    access: 0,
                    expire_at: 0,
                    class: 0,
                    tags: vec![],
                };
                (Entry::string(&key, &value, 0), m)
            };
            for _ in 0..40 {
                match rng.below(8) {
                    0 => {
                        let v = bytes(&mut rng);
                        e.set_string(&v);
                        m.value = Some(v);
                    }
                    1 => {
                        m.access = rng.next_u64() as u32;
                        e.set_access(m.access);
                    }
                    2 => {
                        m.expire_at = if rng.below(2) == 0 { 0 } else { rng.next_u64() };
                        e.set_expire_at(m.expire_at);
                    }
                    3 => {
                        m.class = if rng.below(2) == 0 { 0 } else { rng.next_u64() as u32 };
                        e.set_class(m.class);
                    }
                    4 => {
                        m.tags = (0..rng.below(3)).map(|i| format!("tag{i}").into_bytes()).collect();
                        e.set_tags(m.tags.iter().map(|t| TagName::from(&t[..])).collect());
                    }
                    5 if m.value.is_some() => {
                        let extra = bytes(&mut rng);
                        e.edit_string(|v| v.extend_from_slice(&extra));
                        m.value.as_mut().unwrap().extend_from_slice(&extra);
                    }
                    6 => {
                        let new_key = bytes(&mut rng);
                        let copy = e.renamed(&new_key);
                        let expected = Model { key: new_key.clone(), class: 0, ..m.clone() };
                        assert_eq!(observed(&copy), expected, "a copy");
                        e = e.into_renamed(&new_key);
                        m = expected;
                    }
                    _ => {
                        if let Some(v) = m.value.as_mut().filter(|v| !v.is_empty()) {
                            v[0] ^= 1;
                            e.str_value_mut()[0] ^= 1;
                        }
                    }
                }
                assert_eq!(observed(&e), m);
                assert!(e.memory() >= alloc_size(std::mem::size_of_val(&*e)));
            }
        }
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
