//! XINFO: a stream's counters and edge entries (or, with FULL, its entries and groups in
//! detail), its groups with their lag, a group's consumers; in Redis 7.0's layout, XINFO
//! CONSUMERS with Redis 7.2's `inactive` too.

use super::super::args::is;
use super::super::{errors, Ctx};
use super::{collect_range, read_stream, reply_entries, reply_entry, reply_id};
use crate::protocol::ReplyBuf;
use crate::storage::stream::{ConsumerGroup, StreamId, StreamValue};
use crate::storage::WrongType;
use bytes::Bytes;

/// The stream XINFO asks about, or the error written (no key: Redis's "no such key").
fn target<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<(&'a StreamValue, &'a mut ReplyBuf, u64)> {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let now = ks.now_ms;
    match read_stream(ks, db, key) {
        Err(WrongType) => {
            ctx.out.error(errors::WRONGTYPE);
            None
        }
        Ok(None) => {
            ctx.out.error(errors::NO_SUCH_KEY);
            None
        }
        Ok(Some(s)) => Some((s, &mut *ctx.out, now)),
    }
}

fn subcommand_syntax(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
        String::from_utf8_lossy(&args[1])
    ));
}

/// A group's entries-read (null when not known) and lag (null when it cannot be known).
fn read_and_lag(out: &mut ReplyBuf, s: &StreamValue, g: &ConsumerGroup) {
    out.bulk(b"entries-read");
    match g.entries_read {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
    out.bulk(b"lag");
    match s.lag(g) {
        Some(n) => out.int(n),
        None => out.null(),
    }
}

/// XINFO STREAM key [FULL [COUNT n]]
pub(super) fn xinfo_stream(ctx: &mut Ctx, args: &[Bytes]) {
    let options = &args[3..];
    let full = !options.is_empty();
    let mut count = 10usize;
    if full {
        if (options.len() != 1 && options.len() != 3) || !is(&options[0], "full") {
            return subcommand_syntax(ctx, args);
        }
        if options.len() == 3 {
            if !is(&options[1], "count") {
                return subcommand_syntax(ctx, args);
            }
            let Some(n) = super::super::args::int(ctx, &options[2]) else { return };
            count = if n < 0 { 10 } else { n as usize };
        }
    }
    let Some((s, out, _)) = target(ctx, &args[2]) else { return };
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    // A radix tree over 16-byte keys has a node per key and at least its root.
    out.int(s.node_count() as i64 + 1);
    out.bulk(b"last-generated-id");
    reply_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, s.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, s.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        for (name, rev) in [(&b"first-entry"[..], false), (b"last-entry", true)] {
            out.bulk(name);
            match collect_range(s, StreamId::MIN, StreamId::MAX, rev, 1).first() {
                Some((id, fields)) => reply_entry(out, *id, fields),
                None => out.null(),
            }
        }
        return;
    }
    out.bulk(b"entries");
    reply_entries(out, &collect_range(s, StreamId::MIN, StreamId::MAX, false, count));
    out.bulk(b"groups");
    out.array(s.groups.len());
    let limit = |n: usize| if count == 0 { n } else { n.min(count) };
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        read_and_lag(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pending.len() as i64);
        out.bulk(b"pending");
        out.array(limit(g.pending.len()));
        for (id, p) in g.pending.iter().take(limit(g.pending.len())) {
            out.array(4);
            reply_id(out, *id);
            out.bulk(&p.consumer);
            out.int(p.delivery_time as i64);
            out.int(p.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time as i64);
            out.bulk(b"pel-count");
            out.int(c.pending.len() as i64);
            out.bulk(b"pending");
            out.array(limit(c.pending.len()));
            for id in c.pending.iter().take(limit(c.pending.len())) {
                let p = &g.pending[id];
                out.array(3);
                reply_id(out, *id);
                out.int(p.delivery_time as i64);
                out.int(p.delivery_count as i64);
            }
        }
    }
}

/// XINFO GROUPS key
pub(super) fn xinfo_groups(ctx: &mut Ctx, args: &[Bytes]) {
    let Some((s, out, _)) = target(ctx, &args[2]) else { return };
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(g.pending.len() as i64);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        read_and_lag(out, s, g);
    }
}

/// XINFO CONSUMERS key group
pub(super) fn xinfo_consumers(ctx: &mut Ctx, args: &[Bytes]) {
    let Some((s, out, now)) = target(ctx, &args[2]) else { return };
    let Some(g) = s.groups.get(&args[3][..]) else {
        return out.error(&format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            String::from_utf8_lossy(&args[3]),
            String::from_utf8_lossy(&args[2])
        ));
    };
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(4);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(c.pending.len() as i64);
        out.bulk(b"idle");
        out.int((now as i64 - c.seen_time as i64).max(0));
        // Redis 7.2's: since the last successful interaction, -1 when there was none.
        out.bulk(b"inactive");
        out.int(c.active_time.map_or(-1, |t| (now as i64 - t as i64).max(0)));
    }
}

pub(super) fn xinfo_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::super::introspection::help_reply(
        ctx,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
}
