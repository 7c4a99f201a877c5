//! TAG.SET, TAG.ADD, TAG.REM, TAG.TAGS, TAG.COUNT, TAG.SCAN, TAG.INVALIDATE.
//!
//! A connection not bound to a tenant sees a tag across all tenants of its database.

use crate::cmd;
use crate::commands::args::is;
use crate::commands::flags::*;
use crate::commands::strings::{parse_set_options, set_with};
use crate::commands::table::key_access;
use crate::commands::{errors, CommandSpec, Ctx};
use bytes::Bytes;

/// Channel on which every invalidation is announced (payload: the tag).
pub const INVALIDATED_CHANNEL: &[u8] = b"__tags__:invalidated";

pub static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "tag.set",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "tags",
        "1.0.0",
        "Sets a string value and attaches exactly the given tags, atomically.",
        tag_set
    ),
    cmd!(
        "tag.add",
        -3,
        WRITE | DENYOOM | FAST,
        (1, 1, 1),
        "tags",
        "1.0.0",
        "Attaches tags to an existing key.",
        tag_add
    ),
    cmd!("tag.rem", -3, WRITE | FAST, (1, 1, 1), "tags", "1.0.0", "Detaches tags from a key.", tag_rem)
        .key_access(&[key_access::REMOVE]),
    cmd!("tag.tags", 2, READONLY | FAST, (1, 1, 1), "tags", "1.0.0", "Returns the tags of a key.", tag_tags),
    cmd!(
        "tag.count",
        2,
        READONLY,
        (0, 0, 0),
        "tags",
        "1.0.0",
        "Returns the number of live keys carrying a tag.",
        tag_count
    ),
    cmd!("tag.scan", -3, READONLY, (0, 0, 0), "tags", "1.0.0", "Iterates the keys carrying a tag.", tag_scan),
    cmd!(
        "tag.invalidate",
        -2,
        WRITE,
        (0, 0, 0),
        "tags",
        "1.0.0",
        "Deletes every key carrying any of the tags.",
        tag_invalidate
    ),
];

/// Checks tags against `tag-max-len` and `tag-max-per-key`; writes the error on failure.
fn check_tags(ctx: &mut Ctx, tags: &[Bytes]) -> bool {
    if tags.is_empty() {
        ctx.out.error("ERR TAGS needs at least one tag");
        return false;
    }
    let limits = ctx.ks.get().tag_limits;
    let (max_len, max_count) = (limits.max_len, limits.max_per_key);
    if let Some(t) = tags.iter().find(|t| t.is_empty() || t.len() > max_len) {
        let msg = if t.is_empty() {
            "ERR tags must not be empty".to_string()
        } else {
            format!("ERR tag is longer than tag-max-len ({max_len} bytes)")
        };
        ctx.out.error(&msg);
        return false;
    }
    if tags.len() > max_count {
        too_many_tags(ctx, max_count);
        return false;
    }
    true
}

fn too_many_tags(ctx: &mut Ctx, max: usize) {
    ctx.out.error(&format!("ERR too many tags for one key (tag-max-per-key is {max})"));
}

/// Distinct tags, in first-seen order.
fn distinct(tags: &[Bytes]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = Vec::with_capacity(tags.len());
    for t in tags {
        if !out.contains(&&t[..]) {
            out.push(t);
        }
    }
    out
}

fn tag_set(ctx: &mut Ctx, args: &[Bytes]) {
    let options = &args[3..];
    // Where TAGS starts among the options; everything after it is a tag.
    let mut tags_at: Option<usize> = None;
    let Some(opts) = parse_set_options(ctx, options, |rest| {
        if is(&rest[0], "TAGS") && tags_at.is_none() {
            tags_at = Some(options.len() - rest.len());
            Some(rest.len())
        } else {
            None
        }
    }) else {
        return;
    };
    let Some(at) = tags_at else {
        return ctx.out.error("ERR syntax error: TAG.SET needs TAGS tag [tag ...]");
    };
    let tags = &options[at + 1..];
    if !check_tags(ctx, tags) {
        return;
    }
    let key = &args[1];
    if set_with(ctx, key, &args[2], &opts) {
        let db = ctx.db();
        ctx.ks.get().add_tags(db, key, &distinct(tags));
    }
}

fn tag_add(ctx: &mut Ctx, args: &[Bytes]) {
    if !check_tags(ctx, &args[2..]) {
        return;
    }
    let max = ctx.ks.get().tag_limits.max_per_key;
    let db = ctx.db();
    let key = &args[1];
    let unique = distinct(&args[2..]);
    let ks = ctx.ks.get();
    let Some(entry) = ks.get(db, key) else {
        return ctx.out.int(0);
    };
    let have = entry.tags();
    let new = unique.iter().filter(|t| !have.iter().any(|h| &h[..] == **t)).count();
    if have.len() + new > max {
        return too_many_tags(ctx, max);
    }
    let n = ks.add_tags(db, key, &unique).unwrap_or(0);
    ctx.out.int(n as i64);
}

fn tag_rem(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let unique = distinct(&args[2..]);
    let n = ctx.ks.get().remove_tags(db, &args[1], &unique).unwrap_or(0);
    ctx.out.int(n as i64);
}

fn tag_tags(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let tags = ctx.ks.get().get(db, &args[1]).map_or(&[][..], |e| e.tags());
    ctx.out.set(tags.len());
    for t in tags {
        ctx.out.bulk(t);
    }
}

fn tag_count(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let n = ctx.ks.get().tag_count(db, &args[1]);
    ctx.out.int(n as i64);
}

fn tag_scan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(cursor) = crate::util::parse_u64(&args[2]) else {
        return ctx.out.error("ERR invalid cursor");
    };
    let mut count = 10;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "COUNT") && i + 1 < args.len() {
            match crate::util::parse_i64(&args[i + 1]) {
                Some(n) if n >= 1 => count = n as usize,
                Some(_) => return ctx.out.error(errors::SYNTAX),
                None => return ctx.out.error(errors::NOT_INTEGER),
            }
            i += 2;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let db = ctx.db();
    let (next, keys) = ctx.ks.get().tag_scan(db, &args[1], cursor, count);
    crate::commands::listing::reply_scan_head(ctx.out, next, keys.len());
    for k in keys {
        ctx.out.bulk(&k);
    }
}

fn tag_invalidate(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let mut deleted = 0;
    for tag in distinct(&args[1..]) {
        deleted += ctx.ks.get().invalidate_tag(db, tag);
        crate::pubsub::publish(ctx.shared, INVALIDATED_CHANNEL, tag, false, Some((&mut *ctx.client, &mut *ctx.out)));
    }
    ctx.out.int(deleted as i64);
}
