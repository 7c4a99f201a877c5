//! Sorted set commands (Redis's `t_zset.c`).
//!
//! Reads look the key up once with `Keyspace::read` and reply from the borrowed value; writes
//! go through `Keyspace::with_collection`, which deletes a set its change left empty (the
//! handler then raises the `del` event, as Redis does). Scores print with Redis's `%.17g`
//! through `ReplyBuf::double`, so RESP3 clients get doubles and RESP2 clients bulk strings.

use super::args::{self, is};
use super::blocking;
use super::flags::*;
use super::table::{finders, key_access};
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use crate::glob::glob_match;
use crate::protocol::ReplyBuf;
use crate::storage::set::SetValue;
use crate::storage::value::Collection;
use crate::storage::zset::{Item, LexBound, LexRange, Member, ScoreRange, ZSetValue};
use crate::storage::{notify, Entry, KeyEvent, Keyspace, Kind, WrongType};
use crate::util::parse_i64;
use bytes::Bytes;
use std::collections::HashMap;

// One line per command keeps the table readable as a table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", zadd),
    cmd!("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Increments the score of a member in a sorted set.", zincrby),
    cmd!("zrem", -3, WRITE | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", zrem).key_access(&[key_access::REMOVE]),
    cmd!("zscore", 3, READONLY | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Returns the score of a member in a sorted set.", zscore),
    cmd!("zmscore", -3, READONLY | FAST, (1, 1, 1), "sorted-set", "6.2.0", "Returns the score of one or more members in a sorted set.", zmscore),
    cmd!("zcard", 2, READONLY | FAST, (1, 1, 1), "sorted-set", "1.2.0", "Returns the number of members in a sorted set.", zcard),
    cmd!("zcount", 4, READONLY | FAST, (1, 1, 1), "sorted-set", "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", zcount),
    cmd!("zlexcount", 4, READONLY | FAST, (1, 1, 1), "sorted-set", "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", zlexcount),
    cmd!("zrange", -4, READONLY, (1, 1, 1), "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes.", zrange),
    cmd!("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), "sorted-set", "6.2.0", "Stores a range of members from sorted set in a key.", zrangestore),
    cmd!("zrangebyscore", -4, READONLY, (1, 1, 1), "sorted-set", "1.0.5", "Returns members in a sorted set within a range of scores.", zrangebyscore),
    cmd!("zrevrangebyscore", -4, READONLY, (1, 1, 1), "sorted-set", "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", zrevrangebyscore),
    cmd!("zrangebylex", -4, READONLY, (1, 1, 1), "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range.", zrangebylex),
    cmd!("zrevrangebylex", -4, READONLY, (1, 1, 1), "sorted-set", "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", zrevrangebylex),
    cmd!("zrevrange", -4, READONLY, (1, 1, 1), "sorted-set", "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", zrevrange),
    cmd!("zrank", -3, READONLY | FAST, (1, 1, 1), "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", zrank),
    cmd!("zrevrank", -3, READONLY | FAST, (1, 1, 1), "sorted-set", "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", zrevrank),
    cmd!("zremrangebyscore", 4, WRITE, (1, 1, 1), "sorted-set", "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", zremrangebyscore).key_access(&[key_access::REMOVE]),
    cmd!("zremrangebyrank", 4, WRITE, (1, 1, 1), "sorted-set", "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", zremrangebyrank).key_access(&[key_access::REMOVE]),
    cmd!("zremrangebylex", 4, WRITE, (1, 1, 1), "sorted-set", "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", zremrangebylex).key_access(&[key_access::REMOVE]),
    cmd!("zpopmin", -2, WRITE | FAST, (1, 1, 1), "sorted-set", "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmin).key_access(&[key_access::POP]),
    cmd!("zpopmax", -2, WRITE | FAST, (1, 1, 1), "sorted-set", "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", zpopmax).key_access(&[key_access::POP]),
    cmd!("zmpop", -4, WRITE | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", zmpop).keys_by(finders::pops_counted_at_1),
    cmd!("bzpopmin", -3, WRITE | FAST | BLOCKING, (1, -2, 1), "sorted-set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzpopmin).key_access(&[key_access::POP]),
    cmd!("bzpopmax", -3, WRITE | FAST | BLOCKING, (1, -2, 1), "sorted-set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", bzpopmax).key_access(&[key_access::POP]),
    cmd!("bzmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzmpop).keys_by(finders::pops_counted_at_2),
    cmd!("zrandmember", -2, READONLY, (1, 1, 1), "sorted-set", "6.2.0", "Returns one or more random members from a sorted set.", zrandmember),
    cmd!("zunion", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "6.2.0", "Returns the union of multiple sorted sets.", zunion).keys_by(finders::reads_counted_at_1),
    cmd!("zinter", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "6.2.0", "Returns the intersect of multiple sorted sets.", zinter).keys_by(finders::reads_counted_at_1),
    cmd!("zdiff", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "6.2.0", "Returns the difference between multiple sorted sets.", zdiff).keys_by(finders::reads_counted_at_1),
    cmd!("zunionstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "sorted-set", "2.0.0", "Stores the union of multiple sorted sets in a key.", zunionstore).keys_by(finders::store_and_reads_counted_at_2),
    cmd!("zinterstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "sorted-set", "2.0.0", "Stores the intersect of multiple sorted sets in a key.", zinterstore).keys_by(finders::store_and_reads_counted_at_2),
    cmd!("zdiffstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "sorted-set", "6.2.0", "Stores the difference of multiple sorted sets in a key.", zdiffstore).keys_by(finders::store_and_reads_counted_at_2),
    cmd!("zintercard", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "sorted-set", "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", zintercard).keys_by(finders::reads_counted_at_1),
    cmd!("zscan", -3, READONLY, (1, 1, 1), "sorted-set", "2.8.0", "Iterates over members and scores of a sorted set.", zscan),
];

const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_LEX_RANGE: &str = "ERR min or max not valid string range item";
const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";

// ----- lookups -----

fn as_zset(c: &Collection) -> Option<&ZSetValue> {
    match c {
        Collection::ZSet(z) => Some(z.as_ref()),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn as_zset_mut(c: &mut Collection) -> &mut ZSetValue {
    match c {
        Collection::ZSet(z) => z,
        #[allow(unreachable_patterns)]
        _ => unreachable!("with_collection checked the kind"),
    }
}

fn new_zset() -> Collection {
    Collection::ZSet(Box::new(ZSetValue::new()))
}

/// The sorted set in an entry, or `WrongType`.
fn zset_in(entry: &Entry) -> Result<&ZSetValue, WrongType> {
    entry.collection().and_then(as_zset).ok_or(WrongType)
}

/// A client's read of `key`: `Ok(None)` if missing, `Err` (WRONGTYPE written) for another kind.
pub(super) fn read<'k>(
    ks: &'k mut Keyspace,
    out: &mut ReplyBuf,
    db: usize,
    key: &[u8],
) -> Result<Option<&'k ZSetValue>, ()> {
    match ks.read(db, key).map(zset_in) {
        None => Ok(None),
        Some(Ok(z)) => Ok(Some(z)),
        Some(Err(WrongType)) => {
            out.error(errors::WRONGTYPE);
            Err(())
        }
    }
}

/// Runs `f` on the sorted set at `key` (created if missing and `create`), recorded as the
/// `ZSET`-class event `event` when `f` reports a change. `Ok(None)` if there is no such key.
/// A set left empty is deleted by the keyspace (a `del` after `event`).
fn change<R>(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    create: bool,
    event: &'static str,
    f: impl FnOnce(&mut ZSetValue) -> (R, bool),
) -> Result<Option<R>, WrongType> {
    let make = if create { Some(new_zset as fn() -> Collection) } else { None };
    ks.with_collection(db, key, Kind::ZSet, make, &[KeyEvent::new(notify::ZSET, event)], |c| f(as_zset_mut(c)))
}

/// Stores `items` at `dst` (replacing any value), or deletes `dst` when there are none, as
/// the STORE variants do; replies with the stored count.
pub(super) fn store(ctx: &mut Ctx, dst: &[u8], items: Vec<Item>, event: &'static str) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let n = items.len();
    let result = (n > 0).then(|| Collection::ZSet(Box::new(ZSetValue::from_items(items, &ks.encoding))));
    ks.store_result(db, dst, result, KeyEvent::new(notify::ZSET, event));
    ctx.out.int(n as i64);
}

// ----- parsing -----

/// A score as Redis's `strtod`-based parser reads it: `inf`/`-inf` are fine, NaN and
/// overflowing exponents are not.
pub(super) fn parse_score(arg: &[u8]) -> Option<f64> {
    let v = crate::util::parse_f64(arg)?;
    if v.is_infinite() && !arg.to_ascii_lowercase().windows(3).any(|w| w == b"inf") {
        return None;
    }
    Some(v)
}

fn score_arg(ctx: &mut Ctx, arg: &[u8]) -> Option<f64> {
    let v = parse_score(arg);
    if v.is_none() {
        ctx.out.error(errors::NOT_FLOAT);
    }
    v
}

/// One end of a score range: `1.5`, `(1.5` (exclusive), `-inf`, `+inf`.
fn score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    match arg.strip_prefix(b"(") {
        Some(rest) => Some((parse_score(rest)?, true)),
        None => Some((parse_score(arg)?, false)),
    }
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let (min, min_exclusive) = score_bound(min)?;
    let (max, max_exclusive) = score_bound(max)?;
    Some(ScoreRange { min, max, min_exclusive, max_exclusive })
}

fn lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg.first()? {
        b'+' if arg.len() == 1 => Some(LexBound::PosInf),
        b'-' if arg.len() == 1 => Some(LexBound::NegInf),
        b'[' => Some(LexBound::Inclusive(arg[1..].to_vec())),
        b'(' => Some(LexBound::Exclusive(arg[1..].to_vec())),
        _ => None,
    }
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Option<LexRange> {
    Some(LexRange { min: lex_bound(min)?, max: lex_bound(max)? })
}

/// Converts Redis's inclusive `start`/`stop` indexes (negative from the end) into ranks
/// `lo..hi` of a set of `len` members; empty when they select nothing.
fn rank_span(start: i64, stop: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop.min(len - 1) };
    if start > stop || start >= len {
        (0, 0)
    } else {
        (start as usize, stop as usize + 1)
    }
}

// ----- replies -----

/// Writes members, with their scores if asked: flat pairs in RESP2, `[member, score]`
/// arrays in RESP3.
fn reply_items<'a>(out: &mut ReplyBuf, items: impl ExactSizeIterator<Item = &'a Item>, with_scores: bool) {
    let n = items.len();
    if !with_scores {
        out.array(n);
        for it in items {
            if out.exhausted() {
                break; // the client is closed without this reply
            }
            out.bulk(&it.member);
        }
        return;
    }
    let nested = out.resp3;
    out.array(if nested { n } else { 2 * n });
    for it in items {
        if out.exhausted() {
            break;
        }
        if nested {
            out.array(2);
        }
        out.bulk(&it.member);
        out.double(it.score);
    }
}

// ----- ZADD / ZINCRBY -----

#[derive(Default, Clone, Copy)]
pub(super) struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    pub incr: bool,
}

/// What one ZADD did.
#[derive(Default)]
struct AddOutcome {
    added: i64,
    updated: i64,
    /// Elements not skipped by NX/XX/GT/LT.
    processed: i64,
    /// The member's score after the last element (INCR's reply).
    score: f64,
    nan: bool,
}

fn zadd(ctx: &mut Ctx, args: &[Bytes]) {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        match () {
            _ if is(a, "nx") => f.nx = true,
            _ if is(a, "xx") => f.xx = true,
            _ if is(a, "gt") => f.gt = true,
            _ if is(a, "lt") => f.lt = true,
            _ if is(a, "ch") => f.ch = true,
            _ if is(a, "incr") => f.incr = true,
            _ => break,
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return ctx.out.error(errors::SYNTAX);
    }
    if f.nx && f.xx {
        return ctx.out.error("ERR XX and NX options at the same time are not compatible");
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return ctx.out.error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    if f.incr && pairs.len() > 2 {
        return ctx.out.error("ERR INCR option supports a single increment-element pair");
    }
    let mut elements = Vec::with_capacity(pairs.len() / 2);
    for pair in pairs.chunks(2) {
        let Some(score) = score_arg(ctx, &pair[0]) else {
            return;
        };
        elements.push((score, &pair[1][..]));
    }
    add_generic(ctx, &args[1], f, &elements);
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(by) = score_arg(ctx, &args[2]) else {
        return;
    };
    let f = AddFlags { incr: true, ..AddFlags::default() };
    add_generic(ctx, &args[1], f, &[(by, &args[3][..])]);
}

/// Redis's `zaddGenericCommand` once the arguments are parsed; GEOADD adds through it too.
pub(super) fn add_generic(ctx: &mut Ctx, key: &[u8], f: AddFlags, elements: &[(f64, &[u8])]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let limits = ks.encoding;
    // XX never creates the key.
    let result = change(ks, db, key, !f.xx, if f.incr { "zincr" } else { "zadd" }, |z| {
        let mut o = AddOutcome::default();
        for &(score, member) in elements {
            let mut score = score;
            match z.score(member) {
                Some(current) => {
                    if f.nx {
                        continue;
                    }
                    if f.incr {
                        score += current;
                        if score.is_nan() {
                            o.nan = true;
                            return (o, false);
                        }
                    }
                    if (f.lt && score >= current) || (f.gt && score <= current) {
                        continue;
                    }
                    if score != current {
                        z.set(member, score, &limits);
                        o.updated += 1;
                    }
                }
                None => {
                    if f.xx {
                        continue;
                    }
                    z.set(member, score, &limits);
                    o.added += 1;
                }
            }
            o.processed += 1;
            o.score = score;
        }
        let changed = o.added + o.updated > 0;
        (o, changed)
    });
    let outcome = match result {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => AddOutcome::default(),
        Ok(Some(o)) => o,
    };
    if outcome.nan {
        return ctx.out.error(NAN_SCORE);
    }
    if f.incr {
        // Null when NX/XX/GT/LT skipped the element.
        if outcome.processed > 0 {
            ctx.out.double(outcome.score);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(outcome.added + if f.ch { outcome.updated } else { 0 });
    }
}

// ----- ZREM, ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT -----

fn zrem(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let result = change(ks, db, &args[1], false, "zrem", |z| {
        let removed = args[2..].iter().filter(|m| z.remove(m).is_some()).count();
        (removed, removed > 0)
    });
    match result {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(removed) => ctx.out.int(removed.unwrap_or(0) as i64),
    }
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let Ok(z) = read(ctx.ks.get(), ctx.out, db, &args[1]) else {
        return;
    };
    match z.and_then(|z| z.score(&args[2])) {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let Ok(z) = read(ctx.ks.get(), ctx.out, db, &args[1]) else {
        return;
    };
    ctx.out.array(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    if let Ok(z) = read(ctx.ks.get(), ctx.out, db, &args[1]) {
        ctx.out.int(z.map_or(0, |z| z.len()) as i64);
    }
}

fn zcount(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(range) = parse_score_range(&args[2], &args[3]) else {
        return ctx.out.error(NOT_FLOAT_RANGE);
    };
    let db = ctx.db();
    if let Ok(z) = read(ctx.ks.get(), ctx.out, db, &args[1]) {
        let (lo, hi) = z.map_or((0, 0), |z| z.score_span(&range));
        ctx.out.int((hi - lo) as i64);
    }
}

fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(range) = parse_lex_range(&args[2], &args[3]) else {
        return ctx.out.error(NOT_LEX_RANGE);
    };
    let db = ctx.db();
    if let Ok(z) = read(ctx.ks.get(), ctx.out, db, &args[1]) {
        let (lo, hi) = z.map_or((0, 0), |z| z.lex_span(&range));
        ctx.out.int((hi - lo) as i64);
    }
}

// ----- the ZRANGE family -----

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeBy {
    /// Not fixed by the command name; ZRANGE's BYSCORE/BYLEX may still choose.
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// Where a range goes: back to the client, or into a key (ZRANGESTORE).
enum RangeTarget<'a> {
    Client,
    Store(&'a [u8]),
}

fn zrange(ctx: &mut Ctx, args: &[Bytes]) {
    range_generic(ctx, args, 1, RangeTarget::Client, RangeBy::Auto, Direction::Auto);
}

fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) {
    range_generic(ctx, args, 2, RangeTarget::Store(&args[1]), RangeBy::Auto, Direction::Auto);
}

fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) {
    range_generic(ctx, args, 1, RangeTarget::Client, RangeBy::Rank, Direction::Reverse);
}

fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) {
    range_generic(ctx, args, 1, RangeTarget::Client, RangeBy::Score, Direction::Forward);
}

fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) {
    range_generic(ctx, args, 1, RangeTarget::Client, RangeBy::Score, Direction::Reverse);
}

fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) {
    range_generic(ctx, args, 1, RangeTarget::Client, RangeBy::Lex, Direction::Forward);
}

fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) {
    range_generic(ctx, args, 1, RangeTarget::Client, RangeBy::Lex, Direction::Reverse);
}

/// The parsed range of a ZRANGE-family command.
enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// Redis's `zrangeGenericCommand`: `key` is at `src`, the range follows, then options.
fn range_generic(ctx: &mut Ctx, args: &[Bytes], src: usize, target: RangeTarget, by: RangeBy, dir: Direction) {
    let (mut by, mut dir) = (by, dir);
    let storing = matches!(target, RangeTarget::Store(_));
    let mut with_scores = false;
    let mut limit: Option<(i64, i64)> = None;
    let mut j = src + 3;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if !storing && is(a, "withscores") {
            with_scores = true;
        } else if is(a, "limit") && left >= 2 {
            let Some(offset) = args::int(ctx, &args[j + 1]) else {
                return;
            };
            let Some(count) = args::int(ctx, &args[j + 2]) else {
                return;
            };
            limit = Some((offset, count));
            j += 2;
        } else if dir == Direction::Auto && is(a, "rev") {
            dir = Direction::Reverse;
        } else if by == RangeBy::Auto && is(a, "bylex") {
            by = RangeBy::Lex;
        } else if by == RangeBy::Auto && is(a, "byscore") {
            by = RangeBy::Score;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        j += 1;
    }
    let reverse = dir == Direction::Reverse;
    if by == RangeBy::Auto {
        by = RangeBy::Rank;
    }
    if limit.is_some() && by == RangeBy::Rank {
        return ctx.out.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    }
    if with_scores && by == RangeBy::Lex {
        return ctx.out.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
    }
    // Reversed score and lex ranges are given as max, min.
    let (min, max) = if reverse && by != RangeBy::Rank {
        (&args[src + 2], &args[src + 1])
    } else {
        (&args[src + 1], &args[src + 2])
    };
    let spec = match by {
        RangeBy::Score => match parse_score_range(min, max) {
            Some(r) => RangeSpec::Score(r),
            None => return ctx.out.error(NOT_FLOAT_RANGE),
        },
        RangeBy::Lex => match parse_lex_range(min, max) {
            Some(r) => RangeSpec::Lex(r),
            None => return ctx.out.error(NOT_LEX_RANGE),
        },
        _ => {
            let Some(start) = args::int(ctx, min) else {
                return;
            };
            let Some(stop) = args::int(ctx, max) else {
                return;
            };
            RangeSpec::Rank(start, stop)
        }
    };
    let db = ctx.db();
    let Ok(z) = read(ctx.ks.get(), ctx.out, db, &args[src]) else {
        return;
    };
    let (lo, hi) = match (z, &spec) {
        (None, _) => (0, 0),
        (Some(z), RangeSpec::Rank(start, stop)) => {
            let (lo, hi) = rank_span(*start, *stop, z.len());
            if reverse {
                // Indexes count from the highest score.
                (z.len() - hi.max(lo), z.len() - lo)
            } else {
                (lo, hi)
            }
        }
        (Some(z), RangeSpec::Score(r)) => limited(z.score_span(r), limit, reverse),
        (Some(z), RangeSpec::Lex(r)) => limited(z.lex_span(r), limit, reverse),
    };
    let items: Vec<&Item> = match z {
        Some(z) if reverse => z.range(lo, hi).rev().collect(),
        Some(z) => z.range(lo, hi).collect(),
        None => Vec::new(),
    };
    match target {
        RangeTarget::Client => reply_items(ctx.out, items.into_iter(), with_scores),
        RangeTarget::Store(dst) => {
            let owned = items.into_iter().cloned().collect();
            store(ctx, dst, owned, "zrangestore");
        }
    }
}

/// Applies LIMIT offset count to the ranks `lo..hi` of a score or lex range; in reverse
/// the offset counts from the top.
fn limited((lo, hi): (usize, usize), limit: Option<(i64, i64)>, reverse: bool) -> (usize, usize) {
    let Some((offset, count)) = limit else {
        return (lo, hi);
    };
    // A negative offset selects nothing, a negative count means "all the rest".
    if offset < 0 {
        return (lo, lo);
    }
    let matched = hi - lo;
    let skip = (offset as usize).min(matched);
    let take = if count < 0 { matched - skip } else { (count as usize).min(matched - skip) };
    if reverse {
        (hi - skip - take, hi - skip)
    } else {
        (lo + skip, lo + skip + take)
    }
}

// ----- ZRANK / ZREVRANK -----

fn zrank(ctx: &mut Ctx, args: &[Bytes]) {
    rank_generic(ctx, args, false);
}

fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) {
    rank_generic(ctx, args, true);
}

fn rank_generic(ctx: &mut Ctx, args: &[Bytes], reverse: bool) {
    let with_score = match args.len() {
        3 => false,
        4 if is(&args[3], "withscore") => true,
        _ => return ctx.out.error(errors::SYNTAX),
    };
    let db = ctx.db();
    let Ok(z) = read(ctx.ks.get(), ctx.out, db, &args[1]) else {
        return;
    };
    let found = z.and_then(|z| z.rank(&args[2]).map(|(r, s)| (if reverse { z.len() - 1 - r } else { r }, s)));
    match (found, with_score) {
        (None, false) => ctx.out.null(),
        (None, true) => ctx.out.null_array(),
        (Some((rank, _)), false) => ctx.out.int(rank as i64),
        (Some((rank, score)), true) => {
            ctx.out.array(2);
            ctx.out.int(rank as i64);
            ctx.out.double(score);
        }
    }
}

// ----- ZREMRANGEBY* -----

fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(range) = parse_score_range(&args[2], &args[3]) else {
        return ctx.out.error(NOT_FLOAT_RANGE);
    };
    remove_range(ctx, &args[1], RangeSpec::Score(range), "zremrangebyscore");
}

fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(range) = parse_lex_range(&args[2], &args[3]) else {
        return ctx.out.error(NOT_LEX_RANGE);
    };
    remove_range(ctx, &args[1], RangeSpec::Lex(range), "zremrangebylex");
}

fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(start) = args::int(ctx, &args[2]) else {
        return;
    };
    let Some(stop) = args::int(ctx, &args[3]) else {
        return;
    };
    remove_range(ctx, &args[1], RangeSpec::Rank(start, stop), "zremrangebyrank");
}

fn remove_range(ctx: &mut Ctx, key: &[u8], spec: RangeSpec, event: &'static str) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let result = change(ks, db, key, false, event, |z| {
        let (lo, hi) = match &spec {
            RangeSpec::Rank(start, stop) => rank_span(*start, *stop, z.len()),
            RangeSpec::Score(r) => z.score_span(r),
            RangeSpec::Lex(r) => z.lex_span(r),
        };
        let removed = z.remove_ranks(lo, hi).len();
        (removed, removed > 0)
    });
    match result {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(removed) => ctx.out.int(removed.unwrap_or(0) as i64),
    }
}

// ----- pops -----

/// Which end a pop takes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PopSide {
    Min,
    Max,
}

impl PopSide {
    fn event(self) -> &'static str {
        match self {
            PopSide::Min => "zpopmin",
            PopSide::Max => "zpopmax",
        }
    }
}

/// How a pop's reply is shaped.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PopReply {
    /// ZPOPMIN/ZPOPMAX: member, score pairs (nested in RESP3 when a count was given).
    Plain { nested: bool },
    /// BZPOPMIN/BZPOPMAX: `[key, member, score]`.
    WithKey,
    /// ZMPOP/BZMPOP: `[key, [[member, score] ...]]`.
    KeyAndList,
}

