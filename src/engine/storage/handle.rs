//! The entry handle: one key of one database with its tenant, hash and table slot resolved
//! once, so that a command's lookup and its write walk the key's probe sequence one time.
//!
//! [`Keyspace::entry`] resolves the key (the dispatcher may hand over the tenant and hash it
//! already computed for admission, see [`Keyspace::entry_resolved`]), probes the tenant's
//! table and expires a stale entry on the way. The handle then finds, reads, changes in
//! place, writes over or creates, and removes the key at that slot; every change is recorded
//! in the effect stream (see [`super::effect`]) by the handle method that makes it.

use super::effect::{events, Change, KeyEvent};
use super::{hash_key, lookup, value, Entry, ExpireAt, Keyspace, Kind, Removal, WrongType};
use crate::tenants::TenantId;

/// A key's tenant and hash, computed once per command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedKey {
    pub tenant: TenantId,
    pub hash: u64,
}

/// One key of one database, resolved and probed (see the module doc).
pub struct EntryHandle<'k, 'a> {
    ks: &'k mut Keyspace,
    db: usize,
    key: &'a [u8],
    at: ResolvedKey,
    /// What the probe found: `Ok(slot)` of the live entry, or `Err` where a new one goes.
    probed: Result<usize, usize>,
}

impl Keyspace {
    /// The tenant (interned on first sight) and hash of `key`.
    #[inline]
    pub fn resolve_key(&mut self, key: &[u8]) -> ResolvedKey {
        match self.first_key {
            Some((address, len, at)) if address == key.as_ptr() as usize && len == key.len() => at,
            _ => ResolvedKey { tenant: self.tenants.resolve(key), hash: hash_key(key) },
        }
    }

    /// Resolves the running command's first key and remembers it until
    /// [`Keyspace::forget_first_key`], for the handler's own lookups of the same bytes.
    pub fn remember_first_key(&mut self, key: &[u8]) -> ResolvedKey {
        self.first_key = None;
        let at = self.resolve_key(key);
        self.first_key = Some((key.as_ptr() as usize, key.len(), at));
        at
    }

    /// Ends what [`Keyspace::remember_first_key`] began: once the command is over, other
    /// bytes may come to live at the same address.
    #[inline]
    pub fn forget_first_key(&mut self) {
        self.first_key = None;
    }

    /// Starts loading, for each key, the slot word and then the entry a probe for it will
    /// read, all keys' loads overlapping: a pipelined batch then waits for memory about once
    /// instead of twice per key. Only a hint: nothing changes, and a key that is not there
    /// (or is not a key at all) costs a useless load.
    pub fn prefetch(&self, db: usize, keys: &[&[u8]]) {
        const MAX: usize = 32;
        let Some(database) = self.dbs.get(db) else {
            return;
        };
        let mut found: [(u64, Option<&super::table::Table>); MAX] = [(0, None); MAX];
        let mut n = 0;
        for (i, key) in keys.iter().enumerate().take(MAX) {
            if i > 0 && keys[i - 1] == *key {
                // A batch aimed at one key (a growing list, a big set) loads it once.
                continue;
            }
            // A tenant seen for the first time has no table yet (and a prefetch interns none).
            if let Some(table) = self.tenants.lookup(key).and_then(|t| database.table(t)) {
                let hash = hash_key(key);
                table.prefetch_home(hash);
                found[n] = (hash, Some(table));
                n += 1;
            }
        }
        for &(hash, table) in &found[..n] {
            table.expect("found holds tables").prefetch_entry(hash);
        }
    }

