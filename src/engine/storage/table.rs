//! The hash table that holds one tenant's keys in one database.
//!
//! Open addressing with linear probing over one array of 8-byte words. A word is the entry's
//! pointer (48 bits) with two bytes of the key's hash beside it: how far the entry sits past its
//! home slot (saturating at 255) and a fingerprint of low hash bits. A lookup compares those two
//! bytes before it touches an entry, so it reads the entry of its own key and almost never
//! another; deletion (backward shift), resizing and SCAN find an entry's home slot from the word
//! alone.
//!
//! The home slot is `hash_prefix × homes / 2³²` (the top 32 bits of the hash scaled to the table),
//! not `hash & mask`: any slot count works, so the table grows by a quarter at a time and stays
//! between 64 % and 80 % full (8 bytes per slot are then 10 to 12.5 bytes per key), and homes
//! keep the order of hash prefixes, which SCAN uses. The array ends in a short overflow area
//! instead of wrapping around.
//!
//! Growing or shrinking a large table never stops the server: a new array is allocated and the
//! old one is migrated into it a few runs of slots per write (and per cron tick), in slot order.
//! While that goes on, a key whose home in the old array lies below the migration point is in
//! the new array and every other key is in the old one, so each lookup still probes one array.
//!
//! SCAN's cursor is a hash prefix: a step visits the keys whose hash prefix lies between the
//! cursor and the first prefix of the next home slot, in both arrays while migrating, and
//! returns that prefix. The ranges of successive steps join up, so a key present for the whole
//! iteration is returned exactly once however the table is resized in between.
//! Eviction and RANDOMKEY sample random slot positions.

use super::entry::Entry;
use super::words::Words;
use crate::tags::{TagIndex, TagName};
use std::hash::BuildHasher;

/// Smallest array a table with keys holds.
const MIN_SLOTS: usize = 8;
/// Arrays up to this many slots (old and new together) are resized in one go: a few
/// microseconds, less than migrating them a little per write would cost in bookkeeping.
const RESIZE_AT_ONCE: usize = 8192;
/// Old slots migrated per write while a table resizes. A grown array holds 1.25 times the
/// slots: the old one is gone long before writes could fill the new one.
const MIGRATE_PER_WRITE: usize = 16;
/// Bits of a word that hold the entry's address (x86_64 and aarch64 user space fit in 48).
const PTR_BITS: u32 = 48;
const PTR_MASK: u64 = (1 << PTR_BITS) - 1;
/// Largest distance from its home a word records exactly; farther entries read their key.
const MAX_DISP: usize = 255;

/// The process-wide key hasher (seeded randomly at start, against hash flooding).
pub fn hasher() -> &'static foldhash::quality::RandomState {
    static HASHER: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    HASHER.get_or_init(foldhash::quality::RandomState::default)
}

#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

/// Asks the CPU to start loading the cache lines that hold `value` (its first and last byte:
/// a value that is not aligned to its size may straddle two lines).
#[inline]
pub(crate) fn prefetch<T: ?Sized>(value: &T) {
    let first = std::ptr::from_ref(value).cast::<u8>() as usize;
    prefetch_address(first);
    prefetch_address(first + std::mem::size_of_val(value).saturating_sub(1));
}

