//! String commands (Redis's `t_string.c`; the bit commands are in [`super::bitmaps`]).
//!
//! Every write that creates or replaces a key goes through [`store`] (which SET, TAG.SET and
//! the other setters share) or [`create`]; every in-place change of an existing value (APPEND,
//! SETRANGE, INCR ...) goes through `Keyspace::modify` or the entry handle's, which re-account
//! the entry's memory. The engine call that writes records the change with its keyspace event
//! (`set`, `append`, `incrby` ...), which the handler names. GET, SET and INCR work on one
//! entry handle: one tenant resolution, one hash and one probe of the table per command.

use super::args::is;
use super::flags::*;
use super::table::key_access;
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use crate::storage::{events, notify, Entry, KeyEvent, Removal};
use crate::util::{parse_f64, parse_i64};
use bytes::Bytes;
use std::sync::atomic::Ordering;

// One line per command keeps the table readable as a table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("get", 2, READONLY | FAST, (1, 1, 1), "string", "1.0.0", "Returns the string value of a key.", get),
    cmd!("set", -3, WRITE | DENYOOM, (1, 1, 1), "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
    cmd!("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", setnx),
    cmd!("setex", 4, WRITE | DENYOOM, (1, 1, 1), "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", setex),
    cmd!("psetex", 4, WRITE | DENYOOM, (1, 1, 1), "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", psetex),
    cmd!("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", getset),
    cmd!("getdel", 2, WRITE | FAST, (1, 1, 1), "string", "6.2.0", "Returns the string value of a key after deleting the key.", getdel).key_access(&[key_access::POP]),
    cmd!("getex", -2, WRITE | FAST, (1, 1, 1), "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", getex),
    cmd!("mget", -2, READONLY | FAST, (1, -1, 1), "string", "1.0.0", "Atomically returns the string values of one or more keys.", mget),
    cmd!("mset", -3, WRITE | DENYOOM, (1, -1, 2), "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", mset),
    cmd!("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", msetnx),
    cmd!("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", append),
    cmd!("strlen", 2, READONLY | FAST, (1, 1, 1), "string", "2.2.0", "Returns the length of a string value.", strlen),
    cmd!("getrange", 4, READONLY, (1, 1, 1), "string", "2.4.0", "Returns a substring of the string stored at a key.", getrange),
    cmd!("substr", 4, READONLY, (1, 1, 1), "string", "1.0.0", "Returns a substring from a string value.", getrange),
    cmd!("setrange", 4, WRITE | DENYOOM, (1, 1, 1), "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", setrange),
    cmd!("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", incr),
    cmd!("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", decr),
    cmd!("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrby),
    cmd!("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", decrby),
    cmd!("incrbyfloat", 3, WRITE | DENYOOM | FAST, (1, 1, 1), "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", incrbyfloat),
    cmd!("lcs", -3, READONLY, (1, 2, 1), "string", "7.0.0", "Finds the longest common substring.", lcs),
];

const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// What a string lookup found: nothing, a string (copied only when the caller needs it), or a
/// value of another type.
pub(super) enum Found<T> {
    Missing,
    String(T),
    WrongType,
}

/// Writes the string value of `key`, or null; WRONGTYPE for collections.
fn get(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let db = ctx.db();
    match ctx.ks.get().entry(db, key).into_read(0) {
        None => ctx.out.null(),
        Some(e) if e.is_string() => ctx.out.bulk(e.str_value()),
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

// ----- SET and its options -----

/// Options of SET (and TAG.SET): expiry, condition, GET.
#[derive(Default)]
pub struct SetOptions {
    /// Absolute expiry in ms, if any.
    pub expire_at: Option<u64>,
    pub keep_ttl: bool,
    pub nx: bool,
    pub xx: bool,
    pub get: bool,
}

/// Which command's option grammar applies (Redis's `COMMAND_SET` / `COMMAND_GET`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grammar {
    Set,
    GetEx,
}

/// The expiry options, as named on the command line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpiryUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpiryUnit {
    fn parse(arg: &[u8]) -> Option<ExpiryUnit> {
        [("EX", ExpiryUnit::Ex), ("PX", ExpiryUnit::Px), ("EXAT", ExpiryUnit::ExAt), ("PXAT", ExpiryUnit::PxAt)]
            .into_iter()
            .find(|(name, _)| is(arg, name))
            .map(|(_, unit)| unit)
    }

    fn in_seconds(self) -> bool {
        matches!(self, ExpiryUnit::Ex | ExpiryUnit::ExAt)
    }

    fn relative(self) -> bool {
        matches!(self, ExpiryUnit::Ex | ExpiryUnit::Px)
    }
}

/// Options parsed but not yet validated: the expiry stays text because Redis checks it only
/// after the whole command line is known to be well formed (and GETEX only once the key exists).
#[derive(Default)]
struct RawOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expiry: Option<(ExpiryUnit, &'a [u8])>,
}

/// Redis's `parseExtendedStringArgumentsOrReply`: conflicting options are a syntax error; the
/// same expiry option given twice is allowed (the last value wins).
fn parse_raw_options<'a>(
    ctx: &mut Ctx,
    args: &'a [Bytes],
    grammar: Grammar,
    mut extra: impl FnMut(&[Bytes]) -> Option<usize>,
) -> Option<RawOptions<'a>> {
    let mut o = RawOptions::default();
    let set = grammar == Grammar::Set;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let next = args.get(i + 1);
        let unit = ExpiryUnit::parse(a);
        let expiry_kind = o.expiry.map(|(u, _)| u);
        if set && is(a, "NX") && !o.xx {
            o.nx = true;
        } else if set && is(a, "XX") && !o.nx {
            o.xx = true;
        } else if set && is(a, "GET") {
            o.get = true;
        } else if set && is(a, "KEEPTTL") && o.expiry.is_none() {
            o.keep_ttl = true;
        } else if !set && is(a, "PERSIST") && o.expiry.is_none() {
            o.persist = true;
        } else if let (Some(unit), Some(value)) = (unit, next) {
            if o.keep_ttl || o.persist || expiry_kind.is_some_and(|k| k != unit) {
                ctx.out.error(errors::SYNTAX);
                return None;
            }
            o.expiry = Some((unit, value));
            i += 1;
        } else if let Some(n) = extra(&args[i..]).filter(|n| *n > 0) {
            i += n;
            continue;
        } else {
            ctx.out.error(errors::SYNTAX);
            return None;
        }
        i += 1;
    }
    Some(o)
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute expiry in ms for `value` in `unit`.
fn expire_at_ms(ctx: &mut Ctx, unit: ExpiryUnit, value: &[u8], command: &str) -> Option<u64> {
    let Some(n) = parse_i64(value) else {
        ctx.out.error(errors::NOT_INTEGER);
        return None;
    };
    let invalid = |ctx: &mut Ctx| ctx.out.error(&format!("ERR invalid expire time in '{command}' command"));
    if n <= 0 || (unit.in_seconds() && n > i64::MAX / 1000) {
        invalid(ctx);
        return None;
    }
    let ms = if unit.in_seconds() { n * 1000 } else { n };
    let at = if unit.relative() { ms.checked_add(ctx.ks.get().now_ms as i64) } else { Some(ms) };
    match at {
        Some(at) if at > 0 => Some(at as u64),
        _ => {
            invalid(ctx);
            None
        }
    }
}

