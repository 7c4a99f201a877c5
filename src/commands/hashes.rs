//! Hash commands (Redis's `t_hash.c`): HSET, HSETNX, HMSET, HGET, HMGET, HGETALL, HDEL,
//! HEXISTS, HLEN, HSTRLEN, HKEYS, HVALS, HINCRBY, HINCRBYFLOAT, HRANDFIELD and HSCAN.
//!
//! Writes go through `Keyspace::with_collection` (which creates missing hashes and deletes
//! emptied ones); reads use `Keyspace::read`, so hits and misses are counted as in Redis.
//! Replies, errors and keyspace events follow Redis 7.

use super::args::{self, is};
use super::flags::*;
use super::table::key_access;
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use crate::commands::listing::reply_scan_head;
use crate::glob::glob_match;
use crate::storage::hash::HashValue;
use crate::storage::value::Collection;
use crate::storage::{notify, KeyEvent, Keyspace, Kind, WrongType};
use crate::util::{parse_f64, parse_i64};
use bytes::Bytes;

// One line per command keeps the table readable as a table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.0.0", "Creates or modifies the value of a field in a hash.", hset),
    cmd!("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", hsetnx),
    cmd!("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.0.0", "Sets the values of multiple fields.", hmset),
    cmd!("hget", 3, READONLY | FAST, (1, 1, 1), "hash", "2.0.0", "Returns the value of a field in a hash.", hget),
    cmd!("hmget", -3, READONLY | FAST, (1, 1, 1), "hash", "2.0.0", "Returns the values of all fields in a hash.", hmget),
    cmd!("hgetall", 2, READONLY, (1, 1, 1), "hash", "2.0.0", "Returns all fields and values in a hash.", hgetall),
    cmd!("hdel", -3, WRITE | FAST, (1, 1, 1), "hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", hdel).key_access(&[key_access::REMOVE]),
    cmd!("hexists", 3, READONLY | FAST, (1, 1, 1), "hash", "2.0.0", "Determines whether a field exists in a hash.", hexists),
    cmd!("hlen", 2, READONLY | FAST, (1, 1, 1), "hash", "2.0.0", "Returns the number of fields in a hash.", hlen),
    cmd!("hstrlen", 3, READONLY | FAST, (1, 1, 1), "hash", "3.2.0", "Returns the length of the value of a field.", hstrlen),
    cmd!("hkeys", 2, READONLY, (1, 1, 1), "hash", "2.0.0", "Returns all fields in a hash.", hkeys),
    cmd!("hvals", 2, READONLY, (1, 1, 1), "hash", "2.0.0", "Returns all values in a hash.", hvals),
    cmd!("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", hincrby),
    cmd!("hincrbyfloat", 4, WRITE | DENYOOM | FAST, (1, 1, 1), "hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", hincrbyfloat),
    cmd!("hrandfield", -2, READONLY, (1, 1, 1), "hash", "6.2.0", "Returns one or more random fields from a hash.", hrandfield),
    cmd!("hscan", -3, READONLY, (1, 1, 1), "hash", "2.8.0", "Iterates over fields and values of a hash.", hscan),
];

fn new_hash() -> Collection {
    Collection::Hash(HashValue::new())
}

/// The hash inside a collection that `with_collection` has already checked to be a hash.
fn hash_mut(c: &mut Collection) -> &mut HashValue {
    match c {
        Collection::Hash(h) => h,
        // Other kinds never reach here: `with_collection` checked the kind.
        #[allow(unreachable_patterns)]
        _ => unreachable!("collection checked to be a hash"),
    }
}

/// Reads `key` as a client read (hit/miss statistics): the hash, nothing, or WRONGTYPE.
fn read_hash<'a>(ks: &'a mut Keyspace, db: usize, key: &[u8]) -> Result<Option<&'a HashValue>, WrongType> {
    match ks.read(db, key) {
        None => Ok(None),
        Some(e) => match e.collection() {
            Some(Collection::Hash(h)) => Ok(Some(h)),
            _ => Err(WrongType),
        },
    }
}

// ----- writes -----

fn hset(ctx: &mut Ctx, args: &[Bytes]) {
    if let Some(added) = set_pairs(ctx, args) {
        ctx.out.int(added as i64);
    }
}

fn hmset(ctx: &mut Ctx, args: &[Bytes]) {
    if set_pairs(ctx, args).is_some() {
        ctx.out.ok();
    }
}

const HSET: KeyEvent = KeyEvent::new(notify::HASH, "hset");