/// Starts loading the cache line at `address` (also of an entry known by its address only,
/// which may have been freed since).
#[inline]
pub(crate) fn prefetch_address(address: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, whatever the address, and reads
    // nothing into the program.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(address as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// One tenant's keys in one database. Exactly one cache line: with many tenants, a write
/// meets a different tenant's table each time, and its header costs one miss, not two.
#[derive(Default)]
#[repr(align(64))]
pub struct Table {
    /// The array keys are inserted into (the new one while a resize migrates).
    slots: Slots,
    len: usize,
    /// Keys that carry an expiry.
    volatile: usize,
    /// Heap bytes of the entries (not counting the slot arrays).
    entry_memory: usize,
    /// Tag → keys, for the keys of this table that carry tags.
    tags: Option<Box<TagIndex>>,
    /// The array being migrated into `slots`, while a resize is under way.
    resize: Option<Box<Resize>>,
}

const _: () = assert!(std::mem::size_of::<Table>() == 64);

/// An array a resize migrates from: its slots below `moved` are already empty.
struct Resize {
    old: Slots,
    moved: usize,
}

/// Which array a key lives in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    New,
    Old,
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn volatile(&self) -> usize {
        self.volatile
    }

    /// Heap bytes of the entries alone ([`Entry::memory`] summed).
    #[inline]
    pub fn entry_memory(&self) -> usize {
        self.entry_memory
    }

    /// Heap bytes of entries, slot arrays and the tag index.
    pub fn memory(&self) -> usize {
        self.entry_memory + self.capacity() * 8 + self.tags.as_ref().map_or(0, |t| t.memory())
    }

    pub fn tag_index(&self) -> Option<&TagIndex> {
        self.tags.as_deref()
    }

    fn index_entry(&mut self, entry: &Entry) {
        if !entry.tags().is_empty() {
            let index = self.tags.get_or_insert_with(Default::default);
            for t in entry.tags() {
                index.add(t, entry.key());
            }
        }
    }

    /// Unindexes a replaced entry without dropping tags that the new entry in slot `i` carries.
    fn unindex_old(&mut self, old: &Entry, i: usize) {
        if old.tags().is_empty() {
            return;
        }
        let keep: Vec<TagName> = self.entry_at(i).map(|e| e.tags().to_vec()).unwrap_or_default();
        if let Some(index) = self.tags.as_mut() {
            for t in old.tags() {
                if !keep.iter().any(|k| k == t) {
                    index.remove(t, old.key());
                }
            }
            if index.is_empty() {
                self.tags = None;
            }
        }
    }

    fn unindex_entry(&mut self, entry: &Entry) {
        if let (false, Some(index)) = (entry.tags().is_empty(), self.tags.as_mut()) {
            for t in entry.tags() {
                index.remove(t, entry.key());
            }
            if index.is_empty() {
                self.tags = None;
            }
        }
    }

    /// Attaches `new_tags` to the entry for `key`; returns how many were newly attached.
    /// Names already known to this table's index are shared rather than copied.
    pub fn add_tags(&mut self, key: &[u8], hash: u64, new_tags: &[&[u8]]) -> Option<usize> {
        self.edit_tags(key, hash, |tags, index, key| {
            let index = index.get_or_insert_with(Default::default);
            let mut added = 0;
            for &t in new_tags {
                if tags.iter().any(|x| &x[..] == t) {
                    continue;
                }
                let name = index.name(t).unwrap_or_else(|| TagName::from(t));
                index.add(&name, key);
                tags.push(name);
                added += 1;
            }
            added
        })
    }

    /// Detaches `names` from the entry for `key`; returns how many it carried.
    pub fn remove_tags(&mut self, key: &[u8], hash: u64, names: &[&[u8]]) -> Option<usize> {
        self.edit_tags(key, hash, |tags, index, key| {
            let mut removed = 0;
            tags.retain(|t| {
                let drop = names.contains(&&t[..]);
                if drop {
                    removed += 1;
                    if let Some(index) = index.as_mut() {
                        index.remove(t, key);
                    }
                }
                !drop
            });
            removed
        })
    }

    /// Changes the tags of the entry for `key`: `edit` gets a copy of them, the table's index
    /// and the key, keeps the index in step and returns its count. The entry's new size is
    /// accounted and an index left empty is dropped.
    fn edit_tags(
        &mut self,
        key: &[u8],
        hash: u64,
        edit: impl FnOnce(&mut Vec<TagName>, &mut Option<Box<TagIndex>>, &[u8]) -> usize,
    ) -> Option<usize> {
        let i = self.find(key, hash)?;
        let (side, at) = self.split(i);
        let mut index = self.tags.take();
        let mut entry = self.array_mut(side).entry_box(at);
        let before = entry.memory();
        let mut tags: Vec<TagName> = entry.tags().to_vec();
        let n = edit(&mut tags, &mut index, entry.key());
        entry.set_tags(tags);
        let after = entry.memory();
        drop(entry);
        self.tags = index;
        self.entry_memory = self.entry_memory + after - before;
        if self.tags.as_ref().is_some_and(|t| t.is_empty()) {
            self.tags = None;
        }
        Some(n)
    }

    /// Slot positions: those of the new array, then (while resizing) those of the old one.
    pub fn capacity(&self) -> usize {
        self.slots.len() + self.resize.as_ref().map_or(0, |r| r.old.len())
    }

    /// Whether a resize is migrating keys between arrays.
    pub fn is_resizing(&self) -> bool {
        self.resize.is_some()
    }

    /// The array and index of position `pos`.
    #[inline]
    fn split(&self, pos: usize) -> (Side, usize) {
        let n = self.slots.len();
        if pos < n {
            (Side::New, pos)
        } else {
            (Side::Old, pos - n)
        }
    }

    #[inline]
    fn array(&self, side: Side) -> &Slots {
        match (side, &self.resize) {
            (Side::Old, Some(r)) => &r.old,
            _ => &self.slots,
        }
    }

    #[inline]
    fn array_mut(&mut self, side: Side) -> &mut Slots {
        match (side, &mut self.resize) {
            (Side::Old, Some(r)) => &mut r.old,
            _ => &mut self.slots,
        }
    }

    #[inline]
    fn position(&self, side: Side, i: usize) -> usize {
        match side {
            Side::New => i,
            Side::Old => self.slots.len() + i,
        }
    }

    /// The array that holds (or would hold) a key with this hash.
    #[inline]
    fn side_of(&self, hash: u64) -> Side {
        match &self.resize {
            Some(r) if r.old.home(hash) >= r.moved => Side::Old,
            _ => Side::New,
        }
    }

    fn entry_at(&self, pos: usize) -> Option<&Entry> {
        let (side, i) = self.split(pos);
        self.array(side).entry(i)
    }

    /// The slot holding `key`, for a caller that then reads or changes it with [`Table::at`]
    /// or [`Table::at_mut`] without probing again.
    pub fn locate(&self, key: &[u8], hash: u64) -> Option<usize> {
        self.find(key, hash)
    }

    /// The entry in slot `pos` (a slot [`Table::locate`] returned).
    pub fn at(&self, pos: usize) -> &Entry {
        self.entry_at(pos).expect("occupied slot")
    }

    /// Mutable access to slot `pos`; callers that change the entry's size must re-account it.
    pub fn at_mut(&mut self, pos: usize) -> &mut Entry {
        let (side, i) = self.split(pos);
        self.array_mut(side).entry_mut(i).expect("occupied slot")
    }

    /// The entry in slot `pos` as its box, for changes that reallocate it (a string of
    /// another length, tags, a class); callers re-account its size.
    pub fn at_box_mut(&mut self, pos: usize) -> EntryBox<'_> {
        let (side, i) = self.split(pos);
        self.array_mut(side).entry_box(i)
    }

    fn find(&self, key: &[u8], hash: u64) -> Option<usize> {
        self.probe(key, hash).ok()
    }

    /// Walks `key`'s probe sequence in the array that holds it: `Ok(slot)` where it lives, or
    /// `Err(slot)` for the empty slot that ends the walk, where it would be placed
    /// (`Err(usize::MAX)` in a table with no slots, or when the walk ran off the array's end).
    /// One walk serves both a lookup and an insert of a new key (see [`Table::insert_probed`]).
    #[inline]
    pub fn probe(&self, key: &[u8], hash: u64) -> Result<usize, usize> {
        #[cfg(test)]
        probes::count();
        let side = self.side_of(hash);
        match self.array(side).probe(key, hash) {
            Ok(i) => Ok(self.position(side, i)),
            Err(usize::MAX) => Err(usize::MAX),
            Err(i) => Err(self.position(side, i)),
        }
    }

    /// First half of a batch prefetch: starts loading the slot word where a probe for `hash`
    /// begins. A pipeline's keys are prefetched together, so their misses overlap.
    #[inline]
    pub fn prefetch_home(&self, hash: u64) {
        self.array(self.side_of(hash)).prefetch_home(hash);
    }

    /// Second half, once the words have arrived: starts loading the entry that the first
    /// word whose fingerprint matches `hash` points to.
    #[inline]
    pub fn prefetch_entry(&self, hash: u64) {
        self.array(self.side_of(hash)).prefetch_entry(hash);
    }

    pub fn get(&self, key: &[u8], hash: u64) -> Option<&Entry> {
        self.find(key, hash).map(|pos| self.at(pos))
    }

    /// Re-accounts an entry after an in-place change of its size or expiry.
    pub fn account_change(&mut self, old_memory: usize, new_memory: usize, was_volatile: bool, is_volatile: bool) {
        self.entry_memory = self.entry_memory + new_memory - old_memory;
        self.volatile = self.volatile + is_volatile as usize - was_volatile as usize;
    }

    /// Inserts `entry`, returning its slot and the entry it replaced. A replacing entry takes
    /// over the replaced one's class: the same key is in the same class.
    pub fn insert(&mut self, entry: Box<Entry>, hash: u64) -> (usize, Option<Box<Entry>>) {
        let probed = self.probe(entry.key(), hash);
        self.insert_probed(entry, hash, probed)
    }

    /// [`Table::insert`] where `probed` is what [`Table::probe`] answered for the entry's key,
    /// with no change to the table since: the key's probe sequence is not walked again.
    pub fn insert_probed(
        &mut self,
        mut entry: Box<Entry>,
        hash: u64,
        probed: Result<usize, usize>,
    ) -> (usize, Option<Box<Entry>>) {
        if let Ok(pos) = probed {
            entry.set_class(self.at(pos).class());
        }
        self.entry_memory += entry.memory();
        self.volatile += (entry.expire_at() != 0) as usize;
        self.index_entry(&entry);
        let empty = match probed {
            Ok(pos) => {
                let (side, i) = self.split(pos);
                let ptr = into_raw(entry);
                // SAFETY: the slot held a pointer from `into_raw` and now holds another.
                let old = unsafe { from_raw(self.array_mut(side).replace(i, ptr)) };
                self.entry_memory -= old.memory();
                self.volatile -= (old.expire_at() != 0) as usize;
                self.unindex_old(&old, pos);
                return (pos, Some(old));
            }
            Err(empty) => empty,
        };
        self.len += 1;
        let ptr = into_raw(entry);
        if empty == usize::MAX {
            // No slots yet, or the key's run reaches the end of its array: rebuild larger than
            // the array keys are inserted into.
            self.rebuild(grow_len(self.slots.len()));
            while self.slots.place(ptr, hash).is_none() {
                self.rebuild(grow_len(self.slots.len()));
            }
            return (self.locate_ptr(ptr, hash), None);
        }
        let (side, i) = self.split(empty);
        self.array_mut(side).put(i, ptr, hash);
        let moved = if self.resize.is_some() {
            self.migrate(MIGRATE_PER_WRITE);
            // Migration only ever empties old slots, so only an entry put there may move.
            side == Side::Old
        } else if self.len * 5 > self.slots.homes() * 4 {
            self.start_resize(grow_len(self.slots.len()));
            true
        } else {
            false
        };
        let pos = if moved { self.locate_ptr(ptr, hash) } else { empty };
        (pos, None)
    }

    /// Where the entry at address `ptr` (with key hash `hash`) is now.
    fn locate_ptr(&self, ptr: *mut u8, hash: u64) -> usize {
        let side = self.side_of(hash);
        let i = self.array(side).find_ptr(ptr, hash).expect("the entry is in the array its hash routes to");
        self.position(side, i)
    }

    pub fn remove(&mut self, key: &[u8], hash: u64) -> Option<Box<Entry>> {
        let pos = self.find(key, hash)?;
        Some(self.remove_at(pos))
    }

    /// Removes the entry in slot `pos` (one [`Table::locate`] returned or [`Table::holds_at`]
    /// confirmed), shifting later members of its run back so that no key is separated from its
    /// home slot by an empty one.
    pub fn remove_at(&mut self, pos: usize) -> Box<Entry> {
        let (side, i) = self.split(pos);
        let ptr = self.array_mut(side).remove(i);
        // SAFETY: the word held a pointer from `into_raw`, and the array no longer holds it.
        let removed = unsafe { from_raw(ptr) };
        self.len -= 1;
        self.entry_memory -= removed.memory();
        self.volatile -= (removed.expire_at() != 0) as usize;
        self.unindex_entry(&removed);
        if self.len == 0 {
            // An empty table holds no memory at all (a tenant's last key is gone).
            self.slots = Slots::default();
            self.resize = None;
        } else if self.resize.is_some() {
            self.migrate(MIGRATE_PER_WRITE);
        } else if self.len * 5 < self.slots.homes()
            && self.slots.len() > MIN_SLOTS
            && (self.len < 256 || self.len.is_multiple_of(256))
        {
            self.shrink();
        }
        removed
    }

    /// Gives the table `capacity` slot positions again (an undone write made it grow, shrink or
    /// start or end a resize), in one array, if its keys fit in it at the usual load. The slot
    /// arrays then take the memory they took before the write.
    pub fn restore_capacity(&mut self, capacity: usize) {
        if self.capacity() == capacity || self.len * 5 > homes_of(capacity) * 4 {
            return;
        }
        if capacity == 0 {
            self.slots = Slots::default();
            self.resize = None;
        } else {
            self.rebuild(capacity);
        }
    }

    /// Starts a shrink to about twice the slots the keys need, unless keys crowd part of the
    /// array. Homes follow hash prefixes, so keys removed in slot order (the expiry sweep,
    /// SCAN with DEL) leave the rest dense in one range, which a smaller array would
    /// overfill: the target keeps the densest sampled block of slots under 70 % full.
    fn shrink(&mut self) {
        const BLOCK: usize = 128;
        const BLOCKS: usize = 64;
        let words = &self.slots.words;
        let mut densest = 0;
        if words.len() > BLOCK * BLOCKS {
            for b in 0..BLOCKS {
                let start = b * (words.len() - BLOCK) / (BLOCKS - 1);
                densest = densest.max(words[start..start + BLOCK].iter().filter(|&&w| w != 0).count());
            }
        }
        let crowded = densest * 10 * self.slots.homes() / (BLOCK * 7);
        let homes = (self.len * 2).max(crowded).max(MIN_SLOTS);
        if homes * 5 < self.slots.homes() * 4 {
            self.start_resize(slots_for(homes));
        }
    }

    /// Starts moving the keys into a new array of `len` slots; small tables move at once.
    fn start_resize(&mut self, len: usize) {
        if self.resize.is_some() {
            self.migrate(usize::MAX);
        }
        let old = std::mem::replace(&mut self.slots, Slots::with_len(len));
        if old.len() == 0 {
            return;
        }
        let small = old.len() + len <= RESIZE_AT_ONCE;
        self.resize = Some(Box::new(Resize { old, moved: 0 }));
        if small {
            self.migrate(usize::MAX);
        }
    }

    /// Migrates whole runs of the old array, from the migration point on, until at least
    /// `budget` old slots are behind it (or all are, which ends the resize). Returns whether
    /// the table is still resizing.
    pub fn migrate(&mut self, budget: usize) -> bool {
        let Some(mut resize) = self.resize.take() else { return false };
        let old = &mut resize.old;
        let target = resize.moved.saturating_add(budget).min(old.len());
        while resize.moved < target {
            // The run from the migration point up to the next empty slot, which it then passes.
            let start = resize.moved;
            let end = start + old.words[start..].iter().position(|&w| w == 0).unwrap_or(old.len() - start);
            for &w in &old.words[start..end] {
                prefetch_address((w & PTR_MASK) as usize);
            }
            for k in start..end {
                // SAFETY: an occupied word points to a live entry the table owns.
                let hash = hash_key(unsafe { entry_of(old.words[k]) }.key());
                if self.slots.place(ptr_of(old.words[k]), hash).is_none() {
                    // The new array ran out of room at its end (a long run there, which only
                    // small arrays meet): put every key into one larger array at once.
                    let len = grow_len(self.slots.len()).max(old.len());
                    self.resize = Some(resize);
                    self.rebuild(len);
                    return false;
                }
                old.words[k] = 0;
            }
            resize.moved = (end + 1).min(old.len());
        }
        let resizing = resize.moved < resize.old.len();
        if resizing {
            self.resize = Some(resize);
        }
        resizing
    }

    /// Puts every key in one new array of `len` slots (or more, if a run would pass its end).
    fn rebuild(&mut self, mut len: usize) {
        let mut words: Vec<u64> = Vec::with_capacity(self.len);
        words.extend(self.slots.words.iter().copied().filter(|&w| w != 0));
        if let Some(r) = self.resize.take() {
            words.extend(r.old.words.iter().copied().filter(|&w| w != 0));
        }
        loop {
            let mut slots = Slots::with_len(len.max(MIN_SLOTS));
            // SAFETY: occupied words point to live entries the table owns.
            if words.iter().all(|&w| slots.place(ptr_of(w), hash_key(unsafe { entry_of(w) }.key())).is_some()) {
                self.slots = slots;
                return;
            }
            len = grow_len(len);
        }
    }

    /// Drops every entry, returning them so a caller can free them elsewhere.
    pub fn take_all(&mut self) -> Table {
        std::mem::take(self)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        let old = self.resize.as_ref().map(|r| &r.old);
        self.slots.iter().chain(old.into_iter().flat_map(Slots::iter))
    }

    /// Lets `classify` set every entry's class (when key classes are installed or change
    /// patterns), accounting the entries' new sizes.
    pub fn classify(&mut self, mut classify: impl FnMut(&mut Box<Entry>)) {
        for pos in 0..self.capacity() {
            let (side, i) = self.split(pos);
            if self.array(side).words[i] != 0 {
                let mut e = self.array_mut(side).entry_box(i);
                let before = e.memory();
                classify(&mut e);
                let after = e.memory();
                drop(e);
                self.entry_memory = self.entry_memory + after - before;
            }
        }
    }

    /// Visits the keys whose hash prefix lies between `cursor` and the first prefix of the
    /// next home slot, then returns that prefix as the next cursor (0 = done). While resizing,
    /// the old array's keys of those prefixes are visited too. Each key is visited in the step
    /// that covers its prefix, wherever it lives then: none is missed and none is returned
    /// twice, however the table is resized between steps.
    pub fn scan_step(&self, cursor: u64, mut visit: impl FnMut(&Entry)) -> u64 {
        if self.slots.len() == 0 || cursor > u32::MAX as u64 {
            return 0;
        }
        let homes = self.slots.homes() as u64;
        let home = (cursor * homes) >> 32;
        let next = ((home + 1) << 32).div_ceil(homes);
        self.slots.visit_prefixes(cursor, next, 0, &mut visit);
        if let Some(r) = &self.resize {
            r.old.visit_prefixes(cursor, next, r.moved, &mut visit);
        }
        if next > u32::MAX as u64 {
            0
        } else {
            next
        }
    }

    /// The occupied slots at or after `start` (wrapping, one turn at most) with their entries.
    pub fn occupied_from(&self, start: usize) -> impl Iterator<Item = (usize, &Entry)> {
        let n = self.capacity();
        (0..n).map(move |k| (start % n.max(1) + k) % n).filter_map(move |pos| self.entry_at(pos).map(|e| (pos, e)))
    }

    /// Walks at most `max_steps` slots from `start` (wrapping, at most one turn) and offers
    /// each occupied one to `take` until it has accepted `wanted` of them. Eviction samples
    /// this way, as Redis's `dictGetSomeKeys` does: neighbouring slots hold unrelated keys,
    /// and reading them costs one or two cache lines of the slot array instead of one miss
    /// per sample.
    pub fn sample(&self, start: usize, wanted: usize, max_steps: usize, mut take: impl FnMut(usize, &Entry) -> bool) {
        let n = self.capacity();
        if self.len == 0 || wanted == 0 || n == 0 {
            return;
        }
        const BATCH: usize = 16;
        let mut pos = start % n;
        let mut steps = max_steps.min(n);
        let mut taken = 0;
        while taken < wanted && steps > 0 {
            // Find a batch of occupied slots and start loading their entries before reading
            // any of them: the entries are scattered over the heap, and their cache misses
            // then overlap instead of following one another.
            let mut batch = [0usize; BATCH];
            let mut found = 0;
            while found < BATCH.min(wanted - taken) && steps > 0 {
                let (side, i) = self.split(pos);
                let w = self.array(side).words[i];
                if w != 0 {
                    batch[found] = pos;
                    found += 1;
                    prefetch_address((w & PTR_MASK) as usize);
                }
                pos = if pos + 1 == n { 0 } else { pos + 1 };
                steps -= 1;
            }
            for &slot in &batch[..found] {
                if take(slot, self.at(slot)) {
                    taken += 1;
                }
            }
        }
    }

    /// Starts loading the slots from `start` on, for a [`Table::sample`] to come.
    pub fn prefetch_slots(&self, start: usize) {
        let n = self.capacity();
        if n > 0 {
            let (side, i) = self.split(start % n);
            prefetch(&self.array(side).words[i]);
        }
    }

    /// Starts loading the entries of the first `n` occupied slots from `start` on.
    pub fn prefetch_entries(&self, start: usize, n: usize) {
        for (_, e) in self.occupied_from(start).take(n) {
            prefetch(e);
        }
    }

    /// Whether slot `pos` still holds the entry that lived at address `entry` when it was
    /// sampled (entries are boxed, so an entry keeps its address while it lives).
    pub fn holds_at(&self, pos: usize, entry: usize) -> bool {
        pos < self.capacity()
            && self.entry_at(pos).is_some_and(|e| std::ptr::from_ref(e).cast::<u8>() as usize == entry)
    }

    /// Visits slots from `start` for at most `budget` occupied ones (or sixteen times as many empty
    /// ones); `remove` says whether to remove the entry. Returns the slot to continue from (0 once the end is reached). A
    /// resize that starts or ends under the sweep may make it skip or revisit keys; the next
    /// pass sees them.
    pub fn sweep(
        &mut self,
        start: usize,
        budget: usize,
        mut remove: impl FnMut(&Entry) -> bool,
        mut removed: impl FnMut(Box<Entry>),
    ) -> usize {
        let mut pos = start;
        let mut looked = 0;
        while looked < budget * 16 && pos < self.capacity() {
            if let Some(r) = &self.resize {
                // The old array's migrated slots are empty.
                let old_start = self.slots.len();
                if pos >= old_start && pos - old_start < r.moved {
                    pos = old_start + r.moved;
                    continue;
                }
            }
            // Empty slots cost a sixteenth of an occupied one: a sparse array is walked fast.
            let entry = self.entry_at(pos);
            looked += if entry.is_some() { 16 } else { 1 };
            let hit = entry.is_some_and(&mut remove);
            if hit {
                removed(self.remove_at(pos));
                // A later entry may have shifted into this slot: look at it again.
                continue;
            }
            pos += 1;
        }
        if pos >= self.capacity() {
            0
        } else {
            pos
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let old = self.resize.take().map(|r| r.old);
        for slots in [Some(std::mem::take(&mut self.slots)), old].into_iter().flatten() {
            for &w in slots.words.iter().filter(|&&w| w != 0) {
                // SAFETY: occupied words own the entries they point to, and each is freed once.
                drop(unsafe { from_raw(ptr_of(w)) });
            }
        }
    }
}