/// Parses SET options from `args`; `extra` may claim further options (TAG.SET's `TAGS`) and
/// returns how many arguments it consumed. Writes the error reply and returns `None` on error.
pub fn parse_set_options(
    ctx: &mut Ctx,
    args: &[Bytes],
    extra: impl FnMut(&[Bytes]) -> Option<usize>,
) -> Option<SetOptions> {
    let raw = parse_raw_options(ctx, args, Grammar::Set, extra)?;
    let expire_at = match raw.expiry {
        Some((unit, value)) => Some(expire_at_ms(ctx, unit, value, "set")?),
        None => None,
    };
    Some(SetOptions { expire_at, keep_ttl: raw.keep_ttl, nx: raw.nx, xx: raw.xx, get: raw.get })
}

fn set(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(opts) = parse_set_options(ctx, &args[3..], |_| None) else {
        return;
    };
    set_with(ctx, &args[1], &args[2], &opts);
}

/// Stores a string under the SET rules and writes SET's reply. Returns whether the value
/// was written.
pub fn set_with(ctx: &mut Ctx, key: &[u8], value: &[u8], o: &SetOptions) -> bool {
    match store(ctx, key, value, o) {
        Err(msg) => {
            ctx.out.error(msg);
            false
        }
        Ok(stored) => {
            if o.get {
                match &stored.old {
                    Some(v) => ctx.out.bulk(v),
                    None => ctx.out.null(),
                }
            } else if stored.written {
                ctx.out.ok();
            } else {
                ctx.out.null();
            }
            stored.written
        }
    }
}