/// HSET / HMSET: stores the field/value pairs and returns how many fields are new; writes
/// the error reply and returns `None` on error.
fn set_pairs(ctx: &mut Ctx, args: &[Bytes]) -> Option<usize> {
    if args.len() % 2 == 1 {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        ctx.out.error(&format!("ERR wrong number of arguments for '{name}' command"));
        return None;
    }
    let db = ctx.db();
    let ks = ctx.ks.get();
    let limits = ks.encoding;
    let key = &args[1];
    let added = ks.with_collection(db, key, Kind::Hash, Some(new_hash), &[HSET], |c| {
        let h = hash_mut(c);
        // Every pair is written, even over an equal value: HSET always changes the key.
        (args[2..].chunks(2).filter(|pair| h.set(&pair[0], &pair[1], &limits)).count(), true)
    });
    match added {
        Ok(added) => Some(added.unwrap_or(0)),
        Err(WrongType) => {
            ctx.out.error(errors::WRONGTYPE);
            None
        }
    }
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let limits = ks.encoding;
    let (key, field, value) = (&args[1], &args[2], &args[3]);
    let set = ks.with_collection(db, key, Kind::Hash, Some(new_hash), &[HSET], |c| {
        let h = hash_mut(c);
        let set = !h.contains(field) && h.set(field, value, &limits);
        (set, set)
    });
    match set {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(set) => ctx.out.int(set.unwrap_or(false) as i64),
    }
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let key = &args[1];
    let outcome = ks.with_collection(db, key, Kind::Hash, None, &[KeyEvent::new(notify::HASH, "hdel")], |c| {
        let h = hash_mut(c);
        let deleted = args[2..].iter().filter(|f| h.remove(f)).count();
        (deleted, deleted > 0)
    });
    match outcome {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(deleted) => ctx.out.int(deleted.unwrap_or(0) as i64),
    }
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(delta) = parse_i64(&args[3]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    let limits = ks.encoding;
    let (key, field) = (&args[1], &args[2]);
    let event = KeyEvent::new(notify::HASH, "hincrby");
    let result = ks.with_collection(db, key, Kind::Hash, Some(new_hash), &[event], |c| {
        let h = hash_mut(c);
        let next = match h.get(field) {
            None => Ok(delta),
            Some(v) => parse_i64(v)
                .ok_or("ERR hash value is not an integer")
                .and_then(|current| current.checked_add(delta).ok_or(errors::OVERFLOW)),
        };
        // An error leaves the hash as it was.
        if let Ok(n) = next {
            h.set(field, itoa::Buffer::new().format(n).as_bytes(), &limits);
        }
        (next, next.is_ok())
    });
    match result {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => unreachable!("with_collection creates the hash"),
        Ok(Some(Err(msg))) => ctx.out.error(msg),
        Ok(Some(Ok(n))) => ctx.out.int(n),
    }
}

fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(delta) = parse_f64(&args[3]) else {
        return ctx.out.error(errors::NOT_FLOAT);
    };
    if !delta.is_finite() {
        return ctx.out.error("ERR value is NaN or Infinity");
    }
    let db = ctx.db();
    let ks = ctx.ks.get();
    let limits = ks.encoding;
    let (key, field) = (&args[1], &args[2]);
    let event = KeyEvent::new(notify::HASH, "hincrbyfloat");
    let result = ks.with_collection(db, key, Kind::Hash, Some(new_hash), &[event], |c| {
        let h = hash_mut(c);
        let next = match h.get(field) {
            None => Ok(delta),
            Some(v) => parse_f64(v).ok_or("ERR hash value is not a float").map(|current| current + delta),
        };
        let text = next.and_then(|n| {
            if n.is_finite() {
                Ok(super::strings::format_float(n))
            } else {
                Err("ERR increment would produce NaN or Infinity")
            }
        });
        // An error leaves the hash as it was.
        if let Ok(text) = &text {
            h.set(field, text.as_bytes(), &limits);
        }
        let changed = text.is_ok();
        (text, changed)
    });
    match result {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => unreachable!("with_collection creates the hash"),
        Ok(Some(Err(msg))) => ctx.out.error(msg),
        Ok(Some(Ok(text))) => ctx.out.bulk(text.as_bytes()),
    }
}

// ----- reads -----

fn hget(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_hash(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(h) => match h.and_then(|h| h.get(&args[2])) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        },
    }
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let h = match read_hash(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(h) => h,
    };
    let fields = &args[2..];
    ctx.out.array(fields.len());
    for f in fields {
        match h.and_then(|h| h.get(f)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_hash(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(h) => ctx.out.int(h.is_some_and(|h| h.contains(&args[2])) as i64),
    }
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_hash(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(h) => ctx.out.int(h.map_or(0, HashValue::len) as i64),
    }
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_hash(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(h) => ctx.out.int(h.and_then(|h| h.get(&args[2])).map_or(0, <[u8]>::len) as i64),
    }
}

/// Which parts of each pair HGETALL, HKEYS and HVALS reply with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    Both,
    Fields,
    Values,
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) {
    reply_all(ctx, &args[1], Parts::Both);
}

fn hkeys(ctx: &mut Ctx, args: &[Bytes]) {
    reply_all(ctx, &args[1], Parts::Fields);
}

fn hvals(ctx: &mut Ctx, args: &[Bytes]) {
    reply_all(ctx, &args[1], Parts::Values);
}