/// The slot count a table of `len` slots grows to: doubling while small, a quarter beyond.
fn grow_len(len: usize) -> usize {
    if len < RESIZE_AT_ONCE {
        (len * 2).max(MIN_SLOTS)
    } else {
        len + len / 4
    }
}

/// Home slots of an array of `len` slots: the rest is the overflow area at its end, where
/// runs that start near the end continue (a sixty-fourth, and a little more in small arrays).
#[inline]
fn homes_of(len: usize) -> usize {
    len - len / 64 - (len / 4).min(16)
}

/// The smallest array length with at least `homes` home slots.
fn slots_for(homes: usize) -> usize {
    let mut len = homes + homes / 63 + 16;
    while len > MIN_SLOTS && homes_of(len - 1) >= homes {
        len -= 1;
    }
    len
}

#[inline]
fn into_raw(entry: Box<Entry>) -> *mut u8 {
    let ptr = Entry::into_thin(entry);
    assert!((ptr as u64) >> PTR_BITS == 0, "entry addresses fit in {PTR_BITS} bits");
    ptr
}

/// The entry box a word's address came from.
///
/// # Safety
/// `ptr` must come from [`into_raw`], and no word may hold it any more.
#[inline]
unsafe fn from_raw(ptr: *mut u8) -> Box<Entry> {
    // SAFETY: as the caller vouches.
    unsafe { Box::from_raw(Entry::from_thin(ptr)) }
}

