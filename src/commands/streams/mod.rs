//! Stream commands (Redis's `t_stream.c`): adding, reading, deleting and trimming entries,
//! XREAD with blocking, and what the log of writes keeps of them; consumer groups are in
//! [`groups`], XINFO in [`info`]. The values are the engine's [`StreamValue`].
//!
//! A blocking XREAD or XREADGROUP that finds nothing registers its client with the engine's
//! blocked-client registry, with its `$` ids resolved to the ids they stood for; every change
//! of a waited stream (and its deletion) makes the dispatcher call [`serve_blocked`] for the
//! waiting readers in their order, and those it can serve are answered as the command would
//! have answered them then.

mod groups;
mod info;

use super::args::is;
use super::blocking::{block, may_block};
use super::flags::*;
use super::table::{key_access, KeyRef};
use super::{errors, CommandSpec, Ctx};
use crate::protocol::ReplyBuf;
use crate::storage::stream::{AddError, Item, NewId, StreamId, StreamValue, Trim};
use crate::storage::value::Collection;
use crate::storage::{notify, Entry, KeyEvent, Keyspace, Kind, WrongType};
use crate::{cmd, container, subcmd};
use bytes::Bytes;

const W: u32 = WRITE | DENYOOM;

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("xadd", -5, W | FAST, (1, 1, 1), "stream", "5.0.0", "Appends a new message to a stream. Creates the key if it doesn't exist.", xadd),
    cmd!("xrange", -4, READONLY, (1, 1, 1), "stream", "5.0.0", "Returns the messages from a stream within a range of IDs.", xrange),
    cmd!("xrevrange", -4, READONLY, (1, 1, 1), "stream", "5.0.0", "Returns the messages from a stream within a range of IDs in reverse order.", xrevrange),
    cmd!("xlen", 2, READONLY | FAST, (1, 1, 1), "stream", "5.0.0", "Return the number of messages in a stream.", xlen),
    cmd!("xread", -4, READONLY | BLOCKING | MOVABLE_KEYS, (0, 0, 0), "stream", "5.0.0", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.", xread).keys_by(read_keys),
    cmd!("xreadgroup", -7, WRITE | BLOCKING | MOVABLE_KEYS, (0, 0, 0), "stream", "5.0.0", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.", xreadgroup).keys_by(readgroup_keys),
    cmd!("xdel", -3, WRITE | FAST, (1, 1, 1), "stream", "5.0.0", "Returns the number of messages after removing them from a stream.", xdel).key_access(&[key_access::REMOVE]),
    cmd!("xtrim", -4, WRITE, (1, 1, 1), "stream", "5.0.0", "Deletes messages from the beginning of a stream.", xtrim).key_access(&[key_access::REMOVE]),
    cmd!("xsetid", -3, W | FAST, (1, 1, 1), "stream", "5.0.0", "An internal command for replicating stream values.", xsetid),
    cmd!("xack", -4, WRITE | FAST, (1, 1, 1), "stream", "5.0.0", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.", groups::xack),
    cmd!("xpending", -3, READONLY, (1, 1, 1), "stream", "5.0.0", "Returns the information and entries from a stream consumer group's pending entries list.", groups::xpending),
    cmd!("xclaim", -6, WRITE | FAST, (1, 1, 1), "stream", "5.0.0", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.", groups::xclaim),
    cmd!("xautoclaim", -6, WRITE | FAST, (1, 1, 1), "stream", "6.2.0", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.", groups::xautoclaim),
    container!("xgroup", "stream", "5.0.0", "A container for consumer groups commands.", XGROUP),
    container!("xinfo", "stream", "5.0.0", "A container for stream introspection commands.", XINFO),
];

static XGROUP: &[CommandSpec] = &[
    subcmd!("xgroup", "create", -5, W, (2, 2, 1), "Creates a consumer group.", groups::xgroup_create),
    subcmd!(
        "xgroup",
        "setid",
        -5,
        WRITE,
        (2, 2, 1),
        "Sets the last-delivered ID of a consumer group.",
        groups::xgroup_setid
    ),
    subcmd!("xgroup", "destroy", 4, WRITE, (2, 2, 1), "Destroys a consumer group.", groups::xgroup_destroy),
    subcmd!(
        "xgroup",
        "createconsumer",
        5,
        W,
        (2, 2, 1),
        "Creates a consumer in a consumer group.",
        groups::xgroup_createconsumer
    ),
    subcmd!(
        "xgroup",
        "delconsumer",
        5,
        WRITE,
        (2, 2, 1),
        "Deletes a consumer from a consumer group.",
        groups::xgroup_delconsumer
    ),
    subcmd!(
        "xgroup",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        groups::xgroup_help
    ),
];

static XINFO: &[CommandSpec] = &[
    subcmd!(
        "xinfo",
        "consumers",
        4,
        READONLY,
        (2, 2, 1),
        "Returns a list of the consumers in a consumer group.",
        info::xinfo_consumers
    ),
    subcmd!(
        "xinfo",
        "groups",
        3,
        READONLY,
        (2, 2, 1),
        "Returns a list of the consumer groups of a stream.",
        info::xinfo_groups
    ),
    subcmd!("xinfo", "stream", -3, READONLY, (2, 2, 1), "Returns information about a stream.", info::xinfo_stream),
    subcmd!(
        "xinfo",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        info::xinfo_help
    ),
];

/// The keys of XREAD / XREADGROUP: the first half of what follows STREAMS (none when the
/// rest is odd), as Redis's `xreadGetKeys` finds them.
fn stream_keys(args: &[Bytes], flags: &'static [&'static str]) -> Vec<KeyRef> {
    let mut i = 1;
    while i < args.len() {
        let a = &args[i];
        if is(a, "block") || is(a, "count") {
            i += 2;
        } else if is(a, "group") {
            i += 3;
        } else if is(a, "noack") {
            i += 1;
        } else if is(a, "streams") {
            let rest = args.len() - i - 1;
            if rest == 0 || !rest.is_multiple_of(2) {
                return Vec::new();
            }
            return (i + 1..i + 1 + rest / 2).map(|pos| KeyRef { pos, flags }).collect();
        } else {
            break;
        }
    }
    Vec::new()
}

fn read_keys(args: &[Bytes]) -> Vec<KeyRef> {
    stream_keys(args, key_access::READ)
}

fn readgroup_keys(args: &[Bytes]) -> Vec<KeyRef> {
    stream_keys(args, key_access::UPDATE)
}

// ----- ids -----

pub(super) const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// An unsigned number as Redis's `string2ull` reads it (strtoull's leading spaces and `+`
/// included, no sign, no trailing bytes).
fn parse_u64(s: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(s).ok()?;
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// `ms-seq`, `ms` (the sequence then being `missing_seq`), and unless `strict` `-` and `+`.
fn parse_id_with(arg: &[u8], missing_seq: u64, strict: bool) -> Option<StreamId> {
    if arg.len() > 127 {
        return None;
    }
    match arg {
        b"-" if !strict => return Some(StreamId::MIN),
        b"+" if !strict => return Some(StreamId::MAX),
        b"-" | b"+" => return None,
        _ => {}
    }
    match arg.iter().position(|&b| b == b'-') {
        Some(dash) => Some(StreamId::new(parse_u64(&arg[..dash])?, parse_u64(&arg[dash + 1..])?)),
        None => Some(StreamId::new(parse_u64(arg)?, missing_seq)),
    }
}

/// An id ([`parse_id_with`]), or the error written.
fn id_or_error(ctx: &mut Ctx, arg: &[u8], missing_seq: u64, strict: bool) -> Option<StreamId> {
    let id = parse_id_with(arg, missing_seq, strict);
    if id.is_none() {
        ctx.out.error(INVALID_ID);
    }
    id
}

/// A strict id (no `-` or `+`), or the error written.
pub(super) fn strict_id(ctx: &mut Ctx, arg: &[u8], missing_seq: u64) -> Option<StreamId> {
    id_or_error(ctx, arg, missing_seq, true)
}

/// An id that may be `-` or `+`, or the error written.
pub(super) fn any_id(ctx: &mut Ctx, arg: &[u8], missing_seq: u64) -> Option<StreamId> {
    id_or_error(ctx, arg, missing_seq, false)
}

/// A range bound: `(` makes it exclusive (moved to the next id for a start, the previous for
/// an end); `Err` with the error written.
pub(super) fn interval_bound(ctx: &mut Ctx, arg: &[u8], start: bool) -> Option<StreamId> {
    let missing_seq = if start { 0 } else { u64::MAX };
    if arg.len() > 1 && arg[0] == b'(' {
        let id = strict_id(ctx, &arg[1..], missing_seq)?;
        let moved = if start { id.next() } else { id.prev() };
        if moved.is_none() {
            ctx.out.error(if start {
                "ERR invalid start ID for the interval"
            } else {
                "ERR invalid end ID for the interval"
            });
        }
        return moved;
    }
    any_id(ctx, arg, missing_seq)
}

// ----- replies -----

pub(super) fn reply_id(out: &mut ReplyBuf, id: StreamId) {
    out.bulk(id.to_string().as_bytes());
}

pub(super) fn reply_item(out: &mut ReplyBuf, item: &Item) {
    match item {
        Item::Str(s) => out.bulk(s),
        Item::Int(v) => out.bulk_int(*v),
    }
}

/// One entry: `[id, [field, value, ...]]`.
pub(super) fn reply_entry(out: &mut ReplyBuf, id: StreamId, fields: &[Item]) {
    out.array(2);
    reply_id(out, id);
    out.array(fields.len());
    for f in fields {
        reply_item(out, f);
    }
}

/// The entries in `start..=end` (reversed with `rev`), at most `count` (0: all).
pub(super) fn collect_range(
    s: &StreamValue,
    start: StreamId,
    end: StreamId,
    rev: bool,
    count: usize,
) -> Vec<(StreamId, Vec<Item<'_>>)> {
    let mut rows = Vec::new();
    s.range(start, end, rev, |id, fields| {
        rows.push((id, fields.to_vec()));
        count == 0 || rows.len() < count
    });
    rows
}

pub(super) fn reply_entries(out: &mut ReplyBuf, rows: &[(StreamId, Vec<Item>)]) {
    out.array(rows.len());
    for (id, fields) in rows {
        reply_entry(out, *id, fields);
    }
}

// ----- access to stream values -----

pub(super) fn event(name: &'static str) -> KeyEvent {
    KeyEvent::new(notify::STREAM, name)
}

#[allow(unreachable_patterns)] // the enum holds the other collection kinds too
pub(super) fn as_stream(e: &Entry) -> Result<&StreamValue, WrongType> {
    match e.collection() {
        Some(Collection::Stream(s)) => Ok(s),
        _ => Err(WrongType),
    }
}

/// A client's read of a stream: counts the hit or miss; `Err` for another kind.
pub(super) fn read_stream<'a>(
    ks: &'a mut Keyspace,
    db: usize,
    key: &[u8],
) -> Result<Option<&'a StreamValue>, WrongType> {
    ks.read(db, key).map(as_stream).transpose()
}

/// The stream at `key` for a write's checks (no statistics).
pub(super) fn peek_stream<'a>(
    ks: &'a mut Keyspace,
    db: usize,
    key: &[u8],
) -> Result<Option<&'a StreamValue>, WrongType> {
    ks.get(db, key).map(as_stream).transpose()
}

