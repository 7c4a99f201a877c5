//! Blocking commands, the serving half: the commands' side of BLPOP, BRPOP, BLMOVE,
//! BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP and of XREAD / XREADGROUP with BLOCK. It registers a caller in the engine's
//! [`Registry`], runs the pop of each woken waiter and writes its reply (encoded with the
//! waiter's protocol) to the waiter's outbox, and ends a wait at its deadline: a waiter that
//! reaches its deadline removes itself under the lock and answers with a null array; CLIENT
//! UNBLOCK, kills and disconnects remove waiters too.

use crate::client::{Client, ClientHandle};
use crate::commands::Ctx;
use crate::engine::blocking::{next_to_serve, Registry, Waiter, WaiterHandle};
use crate::engine::storage::{Keyspace, Kind};
use crate::protocol::ReplyBuf;
use crate::server::Shared;
use bytes::Bytes;
use std::time::Duration;
use tokio::time::Instant;

/// What the owning connection keeps while its client is blocked.
#[derive(Clone, Copy, Debug)]
pub struct Blocked {
    /// `None` waits forever (timeout 0).
    pub deadline: Option<Instant>,
}

impl WaiterHandle for ClientHandle {
    fn id(&self) -> u64 {
        self.id
    }

    fn set_blocked(&self, blocked: bool) {
        ClientHandle::set_blocked(self, blocked)
    }

    fn is_killed(&self) -> bool {
        ClientHandle::is_killed(self)
    }

    fn deliver(&self, encoded: &[u8]) {
        ClientHandle::deliver(self, encoded)
    }
}

/// Removes a waiter and queues `reply` for it; false if it was not blocked (CLIENT UNBLOCK).
pub fn unblock_with(registry: &mut Registry, id: u64, reply: impl FnOnce(&mut ReplyBuf)) -> bool {
    let Some(waiter) = registry.remove(id) else {
        return false;
    };
    let mut out = ReplyBuf::for_message(waiter.resp3, 128);
    reply(&mut out);
    waiter.handle.deliver(&out.buf);
    true
}

/// A pop served to a blocked client: (db, the waiter's command, its reply).
pub type ServedPop = (usize, Vec<Bytes>, Vec<u8>);

/// Serves the clients waiting on keys that became ready: for each key in the order it became
/// ready, the waiters that pop the kind of value the key holds, in arrival order, as long as
/// the key still holds such a value (clients waiting for another kind stay blocked, as in
/// Redis). Pops may fill other watched keys (BLMOVE), which are served in the same pass.
/// Each pop served is added to `served` when given (the AOF logs it): (db, the waiter's
/// command, its reply).
pub fn serve_ready(ks: &mut Keyspace, mut served: Option<&mut Vec<ServedPop>>) {
    while let Some((db, key)) = ks.blocking.take_ready() {
        serve_stream_readers(ks, db, &key, served.as_deref_mut());
        while let Some((kind, id)) = next_to_serve(ks, db, &key) {
            let waiter = ks.blocking.remove(id).expect("queued waiters are registered");
            if waiter.handle.is_killed() {
                continue;
            }
            let mut out = ReplyBuf::for_message(waiter.resp3, 256);
            match kind {
                Kind::ZSet => {
                    super::zsets::serve_blocked(ks, waiter.db, &waiter.args, &key, &mut out);
                }
                _ => super::lists::serve_blocked(ks, waiter.db, &waiter.args, &key, &mut out),
            }
            if let Some(served) = served.as_deref_mut() {
                served.push((waiter.db, waiter.args.to_vec(), out.buf.to_vec()));
            }
            waiter.handle.deliver(&out.buf);
        }
    }
}

/// Serves the stream readers waiting on `key` that the stream can serve now, in their order;
/// the others stay blocked (see `streams::serve_blocked`). What a served group read changed
/// is added to `served` as the commands it is logged as.
fn serve_stream_readers(ks: &mut Keyspace, db: usize, key: &Bytes, mut served: Option<&mut Vec<ServedPop>>) {
    for id in ks.blocking.waiters_of_kind(db, key, Kind::Stream) {
        let Some(waiter) = ks.blocking.waiter(id) else { continue };
        if waiter.handle.is_killed() {
            ks.blocking.remove(id);
            continue;
        }
        let (waiter_db, args, resp3) = (waiter.db, waiter.args.clone(), waiter.resp3);
        let mut out = ReplyBuf::for_message(resp3, 256);
        let mut log = served.is_some().then(Vec::new);
        if !super::streams::serve_blocked(ks, waiter_db, &args, key, &mut out, log.as_mut()) {
            continue;
        }
        let waiter = ks.blocking.remove(id).expect("a registered waiter");
        if let (Some(served), Some(log)) = (served.as_deref_mut(), log) {
            served.extend(log.into_iter().map(|cmd| (waiter_db, cmd, Vec::new())));
        }
        waiter.handle.deliver(&out.buf);
    }
}

/// A blocked command woken with an error (its stream or group gone, CLIENT UNBLOCK ERROR)
/// failed, as Redis counts it: its error code in `INFO errorstats`, the call as failed.
pub fn account_woken_reply(shared: &Shared, client: &mut Client, reply: &[u8]) {
    if reply.first() != Some(&b'-') {
        return;
    }
    let code = reply[1..].split(|&b| b == b' ' || b == b'\r').next().unwrap_or(b"ERR");
    shared.record_errors(&String::from_utf8_lossy(code), 1);
    client.fail_last_command();
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

/// Whether the caller may block: inside EXEC or a script a blocking command answers at once
/// instead, as Redis's "deny blocking" clients do.
pub fn may_block(ctx: &Ctx) -> bool {
    !ctx.in_exec && !ctx.in_script
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
    let mut ks = shared.lock_keyspace();
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
        shared.lock_keyspace().blocking.remove(client.id);
    }
}