/// The entry address in a word.
#[inline]
fn ptr_of(word: u64) -> *mut u8 {
    (word & PTR_MASK) as *mut u8
}

/// The entry an occupied word points to.
///
/// # Safety
/// `word` must be an occupied word of a live table, which keeps the entry alive (and
/// unchanged) for `'a`.
#[inline]
unsafe fn entry_of<'a>(word: u64) -> &'a Entry {
    // SAFETY: as the caller vouches.
    unsafe { &*Entry::from_thin(ptr_of(word)) }
}

/// [`entry_of`] for a change: the caller also vouches that the access is unique.
#[inline]
unsafe fn entry_of_mut<'a>(word: u64) -> &'a mut Entry {
    // SAFETY: as the caller vouches.
    unsafe { &mut *Entry::from_thin(ptr_of(word)) }
}

/// An entry lent out of its slot as the box that owns it, for a change that may reallocate
/// it; the slot gets the (possibly new) address back when the loan ends.
pub struct EntryBox<'a> {
    word: &'a mut u64,
    entry: std::mem::ManuallyDrop<Box<Entry>>,
}

impl<'a> EntryBox<'a> {
    fn lend(word: &'a mut u64) -> EntryBox<'a> {
        assert!(*word != 0, "occupied slot");
        // SAFETY: the word owns the entry; while the loan holds the word mutably borrowed,
        // the box is the only way to the entry, and `drop` hands ownership back.
        let entry = std::mem::ManuallyDrop::new(unsafe { from_raw(ptr_of(*word)) });
        EntryBox { word, entry }
    }
}

impl std::ops::Deref for EntryBox<'_> {
    type Target = Box<Entry>;