/// Removes up to `count` members from one end of the sorted set at `key`: `Ok(None)` if
/// there is no such key. Recorded as the pop event (and `del` when the set is emptied).
fn pop(ks: &mut Keyspace, db: usize, key: &[u8], side: PopSide, count: usize) -> Result<Option<Vec<Item>>, WrongType> {
    change(ks, db, key, false, side.event(), |z| {
        let len = z.len();
        let n = count.min(len);
        let mut items = match side {
            PopSide::Min => z.remove_ranks(0, n),
            PopSide::Max => z.remove_ranks(len - n, len),
        };
        if side == PopSide::Max {
            items.reverse();
        }
        let changed = !items.is_empty();
        (items, changed)
    })
}

fn write_popped(out: &mut ReplyBuf, key: &[u8], items: &[Item], shape: PopReply) {
    let nested = match shape {
        PopReply::Plain { nested } => {
            out.array(if nested { items.len() } else { 2 * items.len() });
            nested
        }
        PopReply::WithKey => {
            out.array(1 + 2 * items.len());
            out.bulk(key);
            false
        }
        PopReply::KeyAndList => {
            out.array(2);
            out.bulk(key);
            out.array(items.len());
            true
        }
    };
    for it in items {
        if nested {
            out.array(2);
        }
        out.bulk(&it.member);
        out.double(it.score);
    }
}