/// Changes the stream at `key`: `f` returns its result and whether it changed the stream,
/// recorded as `events`. With `create`, a missing key gets a new stream, stored only if `f`
/// changed it. `Ok(None)` for a missing key without `create`.
pub(super) fn with_stream<R>(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    create: bool,
    events: &[KeyEvent],
    f: impl FnOnce(&mut StreamValue) -> (R, bool),
) -> Result<Option<R>, WrongType> {
    let mut handle = ks.entry(db, key);
    match handle.get().map(|e| e.kind()) {
        Some(Kind::Stream) => Ok(handle.modify(events, |e| match e.collection_mut() {
            Some(Collection::Stream(s)) => f(s),
            _ => unreachable!("the kind was checked"),
        })),
        Some(_) => Err(WrongType),
        None if create => {
            let mut s = StreamValue::new();
            let (r, changed) = f(&mut s);
            if changed {
                handle.upsert(Entry::new_collection(key, Collection::Stream(Box::new(s)), 0), events);
            }
            Ok(Some(r))
        }
        None => Ok(None),
    }
}

// ----- XADD, XTRIM -----

/// What XADD's and XTRIM's options say.
struct AddTrim {
    /// XADD's id (`None`: `*`).
    new_id: Option<NewId>,
    /// Where XADD's id is.
    id_pos: usize,
    nomkstream: bool,
    trim: Option<Trim>,
    approx: bool,
    /// Entries a trim may remove at most (0: no limit).
    limit: u64,
    /// Where the trim's threshold is.
    trim_arg: usize,
}

