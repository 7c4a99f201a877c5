//! Blocking commands, the engine's half: the registry of clients blocked in pops of lists
//! (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) and of sorted sets (BZPOPMIN, BZPOPMAX, BZMPOP)
//! and in reads of streams (XREAD, XREADGROUP with BLOCK), by key, and the keys that became
//! ready while someone waits on them.
//!
//! A client whose pop finds nothing registers a [`Waiter`] in the keyspace's [`Registry`]
//! (so it is consistent under the keyspace lock) and its connection task then sleeps on its
//! handle's wake-up, without the lock, until its deadline. A command that gives a watched key
//! a list or a sorted set records that the key became poppable in the keyspace's effect stream
//! (`Change::Poppable`); draining it after the command, the dispatcher marks the key ready
//! ([`Registry::signal`]), and once that command (or the whole EXEC) is done it runs the pop
//! of each waiter that wants that kind of value on its behalf
//! (`commands::blocking::serve_ready`). A stream is ready whenever it changes or goes (a
//! stream reader waits for entries after an id, and a group reader also learns that its
//! group or its key is gone), so stream readers that cannot be served yet stay blocked. The registry knows a waiter's
//! connection only through [`WaiterHandle`], so the engine needs nothing of the network side.

use crate::engine::storage::{Keyspace, Kind};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// What the registry needs of a blocked client's connection.
pub trait WaiterHandle: Send + Sync {
    /// The client's id (CLIENT ID).
    fn id(&self) -> u64;
    /// Marks the client blocked or not, as CLIENT LIST and INFO report it.
    fn set_blocked(&self, blocked: bool);
    /// Whether the client was killed while it waited: it is not served.
    fn is_killed(&self) -> bool;
    /// Queues an encoded reply for the client and wakes its connection.
    fn deliver(&self, encoded: &[u8]);
}

/// A client waiting for one of its keys to receive a list or a sorted set.
pub struct Waiter {
    pub handle: Arc<dyn WaiterHandle>,
    pub db: usize,
    /// The kind of value it pops: it is served only by a key holding that kind.
    pub kind: Kind,
    /// The blocking command as the client sent it; it is run again when a key is ready.
    pub args: Vec<Bytes>,
    /// The keys it waits on (each once).
    pub keys: Vec<Bytes>,
    pub resp3: bool,
}

/// Blocked clients by key, in arrival order, and the keys ready to serve them.
#[derive(Default)]
pub struct Registry {
    by_key: HashMap<(usize, Bytes), VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
    /// Keys that received a list or sorted set while clients wait on them, in that order.
    ready: Vec<(usize, Bytes)>,
}

impl Registry {
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Number of distinct keys clients are blocked on (INFO `total_blocking_keys`).
    pub fn blocking_keys(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_blocked(&self, id: u64) -> bool {
        self.waiters.contains_key(&id)
    }

    /// Registers a waiter behind those already waiting on its keys.
    pub fn block(&mut self, mut waiter: Waiter) {
        let id = waiter.handle.id();
        // BLPOP k k 0 waits on k once.
        let mut unique: Vec<Bytes> = Vec::with_capacity(waiter.keys.len());
        for key in waiter.keys.drain(..) {
            if !unique.contains(&key) {
                unique.push(key);
            }
        }
        for key in &unique {
            self.by_key.entry((waiter.db, key.clone())).or_default().push_back(id);
        }
        waiter.keys = unique;
        waiter.handle.set_blocked(true);
        self.waiters.insert(id, waiter);
    }

    /// Removes a waiter from every key it waits on.
    pub fn remove(&mut self, id: u64) -> Option<Waiter> {
        let waiter = self.waiters.remove(&id)?;
        for key in &waiter.keys {
            let slot = (waiter.db, key.clone());
            if let Some(queue) = self.by_key.get_mut(&slot) {
                queue.retain(|&w| w != id);
                if queue.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        waiter.handle.set_blocked(false);
        Some(waiter)
    }

    /// Notes that `key` of `db` now holds a list or sorted set, if anyone waits on it.
    pub fn signal(&mut self, db: usize, key: &[u8]) {
        if self.waiters.is_empty() || self.ready.iter().any(|(d, k)| *d == db && k[..] == *key) {
            return;
        }
        let slot = (db, Bytes::copy_from_slice(key));
        if self.by_key.contains_key(&slot) {
            self.ready.push(slot);
        }
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Keys of `db` that clients wait on (SWAPDB re-checks them).
    pub fn keys_in_db(&self, db: usize) -> Vec<Bytes> {
        self.by_key.keys().filter(|(d, _)| *d == db).map(|(_, k)| k.clone()).collect()
    }

    /// The clients waiting on `key` of `db` for values of `kind`, longest-waiting first.
    pub fn waiters_of_kind(&self, db: usize, key: &Bytes, kind: Kind) -> Vec<u64> {
        let Some(queue) = self.by_key.get(&(db, key.clone())) else {
            return Vec::new();
        };
        queue.iter().copied().filter(|id| self.waiters.get(id).is_some_and(|w| w.kind == kind)).collect()
    }

    pub fn waiter(&self, id: u64) -> Option<&Waiter> {
        self.waiters.get(&id)
    }

    /// The longest-waiting client on `key` of `db` that pops values of `kind`.
    pub fn first_waiter(&self, db: usize, key: &Bytes, kind: Kind) -> Option<u64> {
        let queue = self.by_key.get(&(db, key.clone()))?;
        queue.iter().copied().find(|id| self.waiters.get(id).is_some_and(|w| w.kind == kind))
    }

    /// The next key that became ready, in the order keys became ready.
    pub fn take_ready(&mut self) -> Option<(usize, Bytes)> {
        (!self.ready.is_empty()).then(|| self.ready.remove(0))
    }
}

/// Whether values of `kind` are what blocked pops wait for.
pub fn is_poppable(kind: Kind) -> bool {
    matches!(kind, Kind::List | Kind::ZSet)
}

/// Whether storing or changing a value of `kind` may serve blocked clients: pops of lists
/// and sorted sets, reads of streams.
pub fn wakes_waiters(kind: Kind) -> bool {
    matches!(kind, Kind::List | Kind::ZSet | Kind::Stream)
}

/// The kind of value `key` of `db` holds and the longest-waiting client that pops that kind.
pub fn next_to_serve(ks: &mut Keyspace, db: usize, key: &Bytes) -> Option<(Kind, u64)> {
    let kind = ks.get(db, key).map(|e| e.kind()).filter(|k| is_poppable(*k))?;
    Some((kind, ks.blocking.first_waiter(db, key, kind)?))
}