    /// Starts loading, for each (key, member) of a pipelined batch, the index word and then
    /// the item a lookup of the member in the key's set or hash will read (see
    /// [`super::dense`]), all loads overlapping. Only a hint, as [`Keyspace::prefetch`]: keys
    /// that hold no big set or hash cost nothing but their lookup.
    pub fn prefetch_members(&self, db: usize, pairs: &[(&[u8], &[u8])]) {
        const MAX: usize = 32;
        let mut found: [(u64, Option<&value::Collection>); MAX] = [(0, None); MAX];
        let mut n = 0;
        // A batch usually aims at one collection: its key is looked up once.
        let mut last: Option<(&[u8], Option<&value::Collection>)> = None;
        for &(key, member) in pairs.iter().take(MAX) {
            let collection = match last {
                Some((k, c)) if k == key => c,
                _ => {
                    let c = self.peek_stored(db, key).and_then(Entry::collection);
                    last = Some((key, c));
                    c
                }
            };
            if let Some(c) = collection.filter(|c| c.has_member_index()) {
                let hash = super::dense::hash_member(member);
                c.prefetch_member(hash, false);
                found[n] = (hash, Some(c));
                n += 1;
            }
        }
        for &(hash, c) in &found[..n] {
            c.expect("found holds collections").prefetch_member(hash, true);
        }
    }

    /// The handle of `key` in `db`.
    #[inline]
    pub fn entry<'k, 'a>(&'k mut self, db: usize, key: &'a [u8]) -> EntryHandle<'k, 'a> {
        let at = self.resolve_key(key);
        self.entry_resolved(db, key, at)
    }

    /// The handle of `key` in `db`, whose tenant and hash `at` already holds.
    #[inline]
    pub fn entry_resolved<'k, 'a>(&'k mut self, db: usize, key: &'a [u8], at: ResolvedKey) -> EntryHandle<'k, 'a> {
        debug_assert_eq!(at.hash, hash_key(key));
        let probed = self.probe_live(db, key, at);
        EntryHandle { ks: self, db, key, at, probed }
    }

    /// Probes for `key`; an entry found whose time has passed is removed as expired first.
    #[inline]
    pub(super) fn probe_live(&mut self, db: usize, key: &[u8], at: ResolvedKey) -> Result<usize, usize> {
        let Some(table) = self.dbs[db].table(at.tenant) else {
            return Err(usize::MAX);
        };
        match table.probe(key, at.hash) {
            // While a log loads, keys do not expire (a command after a past PEXPIREAT finds
            // the key, as in Redis); they do once the server serves.
            Ok(slot) if table.at(slot).is_expired(self.now_ms) && !self.loading => {
                self.remove_slot(db, at.tenant, slot, Removal::Expired);
                // The removal shifted the run (or shrank the table): walk again.
                self.dbs[db].table(at.tenant).map_or(Err(usize::MAX), |t| t.probe(key, at.hash))
            }
            probed => probed,
        }
    }
}

impl<'k, 'a> EntryHandle<'k, 'a> {
    pub fn tenant(&self) -> TenantId {
        self.at.tenant
    }

    pub fn exists(&self) -> bool {
        self.probed.is_ok()
    }

    /// The live entry, without statistics.
    pub fn get(&self) -> Option<&Entry> {
        let slot = self.probed.ok()?;
        Some(self.ks.dbs[self.db].tables[self.at.tenant as usize].at(slot))
    }