/// Parses the options of XADD (`xadd`) or XTRIM as Redis's `streamParseAddOrTrimArgsOrReply`.
/// `obey` is for a log being replayed: the limit of approximate trims does not apply (the log
/// holds the exact trim).
fn parse_add_trim(args: &[Bytes], xadd: bool, node_max_entries: usize, obey: bool) -> Result<AddTrim, String> {
    let mut p = AddTrim {
        new_id: None,
        id_pos: args.len(),
        nomkstream: false,
        trim: None,
        approx: false,
        limit: 0,
        trim_arg: 0,
    };
    let mut limit_given = false;
    let mut i = 2;
    let syntax = || errors::SYNTAX.to_string();
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i];
        if xadd && &opt[..] == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && more > 0 {
            if p.trim.is_some() {
                return Err("ERR syntax error, MAXLEN and MINID options at the same time are not compatible".into());
            }
            p.approx = false;
            let next = &args[i + 1][..];
            if more >= 2 && next == b"~" {
                p.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = &args[i + 1];
            if is(opt, "maxlen") {
                let n = crate::util::parse_i64(value).ok_or_else(|| errors::NOT_INTEGER.to_string())?;
                if n < 0 {
                    return Err("ERR The MAXLEN argument must be >= 0.".into());
                }
                p.trim = Some(Trim::MaxLen(n as u64));
            } else {
                p.trim = Some(Trim::MinId(parse_id_with(value, 0, true).ok_or_else(|| INVALID_ID.to_string())?));
            }
            i += 1;
            p.trim_arg = i;
        } else if is(opt, "limit") && more > 0 {
            let n = crate::util::parse_i64(&args[i + 1]).ok_or_else(|| errors::NOT_INTEGER.to_string())?;
            if n < 0 {
                return Err("ERR The LIMIT argument must be >= 0.".into());
            }
            p.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            p.nomkstream = true;
        } else if xadd {
            let id = parse_new_id(opt).ok_or_else(|| INVALID_ID.to_string())?;
            p.new_id = Some(id);
            break;
        } else {
            return Err(syntax());
        }
        i += 1;
    }
    p.id_pos = i;
    if p.limit > 0 && p.trim.is_none() {
        return Err("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy".into());
    }
    if !xadd && p.trim.is_none() {
        return Err("ERR syntax error, XTRIM must be called with a trimming strategy".into());
    }
    if obey {
        p.limit = 0;
    } else if limit_given {
        if !p.approx {
            return Err("ERR syntax error, LIMIT cannot be used without the special ~ option".into());
        }
    } else if p.approx {
        // At most 100 nodes' worth of entries, so that one trim cannot take long.
        let limit = 100 * node_max_entries as u64;
        p.limit = if limit == 0 { 10_000 } else { limit.min(1_000_000) };
    } else {
        p.limit = 0;
    }
    Ok(p)
}

