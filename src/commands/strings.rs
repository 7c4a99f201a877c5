//! String commands (Redis's `t_string.c`).

use super::args::is;
use super::flags::*;
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use crate::storage::{notify, Entry};
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("get", 2, READONLY | FAST, (1, 1, 1), "string", "1.0.0", "Returns the string value of a key.", get),
    cmd!("set", -3, WRITE | DENYOOM, (1, 1, 1), "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", set),
];

/// Writes the string value of `key`, or null; WRONGTYPE for collections.
fn get(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match ctx.ks.get().read(db, &args[1]) {
        None => ctx.out.null(),
        Some(e) if e.is_string() => ctx.out.bulk(e.str_value()),
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

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

/// Parses SET options from `args`; `extra` may claim further options (TAG.SET's `TAGS`) and
/// returns how many arguments it consumed. Writes the error reply and returns `None` on error.
pub fn parse_set_options(
    ctx: &mut Ctx,
    args: &[Bytes],
    mut extra: impl FnMut(&[Bytes]) -> Option<usize>,
) -> Option<SetOptions> {
    let mut o = SetOptions::default();
    let mut i = 0;
    let now = ctx.ks.get().now_ms;
    let mut expire_seen = false;
    while i < args.len() {
        let a = &args[i];
        let unit = if is(a, "EX") {
            Some((1000, false))
        } else if is(a, "PX") {
            Some((1, false))
        } else if is(a, "EXAT") {
            Some((1000, true))
        } else if is(a, "PXAT") {
            Some((1, true))
        } else {
            None
        };
        if let Some((mul, absolute)) = unit {
            if expire_seen || o.keep_ttl || i + 1 >= args.len() {
                ctx.out.error(errors::SYNTAX);
                return None;
            }
            let Some(n) = crate::util::parse_i64(&args[i + 1]) else {
                ctx.out.error(errors::NOT_INTEGER);
                return None;
            };
            if n <= 0
                || n.checked_mul(mul).is_none()
                || (!absolute && (n * mul).checked_add(now as i64).is_none())
            {
                ctx.out.error("ERR invalid expire time in 'set' command");
                return None;
            }
            let ms = n * mul;
            o.expire_at = Some(if absolute { ms as u64 } else { now + ms as u64 });
            expire_seen = true;
            i += 2;
            continue;
        }
        if is(a, "NX") && !o.xx {
            o.nx = true;
        } else if is(a, "XX") && !o.nx {
            o.xx = true;
        } else if is(a, "KEEPTTL") && !expire_seen {
            o.keep_ttl = true;
        } else if is(a, "GET") {
            o.get = true;
        } else if let Some(n) = extra(&args[i..]) {
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

fn set(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(opts) = parse_set_options(ctx, &args[3..], |_| None) else {
        return;
    };
    set_with(ctx, &args[1], &args[2], &opts);
}

/// Stores a string under the SET rules. Returns whether the value was written.
pub fn set_with(ctx: &mut Ctx, key: &[u8], value: &[u8], o: &SetOptions) -> bool {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let (exists, old_ttl, old_value) = match ks.get(db, key) {
        Some(e) => {
            if o.get && !e.is_string() {
                ctx.out.error(errors::WRONGTYPE);
                return false;
            }
            (
                true,
                e.expire_at,
                if o.get {
                    Some(e.str_value().to_vec())
                } else {
                    None
                },
            )
        }
        None => (false, 0, None),
    };
    if (o.nx && exists) || (o.xx && !exists) {
        if o.get {
            match old_value {
                Some(v) => ctx.out.bulk(&v),
                None => ctx.out.null(),
            }
        } else {
            ctx.out.null();
        }
        return false;
    }
    if let Some(at) = o.expire_at {
        if at <= ks.now_ms {
            // An expiry in the past deletes the key, as Redis does.
            ks.delete(db, key);
            ks.notify(notify::GENERIC, "del", db, key);
            reply_set(ctx, o, old_value);
            return true;
        }
    }
    let mut entry = Entry::string(key, value, 0);
    entry.expire_at = if o.keep_ttl {
        old_ttl
    } else {
        o.expire_at.unwrap_or(0)
    };
    ks.insert(db, entry);
    ks.notify(notify::STRING, "set", db, key);
    if o.expire_at.is_some() {
        ks.notify(notify::GENERIC, "expire", db, key);
    }
    reply_set(ctx, o, old_value);
    true
}

fn reply_set(ctx: &mut Ctx, o: &SetOptions, old_value: Option<Vec<u8>>) {
    if o.get {
        match old_value {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.ok();
    }
}
