//! Consumer group commands: XGROUP, XREADGROUP's reads (see [`read_group`]), XACK,
//! XPENDING, XCLAIM and XAUTOCLAIM.
//!
//! What a group read or a claim changes is logged, with the AOF on, as Redis propagates it:
//! an `XCLAIM ... TIME t RETRYCOUNT n FORCE JUSTID LASTID id` per entry delivered or claimed
//! (so that a replay rebuilds the same pending entries whatever the clock says), an `XGROUP
//! SETID ... ENTRIESREAD n` where the group moved without one, an `XGROUP CREATECONSUMER` for
//! a consumer a read created.

use super::super::args::{int, is};
use super::super::{errors, Ctx};
use super::{
    as_stream, collect_range, event, interval_bound, peek_stream, read_stream, reply_entry, reply_id, strict_id,
    with_stream,
};
use crate::protocol::ReplyBuf;
use crate::storage::stream::{ConsumerGroup, StreamId, StreamValue};
use crate::storage::{KeyEvent, Keyspace, WrongType};
use bytes::Bytes;
use std::sync::Arc;

fn no_group_for_key(group: &[u8], key: &[u8]) -> String {
    format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    )
}

fn no_key_or_group(key: &[u8], group: &[u8]) -> String {
    format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    )
}

fn subcommand_syntax(args: &[Bytes]) -> String {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&args[1]),
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    )
}

/// The pending entry `id` as the XCLAIM that recreates it (see `ConsumerGroup::claim_command`).
fn logged_claim(key: &[u8], group: &[u8], g: &ConsumerGroup, id: StreamId) -> Vec<Bytes> {
    g.claim_command(key, group, id).into_iter().map(Bytes::from).collect()
}

