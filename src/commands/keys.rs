//! Generic key commands (Redis's `db.c`, `expire.c` and `object.c`): DEL, UNLINK, EXISTS, TYPE,
//! KEYS, SCAN, RANDOMKEY, RENAME, RENAMENX, COPY, MOVE, TOUCH, OBJECT, the EXPIRE family, TTL
//! and friends, PERSIST. Replies, errors and keyspace events follow Redis 7.

use super::args::{self, is};
use super::flags::*;
use super::table::key_access;
use super::{errors, CommandSpec, Ctx};
use crate::engine::persist::rdb::PayloadError;
use crate::engine::persist::snapshot;
use crate::glob::glob_match;
use crate::protocol::ReplyBuf;
use crate::storage::{events, lookup, notify, Entry, KeyEvent, Kind, Removal};
use crate::{cmd, container, subcmd};
use bytes::Bytes;

const SAME_OBJECT: &str = "ERR source and destination objects are the same";

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("del", -2, WRITE, (1, -1, 1), "generic", "1.0.0", "Deletes one or more keys.", del)
        .key_access(&[key_access::DELETE]),
    cmd!("unlink", -2, WRITE | FAST, (1, -1, 1), "generic", "4.0.0", "Asynchronously deletes one or more keys.", del)
        .key_access(&[key_access::DELETE]),
    cmd!(
        "exists",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Determines whether one or more keys exist.",
        exists
    ),
    cmd!(
        "type",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Determines the type of value stored at a key.",
        key_type
    ),
    cmd!("keys", 2, READONLY, (0, 0, 0), "generic", "1.0.0", "Returns all key names that match a pattern.", keys),
    cmd!("scan", -2, READONLY, (0, 0, 0), "generic", "2.8.0", "Iterates over the key names in the database.", scan),
    cmd!(
        "randomkey",
        1,
        READONLY,
        (0, 0, 0),
        "generic",
        "1.0.0",
        "Returns a random key name from the database.",
        randomkey
    ),
    cmd!("rename", 3, WRITE, (1, 2, 1), "generic", "1.0.0", "Renames a key and overwrites the destination.", rename)
        .key_access(&[key_access::POP, key_access::OVERWRITE]),
    cmd!(
        "renamenx",
        3,
        WRITE | FAST,
        (1, 2, 1),
        "generic",
        "1.0.0",
        "Renames a key only when the target key name doesn't exist.",
        renamenx
    )
    .key_access(&[key_access::POP, key_access::OVERWRITE]),
    cmd!("copy", -3, WRITE | DENYOOM, (1, 2, 1), "generic", "6.2.0", "Copies the value of a key to a new key.", copy)
        .key_access(&[key_access::READ, key_access::OVERWRITE]),
    cmd!("move", 3, WRITE | FAST, (1, 1, 1), "generic", "1.0.0", "Moves a key to another database.", move_key),
    cmd!(
        "dump",
        2,
        READONLY,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Returns a serialized representation of the value stored at a key.",
        dump
    )
    .key_access(&[key_access::READ]),
    cmd!(
        "restore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Creates a key from the serialized representation of a value.",
        restore
    )
    .key_access(&[key_access::OVERWRITE]),
    cmd!(
        "touch",
        -2,
        READONLY | FAST,
        (1, -1, 1),
        "generic",
        "3.2.1",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed.",
        touch
    ),
    container!("object", "generic", "2.2.3", "A container for object introspection commands.", OBJECT),
    cmd!(
        "expire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Sets the expiration time of a key in seconds.",
        expire
    ),
    cmd!(
        "pexpire",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Sets the expiration time of a key in milliseconds.",
        pexpire
    ),
    cmd!(
        "expireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp.",
        expireat
    ),
    cmd!(
        "pexpireat",
        -3,
        WRITE | FAST,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        pexpireat
    ),
    cmd!(
        "ttl",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Returns the expiration time in seconds of a key.",
        ttl
    ),
    cmd!(
        "pttl",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Returns the expiration time in milliseconds of a key.",
        pttl
    ),
    cmd!(
        "expiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp.",
        expiretime
    ),
    cmd!(
        "pexpiretime",
        2,
        READONLY | FAST,
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        pexpiretime
    ),
    cmd!("persist", 2, WRITE | FAST, (1, 1, 1), "generic", "2.2.0", "Removes the expiration time of a key.", persist),
];