    fn deref(&self) -> &Box<Entry> {
        &self.entry
    }
}

impl std::ops::DerefMut for EntryBox<'_> {
    fn deref_mut(&mut self) -> &mut Box<Entry> {
        &mut self.entry
    }
}

impl Drop for EntryBox<'_> {
    fn drop(&mut self) {
        // SAFETY: the box is taken once, here, and the loan ends with it.
        let entry = unsafe { std::mem::ManuallyDrop::take(&mut self.entry) };
        *self.word = (*self.word & !PTR_MASK) | into_raw(entry) as u64;
    }
}

/// The word's two hash bytes: fingerprint above, distance from home below.
#[inline]
fn tag_of(word: u64) -> u64 {
    word >> PTR_BITS
}

#[inline]
fn tag(hash: u64, disp: usize) -> u64 {
    ((hash & 0xff) << 8) | disp.min(MAX_DISP) as u64
}

/// One array of slots: words of `pointer | disp << 48 | fingerprint << 56`, 0 when empty. It
/// does not own the entries (the table frees them).
#[derive(Default)]
struct Slots {
    words: Words,
    homes: usize,
}

impl Slots {
    fn with_len(len: usize) -> Slots {
        Slots { words: Words::zeroed(len), homes: homes_of(len) }
    }

    #[inline]
    fn len(&self) -> usize {
        self.words.len()
    }