/// The outcome of [`store`].
pub struct Stored {
    /// Whether the value was written (false when NX/XX refused it).
    pub written: bool,
    /// The previous value, when `SetOptions::get` asked for it.
    pub old: Option<Vec<u8>>,
}

/// The write path of every command that creates or replaces a string key: applies the SET
/// rules (NX/XX, KEEPTTL, expiry, GET) on one entry handle, and records the write as `set`
/// (and `expire`). Writes no reply; an `Err` carries the error text (WRONGTYPE when GET meets
/// a collection).
pub fn store(ctx: &mut Ctx, key: &[u8], value: &[u8], o: &SetOptions) -> Result<Stored, &'static str> {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let now = ks.now_ms;
    let mut entry = ks.entry(db, key);
    let mut old = None;
    if o.get {
        // SET ... GET reads like GET does (hit/miss statistics), before NX/XX are looked at.
        match entry.read(0) {
            Some(e) if !e.is_string() => return Err(errors::WRONGTYPE),
            Some(e) => old = Some(e.str_value().to_vec()),
            None => {}
        }
    }
    let (exists, old_ttl) = match entry.get() {
        Some(e) => (true, e.expire_at()),
        None => (false, 0),
    };
    if (o.nx && exists) || (o.xx && !exists) {
        return Ok(Stored { written: false, old });
    }
    if let Some(at) = o.expire_at {
        if at <= now {
            // An expiry already in the past leaves no key, as EXPIRE in the past does.
            entry.remove(Removal::Deleted);
            return Ok(Stored { written: true, old });
        }
    }
    let expire_at = if o.keep_ttl { old_ttl } else { o.expire_at.unwrap_or(0) };
    let written: &[KeyEvent] = if o.expire_at.is_some() { &[events::SET, events::EXPIRE] } else { &[events::SET] };
    entry.upsert_string(value, expire_at, written);
    Ok(Stored { written: true, old })
}

/// Creates the missing `key` with `value` and no TTL (APPEND, SETRANGE, INCR ... on a missing
/// key), recorded as `event` (the command's own, not `set`, as in Redis).
pub(super) fn create(ctx: &mut Ctx, key: &[u8], value: &[u8], event: KeyEvent) {
    let db = ctx.db();
    ctx.ks.get().insert(db, Entry::string(key, value, 0), &[event]);
}

const APPEND: KeyEvent = KeyEvent::new(notify::STRING, "append");
const SETRANGE: KeyEvent = KeyEvent::new(notify::STRING, "setrange");
const INCRBY: KeyEvent = KeyEvent::new(notify::STRING, "incrby");
const INCRBYFLOAT: KeyEvent = KeyEvent::new(notify::STRING, "incrbyfloat");

fn setnx(ctx: &mut Ctx, args: &[Bytes]) {
    let opts = SetOptions { nx: true, ..Default::default() };
    match store(ctx, &args[1], &args[2], &opts) {
        Ok(stored) => ctx.out.int(stored.written as i64),
        Err(msg) => ctx.out.error(msg),
    }
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) {
    set_with_expiry(ctx, args, ExpiryUnit::Ex, "setex");
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) {
    set_with_expiry(ctx, args, ExpiryUnit::Px, "psetex");
}