/// Pops from the first of `keys` that holds a sorted set and writes the reply in `shape`:
/// `Ok(true)` if something was popped, `Ok(false)` (nothing written) if no key holds one,
/// `Err` (WRONGTYPE written) if a key before it holds another kind. ZMPOP runs it; BZPOPMIN,
/// BZPOPMAX and BZMPOP run it before they block.
pub fn pop_first(
    ks: &mut Keyspace,
    out: &mut ReplyBuf,
    db: usize,
    keys: &[Bytes],
    side: PopSide,
    count: usize,
    shape: PopReply,
) -> Result<bool, WrongType> {
    for key in keys {
        match pop(ks, db, key, side, count) {
            Err(WrongType) => {
                out.error(errors::WRONGTYPE);
                return Err(WrongType);
            }
            Ok(None) => continue,
            Ok(Some(items)) => {
                write_popped(out, key, &items, shape);
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Serves a client blocked in BZPOPMIN, BZPOPMAX or BZMPOP (`args`, already validated when it
/// blocked) now that `key` of `db` holds a sorted set: pops from `key` and writes the reply.
/// Returns false, writing nothing, if `key` holds no sorted set after all.
pub fn serve_blocked(ks: &mut Keyspace, db: usize, args: &[Bytes], key: &[u8], out: &mut ReplyBuf) -> bool {
    let (side, count, shape) = if is(&args[0], "bzmpop") {
        // BZMPOP timeout numkeys key ... MIN|MAX [COUNT n]
        match parse_mpop(args, 2) {
            Ok((_, side, count)) => (side, count, PopReply::KeyAndList),
            Err(_) => return false,
        }
    } else {
        let side = if is(&args[0], "bzpopmax") { PopSide::Max } else { PopSide::Min };
        (side, 1, PopReply::WithKey)
    };
    pop_first(ks, out, db, &[Bytes::copy_from_slice(key)], side, count, shape).unwrap_or(true)
}

fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) {
    zpop_generic(ctx, args, PopSide::Min);
}

fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) {
    zpop_generic(ctx, args, PopSide::Max);
}

fn zpop_generic(ctx: &mut Ctx, args: &[Bytes], side: PopSide) {
    if args.len() > 3 {
        return ctx.out.error(errors::SYNTAX);
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            None => return ctx.out.error(errors::NOT_INTEGER),
            Some(n) if n < 0 => return ctx.out.error(NOT_POSITIVE),
            Some(n) => Some(n as usize),
        },
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    // A zero count checks the type but changes nothing.
    if count == Some(0) {
        if let Err(()) = read(ks, ctx.out, db, &args[1]) {
            return;
        }
        return ctx.out.array(0);
    }
    match pop(ks, db, &args[1], side, count.unwrap_or(1)) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.array(0),
        Ok(Some(items)) => {
            let nested = ctx.out.resp3 && count.is_some();
            write_popped(ctx.out, &args[1], &items, PopReply::Plain { nested });
        }
    }
}

/// Parses `numkeys key... MIN|MAX [COUNT n]` from `args[at]`: keys, side and count, or the
/// error to reply.
fn parse_mpop(args: &[Bytes], at: usize) -> Result<(&[Bytes], PopSide, usize), &'static str> {
    let numkeys = match parse_i64(&args[at]) {
        Some(n) if n > 0 => n as usize,
        _ => return Err("ERR numkeys should be greater than 0"),
    };
    let where_at = at + 1 + numkeys;
    if numkeys > args.len() || where_at >= args.len() {
        return Err(errors::SYNTAX);
    }
    let side = if is(&args[where_at], "min") {
        PopSide::Min
    } else if is(&args[where_at], "max") {
        PopSide::Max
    } else {
        return Err(errors::SYNTAX);
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && is(&args[j], "count") && j + 1 < args.len() {
            match parse_i64(&args[j + 1]) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => return Err("ERR count should be greater than 0"),
            }
            j += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok((&args[at + 1..where_at], side, count.unwrap_or(1)))
}

fn zmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let (keys, side, count) = match parse_mpop(args, 1) {
        Ok(parsed) => parsed,
        Err(msg) => return ctx.out.error(msg),
    };
    let db = ctx.db();
    if let Ok(false) = pop_first(ctx.ks.get(), ctx.out, db, keys, side, count, PopReply::KeyAndList) {
        ctx.out.null_array();
    }
}

/// Pops from the first of `keys` holding a sorted set, or blocks the caller on all of them
/// (inside EXEC: answers a null array at once), as Redis's `blockingGenericZpopCommand`.
fn bpop_or_block(
    ctx: &mut Ctx,
    args: &[Bytes],
    keys: &[Bytes],
    side: PopSide,
    count: usize,
    shape: PopReply,
    timeout_arg: &[u8],
) {
    let Some(timeout) = blocking::parse_timeout(ctx, timeout_arg) else {
        return;
    };
    let db = ctx.db();
    if let Ok(false) = pop_first(ctx.ks.get(), ctx.out, db, keys, side, count, shape) {
        if blocking::may_block(ctx) {
            blocking::block(ctx, args, keys, Kind::ZSet, timeout);
        } else {
            ctx.out.null_array();
        }
    }
}

/// BZPOPMIN key [key ...] timeout
fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) {
    bpop_or_block(ctx, args, &args[1..args.len() - 1], PopSide::Min, 1, PopReply::WithKey, &args[args.len() - 1]);
}