    #[inline]
    fn homes(&self) -> usize {
        self.homes
    }

    #[inline]
    fn home_of_prefix(&self, prefix: u64) -> usize {
        ((prefix * self.homes as u64) >> 32) as usize
    }

    #[inline]
    fn home(&self, hash: u64) -> usize {
        self.home_of_prefix(hash >> 32)
    }

    /// The home slot of the entry in occupied slot `i`.
    #[inline]
    fn home_at(&self, i: usize) -> usize {
        let disp = (tag_of(self.words[i]) & 0xff) as usize;
        if disp < MAX_DISP {
            i - disp
        } else {
            // SAFETY: an occupied word points to a live entry the table owns.
            self.home(hash_key(unsafe { entry_of(self.words[i]) }.key()))
        }
    }

    #[inline]
    fn entry(&self, i: usize) -> Option<&Entry> {
        let w = *self.words.get(i)?;
        // SAFETY: an occupied word points to a live entry the table owns; the borrow of the
        // array keeps it from being freed or replaced meanwhile.
        (w != 0).then(|| unsafe { entry_of(w) })
    }

    #[inline]
    fn entry_mut(&mut self, i: usize) -> Option<&mut Entry> {
        let w = *self.words.get(i)?;
        // SAFETY: as in `entry`; the mutable borrow of the array makes this access unique.
        (w != 0).then(|| unsafe { entry_of_mut(w) })
    }