/// SETEX / PSETEX: `key ttl value`.
fn set_with_expiry(ctx: &mut Ctx, args: &[Bytes], unit: ExpiryUnit, command: &str) {
    let Some(at) = expire_at_ms(ctx, unit, &args[2], command) else {
        return;
    };
    let opts = SetOptions { expire_at: Some(at), ..Default::default() };
    set_with(ctx, &args[1], &args[3], &opts);
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) {
    let opts = SetOptions { get: true, ..Default::default() };
    set_with(ctx, &args[1], &args[2], &opts);
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) {
    if !check_pairs(ctx, args) {
        return;
    }
    for pair in args[1..].chunks(2) {
        if let Err(msg) = store(ctx, &pair[0], &pair[1], &SetOptions::default()) {
            return ctx.out.error(msg);
        }
    }
    ctx.out.ok();
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) {
    if !check_pairs(ctx, args) {
        return;
    }
    let db = ctx.db();
    let ks = ctx.ks.get();
    if args[1..].chunks(2).any(|pair| ks.exists(db, &pair[0])) {
        return ctx.out.int(0);
    }
    for pair in args[1..].chunks(2) {
        if let Err(msg) = store(ctx, &pair[0], &pair[1], &SetOptions::default()) {
            return ctx.out.error(msg);
        }
    }
    ctx.out.int(1);
}

/// MSET and MSETNX take key/value pairs; an odd count is an arity error.
fn check_pairs(ctx: &mut Ctx, args: &[Bytes]) -> bool {
    if args.len().is_multiple_of(2) {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        ctx.out.error(&format!("ERR wrong number of arguments for '{name}' command"));
        return false;
    }
    true
}

// ----- reads -----