/// XADD's id argument: `ms-seq`, `ms` or `ms-*`.
fn parse_new_id(arg: &[u8]) -> Option<NewId> {
    if let Some(ms) = arg.strip_suffix(b"-*") {
        return Some(NewId::Ms(parse_u64(ms)?));
    }
    parse_id_with(arg, 0, true).map(NewId::Exact)
}

fn add_error(e: AddError) -> &'static str {
    match e {
        AddError::NotGreater => "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        AddError::TooLarge => "ERR Elements are too large to be stored",
    }
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value ...
fn xadd(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let limits = ks.encoding.stream_nodes;
    let p = match parse_add_trim(args, true, limits.max_entries, ks.is_loading()) {
        Ok(p) => p,
        Err(e) => return ctx.out.error(&e),
    };
    let field_pos = p.id_pos + 1;
    let n = args.len().saturating_sub(field_pos);
    if n < 2 || !n.is_multiple_of(2) {
        return ctx.out.error("ERR wrong number of arguments for 'xadd' command");
    }
    if p.new_id == Some(NewId::Exact(StreamId::MIN)) {
        return ctx.out.error("ERR The ID specified in XADD must be greater than 0-0");
    }
    let now = ks.now_ms;
    let pairs = &args[field_pos..];
    let how = p.new_id.unwrap_or(NewId::Auto);
    let added = with_stream(ks, db, &args[1], !p.nomkstream, &[event("xadd")], |s| {
        if s.last_id == StreamId::MAX {
            return (Err("ERR The stream has exhausted the last possible ID, unable to add more items"), false);
        }
        match s.new_id(how, now).and_then(|id| s.append(id, pairs, limits).map(|()| id)) {
            Ok(id) => (Ok(id), true),
            Err(e) => (Err(add_error(e)), false),
        }
    });
    let id = match added {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.null(),
        Ok(Some(Err(e))) => return ctx.out.error(e),
        Ok(Some(Ok(id))) => id,
    };
    reply_id(ctx.out, id);
    if let Some(how) = p.trim {
        let _ = with_stream(ks, db, &args[1], false, &[event("xtrim")], |s| {
            let n = s.trim(how, p.approx, p.limit);
            (n, n > 0)
        });
    }
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let p = match parse_add_trim(args, false, ks.encoding.stream_nodes.max_entries, ks.is_loading()) {
        Ok(p) => p,
        Err(e) => return ctx.out.error(&e),
    };
    let how = p.trim.expect("XTRIM has a strategy");
    match with_stream(ks, db, &args[1], false, &[event("xtrim")], |s| {
        let n = s.trim(how, p.approx, p.limit);
        (n, n > 0)
    }) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(n) => ctx.out.int(n.unwrap_or(0) as i64),
    }
}

