//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Inside MULTI the dispatcher hands commands to [`queue`]; EXEC runs them back to back while
//! holding the keyspace lock, so no other client's command runs in between (only CONFIG SET
//! lets go of it, as it must to apply a directive, which Redis allows inside EXEC too). A
//! queueing error (unknown command, arity, a command refused inside MULTI, out of memory)
//! makes EXEC abort with EXECABORT; an error while a queued command runs fails only that
//! command. WATCH registers keys in the keyspace (see `storage::watch`), whose write paths mark
//! the watchers of a changed key; EXEC then replies a null array and runs nothing.

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::cmd;
use crate::tenants::DEFAULT_TENANT;
use bytes::Bytes;

// One line per command keeps the table readable as a table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("multi", 1, NO_MULTI_QUEUE | NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (0, 0, 0), "transactions", "1.2.0", "Starts a transaction.", multi),
    cmd!("exec", 1, NO_MULTI_QUEUE | NOSCRIPT | LOADING | STALE | NO_SLOWLOG, (0, 0, 0), "transactions", "1.2.0", "Executes all commands in a transaction.", exec),
    cmd!("discard", 1, NO_MULTI_QUEUE | NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (0, 0, 0), "transactions", "2.0.0", "Discards a transaction.", discard),
    cmd!("watch", -2, NO_MULTI_QUEUE | NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (1, -1, 1), "transactions", "2.2.0", "Monitors changes to keys to determine the execution of a transaction.", watch),
    cmd!("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (0, 0, 0), "transactions", "2.2.0", "Forgets about watched keys of a transaction.", unwatch),
];

/// Queues a command inside MULTI (the dispatcher already checked that it exists, its arity
/// and authentication).
pub fn queue(ctx: &mut Ctx, spec: &'static CommandSpec, args: &[Bytes]) {
    if spec.flags & NO_MULTI != 0 {
        return super::reject(ctx, Some(spec), "ERR Command not allowed inside a transaction");
    }
    // As Redis, refuse to grow the queue while the server is out of memory.
    if let Err(refusal) = queue_admission(ctx, spec, args) {
        return super::reject(ctx, Some(spec), &refusal);
    }
    // A transaction that will abort anyway keeps nothing.
    if !ctx.client.multi_failed {
        if let Some(q) = ctx.client.multi.as_mut() {
            q.push((spec, args.to_vec()));
        }
    }
    ctx.out.simple("QUEUED");
}

/// Whether the key's tenant, or the server, is over its memory limit even after evicting
/// what the policy allows (Redis's `performEvictions` before queueing).
fn queue_admission(ctx: &mut Ctx, spec: &CommandSpec, args: &[Bytes]) -> Result<(), String> {
    let ks = ctx.ks.get();
    if !ks.limits_active() {
        return Ok(());
    }
    let key = spec.first_key_position(args).map(|pos| &args[pos]);
    let tenant = key.map_or(DEFAULT_TENANT, |k| ks.tenants.resolve(k));
    ks.make_room(tenant, 0, 0).map_err(|refusal| refusal.message())
}

/// Ends the transaction with `EXECABORT ... because of: <reason>` (a refused EXEC, as Redis's
/// `execCommandAbort`).
pub fn abort(ctx: &mut Ctx, reason: &str) {
    end_transaction(ctx);
    let reason = reason.strip_prefix("ERR ").unwrap_or(reason);
    ctx.out.error(&format!("EXECABORT Transaction discarded because of: {reason}"));
}

/// Leaves MULTI state and forgets the watched keys.
fn end_transaction(ctx: &mut Ctx) {
    ctx.client.multi = None;
    ctx.client.multi_failed = false;
    unwatch_all(ctx);
}

/// Forgets every key the client watches (UNWATCH, DISCARD, EXEC, RESET).
pub fn unwatch_all(ctx: &mut Ctx) {
    if ctx.client.watched.is_empty() {
        return;
    }
    let keys = std::mem::take(&mut ctx.client.watched);
    ctx.ks.get().unwatch_all(ctx.client.id, &keys);
}

/// Drops the watches of a client that is going away.
pub fn forget_client(shared: &crate::server::Shared, client: &mut crate::client::Client) {
    if !client.watched.is_empty() {
        let keys = std::mem::take(&mut client.watched);
        shared.lock_keyspace().unwatch_all(client.id, &keys);
    }
}

fn multi(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.client.multi.is_some() {
        return ctx.out.error("ERR MULTI calls can not be nested");
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_failed = false;
    ctx.out.ok();
}

fn discard(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.client.multi.is_none() {
        return ctx.out.error("ERR DISCARD without MULTI");
    }
    end_transaction(ctx);
    ctx.out.ok();
}

fn exec(ctx: &mut Ctx, _args: &[Bytes]) {
    let Some(queued) = ctx.client.multi.take() else {
        return ctx.out.error("ERR EXEC without MULTI");
    };
    let queueing_failed = std::mem::take(&mut ctx.client.multi_failed);
    // Taken now and held until the last queued command has run: nobody else runs in between.
    let ks = ctx.ks.get();
    let watch_broken = !ctx.client.watched.is_empty() && ks.watch_broken(ctx.client.id, &ctx.client.watched);
    unwatch_all(ctx);
    if queueing_failed {
        return ctx.out.error("EXECABORT Transaction discarded because of previous errors.");
    }
    if watch_broken {
        return ctx.out.null_array();
    }
    // Memory is checked once for the whole transaction, before it starts, as Redis does.
    if let Err(refusal) = super::admit_transaction(ctx, &queued) {
        return abort(ctx, &refusal);
    }
    ctx.out.array(queued.len());
    ctx.in_exec = true;
    let logged = ctx.shared.aof.enabled();
    if logged {
        crate::aof::begin_exec(ctx.shared);
    }
    for (spec, args) in &queued {
        super::run(ctx, spec, args);
    }
    if logged {
        crate::aof::end_exec(ctx.shared);
    }
    ctx.in_exec = false;
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) {
    if ctx.client.multi.is_some() {
        return ctx.out.error("ERR WATCH inside MULTI is not allowed");
    }
    let (id, db) = (ctx.client.id, ctx.client.db);
    let ks = ctx.ks.get();
    // A client whose transaction already failed gains nothing from more watches.
    if !ks.watch_broken(id, &[]) {
        for key in &args[1..] {
            if ks.watch(id, db, key) {
                ctx.client.watched.push((db, key.clone()));
            }
        }
    }
    ctx.out.ok();
}

fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) {
    unwatch_all(ctx);
    ctx.out.ok();
}