/// Reads `key` as a client read (hit/miss statistics) and copies its string.
fn read_string(ctx: &mut Ctx, key: &[u8]) -> Found<Vec<u8>> {
    let db = ctx.db();
    match ctx.ks.get().read(db, key) {
        None => Found::Missing,
        Some(e) if e.is_string() => Found::String(e.str_value().to_vec()),
        Some(_) => Found::WrongType,
    }
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let key = &args[1];
    let ks = ctx.ks.get();
    match ks.read(db, key) {
        None => return ctx.out.null(),
        Some(e) if !e.is_string() => return ctx.out.error(errors::WRONGTYPE),
        Some(e) => ctx.out.bulk(e.str_value()),
    }
    ks.remove(db, key, Removal::Deleted);
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(raw) = parse_raw_options(ctx, &args[2..], Grammar::GetEx, |_| None) else {
        return;
    };
    let db = ctx.db();
    let key = &args[1];
    match ctx.ks.get().read(db, key) {
        None => return ctx.out.null(),
        Some(e) if !e.is_string() => return ctx.out.error(errors::WRONGTYPE),
        Some(_) => {}
    }
    let expire_at = match raw.expiry {
        Some((unit, value)) => match expire_at_ms(ctx, unit, value, "getex") {
            Some(at) => Some((unit, at)),
            None => return,
        },
        None => None,
    };
    let ks = ctx.ks.get();
    if let Some(e) = ks.get(db, key) {
        ctx.out.bulk(e.str_value());
    }
    match expire_at {
        Some((unit, at)) if !unit.relative() && at <= ks.now_ms => {
            ks.remove(db, key, Removal::Deleted);
        }
        Some((_, at)) => {
            // Setting a TTL counts as a change even when it is the same one, as in Redis.
            ks.modify(db, key, &[events::EXPIRE], |e| {
                e.set_expire_at(at);
                ((), true)
            });
        }
        None if raw.persist => {
            // Only a TTL that was there is a change (and a `persist`).
            ks.modify(db, key, &[events::PERSIST], |e| {
                let had_ttl = e.take_expiry();
                ((), had_ttl)
            });
        }
        None => {}
    }
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    ctx.out.array(args.len() - 1);
    for key in &args[1..] {
        match ks.read(db, key) {
            Some(e) if e.is_string() => ctx.out.bulk(e.str_value()),
            _ => ctx.out.null(),
        }
    }
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match ctx.ks.get().read(db, &args[1]) {
        None => ctx.out.int(0),
        Some(e) if e.is_string() => ctx.out.int(e.str_value().len() as i64),
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// GETRANGE and SUBSTR.
fn getrange(ctx: &mut Ctx, args: &[Bytes]) {
    let (Some(start), Some(end)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let db = ctx.db();
    let value = match ctx.ks.get().read(db, &args[1]) {
        None => return ctx.out.bulk(b""),
        Some(e) if !e.is_string() => return ctx.out.error(errors::WRONGTYPE),
        Some(e) => e.str_value(),
    };
    match byte_range(value.len(), start, end) {
        Some((from, to)) => ctx.out.bulk(&value[from..=to]),
        None => ctx.out.bulk(b""),
    }
}

/// The inclusive byte range GETRANGE selects from a string of `len` bytes, if any; negative
/// indexes count from the end and out-of-range ends are clamped.
fn byte_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    if (start < 0 && end < 0 && start > end) || len == 0 {
        return None;
    }
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { (len + end).max(0) } else { end.min(len - 1) };
    (start <= end).then_some((start as usize, end as usize))
}

// ----- in-place changes -----

pub(super) fn max_string_len(ctx: &Ctx) -> u64 {
    ctx.shared.settings.proto_max_bulk_len.load(Ordering::Relaxed) as u64
}

/// Redis's `checkStringLength`: whether a string of `size + extra` bytes is allowed.
fn check_string_length(ctx: &mut Ctx, size: u64, extra: u64) -> bool {
    match size.checked_add(extra) {
        Some(total) if total <= max_string_len(ctx) => true,
        _ => {
            ctx.out.error(STRING_TOO_LONG);
            false
        }
    }
}

/// The length of `key`'s string value, without statistics (the lookup of a write command).
pub(super) fn string_len_for_write(ctx: &mut Ctx, key: &[u8]) -> Found<usize> {
    let db = ctx.db();
    match ctx.ks.get().get(db, key) {
        None => Found::Missing,
        Some(e) if e.is_string() => Found::String(e.str_value().len()),
        Some(_) => Found::WrongType,
    }
}

fn append(ctx: &mut Ctx, args: &[Bytes]) {
    let (key, tail) = (&args[1], &args[2]);
    let db = ctx.db();
    let len = match string_len_for_write(ctx, key) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => {
            create(ctx, key, tail, APPEND);
            tail.len()
        }
        Found::String(len) => {
            if !check_string_length(ctx, len as u64, tail.len() as u64) {
                return;
            }
            // Appending nothing still counts as a change, as in Redis.
            ctx.ks.get().modify(db, key, &[APPEND], |e| (e.edit_string(|v| v.extend_from_slice(tail)), true));
            len + tail.len()
        }
    };
    ctx.out.int(len as i64);
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) {
    let (key, patch) = (&args[1], &args[3]);
    let Some(offset) = parse_i64(&args[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if offset < 0 {
        return ctx.out.error("ERR offset is out of range");
    }
    let offset = offset as u64;
    let db = ctx.db();
    let old_len = match string_len_for_write(ctx, key) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        // Setting nothing leaves a missing key missing and a present one unchanged.
        Found::Missing if patch.is_empty() => return ctx.out.int(0),
        Found::String(len) if patch.is_empty() => return ctx.out.int(len as i64),
        Found::Missing => None,
        Found::String(len) => Some(len),
    };
    if !check_string_length(ctx, offset, patch.len() as u64) {
        return;
    }
    let offset = offset as usize;
    let end = offset + patch.len();
    let new_len = match old_len {
        None => {
            let mut value = vec![0u8; end];
            value[offset..].copy_from_slice(patch);
            create(ctx, key, &value, SETRANGE);
            end
        }
        Some(len) => {
            ctx.ks.get().modify(db, key, &[SETRANGE], |e| {
                if end > len {
                    e.edit_string(|v| v.resize(end, 0));
                }
                e.str_value_mut()[offset..end].copy_from_slice(patch);
                ((), true)
            });
            len.max(end)
        }
    };
    ctx.out.int(new_len as i64);
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) {
    incr_by(ctx, &args[1], 1);
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) {
    incr_by(ctx, &args[1], -1);
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(delta) = parse_i64(&args[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    incr_by(ctx, &args[1], delta);
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) {
    match parse_i64(&args[2]) {
        None => ctx.out.error(errors::NOT_INTEGER),
        Some(i64::MIN) => ctx.out.error("ERR decrement would overflow"),
        Some(delta) => incr_by(ctx, &args[1], -delta),
    }
}

/// Adds `delta` to the integer stored at `key` (0 if missing) and replies with the result:
/// the read and the write work on one entry handle.
fn incr_by(ctx: &mut Ctx, key: &[u8], delta: i64) {
    let db = ctx.db();
    let mut entry = ctx.ks.get().entry(db, key);
    let current = match entry.get() {
        None => None,
        Some(e) if !e.is_string() => return ctx.out.error(errors::WRONGTYPE),
        Some(e) => match parse_i64(e.str_value()) {
            Some(v) => Some(v),
            None => return ctx.out.error(errors::NOT_INTEGER),
        },
    };
    let Some(result) = current.unwrap_or(0).checked_add(delta) else {
        return ctx.out.error(errors::OVERFLOW);
    };
    let mut digits = itoa::Buffer::new();
    let text = digits.format(result).as_bytes();
    if current.is_some() {
        entry.modify(&[INCRBY], |e| (e.set_string(text), true));
    } else {
        entry.upsert(Entry::string(key, text, 0), &[INCRBY]);
    }
    ctx.out.int(result);
}

fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let db = ctx.db();
    let current = match ctx.ks.get().get(db, key) {
        None => None,
        Some(e) if !e.is_string() => return ctx.out.error(errors::WRONGTYPE),
        Some(e) => match parse_f64(e.str_value()) {
            Some(v) => Some(v),
            None => return ctx.out.error(errors::NOT_FLOAT),
        },
    };
    let Some(delta) = parse_f64(&args[2]) else {
        return ctx.out.error(errors::NOT_FLOAT);
    };
    let result = current.unwrap_or(0.0) + delta;
    if !result.is_finite() {
        return ctx.out.error("ERR increment would produce NaN or Infinity");
    }
    let text = format_float(result);
    if current.is_some() {
        ctx.ks.get().modify(db, key, &[INCRBYFLOAT], |e| (e.set_string(text.as_bytes()), true));
    } else {
        create(ctx, key, text.as_bytes(), INCRBYFLOAT);
    }
    ctx.out.bulk(text.as_bytes());
}

/// INCRBYFLOAT's text form of a finite double: the shortest decimal that reads back as the
/// same value, never in exponent notation, and never `-0`.
pub(crate) fn format_float(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else {
        format!("{v}")
    }
}

// ----- LCS -----

/// One matching stretch found by LCS IDX: byte ranges (inclusive) in the first and second
/// string.
struct LcsMatch {
    a: (usize, usize),
    b: (usize, usize),
}

fn lcs(ctx: &mut Ctx, args: &[Bytes]) {
    let a = read_string(ctx, &args[1]);
    let b = read_string(ctx, &args[2]);
    let (a, b) = match (a, b) {
        (Found::WrongType, _) | (_, Found::WrongType) => {
            return ctx.out.error("ERR The specified keys must contain string values");
        }
        (a, b) => (found_or_empty(a), found_or_empty(b)),
    };
    let (mut want_len, mut want_idx, mut with_match_len, mut min_match_len) = (false, false, false, 0usize);
    let mut i = 3;
    while i < args.len() {
        let opt = &args[i];
        if is(opt, "IDX") {
            want_idx = true;
        } else if is(opt, "LEN") {
            want_len = true;
        } else if is(opt, "WITHMATCHLEN") {
            with_match_len = true;
        } else if is(opt, "MINMATCHLEN") && i + 1 < args.len() {
            let Some(n) = parse_i64(&args[i + 1]) else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            min_match_len = n.max(0) as usize;
            i += 1;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 1;
    }
    if want_idx && want_len {
        return ctx.out.error("ERR If you want both the length and indexes, please just use IDX.");
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return ctx.out.error("ERR String too long for LCS");
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells * 4 > max_string_len(ctx) {
        return ctx.out.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return ctx.out.error("ERR Insufficient memory, failed allocating transient memory for LCS");
    }
    let (len, common, matches) = lcs_table(&a, &b, table, want_idx || !want_len);
    if want_idx {
        let shown: Vec<&LcsMatch> =
            matches.iter().filter(|m| min_match_len == 0 || m.a.1 - m.a.0 + 1 >= min_match_len).collect();
        ctx.out.map(2);
        ctx.out.bulk(b"matches");
        ctx.out.array(shown.len());
        for m in shown {
            ctx.out.array(2 + with_match_len as usize);
            for (start, end) in [m.a, m.b] {
                ctx.out.array(2);
                ctx.out.int(start as i64);
                ctx.out.int(end as i64);
            }
            if with_match_len {
                ctx.out.int((m.a.1 - m.a.0 + 1) as i64);
            }
        }
        ctx.out.bulk(b"len");
        ctx.out.int(len as i64);
    } else if want_len {
        ctx.out.int(len as i64);
    } else {
        ctx.out.bulk(&common);
    }
}

fn found_or_empty(found: Found<Vec<u8>>) -> Vec<u8> {
    match found {
        Found::String(v) => v,
        Found::Missing | Found::WrongType => Vec::new(),
    }
}

/// The dynamic-programming LCS of Redis's `lcsCommand`. Returns the length of the longest
/// common subsequence and, if `walk`, the subsequence itself and the matching stretches from
/// the end backwards.
fn lcs_table(a: &[u8], b: &[u8], mut table: Vec<u32>, walk: bool) -> (usize, Vec<u8>, Vec<LcsMatch>) {
    let width = b.len() + 1;
    table.resize(width * (a.len() + 1), 0);
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let total = table[a.len() * width + b.len()] as usize;
    if !walk {
        return (total, Vec::new(), Vec::new());
    }
    let mut common = vec![0u8; total];
    let mut matches = Vec::new();
    let mut current: Option<LcsMatch> = None;
    let (mut i, mut j, mut idx) = (a.len(), b.len(), total);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            common[idx - 1] = a[i - 1];
            match current.as_mut() {
                None => current = Some(LcsMatch { a: (i - 1, i - 1), b: (j - 1, j - 1) }),
                // Extend the stretch backwards while it stays contiguous in both strings.
                Some(m) if m.a.0 == i && m.b.0 == j => {
                    m.a.0 -= 1;
                    m.b.0 -= 1;
                }
                Some(_) => emit = true,
            }
            if current.as_ref().is_some_and(|m| m.a.0 == 0 || m.b.0 == 0) {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = current.is_some();
        }
        if emit {
            matches.extend(current.take());
        }
    }
    (total, common, matches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Client, ClientHandle};
    use crate::protocol::ReplyBuf;
    use crate::server::Shared;

    /// Runs each command's handler in turn and returns the keyspace events they queued, as
    /// `event key` strings.
    fn events_of(commands: &[&[&str]]) -> Vec<String> {
        let config = crate::config::Config::load(None, &[]).expect("default config");
        let shared = Shared::new(config).expect("server state");
        shared.lock_keyspace().notify_flags = notify::parse("KEAm").expect("flags");
        let mut client = Client::new(ClientHandle::new(1, String::new(), String::new(), -1), true);
        let mut out = ReplyBuf::new();
        let mut ctx = Ctx::new(&shared, &mut client, &mut out);
        for words in commands {
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes())).collect();
            let spec = COMMANDS
                .iter()
                .chain(super::super::bitmaps::COMMANDS)
                .find(|c| c.name.eq_ignore_ascii_case(words[0]))
                .expect("a string or bit command");
            (spec.run)(&mut ctx, &args);
        }
        let effects = ctx.ks.get().take_effects();
        effects
            .iter()
            .filter_map(|e| e.event.map(|ev| format!("{} {}", ev.name, String::from_utf8_lossy(&e.key))))
            .collect()
    }

    /// SET, GET and INCR, run by the dispatcher (admission included), walk the key's probe
    /// sequence once each: the lookup and the write share one entry handle, and admission's
    /// tenant and hash are handed to it.
    #[test]
    fn set_get_incr_probe_once() {
        let config = crate::config::Config::load(None, &[]).expect("default config");
        let shared = Shared::new(config).expect("server state");
        let mut client = Client::new(ClientHandle::new(1, String::new(), String::new(), -1), true);
        let mut out = ReplyBuf::new();
        let mut ctx = Ctx::new(&shared, &mut client, &mut out);
        let mut walks = |words: &[&str]| {
            let args: Vec<Bytes> = words.iter().map(|w| Bytes::copy_from_slice(w.as_bytes())).collect();
            let before = crate::storage::table::probes::walked();
            crate::commands::execute(&mut ctx, &args);
            crate::storage::table::probes::walked() - before
        };
        // The tenant's first key finds no table to probe.
        assert_eq!(walks(&["set", "acme:first", "v"]), 0);
        for i in 0..50 {
            let (key, counter) = (format!("acme:k{i}"), format!("acme:n{i}"));
            assert_eq!(walks(&["set", &key, "v"]), 1, "SET of a new key");
            assert_eq!(walks(&["set", &key, "w"]), 1, "SET over a key");
            assert_eq!(walks(&["get", &key]), 1, "GET");
            assert_eq!(walks(&["get", "acme:missing"]), 1, "GET of a missing key");
            assert_eq!(walks(&["incr", &counter]), 1, "INCR of a new key");
            assert_eq!(walks(&["incr", &counter]), 1, "INCR");
        }
        drop(ctx);
        assert!(!String::from_utf8_lossy(&out.buf).contains("-ERR"));
    }

    #[test]
    fn keyspace_events() {
        assert_eq!(events_of(&[&["set", "k", "v", "EX", "10"]]), ["set k", "expire k"]);
        assert_eq!(events_of(&[&["set", "k", "v", "NX"], &["setnx", "k", "w"]]), ["set k"]);
        assert_eq!(events_of(&[&["mset", "a", "1", "b", "2"]]), ["set a", "set b"]);
        assert_eq!(events_of(&[&["append", "k", "v"], &["append", "k", "v"]]), ["append k", "append k"]);
        assert_eq!(events_of(&[&["incr", "n"], &["decrby", "n", "5"]]), ["incrby n", "incrby n"]);
        assert_eq!(events_of(&[&["incrbyfloat", "f", "1.5"]]), ["incrbyfloat f"]);
        assert_eq!(events_of(&[&["setrange", "k", "1", "x"], &["setrange", "k", "0", ""]]), ["setrange k"]);
        assert_eq!(events_of(&[&["setbit", "b", "1", "1"], &["setbit", "b", "1", "1"]]), ["setbit b"]);
        assert_eq!(
            events_of(&[&["set", "k", "v"], &["getdel", "k"], &["getdel", "k"]]),
            ["set k", "del k", "keymiss k"]
        );
        assert_eq!(
            events_of(&[&["set", "k", "v", "PX", "100000"], &["getex", "k", "PERSIST"], &["getex", "k", "PERSIST"]]),
            ["set k", "expire k", "persist k"]
        );
        assert_eq!(events_of(&[&["set", "k", "v"], &["getex", "k", "EX", "5"]]), ["set k", "expire k"]);
        assert_eq!(events_of(&[&["set", "k", "v"], &["getex", "k", "PXAT", "1"]]), ["set k", "del k"]);
        assert_eq!(events_of(&[&["get", "nope"]]), ["keymiss nope"]);
    }

    #[test]
    fn getrange_indexes() {
        assert_eq!(byte_range(11, 0, 3), Some((0, 3)));
        assert_eq!(byte_range(11, -4, -1), Some((7, 10)));
        assert_eq!(byte_range(11, 5, 3), None);
        assert_eq!(byte_range(11, -5000, 10000), Some((0, 10)));
        assert_eq!(byte_range(11, -1, -5), None);
        assert_eq!(byte_range(0, 0, -1), None);
        assert_eq!(byte_range(3, 0, 4294967297), Some((0, 2)));
    }

    #[test]
    fn float_text() {
        assert_eq!(format_float(10.5 + 0.1), "10.6");
        assert_eq!(format_float(-0.0), "0");
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(17179869185.5), "17179869185.5");
    }

    #[test]
    fn lcs_matches() {
        let (len, common, matches) = lcs_table(b"ohmytext", b"mynewtext", Vec::new(), true);
        assert_eq!((len, &common[..]), (6, &b"mytext"[..]));
        let ranges: Vec<_> = matches.iter().map(|m| (m.a, m.b)).collect();
        assert_eq!(ranges, vec![((4, 7), (5, 8)), ((2, 3), (0, 1))]);
    }
}