static OBJECT: &[CommandSpec] = &[
    subcmd!(
        "object",
        "encoding",
        3,
        READONLY,
        (2, 2, 1),
        "Returns the internal encoding of a Redis object.",
        object_encoding
    ),
    subcmd!(
        "object",
        "freq",
        3,
        READONLY,
        (2, 2, 1),
        "Returns the logarithmic access frequency counter of a Redis object.",
        object_freq
    ),
    subcmd!(
        "object",
        "idletime",
        3,
        READONLY,
        (2, 2, 1),
        "Returns the time since the last access to a Redis object.",
        object_idletime
    ),
    subcmd!(
        "object",
        "refcount",
        3,
        READONLY,
        (2, 2, 1),
        "Returns the reference count of a value of a key.",
        object_refcount
    ),
    subcmd!(
        "object",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        object_help
    ),
];

// ----- existence and deletion -----

/// DEL and UNLINK: values big enough to matter are freed off the command path either way.
fn del(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let mut n = 0;
    for key in &args[1..] {
        if ks.remove(db, key, Removal::Deleted) {
            n += 1;
        }
    }
    ctx.out.int(n);
}

/// Counts repeated keys once per mention, as Redis does.
fn exists(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let n = args[1..].iter().filter(|k| ks.read_with(db, k, lookup::NOTOUCH).is_some()).count();
    ctx.out.int(n as i64);
}

fn touch(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let n = args[1..].iter().filter(|k| ks.read(db, k).is_some()).count();
    ctx.out.int(n as i64);
}

fn key_type(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let name = ctx.ks.get().read_with(db, &args[1], lookup::NOTOUCH).map_or("none", |e| e.kind().name());
    ctx.out.simple(name);
}

// ----- iteration -----

fn keys(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    crate::commands::listing::reply_matching(ctx.out, ks.live_entries(db).map(Entry::key), Some(&args[1]));
}

fn scan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(cursor) = args::cursor(ctx, &args[1]) else {
        return;
    };
    let o = match args::scan_options(&args[2..], args::ScanExtra::Type) {
        Ok(o) => o,
        Err(msg) => return ctx.out.error(msg),
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    let now = ks.now_ms;
    // (key, expired): filter by pattern first, then reclaim the expired keys, then by type,
    // in Redis's order.
    let mut candidates: Vec<(Vec<u8>, bool, Kind)> = Vec::new();
    let next = ks.scan(db, cursor, o.count, |e| {
        if o.pattern.is_none_or(|p| glob_match(p, e.key(), false)) {
            candidates.push((e.key().to_vec(), e.is_expired(now), e.kind()));
        }
    });
    let mut found = Vec::with_capacity(candidates.len());
    for (key, expired, kind) in candidates {
        if expired {
            // Lazily expires the key (and raises its `expired` event).
            ks.get(db, &key);
            continue;
        }
        if o.type_name.is_some_and(|t| !t.eq_ignore_ascii_case(kind.name().as_bytes())) {
            continue;
        }
        found.push(key);
    }
    crate::commands::listing::reply_scan_head(ctx.out, next, found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
}

fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) {
    let db = ctx.db();
    match ctx.ks.get().random_key(db, &mut ctx.client.rng) {
        Some(k) => ctx.out.bulk(&k),
        None => ctx.out.null(),
    }
}

// ----- renaming, copying, moving -----

fn rename(ctx: &mut Ctx, args: &[Bytes]) {
    rename_generic(ctx, args, false);
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) {
    rename_generic(ctx, args, true);
}

fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) {
    let (src, dst) = (&args[1][..], &args[2][..]);
    let db = ctx.db();
    let ks = ctx.ks.get();
    if !ks.exists(db, src) {
        return ctx.out.error(errors::NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { ctx.out.int(0) } else { ctx.out.ok() };
    }
    if ks.exists(db, dst) {
        if nx {
            return ctx.out.int(0);
        }
        // Redis deletes the old destination without a `del` event.
        ks.remove(db, dst, Removal::Overwritten);
    }
    let (from, to) = (KeyEvent::new(notify::GENERIC, "rename_from"), KeyEvent::new(notify::GENERIC, "rename_to"));
    ks.relocate(db, src, db, dst, from, to);
    if nx {
        ctx.out.int(1)
    } else {
        ctx.out.ok()
    }
}

/// A database index argument: an integer, then in range.
fn db_index(ctx: &mut Ctx, arg: &[u8]) -> Option<usize> {
    let n = args::int(ctx, arg)?;
    if i32::try_from(n).is_err() {
        ctx.out.error(errors::NOT_INTEGER);
        return None;
    }
    if n < 0 || n as usize >= ctx.ks.get().databases() {
        ctx.out.error(errors::DB_INDEX);
        return None;
    }
    Some(n as usize)
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let mut to_db = db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "db") && i + 1 < args.len() {
            let Some(n) = db_index(ctx, &args[i + 1]) else {
                return;
            };
            to_db = n;
            i += 1;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 1;
    }
    let (src, dst) = (&args[1][..], &args[2][..]);
    if db == to_db && src == dst {
        return ctx.out.error(SAME_OBJECT);
    }
    let ks = ctx.ks.get();
    let Some(duplicate) = ks.read(db, src).map(|e| e.renamed(dst)) else {
        return ctx.out.int(0);
    };
    if ks.exists(to_db, dst) {
        if !replace {
            return ctx.out.int(0);
        }
        ks.remove(to_db, dst, Removal::Overwritten);
    }
    ks.insert(to_db, duplicate, &[KeyEvent::new(notify::GENERIC, "copy_to")]);
    ctx.out.int(1);
}

/// DUMP key: the value in Redis's DUMP format (RDB serialization, RDB version, CRC-64), or nil.
fn dump(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let compress = ctx.shared.config.read().get_bool("rdbcompression");
    let ks = ctx.ks.get();
    let options = snapshot::write_options(ks, compress);
    match ks.read(db, &args[1]).map(|e| snapshot::dump_entry(e, options)) {
        None => ctx.out.null(),
        Some(Ok(payload)) => ctx.out.bulk(&payload),
        Some(Err(e)) => ctx.out.error(&format!("ERR {e}")),
    }
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency], checked in
/// Redis's order: options, an existing key (`BUSYKEY` without REPLACE), the TTL, the payload's
/// footer, then its value. A TTL already past stores nothing (and REPLACE still deletes).
fn restore(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut i = 4;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "absttl") {
            absttl = true;
        } else if is(&args[i], "idletime") && has_value && freq.is_none() {
            let Some(n) = args::int(ctx, &args[i + 1]) else { return };
            if n < 0 {
                return ctx.out.error("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(n);
            i += 1;
        } else if is(&args[i], "freq") && has_value && idle.is_none() {
            let Some(n) = args::int(ctx, &args[i + 1]) else { return };
            if !(0..=255).contains(&n) {
                return ctx.out.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(n);
            i += 1;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 1;
    }
    let db = ctx.db();
    let key = &args[1][..];
    let ks = ctx.ks.get();
    if !replace && ks.exists(db, key) {
        return ctx.out.error("BUSYKEY Target key name already exists.");
    }
    let Some(ttl) = args::int(ctx, &args[2]) else { return };
    if ttl < 0 {
        return ctx.out.error("ERR Invalid TTL value, must be >= 0");
    }
    let ks = ctx.ks.get();
    let mut entry = match snapshot::restored_entry(ks, key, &args[3]) {
        Ok(entry) => entry,
        Err(PayloadError::VersionOrChecksum) => return ctx.out.error("ERR DUMP payload version or checksum are wrong"),
        Err(PayloadError::BadFormat(_)) => return ctx.out.error("ERR Bad data format"),
    };
    let expire_at = match ttl {
        0 => 0,
        t if absttl => t as u64,
        t => ks.now_ms.saturating_add(t as u64),
    };
    if expire_at != 0 && expire_at <= ks.now_ms {
        // Already expired: nothing is stored, and REPLACE deletes the key, as in Redis.
        if replace {
            ks.remove(db, key, Removal::Deleted);
        }
        return ctx.out.ok();
    }
    if replace {
        ks.remove(db, key, Removal::Overwritten);
    }
    entry.set_expire_at(expire_at);
    ks.insert(db, entry, &[KeyEvent::new(notify::GENERIC, "restore")]);
    let access = snapshot::access_of(ks, idle.map(|n| n as u64), freq.map(|n| n as u8));
    if let Some(access) = access {
        ks.modify(db, key, &[], |e| {
            e.set_access(access);
            ((), false)
        });
    }
    ctx.out.ok();
}

fn move_key(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(to_db) = db_index(ctx, &args[2]) else {
        return;
    };
    let db = ctx.db();
    if to_db == db {
        return ctx.out.error(SAME_OBJECT);
    }
    let key = &args[1][..];
    let ks = ctx.ks.get();
    if !ks.exists(db, key) || ks.exists(to_db, key) {
        return ctx.out.int(0);
    }
    let (from, to) = (KeyEvent::new(notify::GENERIC, "move_from"), KeyEvent::new(notify::GENERIC, "move_to"));
    ks.relocate(db, key, to_db, key, from, to);
    ctx.out.int(1);
}

// ----- OBJECT -----

/// Shared integer objects (Redis's `OBJ_SHARED_INTEGERS`): values in 0..10000 are one object
/// with a fixed reference count, unless the eviction policy needs per-key access data.
const SHARED_INTEGERS: i64 = 10_000;
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Strings up to this length are allocated with their header (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
const EMBSTR_LIMIT: usize = 44;

/// The integer a string value would be stored as by Redis (`tryObjectEncoding`), if any.
fn int_encoded(value: &[u8]) -> Option<i64> {
    if value.len() > 20 {
        return None;
    }
    crate::util::parse_i64(value)
}

/// The encoding Redis would report for a string of this content. A HyperLogLog is raw
/// however short: Redis creates it raw and every PF command makes it raw again.
fn string_encoding(value: &[u8]) -> &'static str {
    if int_encoded(value).is_some() {
        "int"
    } else if value.len() <= EMBSTR_LIMIT && crate::base::hll::encoding(value).is_none() {
        "embstr"
    } else {
        "raw"
    }
}

/// Eviction policy facts OBJECT needs: (LFU selected, shared integers allowed).
fn policy(ctx: &mut Ctx) -> (bool, bool) {
    use crate::storage::evict::Policy;
    let ks = ctx.ks.get();
    let lfu = ks.policy.is_lfu();
    let per_key_access = lfu || matches!(ks.policy, Policy::AllKeysLru | Policy::VolatileLru);
    (lfu, ks.maxmemory == 0 || !per_key_access)
}

/// OBJECT looks keys up without touching them or reporting a miss; a missing key is null.
fn object_entry<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a Entry> {
    let db = ctx.db();
    ctx.ks.get().read_with(db, key, lookup::NOTOUCH | lookup::NONOTIFY)
}

/// The encoding OBJECT ENCODING names for an entry's value.
pub(super) fn encoding_of(e: &Entry) -> &'static str {
    match e.collection() {
        None => string_encoding(e.str_value()),
        Some(c) => c.encoding(),
    }
}

fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) {
    let encoding = object_entry(ctx, &args[2]).map(encoding_of);
    match encoding {
        Some(enc) => ctx.out.bulk(enc.as_bytes()),
        None => ctx.out.null(),
    }
}

