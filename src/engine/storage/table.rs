//! The hash table that holds one tenant's keys in one database.
//!
//! Open addressing with linear probing over a power-of-two array of slots, plus the low 31 bits
//! of each key's hash beside its slot (0 = empty). Probing compares those bits before it
//! touches an entry, and growing, shrinking, backward-shift deletion and SCAN find a key's home
//! slot from them without reading (or hashing) the key again.
//! Linear probing keeps every key in the unbroken run of occupied slots that starts at its home
//! slot (`hash & mask`). That gives SCAN Redis's guarantee: the cursor walks home slots in
//! reverse-binary order, and a key present for a whole iteration is returned at least once
//! even when the table grows or shrinks in between. Eviction and RANDOMKEY sample random slots.

use super::entry::Entry;
use crate::tags::{TagIndex, TagName};
use std::hash::BuildHasher;

const MIN_CAPACITY: usize = 8;
/// Bytes per slot: the entry pointer and the stored hash bits.
const SLOT_BYTES: usize = 12;

/// The process-wide key hasher (seeded randomly at start, against hash flooding).
pub fn hasher() -> &'static foldhash::quality::RandomState {
    static HASHER: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    HASHER.get_or_init(foldhash::quality::RandomState::default)
}

#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    hasher().hash_one(key)
}

/// What the table keeps of a hash: its low 31 bits (the home slot of any table up to 2^31
/// slots), with the top bit set so that 0 means "empty".
#[inline]
fn ctrl_of(hash: u64) -> u32 {
    0x8000_0000 | hash as u32
}

