//! HyperLogLog commands (Redis's `hyperloglog.c`): PFADD, PFCOUNT, PFMERGE, PFSELFTEST and
//! PFDEBUG, over string values in Redis's representation ([`crate::base::hll`]).
//!
//! A HyperLogLog is a plain string, so GET, SET, DUMP/RESTORE and snapshots carry it to and
//! from redis-server unchanged, and every write goes through the string paths (quotas,
//! memory accounting, WATCH, `pfadd` events of the string class). A dense value is changed in
//! place; a sparse one, at most `hll-sparse-max-bytes` long, is edited as a copy and stored
//! back. PFCOUNT of one key stores the cardinality it computed in the header, as Redis does:
//! a change without an event that still touches WATCH.

use super::flags::*;
use super::strings;
use super::table::key_access;
use super::{errors, CommandSpec, Ctx};
use crate::base::hll::{self, Encoding, RawRegisters};
use crate::cmd;
use crate::storage::{notify, Entry, KeyEvent};
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// PFCOUNT reads its keys and may write their cached cardinality back.
const READ_WRITE_BACK: &[&str] = &["RW", "ACCESS"];
/// PFMERGE's destination is read (as a source) and receives the union.
const READ_INSERT: &[&str] = &["RW", "ACCESS", "INSERT"];

// One line per command keeps the table readable as a table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("pfadd", -2, WRITE | DENYOOM | FAST, (1, 1, 1), "hyperloglog", "2.8.9", "Adds the specified elements to the specified HyperLogLog.", pfadd).key_access(&[key_access::INSERT]),
    cmd!("pfcount", -2, READONLY | MAY_REPLICATE, (1, -1, 1), "hyperloglog", "2.8.9", "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", pfcount).key_access(&[READ_WRITE_BACK]),
    cmd!("pfmerge", -2, WRITE | DENYOOM, (1, -1, 1), "hyperloglog", "2.8.9", "Merge N different HyperLogLogs into a single one.", pfmerge).key_access(&[READ_INSERT, key_access::READ]),
    cmd!("pfselftest", 1, ADMIN, (0, 0, 0), "hyperloglog", "2.8.9", "An internal command for testing HyperLogLog values", pfselftest),
    cmd!("pfdebug", 3, WRITE | DENYOOM | ADMIN, (2, 2, 1), "hyperloglog", "2.8.9", "Internal commands for debugging HyperLogLog values", pfdebug).key_access(&[READ_WRITE_BACK]),
];

/// PFMERGE announces itself as `pfadd` too, as Redis does ("a mass-add of elements").
const PFADD: KeyEvent = KeyEvent::new(notify::STRING, "pfadd");
const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

fn sparse_max_bytes(ctx: &Ctx) -> usize {
    ctx.shared.settings.hll_sparse_max_bytes.load(Ordering::Relaxed)
}

/// The encoding of the HyperLogLog held by `entry`, or the error to reply: another type, or
/// a string that is not a HyperLogLog.
fn checked(entry: &Entry) -> Result<Encoding, &'static str> {
    if !entry.is_string() {
        return Err(errors::WRONGTYPE);
    }
    hll::encoding(entry.str_value()).ok_or(NOT_HLL)
}

fn pfadd(ctx: &mut Ctx, args: &[Bytes]) {
    let (key, elements) = (&args[1], &args[2..]);
    let (db, max_bytes) = (ctx.db(), sparse_max_bytes(ctx));
    // The lookup and the write share one entry handle.
    let mut entry = ctx.ks.get().entry(db, key);
    let encoding = match entry.get() {
        None => None,
        Some(e) => match checked(e) {
            Ok(encoding) => Some(encoding),
            Err(msg) => return ctx.out.error(msg),
        },
    };
    let Some(encoding) = encoding else {
        // A new key always counts as an update, so its cache starts invalid.
        let mut value = hll::new_sparse();
        for element in elements {
            if hll::add(&mut value, element, max_bytes).is_err() {
                return ctx.out.error(CORRUPT);
            }
        }
        hll::invalidate_cache(&mut value);
        entry.upsert(Entry::string(key, &value, 0), &[PFADD]);
        return ctx.out.int(1);
    };
    let outcome = entry.modify(&[PFADD], |e| {
        let added = match encoding {
            Encoding::Dense => {
                let value = e.str_value_mut();
                let added = elements.iter().fold(false, |added, el| hll::dense_add(value, el) | added);
                Ok(added)
            }
            Encoding::Sparse => {
                let mut value = hll::editable(e.str_value());
                let mut added = Ok(false);
                for element in elements {
                    match hll::add(&mut value, element, max_bytes) {
                        Ok(a) => added = added.map(|b| a | b),
                        Err(c) => {
                            added = Err(c);
                            break;
                        }
                    }
                }
                // What was done before a corrupt opcode stays, unannounced, as in Redis.
                e.set_string(&value);
                added
            }
        };
        if added == Ok(true) {
            hll::invalidate_cache(e.str_value_mut());
        }
        (added, added == Ok(true))
    });
    match outcome {
        Some(Err(_)) => ctx.out.error(CORRUPT),
        Some(Ok(added)) => ctx.out.int(added as i64),
        None => ctx.out.int(0),
    }
}