fn object_freq(ctx: &mut Ctx, args: &[Bytes]) {
    let (lfu, _) = policy(ctx);
    let Some(access) = object_entry(ctx, &args[2]).map(|e| e.access()) else {
        return ctx.out.null();
    };
    if !lfu {
        return ctx.out.error("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    }
    // Under an LFU policy the access field holds Redis's LFU state; report the counter after
    // decay, as Redis does.
    let ks = ctx.ks.get();
    ctx.out.int(crate::storage::evict::lfu::decayed(access, ks.now_ms, ks.lfu_decay_time) as i64);
}

fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) {
    let (lfu, _) = policy(ctx);
    let Some(access) = object_entry(ctx, &args[2]).map(|e| e.access()) else {
        return ctx.out.null();
    };
    if lfu {
        return ctx.out.error("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    }
    let idle = ctx.ks.get().idle_seconds_since(access);
    ctx.out.int(idle as i64);
}

fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) {
    let (_, shared_integers) = policy(ctx);
    let shared = object_entry(ctx, &args[2]).map(|e| {
        e.is_string()
            && shared_integers
            && int_encoded(e.str_value()).is_some_and(|v| (0..SHARED_INTEGERS).contains(&v))
    });
    match shared {
        Some(true) => ctx.out.int(SHARED_REFCOUNT),
        Some(false) => ctx.out.int(1),
        None => ctx.out.null(),
    }
}

fn object_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::introspection::help_reply(
        ctx,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
}

// ----- expiry -----

fn expire(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, "expire", 1000, false);
}

fn pexpire(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, "pexpire", 1, false);
}

fn expireat(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, "expireat", 1000, true);
}

fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, "pexpireat", 1, true);
}