/// BZPOPMAX key [key ...] timeout
fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) {
    bpop_or_block(ctx, args, &args[1..args.len() - 1], PopSide::Max, 1, PopReply::WithKey, &args[args.len() - 1]);
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: the pop's arguments are
/// checked before the timeout, as in Redis.
fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let (keys, side, count) = match parse_mpop(args, 2) {
        Ok(parsed) => parsed,
        Err(msg) => return ctx.out.error(msg),
    };
    bpop_or_block(ctx, args, keys, side, count, PopReply::KeyAndList, &args[1]);
}

// ----- ZRANDMEMBER -----

fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    if args.len() == 2 {
        let Ok(z) = read(ctx.ks.get(), ctx.out, db, &args[1]) else {
            return;
        };
        return match z {
            None => ctx.out.null(),
            Some(z) => {
                let it = z.get(ctx.client.rng.below(z.len() as u64) as usize).expect("rank below len");
                ctx.out.bulk(&it.member)
            }
        };
    }
    let Some(n) = args::int(ctx, &args[2]) else {
        return;
    };
    let with_scores = match args.len() {
        3 => false,
        4 if is(&args[3], "withscores") => true,
        _ => return ctx.out.error(errors::SYNTAX),
    };
    // Counts whose reply length would overflow, as Redis checks them.
    if (with_scores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&n)) || n == i64::MIN {
        return ctx.out.error(if with_scores {
            "ERR value is out of range"
        } else {
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        });
    }
    let Ok(z) = read(ctx.ks.get(), ctx.out, db, &args[1]) else {
        return;
    };
    let Some(z) = z.filter(|_| n != 0) else {
        return ctx.out.array(0);
    };
    let rng = &mut ctx.client.rng;
    let len = z.len();
    if n < 0 {
        // Repetitions allowed: independent draws, written as they are drawn.
        let draws =
            (0..n.unsigned_abs() as usize).map(|_| z.get(rng.below(len as u64) as usize).expect("rank below len"));
        return reply_items(ctx.out, draws, with_scores);
    }
    let picked: Vec<&Item> = if n as usize >= len {
        z.iter().collect()
    } else {
        // Distinct members: a partial Fisher-Yates shuffle over ranks.
        let k = n as usize;
        let mut ranks: Vec<usize> = (0..len).collect();
        for i in 0..k {
            let j = i + rng.below((len - i) as u64) as usize;
            ranks.swap(i, j);
        }
        ranks[..k].iter().map(|&r| z.get(r).expect("rank below len")).collect()
    };
    reply_items(ctx.out, picked.into_iter(), with_scores);
}