/// XADD and XTRIM as the log keeps them: the id XADD generated in place of `*` (or `ms-*`),
/// and an approximate trim as the exact one it came to (`=` and the length or first id the
/// stream was left with), as Redis propagates them.
pub fn logged_add_or_trim(ks: &Keyspace, db: usize, args: &[Bytes], reply: &[u8]) -> Vec<Bytes> {
    let xadd = is(&args[0], "xadd");
    let mut out = args.to_vec();
    let Ok(p) = parse_add_trim(args, xadd, 0, true) else {
        return out;
    };
    if xadd && p.id_pos < args.len() {
        // The reply is the id: `$<len>\r\n<id>\r\n`.
        let id = reply.split(|&b| b == b'\n').nth(1).map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        if let Some(id) = id.filter(|_| reply.first() == Some(&b'$')) {
            out[p.id_pos] = Bytes::copy_from_slice(id);
        }
    }
    if let (Some(how), true) = (p.trim, p.approx) {
        if let Some(Ok(s)) = ks.peek(db, &args[1]).map(as_stream) {
            out[p.trim_arg - 1] = Bytes::from_static(b"=");
            out[p.trim_arg] = Bytes::from(match s.trimmed_to(how) {
                Trim::MaxLen(n) => n.to_string(),
                Trim::MinId(id) => id.to_string(),
            });
        }
    }
    out
}

// ----- reads -----

