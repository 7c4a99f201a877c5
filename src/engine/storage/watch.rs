//! WATCH bookkeeping for optimistic transactions: which clients watch which (database, key),
//! and which of them saw a watched key change since.
//!
//! WATCH is a consumer of the effect stream: [`Keyspace::record`], through which every change
//! of a key passes (insert, removal for any reason, in-place change), calls the touch hook
//! below, and flushes and swaps call the database hook, so no command can change a watched key
//! unnoticed. An in-place change touches only if its closure reports that it changed the value
//! (Redis's `signalModifiedKey`): a write that turns out to be a no-op, such as SREM of an
//! absent member, leaves the transactions watching the key alone. While nobody watches
//! anything each hook costs one branch.
//!
//! Keys that had already expired (but were not yet removed) when WATCH ran follow Redis 7: their
//! removal is no change, while a live watched key whose time passes fails EXEC even before
//! anything removes it.

use super::{hash_key, Db, Entry, Keyspace};
use crate::tenants::{TenantId, TenantRegistry};
use bytes::Bytes;
use std::collections::{HashMap, HashSet};

/// One client's watch on one key.
struct Watcher {
    client: u64,
    db: usize,
    /// The key existed but had expired when WATCH ran.
    expired: bool,
}

/// Watched keys and the clients whose watched keys changed.
#[derive(Default)]
pub struct Watches {
    /// Key → its watchers (in any database).
    keys: HashMap<Box<[u8]>, Vec<Watcher>>,
    /// Clients whose next EXEC must fail.
    dirty: HashSet<u64>,
}

/// The stored entry for `key` in `db`, expired or not (Redis's `dictFind`, no lazy expiry).
fn stored<'a>(dbs: &'a [Db], tenants: &TenantRegistry, db: usize, key: &[u8]) -> Option<&'a Entry> {
    let tenant = tenants.lookup(key)?;
    dbs[db].table(tenant)?.get(key, hash_key(key))
}

impl Keyspace {
    /// Starts watching `key` of `db` for `client`; false if it already did.
    pub fn watch(&mut self, client: u64, db: usize, key: &[u8]) -> bool {
        let expired = stored(&self.dbs, &self.tenants, db, key).is_some_and(|e| e.is_expired(self.now_ms));
        let watchers = self.watches.keys.entry(key.into()).or_default();
        if watchers.iter().any(|w| w.client == client && w.db == db) {
            return false;
        }
        watchers.push(Watcher { client, db, expired });
        true
    }

    /// Forgets every watch of `client` (the keys it watched are in `keys`) and its dirty flag.
    pub fn unwatch_all(&mut self, client: u64, keys: &[(usize, Bytes)]) {
        for (db, key) in keys {
            if let Some(watchers) = self.watches.keys.get_mut(&key[..]) {
                watchers.retain(|w| !(w.client == client && w.db == *db));
                if watchers.is_empty() {
                    self.watches.keys.remove(&key[..]);
                }
            }
        }
        self.watches.dirty.remove(&client);
    }

    /// Whether a key `client` watches changed, or expired after WATCH (EXEC then fails).
    pub fn watch_broken(&self, client: u64, keys: &[(usize, Bytes)]) -> bool {
        if self.watches.dirty.contains(&client) {
            return true;
        }
        keys.iter().any(|(db, key)| {
            let live_when_watched = self
                .watches
                .keys
                .get(&key[..])
                .and_then(|ws| ws.iter().find(|w| w.client == client && w.db == *db))
                .is_some_and(|w| !w.expired);
            live_when_watched && stored(&self.dbs, &self.tenants, *db, key).is_some_and(|e| e.is_expired(self.now_ms))
        })
    }

    /// Whether any client watches a key (the write paths skip the hooks otherwise).
    #[inline]
    pub(super) fn watching(&self) -> bool {
        !self.watches.keys.is_empty()
    }

    /// Hook: `key` of `db` was just written or removed; `exists` tells which.
    #[inline]
    pub(super) fn touch_watched(&mut self, db: usize, key: &[u8], exists: bool) {
        if self.watching() {
            self.touch_watched_key(db, key, exists);
        }
    }

    fn touch_watched_key(&mut self, db: usize, key: &[u8], exists: bool) {
        let Watches { keys, dirty } = &mut self.watches;
        let Some(watchers) = keys.get_mut(key) else {
            return;
        };
        for w in watchers.iter_mut().filter(|w| w.db == db) {
            if w.expired {
                // A key that had expired when watched going away is no change; from now on
                // it is watched as missing.
                if !exists {
                    w.expired = false;
                }
                continue;
            }
            dirty.insert(w.client);
        }
    }

    /// Hook, called before database `emptied` loses its keys (all of them, or only those of
    /// `tenant`) and, for SWAPDB, takes those of `replaced_with`: a watched key changes if it
    /// exists on either side (Redis's `touchAllWatchedKeysInDb`).
    pub(super) fn touch_watched_db(&mut self, emptied: usize, replaced_with: Option<usize>, tenant: Option<TenantId>) {
        if !self.watching() {
            return;
        }
        let Keyspace { dbs, tenants, watches, now_ms, .. } = self;
        let Watches { keys, dirty } = watches;
        for (key, watchers) in keys.iter_mut() {
            let in_emptied =
                tenant.is_none_or(|t| tenants.lookup(key) == Some(t)) && stored(dbs, tenants, emptied, key).is_some();
            let replacement = replaced_with.and_then(|db| stored(dbs, tenants, db, key));
            if !in_emptied && replacement.is_none() {
                continue;
            }
            let replacement_expired = replacement.is_some_and(|e| e.is_expired(*now_ms));
            for w in watchers.iter_mut().filter(|w| w.db == emptied) {
                if w.expired {
                    if replacement.is_none() {
                        // The stale key is gone: no logical change.
                        w.expired = false;
                        continue;
                    }
                    if replacement_expired {
                        continue;
                    }
                } else if !in_emptied && replacement_expired {
                    // Missing before, stale after: still logically missing.
                    w.expired = true;
                    continue;
                }
                dirty.insert(w.client);
            }
        }
    }
}