/// EXPIRE key time [NX | XX | GT | LT] and its millisecond / absolute forms. A time already
/// past deletes the key (event `del`); otherwise the expiry is set (event `expire`).
fn expire_generic(ctx: &mut Ctx, args: &[Bytes], name: &str, unit_ms: i64, absolute: bool) {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        if is(opt, "nx") {
            nx = true;
        } else if is(opt, "xx") {
            xx = true;
        } else if is(opt, "gt") {
            gt = true;
        } else if is(opt, "lt") {
            lt = true;
        } else {
            return ctx.out.error(&format!("ERR Unsupported option {}", args::text(opt)));
        }
    }
    if nx && (xx || gt || lt) {
        return ctx.out.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return ctx.out.error("ERR GT and LT options at the same time are not compatible");
    }
    let Some(mut when) = args::int(ctx, &args[2]) else {
        return;
    };
    // The message is only formatted when it is sent.
    let invalid = |out: &mut ReplyBuf| out.error(&format!("ERR invalid expire time in '{name}' command"));
    // Negative times are allowed (they delete the key); only overflow is an error.
    when = match when.checked_mul(unit_ms) {
        Some(ms) => ms,
        None => return invalid(ctx.out),
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    let now = ks.now_ms as i64;
    // A log being loaded keeps a past time as the key's expiry, as Redis does: later commands
    // of the log still find the key, and it expires once the server serves.
    let deletes_past = !ks.is_loading();
    if !absolute {
        when = match when.checked_add(now) {
            Some(at) => at,
            None => return invalid(ctx.out),
        };
    }
    enum Outcome {
        Refused,
        Past,
        Set,
    }
    let key = &args[1][..];
    // One lookup: the current expiry decides, and a future time is set in the same visit.
    let mut entry = ks.entry(db, key);
    let outcome = entry.modify(&[events::EXPIRE], |e| {
        let current = e.expire_at();
        // No expiry counts as an infinite TTL for GT and LT.
        let refused = (nx && current != 0)
            || (xx && current == 0)
            || (gt && (current == 0 || when <= current as i64))
            || (lt && current != 0 && when >= current as i64);
        if refused {
            (Outcome::Refused, false)
        } else if when <= now && deletes_past {
            (Outcome::Past, false)
        } else {
            // Setting a TTL counts as a change even when it is the same one, as in Redis.
            e.set_expire_at(when.max(1) as u64);
            (Outcome::Set, true)
        }
    });
    match outcome {
        None | Some(Outcome::Refused) => return ctx.out.int(0),
        Some(Outcome::Past) => {
            entry.remove(Removal::Deleted);
        }
        Some(Outcome::Set) => {}
    }
    ctx.out.int(1);
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, false, false);
}

fn pttl(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, true, false);
}

fn expiretime(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, false, true);
}

fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, true, true);
}

/// -2 for a missing key, -1 for a key without expiry; seconds are rounded to the nearest.
fn ttl_generic(ctx: &mut Ctx, args: &[Bytes], millis: bool, absolute: bool) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let now = ks.now_ms as i64;
    let reply = match ks.read_with(db, &args[1], lookup::NOTOUCH) {
        None => -2,
        Some(e) if e.expire_at() == 0 => -1,
        Some(e) => {
            let ms = if absolute { e.expire_at() as i64 } else { (e.expire_at() as i64 - now).max(0) };
            if millis {
                ms
            } else {
                (ms + 500) / 1000
            }
        }
    };
    ctx.out.int(reply);
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let key = &args[1][..];
    let ks = ctx.ks.get();
    // A key without a TTL is left as it is: no event, and its watchers' transactions go on.
    let had_expiry = ks
        .modify(db, key, &[events::PERSIST], |e| {
            let had_expiry = e.take_expiry();
            (had_expiry, had_expiry)
        })
        .unwrap_or(false);
    ctx.out.int(had_expiry as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_encodings_by_content() {
        assert_eq!(string_encoding(b"12345"), "int");
        assert_eq!(string_encoding(b"-9223372036854775808"), "int");
        assert_eq!(string_encoding(b"9223372036854775808"), "embstr");
        assert_eq!(string_encoding(b"012"), "embstr");
        assert_eq!(string_encoding(b""), "embstr");
        assert_eq!(string_encoding(&[b'a'; 44]), "embstr");
        assert_eq!(string_encoding(&[b'a'; 45]), "raw");
        assert_eq!(string_encoding(&crate::base::hll::new_sparse()), "raw");
    }
}
