//! Blocking pops: of lists (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) and of sorted sets
//! (BZPOPMIN, BZPOPMAX, BZMPOP).
//!
//! A client whose pop finds nothing registers a [`Waiter`] in the keyspace's [`Registry`]
//! (so it is consistent under the keyspace lock) and its connection task then sleeps on its
//! handle's wake-up, without the lock, until its deadline. A command that gives a watched key
//! a list or a sorted set records that the key became poppable in the keyspace's effect stream
//! (`Change::Poppable`); draining it after the command, the dispatcher marks the key ready,
//! and once that command (or the whole EXEC) is done it calls [`serve_ready`], still holding
//! the lock, which runs the pop of each waiter that wants that kind of value on its behalf, in
//! arrival order, queues the reply (encoded with the waiter's protocol) in the waiter's outbox
//! and wakes it. A waiter that reaches its deadline removes itself under the lock and
//! answers with a null array; CLIENT UNBLOCK, kills and disconnects remove waiters too.

use crate::client::{Client, ClientHandle};
use crate::commands::Ctx;
use crate::protocol::ReplyBuf;
use crate::server::Shared;
use crate::storage::{Keyspace, Kind};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A client waiting for one of its keys to receive a list or a sorted set.
pub struct Waiter {
    pub handle: Arc<ClientHandle>,
    pub db: usize,
    /// The kind of value it pops: it is served only by a key holding that kind.
    pub kind: Kind,
    /// The blocking command as the client sent it; it is run again when a key is ready.
    pub args: Vec<Bytes>,
    /// The keys it waits on (each once).
    pub keys: Vec<Bytes>,
    pub resp3: bool,
}

/// What the owning connection keeps while its client is blocked.
#[derive(Clone, Copy, Debug)]
pub struct Blocked {
    /// `None` waits forever (timeout 0).
    pub deadline: Option<Instant>,
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
        let id = waiter.handle.id;
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

    /// The longest-waiting client on `key` of `db` that pops values of `kind`.
    fn first_waiter(&self, db: usize, key: &Bytes, kind: Kind) -> Option<u64> {
        let queue = self.by_key.get(&(db, key.clone()))?;
        queue.iter().copied().find(|id| self.waiters.get(id).is_some_and(|w| w.kind == kind))
    }

    /// Removes a waiter and queues `reply` for it; false if it was not blocked.
    pub fn unblock_with(&mut self, id: u64, reply: impl FnOnce(&mut ReplyBuf)) -> bool {
        let Some(waiter) = self.remove(id) else {
            return false;
        };
        let mut out = ReplyBuf::for_message(waiter.resp3, 128);
        reply(&mut out);
        waiter.handle.deliver(&out.buf);
        true
    }
}

/// Whether values of `kind` are what blocked clients wait for.
pub fn is_poppable(kind: Kind) -> bool {
    matches!(kind, Kind::List | Kind::ZSet)
}

/// The kind of value `key` of `db` holds and the longest-waiting client that pops that kind.
fn next_to_serve(ks: &mut Keyspace, db: usize, key: &Bytes) -> Option<(Kind, u64)> {
    let kind = ks.get(db, key).map(|e| e.kind()).filter(|k| is_poppable(*k))?;
    Some((kind, ks.blocking.first_waiter(db, key, kind)?))
}

/// Serves the clients waiting on keys that became ready: for each key in the order it became
/// ready, the waiters that pop the kind of value the key holds, in arrival order, as long as
/// the key still holds such a value (clients waiting for another kind stay blocked, as in
/// Redis). Pops may fill other watched keys (BLMOVE), which are served in the same pass.
pub fn serve_ready(ks: &mut Keyspace) {
    while !ks.blocking.ready.is_empty() {
        let (db, key) = ks.blocking.ready.remove(0);
        while let Some((kind, id)) = next_to_serve(ks, db, &key) {
            let waiter = ks.blocking.remove(id).expect("queued waiters are registered");
            if waiter.handle.is_killed() {
                continue;
            }
            let mut out = ReplyBuf::for_message(waiter.resp3, 256);
            match kind {
                Kind::ZSet => {
                    crate::commands::zsets::serve_blocked(ks, waiter.db, &waiter.args, &key, &mut out);
                }
                _ => crate::commands::lists::serve_blocked(ks, waiter.db, &waiter.args, &key, &mut out),
            }
            waiter.handle.deliver(&out.buf);
        }
    }
}

/// A blocking command's timeout in seconds (fractions allowed; 0 = forever), as Redis's
/// `getTimeoutFromObjectOrReply`; the error is written for a bad one. `Some(None)` waits
/// forever.
pub fn parse_timeout(ctx: &mut Ctx, arg: &[u8]) -> Option<Option<Duration>> {
    let Some(seconds) = crate::util::parse_f64(arg) else {
        ctx.out.error("ERR timeout is not a float or out of range");
        return None;
    };
    let ms = (seconds * 1000.0).ceil();
    if ms > i64::MAX as f64 {
        ctx.out.error("ERR timeout is out of range");
        return None;
    }
    if ms < 0.0 {
        ctx.out.error("ERR timeout is negative");
        return None;
    }
    Some((ms > 0.0).then(|| Duration::from_millis(ms as u64)))
}

/// Whether the caller may block: inside EXEC a blocking command answers at once instead, as
/// Redis's "deny blocking" clients do.
pub fn may_block(ctx: &Ctx) -> bool {
    !ctx.in_exec
}

/// Registers the caller as waiting on `keys` for a value of `kind`; its reply comes later,
/// from [`serve_ready`] or at its deadline.
pub fn block(ctx: &mut Ctx, args: &[Bytes], keys: &[Bytes], kind: Kind, timeout: Option<Duration>) {
    let deadline = timeout.map(|t| Instant::now() + t);
    let waiter = Waiter {
        handle: ctx.client.handle.clone(),
        db: ctx.client.db,
        kind,
        args: args.to_vec(),
        keys: keys.to_vec(),
        resp3: ctx.out.resp3,
    };
    ctx.ks.get().blocking.block(waiter);
    ctx.client.blocked = Some(Blocked { deadline });
}

/// Called by a blocked client's task after a wake-up or at its deadline. Returns whether the
/// client is blocked no more: it was served or unblocked (its reply waits in its outbox) or
/// its time is up (the null reply is written to `out`).
pub fn finish_wait(shared: &Shared, client: &mut Client, out: &mut ReplyBuf) -> bool {
    let Some(blocked) = client.blocked else {
        return true;
    };
    let mut ks = shared.keyspace.lock();
    if ks.blocking.is_blocked(client.id) {
        if blocked.deadline.is_none_or(|d| Instant::now() < d) {
            return false;
        }
        ks.blocking.remove(client.id);
        out.null_array();
    }
    drop(ks);
    client.blocked = None;
    true
}

/// Drops a closing client's registration, if any.
pub fn forget(shared: &Shared, client: &Client) {
    if client.blocked.is_some() {
        shared.keyspace.lock().blocking.remove(client.id);
    }
}