    /// Lends out the entry of occupied slot `i` as its box.
    #[inline]
    fn entry_box(&mut self, i: usize) -> EntryBox<'_> {
        EntryBox::lend(&mut self.words[i])
    }

    /// Puts `ptr` in occupied slot `i` (an entry for the same key), returning the old pointer.
    #[inline]
    fn replace(&mut self, i: usize, ptr: *mut u8) -> *mut u8 {
        let w = self.words[i];
        assert!(w != 0, "occupied slot");
        self.words[i] = (w & !PTR_MASK) | ptr as u64;
        ptr_of(w)
    }

    #[inline]
    fn prefetch_home(&self, hash: u64) {
        if let Some(w) = self.words.get(self.home(hash)) {
            prefetch_address(w as *const u64 as usize);
        }
    }

    /// Looks at the first few words of the run only: a key further from home is rare, and
    /// the probe finds it anyway.
    #[inline]
    fn prefetch_entry(&self, hash: u64) {
        let home = self.home(hash);
        for (disp, &w) in self.words.iter().skip(home).take(4).enumerate() {
            if w == 0 {
                return;
            }
            if tag_of(w) == tag(hash, disp) {
                // Two lines: a 16-byte key with a 64-byte value already reaches into the second.
                let address = (w & PTR_MASK) as usize;
                prefetch_address(address);
                prefetch_address(address + 64);
                return;
            }
        }
    }

    fn probe(&self, key: &[u8], hash: u64) -> Result<usize, usize> {
        if self.words.is_empty() {
            return Err(usize::MAX);
        }
        let home = self.home(hash);
        let mut i = home;
        while let Some(&w) = self.words.get(i) {
            if w == 0 {
                return Err(i);
            }
            if tag_of(w) == tag(hash, i - home) {
                // SAFETY: an occupied word points to a live entry the table owns.
                if crate::util::bytes_eq(unsafe { entry_of(w) }.key(), key) {
                    return Ok(i);
                }
            }
            i += 1;
        }
        Err(usize::MAX)
    }

    /// Writes the entry into empty slot `i` (where its probe ended).
    #[inline]
    fn put(&mut self, i: usize, ptr: *mut u8, hash: u64) {
        let home = self.home(hash);
        debug_assert!(self.words[i] == 0 && i >= home);
        self.words[i] = ptr as u64 | tag(hash, i - home) << PTR_BITS;
    }

    /// Puts the entry in the first free slot from its home; `None` if the run reaches the end.
    fn place(&mut self, ptr: *mut u8, hash: u64) -> Option<usize> {
        let home = self.home(hash);
        let i = home + self.words.get(home..)?.iter().position(|&w| w == 0)?;
        self.put(i, ptr, hash);
        Some(i)
    }

    fn find_ptr(&self, ptr: *mut u8, hash: u64) -> Option<usize> {
        let home = self.home(hash);
        self.words.get(home..)?.iter().position(|&w| w != 0 && ptr_of(w) == ptr).map(|k| home + k)
    }

    /// Empties occupied slot `i` and shifts later members of its run back (each to the hole if
    /// its home is at or before it), returning the removed entry's pointer.
    fn remove(&mut self, mut i: usize) -> *mut u8 {
        let ptr = ptr_of(self.words[i]);
        self.words[i] = 0;
        let mut j = i + 1;
        while j < self.words.len() && self.words[j] != 0 {
            let home = self.home_at(j);
            if home <= i {
                let w = self.words[j];
                let fingerprint = tag_of(w) >> 8;
                self.words[i] = (w & PTR_MASK) | (fingerprint << 8 | (i - home).min(MAX_DISP) as u64) << PTR_BITS;
                self.words[j] = 0;
                i = j;
            }
            j += 1;
        }
        ptr
    }

    /// Visits the entries whose hash prefix lies in `from..to`, looking at home slots from
    /// `floor` on. Entries of the two boundary homes, which may hold prefixes outside the
    /// range, have their key hashed again to tell.
    fn visit_prefixes(&self, from: u64, to: u64, floor: usize, visit: &mut impl FnMut(&Entry)) {
        let (first, last) = (self.home_of_prefix(from), self.home_of_prefix(to - 1));
        let mut i = first.max(floor);
        while i < self.words.len() && (i <= last || self.words[i] != 0) {
            if let Some(e) = self.entry(i) {
                let home = self.home_at(i);
                let inside = (first..=last).contains(&home)
                    && ((first < home && home < last) || (from..to).contains(&(hash_key(e.key()) >> 32)));
                if inside {
                    visit(e);
                }
            }
            i += 1;
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Entry> {
        // SAFETY: occupied words point to live entries the table owns.
        self.words.iter().filter(|&&w| w != 0).map(|&w| unsafe { entry_of(w) })
    }
}

/// Probe sequences walked by this thread, for tests that check a command walks one.
#[cfg(test)]
pub mod probes {
    use std::cell::Cell;
    thread_local!(static WALKED: Cell<u64> = const { Cell::new(0) });

    pub(super) fn count() {
        WALKED.with(|w| w.set(w.get() + 1));
    }

    /// Walks so far on this thread.
    pub fn walked() -> u64 {
        WALKED.with(Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    /// Inserts `key(i)` with value "v" for each `i` in `range`.
    fn fill(t: &mut Table, range: std::ops::Range<usize>) {
        for i in range {
            let k = key(i);
            t.insert(Entry::string(&k, b"v", 0), hash_key(&k));
        }
    }

    /// Inserts keys from `key(next)` on until a resize is under way; returns the first index
    /// not inserted.
    fn fill_until_resizing(t: &mut Table, mut next: usize) -> usize {
        while !t.is_resizing() {
            fill(t, next..next + 1);
            next += 1;
        }
        next
    }

    fn seeded_rng(test: &str) -> crate::util::Rng {
        crate::util::Rng::for_test(test, "TABLE_SEED")
    }

    #[test]
    fn insert_get_remove() {
        let mut t = Table::new();
        for i in 0..1000 {
            let k = key(i);
            let mut e = Entry::string(&k, b"v", 0);
            e.set_class(i as u32);
            let (slot, old) = t.insert(e, hash_key(&k));
            assert!(old.is_none());
            assert_eq!(t.at(slot).key(), k, "insert returns the slot of the key, also when it grows");
        }
        assert_eq!(t.len(), 1000);
        // A replacing entry lands in the same slot and keeps the key's class.
        let k = key(7);
        let slot = t.locate(&k, hash_key(&k)).unwrap();
        let (again, old) = t.insert(Entry::string(&k, b"w", 0), hash_key(&k));
        assert_eq!((again, old.map(|e| e.class())), (slot, Some(7)));
        assert_eq!((t.at(slot).str_value(), t.at(slot).class()), (&b"w"[..], 7));
        for i in (0..1000).step_by(2) {
            let k = key(i);
            assert!(t.remove(&k, hash_key(&k)).is_some());
        }
        for i in 0..1000 {
            let k = key(i);
            assert_eq!(t.get(&k, hash_key(&k)).is_some(), i % 2 == 1, "key {i}");
        }
        for i in 0..1000 {
            let k = key(i);
            t.remove(&k, hash_key(&k));
        }
        assert_eq!(t.len(), 0);
        assert_eq!(t.memory(), 0, "an emptied table frees its arrays");
    }

    /// Checks every structural invariant: counters, the hash bytes of every word, that no key
    /// is separated from its home slot by an empty slot, that every key is in the array its
    /// hash routes to, and that a resize's migrated slots are empty.
    fn check_invariants(t: &Table) {
        let (mut len, mut volatile, mut memory) = (0, 0, 0);
        let mut arrays = vec![(Side::New, &t.slots, 0)];
        if let Some(r) = &t.resize {
            arrays.push((Side::Old, &r.old, r.moved));
            assert!(r.old.words[..r.moved.min(r.old.len())].iter().all(|&w| w == 0), "migrated slots are empty");
        }
        for (side, slots, _) in arrays {
            assert_eq!(slots.homes, homes_of(slots.len()));
            for (i, &w) in slots.words.iter().enumerate() {
                let Some(e) = slots.entry(i) else { continue };
                let hash = hash_key(e.key());
                let home = slots.home(hash);
                assert!(home <= i, "slot {i} lies before its home {home}");
                assert_eq!(tag_of(w), tag(hash, i - home), "hash bytes of slot {i}");
                assert_eq!(slots.home_at(i), home);
                assert!(slots.words[home..i].iter().all(|&w| w != 0), "empty slot between home {home} and slot {i}");
                assert!(t.side_of(hash) == side, "key in the array its hash routes to");
                assert!(t.get(e.key(), hash).is_some());
                len += 1;
                volatile += (e.expire_at() != 0) as usize;
                memory += e.memory();
            }
        }
        assert_eq!(t.len(), len);
        assert_eq!(t.volatile(), volatile);
        assert_eq!(t.memory(), memory + t.capacity() * 8);
        if !t.is_resizing() && t.capacity() > 0 {
            assert!(t.len() * 5 <= t.slots.homes() * 4, "load within bounds");
        }
    }

    #[test]
    fn random_operations_keep_invariants() {
        let mut rng = seeded_rng("random_operations_keep_invariants");
        let mut t = Table::new();
        let mut live = HashSet::new();
        let mut resized_incrementally = false;
        for round in 0..200_000 {
            // Phases of growth and of decline, so the table both grows and shrinks, past the
            // size where resizes migrate a little per write.
            let growing = (round / 40_000) % 2 == 0;
            let i = rng.below(30_000) as usize;
            let k = key(i);
            if rng.below(100) < if growing { 80 } else { 15 } {
                let mut e = Entry::string(&k, b"value", 0);
                e.set_expire_at((i % 3) as u64);
                let (slot, old) = t.insert(e, hash_key(&k));
                assert_eq!(old.is_some(), !live.insert(i));
                assert_eq!(t.at(slot).key(), k, "insert returns the key's slot");
            } else {
                assert_eq!(t.remove(&k, hash_key(&k)).is_some(), live.remove(&i));
            }
            resized_incrementally |= t.is_resizing();
            if round % 5000 == 0 {
                check_invariants(&t);
            }
        }
        check_invariants(&t);
        assert!(resized_incrementally, "the test reached incremental resizes");
        for i in 0..30_000 {
            let k = key(i);
            assert_eq!(t.get(&k, hash_key(&k)).is_some(), live.contains(&i), "key {i}");
        }
    }

    #[test]
    fn resize_migrates_a_little_per_write_and_in_steps() {
        let mut t = Table::new();
        let i = fill_until_resizing(&mut t, 0);
        check_invariants(&t);
        // Cron steps finish it without writes.
        let mut steps = 0;
        while t.migrate(1000) {
            steps += 1;
            assert!(steps < 1000);
        }
        assert!(steps > 1, "a large table migrates over several steps");
        check_invariants(&t);
        for j in 0..i {
            let k = key(j);
            assert!(t.get(&k, hash_key(&k)).is_some(), "key {j}");
        }
    }

    #[test]
    fn restore_capacity_gives_back_the_memory() {
        let mut rng = seeded_rng("restore_capacity_gives_back_the_memory");
        let mut t = Table::new();
        let n = 5000 + rng.below(20_000) as usize;
        fill(&mut t, 0..n);
        // Writes until the slot arrays change, then the write is undone.
        let (capacity, memory) = (t.capacity(), t.memory());
        let mut extra = n;
        while t.capacity() == capacity {
            let k = key(extra);
            t.insert(Entry::string(&k, b"v", 0), hash_key(&k));
            extra += 1;
        }
        for j in n..extra {
            let k = key(j);
            t.remove(&k, hash_key(&k));
        }
        t.restore_capacity(capacity);
        assert_eq!((t.capacity(), t.memory()), (capacity, memory));
        check_invariants(&t);
    }

    #[test]
    fn sweep_removes_exactly_the_chosen_entries() {
        let mut t = Table::new();
        for i in 0..10_000 {
            let k = key(i);
            let mut e = Entry::string(&k, b"v", 0);
            e.set_expire_at(if i % 20 == 0 { 0 } else { 1 });
            t.insert(e, hash_key(&k));
        }
        let mut removed = 0;
        let mut next = 0;
        // Small slices, as the active expiry cycle takes them; removals shift entries back
        // into the slot just looked at and shrink the table under the sweep.
        for _ in 0..100_000 {
            next = t.sweep(next, 100, |e| e.expire_at() == 1, |_| removed += 1);
            if t.volatile() == 0 {
                break;
            }
        }
        check_invariants(&t);
        assert_eq!(removed, 9500);
        assert_eq!(t.len(), 500);
        while t.migrate(usize::MAX) {}
        assert!(t.capacity() < 4096, "the table shrank ({})", t.capacity());
        for i in (0..10_000).step_by(20) {
            let k = key(i);
            assert!(t.get(&k, hash_key(&k)).is_some(), "kept key {i}");
        }
    }

    #[test]
    fn emptied_table_frees_its_arrays() {
        let mut t = Table::new();
        fill(&mut t, 0..50_000);
        let mut next = 0;
        for _ in 0..100_000 {
            next = t.sweep(next, 1000, |_| true, drop);
            if t.is_empty() {
                break;
            }
        }
        assert!(t.is_empty());
        assert_eq!(t.capacity(), 0);
        assert_eq!(t.memory(), 0);
    }

    #[test]
    fn scan_survives_growth_and_shrink() {
        let mut rng = seeded_rng("scan_survives_growth_and_shrink");
        let mut t = Table::new();
        fill(&mut t, 0..500);
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        let (grow_at, shrink_at) = (1 + rng.below(100), 200 + rng.below(2000));
        loop {
            cursor = t.scan_step(cursor, |e| {
                seen.insert(e.key().to_vec());
            });
            step += 1;
            // Grow in the middle of the scan, then shrink, writing a little per step so that
            // resizes are under way between steps: keys 0..500 stay throughout.
            if (grow_at..grow_at + 400).contains(&step) {
                let first = 500 + (step - grow_at) as usize * 100;
                fill(&mut t, first..first + 100);
            }
            if (shrink_at..shrink_at + 400).contains(&step) {
                for i in 0..100 {
                    let k = key(500 + (step - shrink_at) as usize * 100 + i);
                    t.remove(&k, hash_key(&k));
                }
            }
            if cursor == 0 {
                break;
            }
            assert!(step < 10_000_000);
        }
        for i in 0..500 {
            assert!(seen.contains(&key(i)), "missed key {i}");
        }
    }

    #[test]
    fn a_full_scan_visits_every_key_once_when_nothing_changes() {
        let mut t = Table::new();
        fill(&mut t, 0..20_000);
        for resizing in [false, true] {
            if resizing {
                fill_until_resizing(&mut t, 20_000);
            }
            let mut seen = Vec::new();
            let mut cursor = 0;
            loop {
                cursor = t.scan_step(cursor, |e| seen.push(e.key().to_vec()));
                if cursor == 0 {
                    break;
                }
            }
            let distinct: HashSet<_> = seen.iter().collect();
            assert_eq!((seen.len(), distinct.len()), (t.len(), t.len()), "resizing: {resizing}");
        }
    }

    /// An expiry sweep removes keys in slot order, which is hash-prefix order: the keys
    /// left crowd the top of the array. Shrinks must not overfill that range (the table would
    /// then rebuild larger, in one go, under the sweep).
    #[test]
    fn sweeping_removals_shrink_without_growing() {
        let mut t = Table::new();
        for i in 0..100_000 {
            let k = key(i);
            let mut e = Entry::string(&k, b"v", 0);
            e.set_expire_at(1);
            t.insert(e, hash_key(&k));
        }
        let start = t.capacity();
        let mut next = 0;
        for round in 0..100_000 {
            next = t.sweep(next, 1024, |e| e.expire_at() == 1, drop);
            assert!(t.slots.len() <= start, "round {round}: {} slots, from {start}", t.slots.len());
            if round % 20 == 0 {
                check_invariants(&t);
            }
            if t.is_empty() {
                break;
            }
        }
        assert!(t.is_empty());
    }
}
