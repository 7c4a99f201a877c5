//! Transactions: MULTI, EXEC, DISCARD (WATCH/UNWATCH come with the data types).

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::cmd;
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("multi", 1, NO_MULTI_QUEUE | NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (0, 0, 0), "transactions", "1.2.0", "Starts a transaction.", multi),
    cmd!("exec", 1, NO_MULTI_QUEUE | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK, (0, 0, 0), "transactions", "1.2.0", "Executes all commands in a transaction.", exec),
    cmd!("discard", 1, NO_MULTI_QUEUE | NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, (0, 0, 0), "transactions", "2.0.0", "Discards a transaction.", discard),
];

/// Queues a command inside MULTI (the dispatcher already checked that it exists and its arity).
pub fn queue(ctx: &mut Ctx, spec: &'static CommandSpec, args: &[Bytes]) {
    if spec.flags & NO_MULTI != 0 {
        return super::reject(ctx, Some(spec), "ERR Command not allowed inside a transaction");
    }
    if let Some(q) = ctx.client.multi.as_mut() {
        q.push((spec, args.to_vec()));
    }
    ctx.out.simple("QUEUED");
}

/// Ends the transaction with `EXECABORT ... because of: <reason>` (a refused EXEC, as Redis's
/// `execCommandAbort`).
pub fn abort(ctx: &mut Ctx, reason: &str) {
    ctx.client.multi = None;
    ctx.client.multi_failed = false;
    ctx.client.watched.clear();
    let reason = reason.strip_prefix("ERR ").unwrap_or(reason);
    ctx.out.error(&format!("EXECABORT Transaction discarded because of: {reason}"));
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
    if ctx.client.multi.take().is_none() {
        return ctx.out.error("ERR DISCARD without MULTI");
    }
    ctx.client.multi_failed = false;
    ctx.client.watched.clear();
    ctx.out.ok();
}

fn exec(ctx: &mut Ctx, _args: &[Bytes]) {
    let Some(queued) = ctx.client.multi.take() else {
        return ctx.out.error("ERR EXEC without MULTI");
    };
    if std::mem::take(&mut ctx.client.multi_failed) {
        ctx.client.watched.clear();
        return ctx.out.error("EXECABORT Transaction discarded because of previous errors.");
    }
    if let Err(refusal) = super::admit_transaction(ctx, &queued) {
        return abort(ctx, &refusal);
    }
    ctx.out.array(queued.len());
    ctx.ks.get();
    ctx.in_exec = true;
    for (spec, args) in &queued {
        super::run(ctx, spec, args);
    }
    ctx.in_exec = false;
    ctx.client.watched.clear();
}