/// HGETALL (a map) and HKEYS / HVALS (arrays); a missing key is an empty one.
fn reply_all(ctx: &mut Ctx, key: &[u8], parts: Parts) {
    let db = ctx.db();
    let h = match read_hash(ctx.ks.get(), db, key) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(h) => h,
    };
    let len = h.map_or(0, HashValue::len);
    if parts == Parts::Both {
        ctx.out.map(len);
    } else {
        ctx.out.array(len);
    }
    for (f, v) in h.into_iter().flat_map(HashValue::iter) {
        if parts != Parts::Values {
            ctx.out.bulk(f);
        }
        if parts != Parts::Fields {
            ctx.out.bulk(v);
        }
    }
}

// ----- HRANDFIELD -----

fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() == 2 {
        let db = ctx.db();
        return match read_hash(ctx.ks.get(), db, &args[1]) {
            Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
            Ok(None) => ctx.out.null(),
            Ok(Some(h)) => {
                let index = h.pair_index();
                let (field, _) = index.get(ctx.client.rng.below(index.len() as u64) as usize);
                ctx.out.bulk(field);
            }
        };
    }
    // Redis accepts counts in -LONG_MAX..=LONG_MAX, and half that with values (the reply
    // has two entries per field).
    let Some(count) = parse_i64(&args[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if count == i64::MIN {
        return ctx.out.error(&format!("ERR value is out of range, value must between {} and {}", -i64::MAX, i64::MAX));
    }
    let with_values = match args.len() {
        3 => false,
        4 if is(&args[3], "withvalues") => true,
        _ => return ctx.out.error(errors::SYNTAX),
    };
    if with_values && !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
        return ctx.out.error("ERR value is out of range");
    }
    random_fields(ctx, &args[1], count, with_values);
}

/// HRANDFIELD with a count: a negative count may repeat fields, a positive one does not.
fn random_fields(ctx: &mut Ctx, key: &[u8], count: i64, with_values: bool) {
    let db = ctx.db();
    let h = match read_hash(ctx.ks.get(), db, key) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.array(0),
        Ok(Some(h)) => h,
    };
    if count == 0 {
        return ctx.out.array(0);
    }
    let out = &mut *ctx.out;
    let rng = &mut ctx.client.rng;
    let index = h.pair_index();
    let size = index.len();
    // RESP2 gets a flat array of fields and values, RESP3 an array of [field, value] pairs.
    let header =
        |out: &mut crate::protocol::ReplyBuf, n: usize| out.array(if with_values && !out.resp3 { 2 * n } else { n });
    let pair = |out: &mut crate::protocol::ReplyBuf, (f, v): (&[u8], &[u8])| {
        if with_values {
            if out.resp3 {
                out.array(2);
            }
            out.bulk(f);
            out.bulk(v);
        } else {
            out.bulk(f);
        }
    };
    if count < 0 || count == 1 {
        let n = count.unsigned_abs() as usize;
        header(out, n);
        for _ in 0..n {
            if out.exhausted() {
                break;
            }
            pair(out, index.get(rng.below(size as u64) as usize));
        }
        return;
    }
    let n = count as usize;
    if n >= size {
        header(out, size);
        (0..size).for_each(|i| pair(out, index.get(i)));
        return;
    }
    header(out, n);
    if n * 3 > size {
        // Most of the hash is wanted: a partial shuffle of all positions.
        let mut positions: Vec<usize> = (0..size).collect();
        for i in 0..n {
            let j = i + rng.below((size - i) as u64) as usize;
            positions.swap(i, j);
            pair(out, index.get(positions[i]));
        }
    } else {
        // A small part: draw positions until enough distinct ones came up.
        let mut picked = std::collections::HashSet::with_capacity(n);
        while picked.len() < n {
            let i = rng.below(size as u64) as usize;
            if picked.insert(i) {
                pair(out, index.get(i));
            }
        }
    }
}

// ----- HSCAN -----

fn hscan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(cursor) = args::cursor(ctx, &args[2]) else {
        return;
    };
    // Parsed first, but as in Redis its errors are only reported once the key is known to
    // exist.
    let options = args::scan_options(&args[3..], args::ScanExtra::NoValues);
    let db = ctx.db();
    let h = match read_hash(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return reply_scan_head(ctx.out, 0, 0),
        Ok(Some(h)) => h,
    };
    let o = match options {
        Ok(o) => o,
        Err(msg) => return ctx.out.error(msg),
    };
    let mut found = Vec::new();
    let next = h.scan(cursor, o.count, |f, v| {
        if o.pattern.is_none_or(|p| glob_match(p, f, false)) {
            found.push((f, v));
        }
    });
    reply_scan_head(ctx.out, next, if o.no_values { found.len() } else { 2 * found.len() });
    for (f, v) in found {
        ctx.out.bulk(f);
        if !o.no_values {
            ctx.out.bulk(v);
        }
    }
}