/// The union of the registers of `keys` (missing keys are empty), and whether any of them is
/// dense; `None` once an error is replied.
fn union_of(ctx: &mut Ctx, keys: &[Bytes]) -> Option<(Box<RawRegisters>, bool)> {
    let db = ctx.db();
    let mut max: Box<RawRegisters> = vec![0u8; hll::REGISTERS].into_boxed_slice().try_into().expect("registers");
    let mut any_dense = false;
    let (ks, out) = (ctx.ks.get(), &mut *ctx.out);
    for key in keys {
        let Some(e) = ks.read(db, key) else { continue };
        match checked(e) {
            Err(msg) => {
                out.error(msg);
                return None;
            }
            Ok(encoding) => any_dense |= encoding == Encoding::Dense,
        }
        if hll::merge_into(&mut max, e.str_value()).is_err() {
            out.error(CORRUPT);
            return None;
        }
    }
    Some((max, any_dense))
}

fn pfcount(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 2 {
        if let Some((max, _)) = union_of(ctx, &args[1..]) {
            ctx.out.int(hll::count_raw(&max) as i64);
        }
        return;
    }
    let key = &args[1];
    let db = ctx.db();
    let (ks, out) = (ctx.ks.get(), &mut *ctx.out);
    let card = match ks.read(db, key) {
        None => return out.int(0),
        Some(e) => {
            if let Err(msg) = checked(e) {
                return out.error(msg);
            }
            let value = e.str_value();
            if let Some(card) = hll::cached_cardinality(value) {
                return out.int(card as i64);
            }
            match hll::count(value) {
                Ok(card) => card,
                Err(_) => return out.error(CORRUPT),
            }
        }
    };
    // The cache is part of the value: storing it is a change (WATCH sees it), with no event.
    ks.modify(db, key, &[], |e| {
        hll::set_cached_cardinality(e.str_value_mut(), card);
        ((), true)
    });
    out.int(card as i64);
}

fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) {
    // The destination is a source too.
    let Some((max, any_dense)) = union_of(ctx, &args[1..]) else {
        return;
    };
    let (dest, db, max_bytes) = (&args[1], ctx.db(), sparse_max_bytes(ctx));
    let merged = |value: &mut Vec<u8>| -> bool {
        if any_dense && hll::to_dense(value).is_err() {
            return false;
        }
        hll::store_registers(value, &max, max_bytes);
        hll::invalidate_cache(value);
        true
    };
    if ctx.ks.get().get(db, dest).is_none() {
        let mut value = hll::new_sparse();
        merged(&mut value);
        strings::create(ctx, dest, &value, PFADD);
        return ctx.out.ok();
    }
    let stored = ctx.ks.get().modify(db, dest, &[PFADD], |e| {
        let mut value = hll::editable(e.str_value());
        let ok = merged(&mut value);
        if ok {
            e.set_string(&value);
        }
        (ok, ok)
    });
    match stored {
        Some(false) => ctx.out.error(CORRUPT),
        _ => ctx.out.ok(),
    }
}

fn pfselftest(ctx: &mut Ctx, _args: &[Bytes]) {
    let max_bytes = sparse_max_bytes(ctx);
    let mut rng = crate::util::Rng::new();
    match hll::self_test(max_bytes, || rng.next_u64()) {
        Ok(()) => ctx.out.ok(),
        Err(msg) => ctx.out.error(&msg),
    }
}

fn pfdebug(ctx: &mut Ctx, args: &[Bytes]) {
    let (sub, key) = (&args[1], &args[2]);
    let db = ctx.db();
    let (ks, out) = (ctx.ks.get(), &mut *ctx.out);
    let encoding = match ks.get(db, key) {
        None => return out.error("ERR The specified key does not exist"),
        Some(e) => match checked(e) {
            Ok(encoding) => encoding,
            Err(msg) => return out.error(msg),
        },
    };
    let name = String::from_utf8_lossy(sub);
    match name.to_ascii_lowercase().as_str() {
        "getreg" | "todense" => {
            let converted = encoding == Encoding::Sparse;
            if converted {
                // The conversion is a write (propagated as Redis counts it dirty).
                let ok = ks.modify(db, key, &[], |e| {
                    let mut value = e.str_value().to_vec();
                    let ok = hll::to_dense(&mut value).is_ok();
                    if ok {
                        e.set_string(&value);
                    }
                    (ok, ok)
                });
                if ok != Some(true) {
                    return out.error(CORRUPT);
                }
            }
            if name.eq_ignore_ascii_case("todense") {
                return out.int(converted as i64);
            }
            let value = ks.peek(db, key).map(|e| e.str_value()).unwrap_or_default();
            out.array(hll::REGISTERS);
            for r in hll::dense_registers(value) {
                out.int(r as i64);
            }
        }
        "decode" => {
            if encoding != Encoding::Sparse {
                return out.error("ERR HLL encoding is not sparse");
            }
            let value = ks.peek(db, key).map(|e| e.str_value()).unwrap_or_default();
            out.bulk(hll::decode_sparse(value).as_bytes());
        }
        "encoding" => out.simple(encoding.name()),
        _ => out.error(&format!("ERR Unknown PFDEBUG subcommand '{name}'")),
    }
}