/// `XGROUP SETID key group last ENTRIESREAD n`.
fn logged_setid(key: &[u8], group: &[u8], g: &ConsumerGroup) -> Vec<Bytes> {
    let read = g.entries_read.map_or(-1, |n| n as i64).to_string();
    let last = g.last_id.to_string();
    let parts: [&[u8]; 7] = [b"XGROUP", b"SETID", key, group, last.as_bytes(), b"ENTRIESREAD", read.as_bytes()];
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

fn logged_createconsumer(key: &[u8], group: &[u8], consumer: &[u8]) -> Vec<Bytes> {
    [&b"XGROUP"[..], b"CREATECONSUMER", key, group, consumer].iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

/// One XREADGROUP read of one stream.
pub(super) struct GroupRead<'a> {
    pub group: &'a [u8],
    pub consumer: &'a [u8],
    /// At most this many entries (0: all).
    pub count: usize,
    pub noack: bool,
    /// The consumer's pending entries after this id, instead of new entries.
    pub history: Option<StreamId>,
}

/// Serves `read` from the stream at `key` (which holds a stream with that group) and writes
/// the entries as XREADGROUP replies them: new entries are delivered (the group moves on,
/// and they become pending unless NOACK); history is the consumer's pending entries, a
/// deleted one as its id with a null, each delivered once more. The consumer is created
/// (and seen) first.
pub(super) fn read_group(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    read: &GroupRead,
    out: &mut ReplyBuf,
    mut log: Option<&mut Vec<Vec<Bytes>>>,
) {
    let now = ks.now_ms;
    let exists = ks
        .get(db, key)
        .map(as_stream)
        .and_then(Result::ok)
        .and_then(|s| s.groups.get(read.group))
        .is_some_and(|g| g.consumers.contains_key(read.consumer));
    let created = [event("xgroup-createconsumer")];
    let events: &[KeyEvent] = if exists { &[] } else { &created };
    let _ = with_stream(ks, db, key, false, events, |s| {
        s.with_group(read.group, |s, g| {
            if !exists {
                g.create_consumer(read.consumer, now);
                if let Some(log) = log.as_deref_mut() {
                    log.push(logged_createconsumer(key, read.group, read.consumer));
                }
            }
            let name = g.consumer_seen(read.consumer, Some(now)).expect("created above");
            match read.history {
                None => deliver_new(s, g, &name, read, key, now, out, log),
                Some(after) => deliver_history(s, g, &name, read.count, after, now, out),
            }
        });
        ((), true)
    });
}

/// New entries for a group read (see [`read_group`]).
#[allow(clippy::too_many_arguments)]
fn deliver_new(
    s: &StreamValue,
    g: &mut ConsumerGroup,
    consumer: &Arc<[u8]>,
    read: &GroupRead,
    key: &[u8],
    now: u64,
    out: &mut ReplyBuf,
    mut log: Option<&mut Vec<Vec<Bytes>>>,
) {
    let Some(start) = g.last_id.next() else {
        return out.array(0);
    };
    let mut n = 0;
    s.range(start, StreamId::MAX, false, |_, _| {
        n += 1;
        read.count == 0 || n < read.count
    });
    out.array(n);
    let (mut written, mut moved) = (0, false);
    s.range(start, StreamId::MAX, false, |id, fields| {
        if id > g.last_id {
            g.advance(s, id);
            moved = true;
        }
        reply_entry(out, id, fields);
        if !read.noack {
            g.deliver(id, consumer, now);
            if let Some(log) = log.as_deref_mut() {
                log.push(logged_claim(key, read.group, g, id));
            }
        }
        written += 1;
        written < n
    });
    if read.noack && moved {
        if let Some(log) = log {
            log.push(logged_setid(key, read.group, g));
        }
    }
}

/// The consumer's history for a group read (see [`read_group`]).
fn deliver_history(
    s: &StreamValue,
    g: &mut ConsumerGroup,
    consumer: &Arc<[u8]>,
    count: usize,
    after: StreamId,
    now: u64,
    out: &mut ReplyBuf,
) {
    let ids: Vec<StreamId> = match after.next() {
        Some(start) => {
            let pending = &g.consumers.get(consumer).expect("an existing consumer").pending;
            let ids = pending.range(start..);
            if count == 0 {
                ids.copied().collect()
            } else {
                ids.take(count).copied().collect()
            }
        }
        None => Vec::new(),
    };
    out.array(ids.len());
    for id in ids {
        match collect_range(s, id, id, false, 1).first() {
            Some((id, fields)) => {
                reply_entry(out, *id, fields);
                if let Some(p) = g.pending.get_mut(id) {
                    p.delivery_time = now;
                    p.delivery_count += 1;
                }
            }
            None => {
                out.array(2);
                reply_id(out, id);
                out.null_array();
            }
        }
    }
}

// ----- XGROUP -----

/// CREATE's and SETID's options after the id: MKSTREAM (CREATE only), ENTRIESREAD n. The
/// error is written for anything else.
fn group_options(ctx: &mut Ctx, args: &[Bytes], create: bool) -> Option<(bool, Option<u64>)> {
    let (mut mkstream, mut entries_read) = (false, None);
    let mut i = 5;
    while i < args.len() {
        if create && is(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if is(&args[i], "entriesread") && i + 1 < args.len() {
            let n = int(ctx, &args[i + 1])?;
            if n < 0 && n != -1 {
                ctx.out.error("ERR value for ENTRIESREAD must be positive or -1");
                return None;
            }
            entries_read = (n >= 0).then_some(n as u64);
            i += 2;
        } else {
            ctx.out.error(&subcommand_syntax(args));
            return None;
        }
    }
    Some((mkstream, entries_read))
}

const KEY_REQUIRED: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

/// The stream an XGROUP subcommand works on and whether it has the group; `None` with the
/// error written (wrong type, no key; no group where `group_needed`).
fn group_target(ctx: &mut Ctx, args: &[Bytes], missing_ok: bool, group_needed: bool) -> Option<Option<StreamId>> {
    let db = ctx.db();
    let found = match peek_stream(ctx.ks.get(), db, &args[2]) {
        Err(WrongType) => {
            ctx.out.error(errors::WRONGTYPE);
            return None;
        }
        Ok(s) => s.map(|s| (s.last_id, s.groups.contains_key(&args[3][..]))),
    };
    match found {
        None if missing_ok => Some(None),
        None => {
            ctx.out.error(KEY_REQUIRED);
            None
        }
        Some((_, false)) if group_needed => {
            ctx.out.error(&no_group_for_key(&args[3], &args[2]));
            None
        }
        Some((last, _)) => Some(Some(last)),
    }
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]
pub(super) fn xgroup_create(ctx: &mut Ctx, args: &[Bytes]) {
    let Some((mkstream, entries_read)) = group_options(ctx, args, true) else { return };
    if args.len() > 8 {
        return ctx.out.error(&subcommand_syntax(args));
    }
    let Some(last) = group_target(ctx, args, mkstream, false) else { return };
    let id = if &args[4][..] == b"$" {
        last.unwrap_or(StreamId::MIN)
    } else {
        let Some(id) = strict_id(ctx, &args[4], 0) else { return };
        id
    };
    let db = ctx.db();
    let created = with_stream(ctx.ks.get(), db, &args[2], mkstream, &[event("xgroup-create")], |s| {
        let created = s.create_group(&args[3], id, entries_read);
        (created, created)
    });
    match created {
        Ok(Some(true)) => ctx.out.ok(),
        _ => ctx.out.error("BUSYGROUP Consumer Group name already exists"),
    }
}

/// XGROUP SETID key group id|$ [ENTRIESREAD n]
pub(super) fn xgroup_setid(ctx: &mut Ctx, args: &[Bytes]) {
    let Some((_, entries_read)) = group_options(ctx, args, false) else { return };
    if args.len() != 5 && args.len() != 7 {
        return ctx.out.error(&subcommand_syntax(args));
    }
    let Some(Some(last)) = group_target(ctx, args, false, true) else { return };
    let id = if &args[4][..] == b"$" {
        last
    } else {
        let Some(id) = super::any_id(ctx, &args[4], 0) else { return };
        id
    };
    let db = ctx.db();
    let _ = with_stream(ctx.ks.get(), db, &args[2], false, &[event("xgroup-setid")], |s| {
        s.with_group(&args[3], |_, g| {
            g.last_id = id;
            g.entries_read = entries_read;
        });
        ((), true)
    });
    ctx.out.ok();
}

/// XGROUP DESTROY key group: 1, or 0 without the group.
pub(super) fn xgroup_destroy(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(_) = group_target(ctx, args, false, false) else { return };
    let db = ctx.db();
    let destroyed = with_stream(ctx.ks.get(), db, &args[2], false, &[event("xgroup-destroy")], |s| {
        let gone = s.groups.remove(&args[3][..]).is_some();
        (gone, gone)
    });
    ctx.out.int(matches!(destroyed, Ok(Some(true))) as i64);
}

/// XGROUP CREATECONSUMER key group consumer: 1 if created.
pub(super) fn xgroup_createconsumer(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(_) = group_target(ctx, args, false, true) else { return };
    let db = ctx.db();
    let now = ctx.ks.get().now_ms;
    let created = with_stream(ctx.ks.get(), db, &args[2], false, &[event("xgroup-createconsumer")], |s| {
        let created = s.with_group(&args[3], |_, g| g.create_consumer(&args[4], now)).unwrap_or(false);
        (created, created)
    });
    ctx.out.int(matches!(created, Ok(Some(true))) as i64);
}

/// XGROUP DELCONSUMER key group consumer: the pending entries it had.
pub(super) fn xgroup_delconsumer(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(_) = group_target(ctx, args, false, true) else { return };
    let db = ctx.db();
    let deleted = with_stream(ctx.ks.get(), db, &args[2], false, &[event("xgroup-delconsumer")], |s| {
        let pending = s.with_group(&args[3], |_, g| g.delete_consumer(&args[4])).flatten();
        (pending, pending.is_some())
    });
    ctx.out.int(deleted.ok().flatten().flatten().unwrap_or(0) as i64);
}

pub(super) fn xgroup_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::super::introspection::help_reply(
        ctx,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
}

// ----- XACK, XPENDING -----

/// XACK key group id [id ...]: the entries acknowledged.
pub(super) fn xack(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_stream(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(Some(s)) if s.groups.contains_key(&args[2][..]) => {}
        Ok(_) => return ctx.out.int(0),
    }
    let mut ids = Vec::with_capacity(args.len() - 3);
    for arg in &args[3..] {
        let Some(id) = strict_id(ctx, arg, 0) else { return };
        ids.push(id);
    }
    let acked = with_stream(ctx.ks.get(), db, &args[1], false, &[], |s| {
        let n = s.with_group(&args[2], |_, g| ids.iter().filter(|&&id| g.ack(id)).count()).unwrap_or(0);
        (n, n > 0)
    });
    ctx.out.int(acked.ok().flatten().unwrap_or(0) as i64);
}

/// XPENDING key group [[IDLE min-idle] start end count [consumer]]
pub(super) fn xpending(ctx: &mut Ctx, args: &[Bytes]) {
    let summary = args.len() == 3;
    if !summary && !(6..=9).contains(&args.len()) {
        return ctx.out.error(errors::SYNTAX);
    }
    let (mut min_idle, mut range, mut consumer) = (0i64, (StreamId::MIN, StreamId::MAX, 0usize), None);
    if !summary {
        let mut at = 3;
        if is(&args[3], "idle") {
            let Some(n) = int(ctx, &args[4]) else { return };
            min_idle = n;
            if args.len() < 8 {
                return ctx.out.error(errors::SYNTAX);
            }
            at += 2;
        }
        let Some(count) = int(ctx, &args[at + 2]) else { return };
        let Some(start) = interval_bound(ctx, &args[at], true) else { return };
        let Some(end) = interval_bound(ctx, &args[at + 1], false) else { return };
        range = (start, end, count.max(0) as usize);
        consumer = args.get(at + 3);
    }
    let db = ctx.db();
    let now = ctx.ks.get().now_ms;
    let s = match read_stream(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(s) => s,
    };
    let Some(g) = s.and_then(|s| s.groups.get(&args[2][..])) else {
        return ctx.out.error(&no_key_or_group(&args[1], &args[2]));
    };
    let out = &mut *ctx.out;
    if summary {
        out.array(4);
        out.int(g.pending.len() as i64);
        match (g.pending.first_key_value(), g.pending.last_key_value()) {
            (Some((first, _)), Some((last, _))) => {
                reply_id(out, *first);
                reply_id(out, *last);
                let owners: Vec<_> = g.consumers.iter().filter(|(_, c)| !c.pending.is_empty()).collect();
                out.array(owners.len());
                for (name, c) in owners {
                    out.array(2);
                    out.bulk(name);
                    out.bulk_int(c.pending.len() as i64);
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return;
    }
    let (start, end, count) = range;
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(&name[..]) {
            Some(c) => c.pending.range(start..=end.max(start)).copied().filter(|id| *id <= end).collect(),
            None => return out.array(0),
        },
        None if start <= end => g.pending.range(start..=end).map(|(id, _)| *id).collect(),
        None => Vec::new(),
    };
    let rows: Vec<_> = ids
        .into_iter()
        .filter_map(|id| g.pending.get(&id).map(|p| (id, p)))
        .filter(|(_, p)| min_idle == 0 || (now as i64 - p.delivery_time as i64) >= min_idle)
        .take(count)
        .collect();
    out.array(rows.len());
    for (id, p) in rows {
        out.array(4);
        reply_id(out, id);
        out.bulk(&p.consumer);
        out.int((now as i64 - p.delivery_time as i64).max(0));
        out.int(p.delivery_count as i64);
    }
}

// ----- XCLAIM, XAUTOCLAIM -----

/// The group and consumer events of a claim: the consumer's creation when it does not exist
/// yet (a claim creates it).
fn claim_events(ks: &mut Keyspace, db: usize, key: &[u8], group: &[u8], consumer: &[u8]) -> bool {
    ks.get(db, key)
        .map(as_stream)
        .and_then(Result::ok)
        .and_then(|s| s.groups.get(group))
        .is_some_and(|g| g.consumers.contains_key(consumer))
}

/// The consumer `name` of `g`, created at `now` if needed.
fn claimant(g: &mut ConsumerGroup, name: &[u8], now: u64) -> Arc<[u8]> {
    if let Some(c) = g.consumer_seen(name, Some(now)) {
        return c;
    }
    g.create_consumer(name, now);
    g.consumer_seen(name, None).expect("created above")
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT n]
/// [FORCE] [JUSTID] [LASTID id]
pub(super) fn xclaim(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_stream(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(Some(s)) if s.groups.contains_key(&args[2][..]) => {}
        Ok(_) => return ctx.out.error(&no_key_or_group(&args[1], &args[2])),
    }
    let Some(min_idle) = crate::util::parse_i64(&args[4]) else {
        return ctx.out.error("ERR Invalid min-idle-time argument for XCLAIM");
    };
    let min_idle = min_idle.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < args.len() {
        match super::parse_id_with(&args[j], 0, true) {
            Some(id) => ids.push(id),
            None => break,
        }
        j += 1;
    }
    let now = ctx.ks.get().now_ms as i64;
    let (mut force, mut justid, mut retrycount, mut delivery, mut last_id) = (false, false, None, None, StreamId::MIN);
    while j < args.len() {
        let more = j + 1 < args.len();
        let opt = &args[j];
        let number = |ctx: &mut Ctx, what: &str, arg: &[u8]| {
            let n = crate::util::parse_i64(arg);
            if n.is_none() {
                ctx.out.error(&format!("ERR Invalid {what} option argument for XCLAIM"));
            }
            n
        };
        if is(opt, "force") {
            force = true;
        } else if is(opt, "justid") {
            justid = true;
        } else if is(opt, "idle") && more {
            j += 1;
            let Some(n) = number(ctx, "IDLE", &args[j]) else { return };
            delivery = Some(now - n);
        } else if is(opt, "time") && more {
            j += 1;
            let Some(n) = number(ctx, "TIME", &args[j]) else { return };
            delivery = Some(n);
        } else if is(opt, "retrycount") && more {
            j += 1;
            let Some(n) = number(ctx, "RETRYCOUNT", &args[j]) else { return };
            retrycount = Some(n);
        } else if is(opt, "lastid") && more {
            j += 1;
            let Some(id) = strict_id(ctx, &args[j], 0) else { return };
            last_id = id;
        } else {
            return ctx.out.error(&format!("ERR Unrecognized XCLAIM option '{}'", String::from_utf8_lossy(opt)));
        }
        j += 1;
    }
    let delivery = match delivery {
        Some(t) if t >= 0 && t <= now => t as u64,
        _ => now as u64,
    };
    let (key, group, name) = (&args[1][..], &args[2][..], &args[3][..]);
    let existed = claim_events(ctx.ks.get(), db, key, group, name);
    let created = [event("xgroup-createconsumer")];
    let events: &[KeyEvent] = if existed { &[] } else { &created };
    let mut log = ctx.shared.aof.enabled().then(Vec::new);
    let out = &mut *ctx.out;
    let ks = ctx.ks.get();
    let _ = with_stream(ks, db, key, false, events, |s| {
        let changed = s
            .with_group(group, |s, g| {
                let mut changed = false;
                let mut moved = false;
                if last_id > g.last_id {
                    g.last_id = last_id;
                    moved = true;
                }
                let mut claimed = Vec::new();
                for &id in &ids {
                    let pending = g.pending.contains_key(&id);
                    if !s.contains(id) {
                        if pending {
                            if let Some(log) = log.as_mut() {
                                log.push(logged_claim(key, group, g, id));
                            }
                            g.ack(id);
                            changed = true;
                            moved = false;
                        }
                        continue;
                    }
                    if !pending && !force {
                        continue;
                    }
                    if let (true, Some(p)) = (min_idle > 0, g.pending.get(&id)) {
                        if now - (p.delivery_time as i64) < min_idle {
                            continue;
                        }
                    }
                    let consumer = claimant(g, name, now as u64);
                    let count = match (retrycount, g.pending.get(&id)) {
                        (Some(n), _) => n.max(0) as u64,
                        (None, Some(p)) if !justid => p.delivery_count + 1,
                        (None, Some(p)) => p.delivery_count,
                        (None, None) if justid => 0,
                        (None, None) => 1,
                    };
                    g.claim(id, &consumer, delivery, count);
                    g.mark_active(&consumer, now as u64);
                    claimed.push(id);
                    if let Some(log) = log.as_mut() {
                        log.push(logged_claim(key, group, g, id));
                    }
                    changed = true;
                    moved = false;
                }
                if moved {
                    if let Some(log) = log.as_mut() {
                        log.push(logged_setid(key, group, g));
                    }
                    changed = true;
                }
                out.array(claimed.len());
                for id in claimed {
                    if justid {
                        reply_id(out, id);
                    } else if let Some((id, fields)) = collect_range(s, id, id, false, 1).first() {
                        reply_entry(out, *id, fields);
                    }
                }
                changed
            })
            .unwrap_or(false);
        ((), changed)
    });
    ctx.client.log_as = log;
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]: [next start, claimed
/// entries, ids of deleted entries that were pending].
pub(super) fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(min_idle) = crate::util::parse_i64(&args[4]) else {
        return ctx.out.error("ERR Invalid min-idle-time argument for XAUTOCLAIM");
    };
    let min_idle = min_idle.max(0);
    let Some(start) = interval_bound(ctx, &args[5], true) else { return };
    let (mut count, mut justid) = (100i64, false);
    let mut j = 6;
    while j < args.len() {
        if is(&args[j], "count") && j + 1 < args.len() {
            let max = i64::MAX / 16;
            match crate::util::parse_i64(&args[j + 1]) {
                Some(n) if (1..=max).contains(&n) => count = n,
                _ => return ctx.out.error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if is(&args[j], "justid") {
            justid = true;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        j += 1;
    }
    let db = ctx.db();
    match read_stream(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(Some(s)) if s.groups.contains_key(&args[2][..]) => {}
        Ok(_) => return ctx.out.error(&no_key_or_group(&args[1], &args[2])),
    }
    let (key, group, name) = (&args[1][..], &args[2][..], &args[3][..]);
    let existed = claim_events(ctx.ks.get(), db, key, group, name);
    let created = [event("xgroup-createconsumer")];
    let events: &[KeyEvent] = if existed { &[] } else { &created };
    let mut log = ctx.shared.aof.enabled().then(Vec::new);
    let now = ctx.ks.get().now_ms;
    let out = &mut *ctx.out;
    let _ = with_stream(ctx.ks.get(), db, key, false, events, |s| {
        let changed = s
            .with_group(group, |s, g| {
                let mut attempts = count.saturating_mul(10);
                let mut left = count;
                let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
                let candidates: Vec<StreamId> = g.pending.range(start..).map(|(id, _)| *id).collect();
                let mut next = StreamId::MIN;
                let mut it = candidates.into_iter();
                loop {
                    if attempts == 0 || left == 0 {
                        break;
                    }
                    let Some(id) = it.next() else { break };
                    attempts -= 1;
                    if !s.contains(id) {
                        if let Some(log) = log.as_mut() {
                            log.push(logged_claim(key, group, g, id));
                        }
                        g.ack(id);
                        deleted.push(id);
                        left -= 1;
                        continue;
                    }
                    let p = &g.pending[&id];
                    if min_idle > 0 && (now as i64 - p.delivery_time as i64) < min_idle {
                        continue;
                    }
                    let count = if justid { p.delivery_count } else { p.delivery_count + 1 };
                    let consumer = claimant(g, name, now);
                    g.claim(id, &consumer, now, count);
                    g.mark_active(&consumer, now);
                    if let Some(log) = log.as_mut() {
                        log.push(logged_claim(key, group, g, id));
                    }
                    claimed.push(id);
                    left -= 1;
                }
                if let Some(id) = it.next() {
                    next = id;
                }
                out.array(3);
                reply_id(out, next);
                out.array(claimed.len());
                for &id in &claimed {
                    if justid {
                        reply_id(out, id);
                    } else if let Some((id, fields)) = collect_range(s, id, id, false, 1).first() {
                        reply_entry(out, *id, fields);
                    }
                }
                out.array(deleted.len());
                for &id in &deleted {
                    reply_id(out, id);
                }
                !claimed.is_empty() || !deleted.is_empty()
            })
            .unwrap_or(false);
        ((), changed)
    });
    ctx.client.log_as = log;
}