// ----- ZUNION / ZINTER / ZDIFF and their STORE forms, ZINTERCARD -----

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, acc: &mut f64, v: f64) {
        match self {
            Aggregate::Sum => {
                *acc += v;
                // inf + -inf: Redis keeps 0 rather than NaN.
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min => *acc = acc.min(v),
            Aggregate::Max => *acc = acc.max(v),
        }
    }
}

/// How the result of a set operation is used.
enum OpTarget<'a> {
    Client,
    Store(&'a [u8]),
    /// ZINTERCARD with its LIMIT (0 = none).
    Cardinality,
}

fn zunion(ctx: &mut Ctx, args: &[Bytes]) {
    set_op(ctx, args, 1, OpTarget::Client, SetOp::Union);
}
fn zinter(ctx: &mut Ctx, args: &[Bytes]) {
    set_op(ctx, args, 1, OpTarget::Client, SetOp::Inter);
}
fn zdiff(ctx: &mut Ctx, args: &[Bytes]) {
    set_op(ctx, args, 1, OpTarget::Client, SetOp::Diff);
}
fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) {
    set_op(ctx, args, 2, OpTarget::Store(&args[1]), SetOp::Union);
}
fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) {
    set_op(ctx, args, 2, OpTarget::Store(&args[1]), SetOp::Inter);
}
fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) {
    set_op(ctx, args, 2, OpTarget::Store(&args[1]), SetOp::Diff);
}
fn zintercard(ctx: &mut Ctx, args: &[Bytes]) {
    set_op(ctx, args, 1, OpTarget::Cardinality, SetOp::Inter);
}