    /// [`EntryHandle::get`] for a caller that is done with the handle.
    pub fn into_entry(self) -> Option<&'k Entry> {
        let slot = self.probed.ok()?;
        Some(self.ks.dbs[self.db].tables[self.at.tenant as usize].at(slot))
    }

    /// A client's read with Redis's lookup flags (see [`lookup`]): counts a hit or a miss,
    /// updates the access clock and reports a miss as a `keymiss` event.
    pub fn read(&mut self, flags: u8) -> Option<&Entry> {
        self.account_read(flags);
        self.get()
    }

    /// [`EntryHandle::read`] for a caller that is done with the handle.
    pub fn into_read(mut self, flags: u8) -> Option<&'k Entry> {
        self.account_read(flags);
        self.into_entry()
    }

    fn account_read(&mut self, flags: u8) {
        let ks = &mut *self.ks;
        let (db, t) = (self.db, self.at.tenant);
        let class = match self.probed {
            Ok(slot) => {
                if flags & lookup::NOTOUCH == 0 && !ks.snapshot_child {
                    let previous = ks.dbs[db].tables[t as usize].at(slot).access();
                    let access = if ks.policy.is_lfu() { ks.touched_access(Some(previous)) } else { ks.lru_clock() };
                    // An unchanged clock is not written: the page stays clean (and shared).
                    if access != previous {
                        ks.dbs[db].tables[t as usize].at_mut(slot).set_access(access);
                    }
                }
                Some(ks.dbs[db].tables[t as usize].at(slot).class())
            }
            Err(_) => None,
        };
        let found = class.is_some();
        if flags & lookup::NOSTATS == 0 {
            let stats = ks.tenant_stats_mut(t);
            if found {
                stats.hits += 1;
                ks.stats.hits += 1;
            } else {
                stats.misses += 1;
                ks.stats.misses += 1;
            }
            if let Some(c) = ks.classes.as_mut() {
                // A found key carries its class; a missing one is classified by its name.
                let class = class.unwrap_or_else(|| c.resolve(self.key));
                c.count_read(class, found);
            }
        }
        if !found && flags & lookup::NONOTIFY == 0 {
            ks.record(db, t, self.key, Change::Missed, Some(events::KEYMISS));
        }
    }

    /// Changes the live entry in place, re-accounting its memory and expiry. `f` returns its
    /// result and whether it changed the entry: only a change is recorded (as `events`, in
    /// order) and seen by the key's watchers (Redis's `signalModifiedKey`), so a write that
    /// turns out to be a no-op leaves a WATCH intact. `None` if the key does not exist.
    pub fn modify<R>(&mut self, events: &[KeyEvent], f: impl FnOnce(&mut Box<Entry>) -> (R, bool)) -> Option<R> {
        let slot = self.probed.ok()?;
        let (db, t) = (self.db, self.at.tenant);
        let (r, changed, before, after, class, stream) = self.ks.table_op(db, t, |table| {
            let mut entry = table.at_box_mut(slot);
            let (before, was_volatile) = (entry.memory(), entry.expire_at() != 0);
            let (r, changed) = f(&mut entry);
            let (after, is_volatile, class) = (entry.memory(), entry.expire_at() != 0, entry.class());
            let stream = entry.kind() == Kind::Stream;
            drop(entry);
            table.account_change(before, after, was_volatile, is_volatile);
            (r, changed, before, after, class, stream)
        });
        if let Some(c) = self.ks.classes.as_mut() {
            c.resized(class, before, after);
        }
        if changed {
            self.ks.dirty += 1;
            if events.is_empty() {
                self.ks.record(db, t, self.key, Change::Written, None);
            }
            for &event in events {
                self.ks.record(db, t, self.key, Change::Written, Some(event));
            }
            // Stream readers wait for new entries (and group readers for their group).
            if stream {
                self.ks.record(db, t, self.key, Change::Poppable, None);
            }
        }
        Some(r)
    }

    /// Stores `entry` (whose key is this handle's) in the probed slot, writing over a live
    /// value or creating the key; records `new` for a created key, then `events` in order.
    /// Returns whether a live key was written over.
    pub fn upsert(self, mut entry: Box<Entry>, events: &[KeyEvent]) -> bool {
        debug_assert_eq!(entry.key(), self.key);
        entry.set_access(self.ks.fresh_access());
        self.ks.put_probed(self.db, self.at, self.probed, entry, events)
    }

    /// [`EntryHandle::upsert`] of a string value with this expiry (SET). A string of the same
    /// length over a plain string key (no tags) is written into the entry, with no allocation
    /// and no free, and records what a replacement records.
    pub fn upsert_string(self, value: &[u8], expire_at: ExpireAt, events: &[KeyEvent]) -> bool {
        let (db, t) = (self.db, self.at.tenant);
        if let Ok(slot) = self.probed {
            let entry = self.ks.dbs[db].tables[t as usize].at_mut(slot);
            let was_volatile = entry.expire_at() != 0;
            if entry.overwrite_plain_string(value) {
                let access = self.ks.fresh_access();
                let table = &mut self.ks.dbs[db].tables[t as usize];
                let entry = table.at_mut(slot);
                entry.set_expire_at(expire_at);
                entry.set_access(access);
                let (memory, class) = (entry.memory(), entry.class());
                table.account_change(memory, memory, was_volatile, expire_at != 0);
                if let Some(c) = self.ks.classes.as_mut() {
                    c.stored(class, 0, false);
                }
                let why = Removal::Overwritten;
                self.ks.record(db, t, self.key, Change::Removed(why), why.event());
                self.ks.record_store(db, t, slot, true, false, events);
                return true;
            }
        }
        let mut entry = Entry::string(self.key, value, 0);
        entry.set_expire_at(expire_at);
        self.upsert(entry, events)
    }

    /// Removes the live key for `why`; returns whether it existed.
    pub fn remove(self, why: Removal) -> bool {
        match self.probed {
            Ok(slot) => {
                self.ks.remove_slot(self.db, self.at.tenant, slot, why);
                true
            }
            Err(_) => false,
        }
    }

    /// Runs `f` on the collection stored here, which must be of `kind`: `Err(WrongType)` if
    /// the key holds another kind, `Ok(None)` if it does not exist and `create` is `None`.
    /// `f` returns its result and whether it changed the collection; a change is recorded as
    /// `events`. With `create`, `f` fills a new collection for a missing key, which is stored
    /// (as `new`, then `events`) only if `f` left something in it. A collection left empty by
    /// `f` is removed ([`Removal::Emptied`], Redis's `del` after the command's events).
    pub fn with_collection<R>(
        mut self,
        kind: Kind,
        create: Option<fn() -> value::Collection>,
        events: &[KeyEvent],
        f: impl FnOnce(&mut value::Collection) -> (R, bool),
    ) -> Result<Option<R>, WrongType> {
        match self.get() {
            Some(e) if e.kind() != kind => return Err(WrongType),
            Some(_) => {}
            None => {
                let Some(make) = create else {
                    return Ok(None);
                };
                let mut entry = Entry::new_collection(self.key, make(), 0);
                let c = entry.collection_mut().expect("collection entry");
                let (r, _) = f(c);
                if !c.is_empty() {
                    self.upsert(entry, events);
                }
                return Ok(Some(r));
            }
        }
        let (r, empty) = self
            .modify(events, |e| {
                let c = e.collection_mut().expect("collection entry");
                let (r, changed) = f(c);
                ((r, c.is_empty()), changed)
            })
            .expect("entry checked above");
        if empty {
            self.remove(Removal::Emptied);
        }
        Ok(Some(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::table::probes;
    use crate::tenants::{KeyPattern, TenantRegistry};
    use std::collections::HashMap;

    fn keyspace() -> Keyspace {
        let pattern = KeyPattern::compile("{tenant}", b':', "{tenant}").unwrap();
        Keyspace::new(4, TenantRegistry::new(vec![pattern], b':'))
    }

    /// Probe sequences `f` walks.
    fn walks(f: impl FnOnce()) -> u64 {
        let before = probes::walked();
        f();
        probes::walked() - before
    }

    /// While a snapshot child shares the pages, a read leaves the entry's access clock as it
    /// is; afterwards reads move it again.
    #[test]
    fn reads_do_not_touch_entries_while_a_snapshot_child_runs() {
        let mut ks = keyspace();
        ks.entry(0, b"acme:k").upsert_string(b"v", 0, &[]);
        let access = |ks: &mut Keyspace| ks.entry(0, b"acme:k").get().unwrap().access();
        let stored = access(&mut ks);
        ks.now_ms += 5_000;
        ks.snapshot_child = true;
        assert!(ks.entry(0, b"acme:k").read(0).is_some());
        assert_eq!(access(&mut ks), stored);
        ks.snapshot_child = false;
        assert!(ks.entry(0, b"acme:k").read(0).is_some());
        assert_eq!(access(&mut ks), stored + 5, "five LRU ticks later");
    }

    /// SET over a plain string of the same length writes into the entry (its address stays);
    /// other lengths, or a tagged key, get a new entry. Either way the effects are those of a
    /// replacement, and the expiry and volatile count follow.
    #[test]
    fn same_length_string_is_overwritten_in_place() {
        let mut ks = keyspace();
        ks.subscribe_all(true);
        ks.entry(0, b"acme:k").upsert_string(b"aaaa", 0, &[]);
        let address = |ks: &mut Keyspace| std::ptr::from_ref(ks.entry(0, b"acme:k").get().unwrap()).cast::<u8>();
        let before = address(&mut ks);
        ks.take_effects();
        let dirty = ks.dirty;
        assert!(ks.entry(0, b"acme:k").upsert_string(b"bbbb", 5_000_000_000_000, &[]));
        assert_eq!(address(&mut ks), before, "written in place");
        assert_eq!(ks.dirty, dirty + 1, "a write in place is a change for snapshots");
        let changes: Vec<Change> = ks.take_effects().iter().map(|e| e.change).collect();
        assert_eq!(changes, [Change::Removed(Removal::Overwritten), Change::Written]);
        let e = ks.entry(0, b"acme:k");
        let t = e.tenant();
        assert_eq!((e.get().unwrap().str_value(), e.get().unwrap().expire_at()), (&b"bbbb"[..], 5_000_000_000_000));
        assert_eq!(ks.dbs[0].tables[t as usize].volatile(), 1);
        ks.entry(0, b"acme:k").upsert_string(b"longer", 0, &[]);
        assert_eq!(ks.get(0, b"acme:k").unwrap().str_value(), b"longer");
        assert_eq!(ks.dbs[0].tables[t as usize].volatile(), 0);
    }

    /// A lookup and a write of the same key, through one handle, walk its probe sequence once,
    /// whether the write creates the key, writes over it or changes it in place. (The first
    /// key of a tenant walks none: there is no table to probe yet.)
    #[test]
    fn one_probe_per_handle() {
        let mut ks = keyspace();
        let first = walks(|| {
            ks.entry(0, b"acme:first").upsert(Entry::string(b"acme:first", b"1", 0), &[]);
        });
        assert_eq!(first, 0);
        for i in 0..100 {
            let key = format!("acme:{i}");
            let n = walks(|| {
                let e = ks.entry(0, key.as_bytes());
                assert!(e.get().is_none());
                e.upsert(Entry::string(key.as_bytes(), b"1", 0), &[]);
            });
            assert_eq!(n, 1, "create {key}");
            let n = walks(|| {
                let mut e = ks.entry(0, key.as_bytes());
                assert_eq!(e.read(0).map(|e| e.str_value().to_vec()), Some(b"1".to_vec()));
                assert_eq!(e.modify(&[], |e| (e.set_string(b"2"), true)), Some(()));
            });
            assert_eq!(n, 1, "modify {key}");
            let n = walks(|| {
                let e = ks.entry(0, key.as_bytes());
                assert!(e.exists());
                assert!(e.upsert(Entry::string(key.as_bytes(), b"3", 0), &[]));
            });
            assert_eq!(n, 1, "write over {key}");
        }
        assert_eq!(ks.total_keys(), 101);
    }

    /// The seed of a randomized test: `HANDLE_MODEL_SEED` if set, else the clock.
    fn seed() -> u64 {
        std::env::var("HANDLE_MODEL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        })
    }

    /// Random handle operations (create, write over, modify, remove, expire, read) over keys
    /// of several tenants and databases agree with a map, and so do the key counts, the
    /// volatile counts and the statistics.
    #[test]
    fn handle_operations_match_a_model() {
        let seed = seed();
        let mut rng = crate::util::Rng::seeded(seed);
        let mut ks = keyspace();
        ks.subscribe_all(true);
        // (db, key) → (value, expire_at)
        let mut model: HashMap<(usize, Vec<u8>), (Vec<u8>, u64)> = HashMap::new();
        let start = ks.now_ms;
        let mut expired = 0u64;
        for round in 0..20_000 {
            let ctx = format!("HANDLE_MODEL_SEED={seed} round {round}");
            if rng.below(50) == 0 {
                ks.now_ms += rng.below(20);
            }
            let now = ks.now_ms;
            let db = rng.below(2) as usize;
            let key = format!("t{}:k{}", rng.below(3), rng.below(200)).into_bytes();
            // Keys whose time has passed are gone for the model too (the handle expires them).
            let slot = (db, key.clone());
            if model.get(&slot).is_some_and(|(_, at)| *at != 0 && *at < now) {
                model.remove(&slot);
                expired += 1;
            }
            let live = model.get(&slot).cloned();
            let mut e = ks.entry(db, &key);
            assert_eq!(e.exists(), live.is_some(), "{ctx}: exists");
            match rng.below(5) {
                0 | 1 => {
                    let value = rng.below(1000).to_string().into_bytes();
                    let expire_at = if rng.below(3) == 0 { now + 1 + rng.below(40) } else { 0 };
                    let mut entry = Entry::string(&key, &value, 0);
                    entry.set_expire_at(expire_at);
                    let replaced = e.upsert(entry, &[]);
                    assert_eq!(replaced, live.is_some(), "{ctx}: upsert");
                    model.insert(slot, (value, expire_at));
                }
                2 => {
                    let appended = e.modify(&[], |entry| {
                        entry.edit_string(|v| v.push(b'x'));
                        (entry.str_value().to_vec(), true)
                    });
                    if let Some((mut value, at)) = live {
                        value.push(b'x');
                        assert_eq!(appended.as_deref(), Some(&value[..]), "{ctx}: modify");
                        model.insert(slot, (value, at));
                    } else {
                        assert!(appended.is_none(), "{ctx}: modify of a missing key");
                    }
                }
                3 => {
                    assert_eq!(e.remove(Removal::Deleted), live.is_some(), "{ctx}: remove");
                    model.remove(&slot);
                }
                _ => {
                    let read = e.read(0).map(|entry| (entry.str_value().to_vec(), entry.expire_at()));
                    assert_eq!(read, live, "{ctx}: read");
                }
            }
            ks.take_effects();
            if round % 1000 == 0 {
                let volatile = |db: usize| model.iter().filter(|((d, _), (_, at))| *d == db && *at != 0).count();
                for db in 0..2 {
                    let keys = model.keys().filter(|(d, _)| *d == db).count();
                    assert_eq!(ks.db(db).len(), keys, "{ctx}: keys of db {db}");
                    assert_eq!(ks.volatile(db), volatile(db), "{ctx}: volatile keys of db {db}");
                }
            }
        }
        assert_eq!(ks.stats.expired_keys, expired, "HANDLE_MODEL_SEED={seed}: expiries counted");
        // Everything left that still lives is read back.
        for ((db, key), (value, _)) in &model {
            let now = ks.now_ms;
            let expected = model[&(*db, key.clone())].1;
            if expected != 0 && expected < now {
                continue;
            }
            assert_eq!(
                ks.get(*db, key).map(|e| e.str_value().to_vec()),
                Some(value.clone()),
                "HANDLE_MODEL_SEED={seed}"
            );
        }
        assert!(ks.now_ms >= start);
    }
}