/// Asks the CPU to start loading the cache lines that hold `value` (its first and last byte:
/// a 40-byte entry in a 48-byte block straddles two lines half of the time).
#[inline]
fn prefetch<T>(value: &T) {
    let first = std::ptr::from_ref(value) as usize;
    prefetch_address(first);
    prefetch_address(first + std::mem::size_of::<T>().saturating_sub(1));
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
    ctrl: Box<[u32]>,
    slots: Box<[Option<Box<Entry>>]>,
    len: usize,
    /// Keys that carry an expiry.
    volatile: usize,
    /// Heap bytes of the entries (not counting the slot arrays).
    entry_memory: usize,
    /// Tag → keys, for the keys of this table that carry tags.
    tags: Option<Box<TagIndex>>,
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
        self.entry_memory + self.slots.len() * SLOT_BYTES + self.tags.as_ref().map_or(0, |t| t.memory())
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
        let keep: Vec<TagName> = self.slots[i].as_ref().map(|e| e.tags().to_vec()).unwrap_or_default();
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
        let entry = self.slots[i].as_deref_mut().expect("occupied");
        let before = entry.memory();
        let mut tags: Vec<TagName> = entry.tags().to_vec();
        let n = edit(&mut tags, &mut self.tags, entry.key());
        entry.set_tags(tags);
        self.entry_memory = self.entry_memory + entry.memory() - before;
        if self.tags.as_ref().is_some_and(|t| t.is_empty()) {
            self.tags = None;
        }
        Some(n)
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot holding `key`, for a caller that then reads or changes it with [`Table::at`]
    /// or [`Table::at_mut`] without probing again.
    pub fn locate(&self, key: &[u8], hash: u64) -> Option<usize> {
        self.find(key, hash)
    }

    /// The entry in slot `i` (a slot [`Table::locate`] returned).
    pub fn at(&self, i: usize) -> &Entry {
        self.slots[i].as_deref().expect("occupied slot")
    }

    /// Mutable access to slot `i`; callers that change the entry's size must re-account it.
    pub fn at_mut(&mut self, i: usize) -> &mut Entry {
        self.slots[i].as_deref_mut().expect("occupied slot")
    }

    fn find(&self, key: &[u8], hash: u64) -> Option<usize> {
        self.probe(key, hash).ok()
    }

    /// Walks `key`'s probe sequence: `Ok(slot)` where it lives, or `Err(slot)` for the empty
    /// slot that ends the walk, where it would be placed (`Err(usize::MAX)` in a table with no
    /// slots). One walk serves both a lookup and an insert of a new key (see
    /// [`Table::insert_probed`]).
    #[inline]
    pub fn probe(&self, key: &[u8], hash: u64) -> Result<usize, usize> {
        #[cfg(test)]
        probes::count();
        if self.slots.is_empty() {
            return Err(usize::MAX);
        }
        let mask = self.mask();
        let tag = ctrl_of(hash);
        let mut i = hash as usize & mask;
        loop {
            let c = self.ctrl[i];
            if c == 0 {
                return Err(i);
            }
            if c == tag {
                if let Some(e) = &self.slots[i] {
                    if crate::util::bytes_eq(e.key(), key) {
                        return Ok(i);
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    pub fn get(&self, key: &[u8], hash: u64) -> Option<&Entry> {
        self.find(key, hash).and_then(|i| self.slots[i].as_deref())
    }

    /// Mutable access; callers that change the entry's size must call [`Table::resize_entry`].
    pub fn get_mut(&mut self, key: &[u8], hash: u64) -> Option<&mut Entry> {
        let i = self.find(key, hash)?;
        self.slots[i].as_deref_mut()
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
        self.entry_memory += entry.memory();
        self.volatile += (entry.expire_at != 0) as usize;
        self.index_entry(&entry);
        let empty = match probed {
            Ok(i) => {
                let slot = &mut self.slots[i];
                entry.class = slot.as_ref().expect("occupied slot").class;
                let old = slot.replace(entry).expect("occupied slot");
                self.entry_memory -= old.memory();
                self.volatile -= (old.expire_at != 0) as usize;
                self.unindex_old(&old, i);
                return (i, Some(old));
            }
            Err(empty) => empty,
        };
        self.len += 1;
        if self.len * 4 > self.slots.len() * 3 {
            self.rebuild((self.slots.len() * 2).max(MIN_CAPACITY));
            (self.place(entry, hash), None)
        } else {
            // The walk that found no such key ended at the slot the key goes to.
            self.ctrl[empty] = ctrl_of(hash);
            self.slots[empty] = Some(entry);
            (empty, None)
        }
    }

    /// Puts `entry` in the first free slot of its probe sequence, which it returns.
    fn place(&mut self, entry: Box<Entry>, hash: u64) -> usize {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        while self.ctrl[i] != 0 {
            i = (i + 1) & mask;
        }
        self.ctrl[i] = ctrl_of(hash);
        self.slots[i] = Some(entry);
        i
    }

    pub fn remove(&mut self, key: &[u8], hash: u64) -> Option<Box<Entry>> {
        let i = self.find(key, hash)?;
        Some(self.remove_at(i))
    }

    /// Removes the entry in slot `i` (one [`Table::locate`] returned or [`Table::holds_at`]
    /// confirmed), shifting later members of the run back so that no key is separated from
    /// its home slot by an empty one.
    pub fn remove_at(&mut self, mut i: usize) -> Box<Entry> {
        let mask = self.mask();
        let removed = self.slots[i].take().expect("occupied slot");
        self.ctrl[i] = 0;
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            if self.ctrl[j] == 0 {
                break;
            }
            let home = self.ctrl[j] as usize & mask;
            // The entry at j may move to i if i lies cyclically within [home, j).
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(i) & mask) {
                self.slots[i] = self.slots[j].take();
                self.ctrl[i] = self.ctrl[j];
                self.ctrl[j] = 0;
                i = j;
            }
        }
        self.len -= 1;
        self.entry_memory -= removed.memory();
        self.volatile -= (removed.expire_at != 0) as usize;
        self.unindex_entry(&removed);
        if self.len == 0 {
            // An empty table holds no memory at all (a tenant's last key is gone).
            self.slots = Box::default();
            self.ctrl = Box::default();
        } else if self.len * 10 < self.slots.len() && self.slots.len() > MIN_CAPACITY {
            self.rebuild((self.len * 2).next_power_of_two().max(MIN_CAPACITY));
        }
        removed
    }

    /// Gives the table `capacity` slots again (an undone write made it grow or shrink), if
    /// its keys fit in them at the usual load.
    pub fn restore_capacity(&mut self, capacity: usize) {
        if self.slots.len() == capacity || self.len * 4 > capacity * 3 {
            return;
        }
        if capacity == 0 {
            self.slots = Box::default();
            self.ctrl = Box::default();
        } else {
            self.rebuild(capacity);
        }
    }

    fn rebuild(&mut self, capacity: usize) {
        let old = std::mem::replace(&mut self.slots, (0..capacity).map(|_| None).collect());
        let old_ctrl = std::mem::replace(&mut self.ctrl, vec![0; capacity].into_boxed_slice());
        for (e, &c) in old.into_vec().into_iter().zip(old_ctrl.iter()) {
            if let Some(e) = e {
                self.place(e, c as u64);
            }
        }
    }

    /// Drops every entry, returning them so a caller can free them elsewhere.
    pub fn take_all(&mut self) -> Table {
        std::mem::take(self)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().filter_map(|s| s.as_deref())
    }

    /// Sets every entry's class (when key classes are installed or change patterns).
    pub fn classify(&mut self, mut class_of: impl FnMut(&Entry) -> crate::keyclass::ClassId) {
        for e in self.slots.iter_mut().filter_map(|s| s.as_deref_mut()) {
            e.class = class_of(e);
        }
    }

    /// Visits the keys whose home slot is `cursor`'s, then returns the next cursor (0 = done).
    /// Cursors are reverse-binary over home slots, as in Redis's `dictScan`.
    pub fn scan_step(&self, cursor: u64, mut visit: impl FnMut(&Entry)) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        let mask = self.mask() as u64;
        let home = (cursor & mask) as usize;
        let mut i = home;
        while self.ctrl[i] != 0 {
            if self.ctrl[i] as usize & mask as usize == home {
                visit(self.slots[i].as_deref().expect("occupied"));
            }
            i = (i + 1) & mask as usize;
        }
        // Increment the reversed cursor over the mask's bits.
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// The occupied slots at or after `start` (wrapping, one turn at most) with their entries.
    pub fn occupied_from(&self, start: usize) -> impl Iterator<Item = (usize, &Entry)> {
        let mask = self.mask();
        (0..self.slots.len())
            .map(move |k| start.wrapping_add(k) & mask)
            .filter_map(move |i| self.slots[i].as_deref().map(|e| (i, e)))
    }

    /// Walks at most `max_steps` slots from `start` (wrapping, at most one turn) and offers
    /// each occupied one to `take` until it has accepted `wanted` of them. Eviction samples
    /// this way, as Redis's `dictGetSomeKeys` does: neighbouring slots hold unrelated keys,
    /// and reading them costs one or two cache lines of the slot arrays instead of one miss
    /// per sample.
    pub fn sample(&self, start: usize, wanted: usize, max_steps: usize, mut take: impl FnMut(usize, &Entry) -> bool) {
        if self.len == 0 || wanted == 0 {
            return;
        }
        const BATCH: usize = 16;
        let mask = self.mask();
        let mut i = start & mask;
        let mut steps = max_steps.min(self.slots.len());
        let mut taken = 0;
        while taken < wanted && steps > 0 {
            // Find a batch of occupied slots and start loading their entries before reading
            // any of them: the entries are scattered over the heap, and their cache misses
            // then overlap instead of following one another.
            let mut batch = [0usize; BATCH];
            let mut n = 0;
            while n < BATCH.min(wanted - taken) && steps > 0 {
                // Only the slot array is read here: the hash bits are not needed.
                if let Some(e) = self.slots[i].as_deref() {
                    batch[n] = i;
                    n += 1;
                    prefetch(e);
                }
                i = (i + 1) & mask;
                steps -= 1;
            }
            for &slot in &batch[..n] {
                if take(slot, self.slots[slot].as_deref().expect("occupied slot")) {
                    taken += 1;
                }
            }
        }
    }

    /// Starts loading the slots from `start` on, for a [`Table::sample`] to come, and their
    /// hash bits, which removing one of those entries reads.
    pub fn prefetch_slots(&self, start: usize) {
        let i = start & self.mask();
        if let (Some(slot), Some(ctrl)) = (self.slots.get(i), self.ctrl.get(i)) {
            prefetch(slot);
            prefetch(ctrl);
        }
    }

    /// Starts loading the entries of the first `n` occupied slots from `start` on.
    pub fn prefetch_entries(&self, start: usize, n: usize) {
        for (_, e) in self.occupied_from(start).take(n) {
            prefetch(e);
        }
    }

    /// Whether slot `i` still holds the entry that lived at address `entry` when it was
    /// sampled (entries are boxed, so an entry keeps its address while it lives).
    pub fn holds_at(&self, i: usize, entry: usize) -> bool {
        self.slots.get(i).and_then(|s| s.as_deref()).is_some_and(|e| std::ptr::from_ref(e) as usize == entry)
    }

    /// Visits occupied slots from `start` for at most `budget` slots; `f` returns whether to
    /// remove the entry. Returns the slot to continue from (wrapping to 0 at the end).
    pub fn sweep(
        &mut self,
        start: usize,
        budget: usize,
        mut remove: impl FnMut(&Entry) -> bool,
        mut removed: impl FnMut(Box<Entry>),
    ) -> usize {
        let cap = self.slots.len();
        if cap == 0 {
            return 0;
        }
        let mut i = start.min(cap);
        let end = (start + budget).min(cap);
        while i < end && i < self.slots.len() {
            let hit = match self.slots[i].as_deref() {
                Some(e) => remove(e),
                None => false,
            };
            if hit {
                let before = self.slots.len();
                removed(self.remove_at(i));
                if self.slots.len() != before {
                    // The table shrank; restart the sweep on the new layout.
                    return 0;
                }
                // A later entry may have shifted into slot i: look at it again.
                continue;
            }
            i += 1;
        }
        if i >= self.slots.len() {
            0
        } else {
            i
        }
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

    #[test]
    fn insert_get_remove() {
        let mut t = Table::new();
        for i in 0..1000 {
            let k = key(i);
            let mut e = Entry::string(&k, b"v", 0);
            e.class = i as u32;
            let (slot, old) = t.insert(e, hash_key(&k));
            assert!(old.is_none());
            assert_eq!(t.at(slot).key(), k, "insert returns the slot of the key, also when it grows");
        }
        assert_eq!(t.len(), 1000);
        // A replacing entry lands in the same slot and keeps the key's class.
        let k = key(7);
        let slot = t.locate(&k, hash_key(&k)).unwrap();
        let (again, old) = t.insert(Entry::string(&k, b"w", 0), hash_key(&k));
        assert_eq!((again, old.map(|e| e.class)), (slot, Some(7)));
        assert_eq!((t.at(slot).str_value(), t.at(slot).class), (&b"w"[..], 7));
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
        assert_eq!(t.memory(), t.capacity() * SLOT_BYTES);
    }

    /// Checks every structural invariant: counters, control bytes, and that no key is
    /// separated from its home slot by an empty slot (what lookups and SCAN rely on).
    fn check_invariants(t: &Table) {
        let mask = t.mask();
        let (mut len, mut volatile, mut memory) = (0, 0, 0);
        for (i, slot) in t.slots.iter().enumerate() {
            let Some(e) = slot else {
                assert_eq!(t.ctrl[i], 0, "empty slot {i} has a control byte");
                continue;
            };
            let hash = hash_key(e.key());
            assert_eq!(t.ctrl[i], ctrl_of(hash), "control byte of slot {i}");
            let mut j = hash as usize & mask;
            while j != i {
                assert!(t.slots[j].is_some(), "empty slot {j} between home and slot {i}");
                j = (j + 1) & mask;
            }
            assert!(t.get(e.key(), hash).is_some());
            len += 1;
            volatile += (e.expire_at != 0) as usize;
            memory += e.memory();
        }
        assert_eq!(t.len(), len);
        assert_eq!(t.volatile(), volatile);
        assert_eq!(t.memory(), memory + t.capacity() * SLOT_BYTES);
        assert!(t.len() * 4 <= t.capacity() * 3 || t.capacity() == 0);
    }

    #[test]
    fn random_operations_keep_invariants() {
        let mut t = Table::new();
        let mut rng = crate::util::Rng::new();
        let mut live = HashSet::new();
        for round in 0..20_000 {
            // Phases of growth and of decline, so the table both grows and shrinks.
            let growing = (round / 2500) % 2 == 0;
            let i = rng.below(3000) as usize;
            let k = key(i);
            if rng.below(100) < if growing { 75 } else { 20 } {
                let mut e = Entry::string(&k, b"value", 0);
                e.expire_at = (i % 3) as u64;
                let replaced = t.insert(e, hash_key(&k)).1.is_some();
                assert_eq!(replaced, !live.insert(i));
            } else {
                assert_eq!(t.remove(&k, hash_key(&k)).is_some(), live.remove(&i));
            }
            if round % 500 == 0 {
                check_invariants(&t);
            }
        }
        check_invariants(&t);
        for i in 0..3000 {
            let k = key(i);
            assert_eq!(t.get(&k, hash_key(&k)).is_some(), live.contains(&i), "key {i}");
        }
    }

    #[test]
    fn sweep_removes_exactly_the_chosen_entries() {
        let mut t = Table::new();
        for i in 0..10_000 {
            let k = key(i);
            let mut e = Entry::string(&k, b"v", 0);
            e.expire_at = if i % 20 == 0 { 0 } else { 1 };
            t.insert(e, hash_key(&k));
        }
        let mut removed = 0;
        let mut next = 0;
        // Small slices, as the active expiry cycle takes them; removals shift entries back
        // into the slot just looked at and shrink the table under the sweep.
        for _ in 0..100_000 {
            next = t.sweep(next, 100, |e| e.expire_at == 1, |_| removed += 1);
            if t.volatile() == 0 {
                break;
            }
        }
        check_invariants(&t);
        assert_eq!(removed, 9500);
        assert_eq!(t.len(), 500);
        assert!(t.capacity() < 16384, "the table shrank ({})", t.capacity());
        for i in (0..10_000).step_by(20) {
            let k = key(i);
            assert!(t.get(&k, hash_key(&k)).is_some(), "kept key {i}");
        }
    }

    #[test]
    fn emptied_table_frees_its_arrays() {
        let mut t = Table::new();
        for i in 0..50_000 {
            let k = key(i);
            t.insert(Entry::string(&k, b"v", 0), hash_key(&k));
        }
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
        let mut t = Table::new();
        for i in 0..500 {
            let k = key(i);
            t.insert(Entry::string(&k, b"v", 0), hash_key(&k));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = t.scan_step(cursor, |e| {
                seen.insert(e.key().to_vec());
            });
            step += 1;
            // Grow in the middle of the scan, then shrink: keys 0..500 stay throughout.
            if step == 50 {
                for i in 500..5000 {
                    let k = key(i);
                    t.insert(Entry::string(&k, b"v", 0), hash_key(&k));
                }
            }
            if step == 300 {
                for i in 500..5000 {
                    let k = key(i);
                    t.remove(&k, hash_key(&k));
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..500 {
            assert!(seen.contains(&key(i)), "missed key {i}");
        }
    }
}