/// Redis's `zunionInterDiffGenericCommand`; `numkeys` is at `args[at]`.
fn set_op(ctx: &mut Ctx, args: &[Bytes], at: usize, target: OpTarget, op: SetOp) {
    let Some(numkeys) = args::int(ctx, &args[at]) else {
        return;
    };
    if numkeys < 1 {
        let name = String::from_utf8_lossy(&args[0]).to_lowercase();
        return ctx.out.error(&format!("ERR at least 1 input key is needed for '{name}' command"));
    }
    if numkeys as usize > args.len() - at - 1 {
        return ctx.out.error(errors::SYNTAX);
    }
    let numkeys = numkeys as usize;
    let keys = &args[at + 1..at + 1 + numkeys];
    // Every input is looked up (and type-checked) before the options are parsed, as in Redis.
    let db = ctx.db();
    let mut lens = Vec::with_capacity(numkeys);
    for key in keys {
        match ctx.ks.get().read(db, key).map(Input::of) {
            None => lens.push(0),
            Some(Ok(input)) => lens.push(input.len()),
            Some(Err(WrongType)) => return ctx.out.error(errors::WRONGTYPE),
        }
    }
    let mut weights = vec![1.0; numkeys];
    let mut aggregate = Aggregate::Sum;
    let mut with_scores = false;
    let mut limit = 0usize;
    let storing = matches!(target, OpTarget::Store(_));
    let card = matches!(target, OpTarget::Cardinality);
    let mut j = at + 1 + numkeys;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != SetOp::Diff && !card && remaining > numkeys && is(a, "weights") {
            for (i, w) in args[j + 1..j + 1 + numkeys].iter().enumerate() {
                match parse_score(w) {
                    Some(v) => weights[i] = v,
                    None => return ctx.out.error("ERR weight value is not a float"),
                }
            }
            j += 1 + numkeys;
        } else if op != SetOp::Diff && !card && remaining >= 2 && is(a, "aggregate") {
            let v = &args[j + 1];
            aggregate = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return ctx.out.error(errors::SYNTAX);
            };
            j += 2;
        } else if !storing && !card && is(a, "withscores") {
            with_scores = true;
            j += 1;
        } else if card && remaining >= 2 && is(a, "limit") {
            match parse_i64(&args[j + 1]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return ctx.out.error("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let ks = ctx.ks.get();
    let result = combine(ks, db, keys, &lens, &weights, aggregate, op);
    match target {
        OpTarget::Cardinality => {
            let n = result.len();
            ctx.out.int(if limit > 0 { n.min(limit) } else { n } as i64);
        }
        OpTarget::Store(dst) => {
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            store(ctx, dst, result, event);
        }
        OpTarget::Client => {
            let z = ZSetValue::from_items(result, &ks.encoding);
            reply_items(ctx.out, z.range(0, z.len()).collect::<Vec<_>>().into_iter(), with_scores);
        }
    }
}

/// An input of ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD: a sorted set, or a
/// plain set whose members all score 1, as Redis accepts it.
#[derive(Clone, Copy)]
enum Input<'k> {
    Sorted(&'k ZSetValue),
    Plain(&'k SetValue),
}

impl<'k> Input<'k> {
    /// The input held by `entry`, or `WrongType` for a kind that is neither.
    #[allow(unreachable_patterns)]
    fn of(entry: &'k Entry) -> Result<Input<'k>, WrongType> {
        match entry.collection() {
            Some(Collection::ZSet(z)) => Ok(Input::Sorted(z)),
            Some(Collection::Set(s)) => Ok(Input::Plain(s)),
            _ => Err(WrongType),
        }
    }

    fn len(self) -> usize {
        match self {
            Input::Sorted(z) => z.len(),
            Input::Plain(s) => s.len(),
        }
    }

    fn score(self, member: &[u8]) -> Option<f64> {
        match self {
            Input::Sorted(z) => z.score(member),
            Input::Plain(s) => s.contains(member).then_some(1.0),
        }
    }

    /// Every member with its score (members of a sorted set are shared, not copied).
    fn for_each(self, mut f: impl FnMut(Member, f64)) {
        match self {
            Input::Sorted(z) => z.iter().for_each(|it| f(it.member.clone(), it.score)),
            Input::Plain(s) => s.iter().for_each(|m| f(m.with_bytes(|b| Member::from(b)), 1.0)),
        }
    }
}

/// The members of the union, intersection or difference of the inputs at `keys` (of sizes
/// `lens`), with their combined scores; unordered.
fn combine(
    ks: &mut Keyspace,
    db: usize,
    keys: &[Bytes],
    lens: &[usize],
    weights: &[f64],
    aggregate: Aggregate,
    op: SetOp,
) -> Vec<Item> {
    // The inputs were type-checked; `get` does not count the lookups again.
    fn input<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8]) -> Option<Input<'k>> {
        ks.get(db, key).and_then(|e| Input::of(e).ok())
    }
    fn weighted(score: f64, weight: f64) -> f64 {
        let v = score * weight;
        // 0 * inf: Redis keeps 0 rather than NaN.
        if v.is_nan() {
            0.0
        } else {
            v
        }
    }
    let mut acc: HashMap<Member, f64, foldhash::fast::RandomState> = HashMap::default();
    match op {
        SetOp::Union => {
            for (i, key) in keys.iter().enumerate() {
                let Some(input) = input(ks, db, key) else {
                    continue;
                };
                input.for_each(|member, score| {
                    let v = weighted(score, weights[i]);
                    match acc.get_mut(&member) {
                        Some(s) => aggregate.apply(s, v),
                        None => {
                            acc.insert(member, v);
                        }
                    }
                });
            }
        }
        SetOp::Inter => {
            if lens.contains(&0) {
                return Vec::new();
            }
            // Start from the smallest input and keep what every other one holds.
            let mut order: Vec<usize> = (0..keys.len()).collect();
            order.sort_by_key(|&i| lens[i]);
            if let Some(input) = input(ks, db, &keys[order[0]]) {
                input.for_each(|member, score| {
                    acc.insert(member, weighted(score, weights[order[0]]));
                });
            }
            for &i in &order[1..] {
                let Some(input) = input(ks, db, &keys[i]) else {
                    return Vec::new();
                };
                acc.retain(|m, s| match input.score(m) {
                    Some(v) => {
                        aggregate.apply(s, weighted(v, weights[i]));
                        true
                    }
                    None => false,
                });
            }
        }
        SetOp::Diff => {
            if let Some(input) = input(ks, db, &keys[0]) {
                input.for_each(|member, score| {
                    acc.insert(member, score);
                });
            }
            for key in &keys[1..] {
                if acc.is_empty() {
                    break;
                }
                if let Some(input) = input(ks, db, key) {
                    acc.retain(|m, _| input.score(m).is_none());
                }
            }
        }
    }
    acc.into_iter().map(|(member, score)| Item { score, member }).collect()
}

// ----- ZSCAN -----

fn zscan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(cursor) = args::cursor(ctx, &args[2]) else {
        return;
    };
    let db = ctx.db();
    let z = match read(ctx.ks.get(), ctx.out, db, &args[1]) {
        Err(()) => return,
        Ok(None) => return crate::commands::listing::reply_scan_head(ctx.out, 0, 0),
        Ok(Some(z)) => z,
    };
    let o = match args::scan_options(&args[3..], args::ScanExtra::None) {
        Ok(o) => o,
        Err(msg) => return ctx.out.error(msg),
    };
    let mut found: Vec<Item> = Vec::new();
    let next = z.scan(cursor, o.count, |it| {
        if o.pattern.is_none_or(|p| glob_match(p, &it.member, false)) {
            found.push(it.clone());
        }
    });
    let out = &mut *ctx.out;
    crate::commands::listing::reply_scan_head(out, next, 2 * found.len());
    for it in &found {
        out.bulk(&it.member);
        out.bulk(crate::protocol::format_double(it.score).as_bytes());
    }
}