fn range(ctx: &mut Ctx, args: &[Bytes], rev: bool) {
    let (start_arg, end_arg) = if rev { (&args[3], &args[2]) } else { (&args[2], &args[3]) };
    let Some(start) = interval_bound(ctx, start_arg, true) else { return };
    let Some(end) = interval_bound(ctx, end_arg, false) else { return };
    let mut count: Option<usize> = None;
    let mut i = 4;
    while i < args.len() {
        if is(&args[i], "count") && i + 1 < args.len() {
            let Some(n) = super::args::int(ctx, &args[i + 1]) else { return };
            count = Some(n.max(0) as usize);
            i += 2;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let db = ctx.db();
    match read_stream(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.array(0),
        Ok(Some(_)) if count == Some(0) => ctx.out.null_array(),
        Ok(Some(s)) => reply_entries(ctx.out, &collect_range(s, start, end, rev, count.unwrap_or(0))),
    }
}

fn xrange(ctx: &mut Ctx, args: &[Bytes]) {
    range(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx, args: &[Bytes]) {
    range(ctx, args, true)
}

fn xlen(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_stream(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(s) => ctx.out.int(s.map_or(0, |s| s.len() as i64)),
    }
}

/// XDEL key id [id ...]
fn xdel(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match peek_stream(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(_)) => {}
    }
    let mut ids = Vec::with_capacity(args.len() - 2);
    for arg in &args[2..] {
        let Some(id) = strict_id(ctx, arg, 0) else { return };
        ids.push(id);
    }
    let deleted = with_stream(ctx.ks.get(), db, &args[1], false, &[event("xdel")], |s| {
        let n = ids.iter().filter(|&&id| s.delete(id)).count();
        (n, n > 0)
    });
    ctx.out.int(deleted.ok().flatten().unwrap_or(0) as i64);
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]
fn xsetid(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(id) = strict_id(ctx, &args[2], 0) else { return };
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = i + 1 < args.len();
        if is(&args[i], "entriesadded") && more {
            let Some(n) = super::args::int(ctx, &args[i + 1]) else { return };
            if n < 0 {
                return ctx.out.error("ERR entries_added must be positive");
            }
            entries_added = Some(n as u64);
        } else if is(&args[i], "maxdeletedid") && more {
            let Some(m) = strict_id(ctx, &args[i + 1], 0) else { return };
            if id < m {
                return ctx
                    .out
                    .error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
            }
            max_deleted = m;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 2;
    }
    let db = ctx.db();
    let done = with_stream(ctx.ks.get(), db, &args[1], false, &[event("xsetid")], |s| {
        if !s.is_empty() {
            if id < s.edge_id(true).unwrap_or_default() {
                return (Err("ERR The ID specified in XSETID is smaller than the target stream top item"), false);
            }
            if entries_added.is_some_and(|n| s.len() > n) {
                return (
                    Err("ERR The entries_added specified in XSETID is smaller than the target stream length"),
                    false,
                );
            }
        }
        s.last_id = id;
        if let Some(n) = entries_added {
            s.entries_added = n;
        }
        if !max_deleted.is_zero() {
            s.max_deleted_id = max_deleted;
        }
        (Ok(()), true)
    });
    match done {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.error(errors::NO_SUCH_KEY),
        Ok(Some(Err(e))) => ctx.out.error(e),
        Ok(Some(Ok(()))) => ctx.out.ok(),
    }
}

// ----- XREAD, XREADGROUP -----

/// Without COUNT, a blocked reader is served at most this many entries (so that an old id
/// does not make one wake-up send a whole stream).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// What XREAD's and XREADGROUP's arguments say.
pub(super) struct ReadArgs {
    /// Milliseconds; `None` without BLOCK, `Some(0)` forever.
    block: Option<u64>,
    count: usize,
    /// (group, consumer) of XREADGROUP.
    group: Option<(Bytes, Bytes)>,
    noack: bool,
    /// Where the keys start; the ids follow them.
    streams_at: usize,
    streams: usize,
}

fn parse_read(ctx: &mut Ctx, args: &[Bytes], group_form: bool) -> Option<ReadArgs> {
    let mut r = ReadArgs { block: None, count: 0, group: None, noack: false, streams_at: 0, streams: 0 };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let a = &args[i];
        if is(a, "block") && more > 0 {
            if ctx.in_script {
                let name = String::from_utf8_lossy(&args[0]).into_owned();
                ctx.out.error(&format!("ERR {name} command is not allowed with BLOCK option from scripts"));
                return None;
            }
            i += 1;
            let Some(ms) = crate::util::parse_i64(&args[i]) else {
                ctx.out.error("ERR timeout is not an integer or out of range");
                return None;
            };
            if ms < 0 {
                ctx.out.error("ERR timeout is negative");
                return None;
            }
            r.block = Some(ms as u64);
        } else if is(a, "count") && more > 0 {
            i += 1;
            let n = super::args::int(ctx, &args[i])?;
            r.count = n.max(0) as usize;
        } else if is(a, "streams") && more > 0 {
            r.streams_at = i + 1;
            let rest = args.len() - r.streams_at;
            if !rest.is_multiple_of(2) {
                ctx.out
                    .error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                return None;
            }
            r.streams = rest / 2;
            break;
        } else if is(a, "group") && more >= 2 {
            if !group_form {
                ctx.out.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            r.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 2;
        } else if is(a, "noack") {
            if !group_form {
                ctx.out.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            r.noack = true;
        } else {
            ctx.out.error(errors::SYNTAX);
            return None;
        }
        i += 1;
    }
    if r.streams_at == 0 {
        ctx.out.error(errors::SYNTAX);
        return None;
    }
    if group_form && r.group.is_none() {
        ctx.out.error("ERR Missing GROUP option for XREADGROUP");
        return None;
    }
    Some(r)
}

/// An XREAD id: `$` (the stream's last id), or a strict id; for XREADGROUP `>` (new
/// entries, as [`StreamId::MAX`]) or a strict id (the consumer's history after it).
enum ReadFrom {
    After(StreamId),
    New,
}

fn xread(ctx: &mut Ctx, args: &[Bytes]) {
    read_command(ctx, args, false)
}

fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) {
    read_command(ctx, args, true)
}

fn read_command(ctx: &mut Ctx, args: &[Bytes], group_form: bool) {
    let Some(r) = parse_read(ctx, args, group_form) else { return };
    let db = ctx.db();
    let keys = &args[r.streams_at..r.streams_at + r.streams];
    let mut from = Vec::with_capacity(r.streams);
    // The ids as they are blocked on: `$` resolved.
    let mut resolved: Option<Vec<Bytes>> = None;
    for (n, (key, arg)) in keys.iter().zip(&args[r.streams_at + r.streams..]).enumerate() {
        let found = match read_stream(ctx.ks.get(), db, key) {
            Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
            Ok(s) => s.map(|s| (s.last_id, r.group.as_ref().map(|(g, _)| s.groups.contains_key(&g[..])))),
        };
        if let Some((group, _)) = &r.group {
            if !matches!(found, Some((_, Some(true)))) {
                return ctx.out.error(&format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    String::from_utf8_lossy(key),
                    String::from_utf8_lossy(group)
                ));
            }
        }
        if &arg[..] == b"$" {
            if group_form {
                return ctx.out.error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
            }
            let last = found.map_or(StreamId::MIN, |(last, _)| last);
            resolved.get_or_insert_with(|| args.to_vec())[r.streams_at + r.streams + n] = Bytes::from(last.to_string());
            from.push(ReadFrom::After(last));
        } else if &arg[..] == b">" {
            if !group_form {
                return ctx.out.error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
            }
            from.push(ReadFrom::New);
        } else {
            let Some(id) = strict_id(ctx, arg, 0) else { return };
            from.push(ReadFrom::After(id));
        }
    }
    // Which streams have something for the caller now.
    let ks = ctx.ks.get();
    let mut ready = Vec::new();
    for (n, key) in keys.iter().enumerate() {
        let Some(Ok(s)) = ks.get(db, key).map(as_stream) else { continue };
        let serve = match (&from[n], &r.group) {
            (ReadFrom::After(_), Some(_)) => true,
            (ReadFrom::New, Some((g, _))) => {
                !s.is_empty()
                    && s.groups.get(&g[..]).is_some_and(|g| s.edge_id(true).is_some_and(|max| max > g.last_id))
            }
            (ReadFrom::After(after), None) => !s.is_empty() && s.edge_id(true).is_some_and(|max| max > *after),
            (ReadFrom::New, None) => false,
        };
        if serve {
            ready.push(n);
        }
    }
    if !ready.is_empty() {
        let mut log = (ctx.shared.aof.enabled() && r.group.is_some()).then(Vec::new);
        if ctx.out.resp3 {
            ctx.out.map(ready.len());
        } else {
            ctx.out.array(ready.len());
        }
        for n in ready {
            if !ctx.out.resp3 {
                ctx.out.array(2);
            }
            ctx.out.bulk(&keys[n]);
            let ks = ctx.ks.get();
            match (&from[n], &r.group) {
                (from, Some((group, consumer))) => {
                    let history = match from {
                        ReadFrom::After(id) => Some(*id),
                        ReadFrom::New => None,
                    };
                    let read = groups::GroupRead { group, consumer, count: r.count, noack: r.noack, history };
                    groups::read_group(ks, db, &keys[n], &read, ctx.out, log.as_mut());
                }
                (ReadFrom::After(after), None) => {
                    let s = ks.get(db, &keys[n]).map(as_stream).and_then(Result::ok).expect("checked above");
                    let start = after.next().unwrap_or(StreamId::MAX);
                    reply_entries(ctx.out, &collect_range(s, start, StreamId::MAX, false, r.count));
                }
                (ReadFrom::New, None) => unreachable!("XREAD has no >"),
            }
        }
        ctx.client.log_as = log;
        return;
    }
    match r.block {
        Some(ms) if may_block(ctx) => {
            let args = resolved.unwrap_or_else(|| args.to_vec());
            let timeout = (ms > 0).then(|| std::time::Duration::from_millis(ms));
            block(ctx, &args, keys, Kind::Stream, timeout);
        }
        _ => ctx.out.null_array(),
    }
}

/// Serves a reader blocked on `key` if it can be served now: a stream reader once the
/// stream's last id is past the one it waits after; a group reader once the stream has
/// entries past its group's last delivered id, or with an error once its group or the stream
/// is gone. Returns whether the reply was written (and the reader is done). `log` collects
/// what a group read is logged as.
pub fn serve_blocked(
    ks: &mut Keyspace,
    db: usize,
    args: &[Bytes],
    key: &[u8],
    out: &mut ReplyBuf,
    log: Option<&mut Vec<Vec<Bytes>>>,
) -> bool {
    // The arguments were checked when the command first ran.
    let group_form = is(&args[0], "xreadgroup");
    let mut count = 0;
    let mut group = None;
    let mut noack = false;
    let mut i = 1;
    let mut streams_at = args.len();
    while i < args.len() {
        let a = &args[i];
        if is(a, "block") {
            i += 1;
        } else if is(a, "count") {
            count = args.get(i + 1).and_then(|c| crate::util::parse_i64(c)).unwrap_or(0).max(0) as usize;
            i += 1;
        } else if is(a, "group") {
            group = Some((&args[i + 1], &args[i + 2]));
            i += 2;
        } else if is(a, "noack") {
            noack = true;
        } else if is(a, "streams") {
            streams_at = i + 1;
            break;
        }
        i += 1;
    }
    let streams = (args.len() - streams_at) / 2;
    let Some(n) = args[streams_at..streams_at + streams].iter().position(|k| k[..] == *key) else {
        return false;
    };
    let count = if count == 0 { BLOCKED_DEFAULT_COUNT } else { count };
    let stream = ks.get(db, key).map(as_stream);
    let Some(Ok(s)) = stream else {
        if group_form {
            out.error("UNBLOCKED the stream key no longer exists");
            return true;
        }
        return false;
    };
    let after = match group {
        Some((g, _)) => match s.groups.get(&g[..]) {
            Some(g) => g.last_id,
            None => {
                out.error("NOGROUP the consumer group this client was blocked on no longer exists");
                return true;
            }
        },
        None => parse_id_with(&args[streams_at + streams + n], 0, true).unwrap_or(StreamId::MAX),
    };
    if s.last_id <= after {
        return false;
    }
    if out.resp3 {
        out.map(1);
    } else {
        out.array(1);
        out.array(2);
    }
    out.bulk(key);
    match group {
        Some((g, c)) => {
            let read = groups::GroupRead { group: g, consumer: c, count, noack, history: None };
            groups::read_group(ks, db, key, &read, out, log);
        }
        None => {
            let start = after.next().unwrap_or(StreamId::MAX);
            reply_entries(out, &collect_range(s, start, StreamId::MAX, false, count));
        }
    }
    let _ = group_form;
    true
}
