//! List commands (Redis's `t_list.c`): pushes, pops (with count and over several keys),
//! reads, in-place edits, moves between lists, and the blocking pops.
//!
//! A blocking pop that finds nothing registers its client with [`crate::blocking`] and writes
//! no reply; the reply comes from [`serve_blocked`] when another command fills a key, or from
//! the client's own task at its deadline. Inside EXEC a blocking pop answers at once.

use super::args::{int, is};
use super::blocking::{block, may_block, parse_timeout};
use super::flags::*;
use super::table::{finders, key_access};
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use crate::protocol::ReplyBuf;
use crate::storage::list::{Element, ListValue};
use crate::storage::value::Collection;
use crate::storage::{notify, KeyEvent, Keyspace, Kind, WrongType};
use bytes::Bytes;

const W: u32 = WRITE | DENYOOM;

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("lpush", -3, W | FAST, (1, 1, 1), "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", lpush),
    cmd!("rpush", -3, W | FAST, (1, 1, 1), "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", rpush),
    cmd!("lpushx", -3, W | FAST, (1, 1, 1), "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", lpushx),
    cmd!("rpushx", -3, W | FAST, (1, 1, 1), "list", "2.2.0", "Appends an element to a list only when the list exists.", rpushx),
    cmd!("lpop", -2, WRITE | FAST, (1, 1, 1), "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", lpop).key_access(&[key_access::POP]),
    cmd!("rpop", -2, WRITE | FAST, (1, 1, 1), "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", rpop).key_access(&[key_access::POP]),
    cmd!("llen", 2, READONLY | FAST, (1, 1, 1), "list", "1.0.0", "Returns the length of a list.", llen),
    cmd!("lrange", 4, READONLY, (1, 1, 1), "list", "1.0.0", "Returns a range of elements from a list.", lrange),
    cmd!("lindex", 3, READONLY, (1, 1, 1), "list", "1.0.0", "Returns an element from a list by its index.", lindex),
    cmd!("lset", 4, W, (1, 1, 1), "list", "1.0.0", "Sets the value of an element in a list by its index.", lset),
    cmd!("linsert", 5, W, (1, 1, 1), "list", "2.2.0", "Inserts an element before or after another element in a list.", linsert),
    cmd!("lrem", 4, WRITE, (1, 1, 1), "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", lrem).key_access(&[key_access::REMOVE]),
    cmd!("ltrim", 4, WRITE, (1, 1, 1), "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", ltrim).key_access(&[key_access::REMOVE]),
    cmd!("lpos", -3, READONLY, (1, 1, 1), "list", "6.0.6", "Returns the index of matching elements in a list.", lpos),
    cmd!("lmove", 5, W, (1, 2, 1), "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", lmove),
    cmd!("rpoplpush", 3, W, (1, 2, 1), "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", rpoplpush),
    cmd!("lmpop", -4, WRITE | MOVABLE_KEYS, (0, 0, 0), "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", lmpop).keys_by(finders::pops_counted_at_1),
    cmd!("blpop", -3, WRITE | BLOCKING, (1, -2, 1), "list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blpop).key_access(&[key_access::POP]),
    cmd!("brpop", -3, WRITE | BLOCKING, (1, -2, 1), "list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", brpop).key_access(&[key_access::POP]),
    cmd!("brpoplpush", 4, W | BLOCKING, (1, 2, 1), "list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", brpoplpush),
    cmd!("blmove", 6, W | BLOCKING, (1, 2, 1), "list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", blmove),
    cmd!("blmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS, (0, 0, 0), "list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", blmpop).keys_by(finders::pops_counted_at_2),
];

// ----- access to list values -----

fn new_list() -> Collection {
    Collection::List(Box::new(ListValue::new()))
}

#[allow(unreachable_patterns)] // the enum holds the other collection kinds too
fn as_list(c: &Collection) -> Option<&ListValue> {
    match c {
        Collection::List(l) => Some(l.as_ref()),
        _ => None,
    }
}

#[allow(unreachable_patterns)]
fn as_list_mut(c: &mut Collection) -> Option<&mut ListValue> {
    match c {
        Collection::List(l) => Some(l.as_mut()),
        _ => None,
    }
}

/// A client's read of a list: counts the hit or miss; `Err` for another kind.
fn read_list<'a>(ks: &'a mut Keyspace, db: usize, key: &[u8]) -> Result<Option<&'a ListValue>, WrongType> {
    match ks.read(db, key) {
        None => Ok(None),
        Some(e) => e.collection().and_then(as_list).map(Some).ok_or(WrongType),
    }
}

/// Changes the list at `key` (with `create`, a missing key gets a new list, stored only if
/// `f` leaves something in it), then re-evaluates its encoding.
/// `f` returns its result and whether it changed the list (only a change is seen by WATCH).
/// A list left empty is deleted by the keyspace.
fn with_list<R>(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    create: bool,
    events: &[KeyEvent],
    f: impl FnOnce(&mut ListValue) -> (R, bool),
) -> Result<Option<R>, WrongType> {
    let limits = ks.encoding;
    let make: Option<fn() -> Collection> = if create { Some(new_list) } else { None };
    ks.with_collection(db, key, Kind::List, make, events, |c| {
        let list = as_list_mut(c).expect("with_collection checked the kind");
        let r = f(list);
        list.update_encoding(&limits);
        r
    })
}

/// Whether `key` holds something other than a list (a write's type check: no statistics).
fn holds_other_kind(ks: &mut Keyspace, db: usize, key: &[u8]) -> bool {
    ks.get(db, key).is_some_and(|e| e.kind() != Kind::List)
}

fn side_event(front: bool, pop: bool) -> KeyEvent {
    let name = match (front, pop) {
        (true, true) => "lpop",
        (false, true) => "rpop",
        (true, false) => "lpush",
        (false, false) => "rpush",
    };
    KeyEvent::new(notify::LIST, name)
}

/// Pops up to `count` elements from one end, recorded as the pop event (and `del` if the
/// list is gone). `Ok(None)` if the key does not exist.
fn pop_elements(
    ks: &mut Keyspace,
    db: usize,
    key: &[u8],
    front: bool,
    count: usize,
) -> Result<Option<Vec<Element>>, WrongType> {
    with_list(ks, db, key, false, &[side_event(front, true)], |l| {
        let n = count.min(l.len());
        let items: Vec<Element> = (0..n).filter_map(|_| l.pop(front)).collect();
        (items, n > 0)
    })
}

/// Moves one element from an end of `src` to an end of `dst` and returns it; `Ok(None)` if
/// `src` does not exist. Both keys are type-checked before anything moves.
fn move_element(
    ks: &mut Keyspace,
    db: usize,
    src: &[u8],
    dst: &[u8],
    from_front: bool,
    to_front: bool,
) -> Result<Option<Element>, WrongType> {
    match ks.get(db, src) {
        None => return Ok(None),
        Some(e) if e.kind() != Kind::List => return Err(WrongType),
        Some(_) => {}
    }
    if holds_other_kind(ks, db, dst) {
        return Err(WrongType);
    }
    let (push, pop) = (side_event(to_front, false), side_event(from_front, true));
    let element = if src == dst {
        // Rotation: popped and pushed in one change, so the key never disappears; recorded
        // as the push, then the pop, as Redis announces them.
        with_list(ks, db, src, false, &[push, pop], |l| {
            let e = l.pop(from_front).expect("an existing list is not empty");
            l.push_owned(e.clone(), to_front);
            (e, true)
        })?
        .expect("checked above")
    } else {
        // The element is pushed before it leaves the source, so the changes are recorded in
        // Redis's order: the push, the pop, then `del` if the source is left empty.
        let e = ks.with_collection(db, src, Kind::List, None, &[], |c| {
            let l = as_list_mut(c).expect("with_collection checked the kind");
            let at = if from_front { 0 } else { l.len() - 1 };
            (Element::from(l.get(at).expect("an existing list is not empty")), false)
        })?;
        let e = e.expect("checked above");
        with_list(ks, db, dst, true, &[push], |l| (l.push_owned(e.clone(), to_front), true))?;
        with_list(ks, db, src, false, &[pop], |l| (l.pop(from_front), true))?;
        e
    };
    Ok(Some(element))
}

/// LEFT / RIGHT as "from the front".
fn parse_side(arg: &[u8]) -> Option<bool> {
    if is(arg, "left") {
        Some(true)
    } else if is(arg, "right") {
        Some(false)
    } else {
        None
    }
}

/// Redis's index normalisation: negative counts from the end.
fn absolute_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { index + len as i64 } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// The inclusive range `start..=end` of LRANGE/LTRIM clamped to the list, `None` if empty.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

// ----- pushes -----

fn push(ctx: &mut Ctx, args: &[Bytes], front: bool, only_existing: bool) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let values = &args[2..];
    let pushed = with_list(ks, db, &args[1], !only_existing, &[side_event(front, false)], |l| {
        for v in values {
            if front {
                l.push_front(v);
            } else {
                l.push_back(v);
            }
        }
        (l.len(), true)
    });
    match pushed {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(len)) => ctx.out.int(len as i64),
    }
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, true, false)
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, false, false)
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, true, true)
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, false, true)
}

// ----- pops -----

fn pop(ctx: &mut Ctx, args: &[Bytes], front: bool) {
    if args.len() > 3 {
        return ctx.out.error(&format!("ERR wrong number of arguments for '{}' command", side_event(front, true).name));
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => match crate::util::parse_i64(arg) {
            None => return ctx.out.error(errors::NOT_INTEGER),
            Some(n) if n < 0 => return ctx.out.error("ERR value is out of range, must be positive"),
            Some(n) => Some(n as usize),
        },
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    if count == Some(0) {
        // Nothing is popped, but a missing key and a wrong type still answer as usual.
        return match ks.get(db, &args[1]) {
            None => ctx.out.null_array(),
            Some(e) if e.kind() != Kind::List => ctx.out.error(errors::WRONGTYPE),
            Some(_) => ctx.out.array(0),
        };
    }
    match pop_elements(ks, db, &args[1], front, count.unwrap_or(1)) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) if count.is_some() => ctx.out.null_array(),
        Ok(None) => ctx.out.null(),
        Ok(Some(items)) => {
            if count.is_some() {
                ctx.out.array(items.len());
            }
            for e in &items {
                ctx.out.bulk(e);
            }
        }
    }
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) {
    pop(ctx, args, true)
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) {
    pop(ctx, args, false)
}

/// The `numkeys key... LEFT|RIGHT [COUNT n]` tail of LMPOP/BLMPOP, starting at `numkeys_at`.
struct MpopArgs {
    keys: std::ops::Range<usize>,
    front: bool,
    count: usize,
}

fn parse_mpop(ctx: &mut Ctx, args: &[Bytes], numkeys_at: usize) -> Option<MpopArgs> {
    let numkeys = match crate::util::parse_i64(&args[numkeys_at]) {
        Some(n) if n > 0 => n as usize,
        _ => {
            ctx.out.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_at = numkeys_at + 1 + numkeys;
    let Some(front) = args.get(where_at).and_then(|a| parse_side(a)) else {
        ctx.out.error(errors::SYNTAX);
        return None;
    };
    let mut count = None;
    let mut i = where_at + 1;
    while i < args.len() {
        if count.is_none() && is(&args[i], "count") && i + 1 < args.len() {
            match crate::util::parse_i64(&args[i + 1]) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => {
                    ctx.out.error("ERR count should be greater than 0");
                    return None;
                }
            }
            i += 2;
        } else {
            ctx.out.error(errors::SYNTAX);
            return None;
        }
    }
    Some(MpopArgs { keys: numkeys_at + 1..where_at, front, count: count.unwrap_or(1) })
}

/// The first non-empty list among `keys` popped as LMPOP replies; false if all are empty.
fn mpop_first(ctx: &mut Ctx, args: &[Bytes], spec: &MpopArgs) -> Result<bool, WrongType> {
    let db = ctx.db();
    let ks = ctx.ks.get();
    for key in &args[spec.keys.clone()] {
        if let Some(items) = pop_elements(ks, db, key, spec.front, spec.count)? {
            reply_key_and_elements(ctx.out, key, &items);
            return Ok(true);
        }
    }
    Ok(false)
}

fn reply_key_and_elements(out: &mut ReplyBuf, key: &[u8], items: &[Element]) {
    out.array(2);
    out.bulk(key);
    out.array(items.len());
    for e in items {
        out.bulk(e);
    }
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(spec) = parse_mpop(ctx, args, 1) else {
        return;
    };
    match mpop_first(ctx, args, &spec) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(true) => {}
        Ok(false) => ctx.out.null_array(),
    }
}

// ----- reads -----

fn llen(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_list(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(l) => ctx.out.int(l.map_or(0, |l| l.len() as i64)),
    }
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) {
    let (Some(start), Some(end)) = (int(ctx, &args[2]), int(ctx, &args[3])) else {
        return;
    };
    let db = ctx.db();
    match read_list(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.array(0),
        Ok(Some(l)) => match clamp_range(start, end, l.len()) {
            None => ctx.out.array(0),
            Some((s, e)) => {
                ctx.out.array(e - s + 1);
                for v in l.range(s, e) {
                    ctx.out.bulk(v);
                }
            }
        },
    }
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(index) = int(ctx, &args[2]) else {
        return;
    };
    let db = ctx.db();
    match read_list(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.null(),
        Ok(Some(l)) => match absolute_index(index, l.len()).and_then(|i| l.get(i)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        },
    }
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(ctx: &mut Ctx, args: &[Bytes]) {
    let mut rank = 1i64;
    let mut count = None;
    let mut maxlen = 0usize;
    let mut i = 3;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            return ctx.out.error(errors::SYNTAX);
        };
        if is(&args[i], "rank") {
            let Some(r) = int(ctx, value) else {
                return;
            };
            if r == 0 {
                return ctx.out.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
            }
            if r == i64::MIN {
                return ctx.out.error(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                );
            }
            rank = r;
        } else if is(&args[i], "count") {
            match crate::util::parse_i64(value) {
                Some(n) if n >= 0 => count = Some(n as usize),
                _ => return ctx.out.error("ERR COUNT can't be negative"),
            }
        } else if is(&args[i], "maxlen") {
            match crate::util::parse_i64(value) {
                Some(n) if n >= 0 => maxlen = n as usize,
                _ => return ctx.out.error("ERR MAXLEN can't be negative"),
            }
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 2;
    }
    let db = ctx.db();
    let list = match read_list(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) if count.is_some() => return ctx.out.array(0),
        Ok(None) => return ctx.out.null(),
        Ok(Some(l)) => l,
    };
    let element = &args[2][..];
    let wanted = match count {
        Some(0) => usize::MAX,
        Some(n) => n,
        None => 1,
    };
    let len = list.len();
    let scan_limit = if maxlen == 0 { len } else { maxlen.min(len) };
    let mut skip = rank.unsigned_abs() - 1;
    let mut found = Vec::new();
    let mut visit = |index: usize, v: &[u8]| {
        if v == element {
            if skip > 0 {
                skip -= 1;
            } else {
                found.push(index as i64);
            }
        }
        found.len() < wanted
    };
    if rank > 0 {
        for (index, v) in list.iter().enumerate().take(scan_limit) {
            if !visit(index, v) {
                break;
            }
        }
    } else {
        for (n, v) in list.iter().rev().enumerate().take(scan_limit) {
            if !visit(len - 1 - n, v) {
                break;
            }
        }
    }
    if count.is_some() {
        ctx.out.array(found.len());
        for p in found {
            ctx.out.int(p);
        }
    } else {
        match found.first() {
            Some(&p) => ctx.out.int(p),
            None => ctx.out.null(),
        }
    }
}

// ----- edits -----

fn lset(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(index) = int(ctx, &args[2]) else {
        return;
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    let value = &args[3];
    let done = with_list(ks, db, &args[1], false, &[KeyEvent::new(notify::LIST, "lset")], |l| {
        let set = absolute_index(index, l.len()).is_some_and(|i| l.set(i, value));
        (set, set)
    });
    match done {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.error(errors::NO_SUCH_KEY),
        Ok(Some(false)) => ctx.out.error("ERR index out of range"),
        Ok(Some(true)) => ctx.out.ok(),
    }
}

/// LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot, 0 without
/// the key.
fn linsert(ctx: &mut Ctx, args: &[Bytes]) {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return ctx.out.error(errors::SYNTAX);
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    let (pivot, value) = (&args[3][..], &args[4][..]);
    let inserted = with_list(ks, db, &args[1], false, &[KeyEvent::new(notify::LIST, "linsert")], |l| {
        let Some(at) = l.iter().position(|v| v == pivot) else {
            return (None, false);
        };
        l.insert(at + after as usize, value);
        (Some(l.len()), true)
    });
    match inserted {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(None)) => ctx.out.int(-1),
        Ok(Some(Some(len))) => ctx.out.int(len as i64),
    }
}

/// LREM key count element: from the head for count > 0, from the tail for count < 0, all
/// for 0.
fn lrem(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(count) = int(ctx, &args[2]) else {
        return;
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    let value = &args[3][..];
    let limit = count.unsigned_abs().min(usize::MAX as u64) as usize;
    let removed = with_list(ks, db, &args[1], false, &[KeyEvent::new(notify::LIST, "lrem")], |l| {
        let n = l.remove_matching(value, limit, count < 0);
        (n, n > 0)
    });
    match removed {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(n)) => ctx.out.int(n as i64),
    }
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) {
    let (Some(start), Some(end)) = (int(ctx, &args[2]), int(ctx, &args[3])) else {
        return;
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    let trimmed = with_list(ks, db, &args[1], false, &[KeyEvent::new(notify::LIST, "ltrim")], |l| {
        match clamp_range(start, end, l.len()) {
            Some((s, e)) => l.trim(s, e),
            None => l.trim(1, 0),
        }
        // Redis counts a trim as a change even when it removes nothing.
        ((), true)
    });
    match trimmed {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(_) => ctx.out.ok(),
    }
}

// ----- moves -----

fn reply_moved(out: &mut ReplyBuf, moved: Result<Option<Element>, WrongType>) {
    match moved {
        Err(WrongType) => out.error(errors::WRONGTYPE),
        Ok(None) => out.null(),
        Ok(Some(e)) => out.bulk(&e),
    }
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) {
    let (Some(from), Some(to)) = (parse_side(&args[3]), parse_side(&args[4])) else {
        return ctx.out.error(errors::SYNTAX);
    };
    let db = ctx.db();
    let moved = move_element(ctx.ks.get(), db, &args[1], &args[2], from, to);
    reply_moved(ctx.out, moved);
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let moved = move_element(ctx.ks.get(), db, &args[1], &args[2], false, true);
    reply_moved(ctx.out, moved);
}

// ----- blocking pops -----

/// BLPOP/BRPOP key [key ...] timeout
fn bpop(ctx: &mut Ctx, args: &[Bytes], front: bool) {
    let Some(timeout) = parse_timeout(ctx, &args[args.len() - 1]) else {
        return;
    };
    let keys = &args[1..args.len() - 1];
    let db = ctx.db();
    let ks = ctx.ks.get();
    for key in keys {
        match pop_elements(ks, db, key, front, 1) {
            Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
            Ok(None) => {}
            Ok(Some(items)) => {
                ctx.out.array(2);
                ctx.out.bulk(key);
                ctx.out.bulk(&items[0]);
                return;
            }
        }
    }
    if may_block(ctx) {
        block(ctx, args, keys, Kind::List, timeout);
    } else {
        ctx.out.null_array();
    }
}

fn blpop(ctx: &mut Ctx, args: &[Bytes]) {
    bpop(ctx, args, true)
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) {
    bpop(ctx, args, false)
}

/// BLMOVE/BRPOPLPUSH: `sides` are the ends to move from and to.
fn bmove(ctx: &mut Ctx, args: &[Bytes], sides: (bool, bool), timeout_arg: &[u8]) {
    let Some(timeout) = parse_timeout(ctx, timeout_arg) else {
        return;
    };
    let db = ctx.db();
    match move_element(ctx.ks.get(), db, &args[1], &args[2], sides.0, sides.1) {
        Ok(None) if may_block(ctx) => block(ctx, args, &args[1..2], Kind::List, timeout),
        moved => reply_moved(ctx.out, moved),
    }
}

fn blmove(ctx: &mut Ctx, args: &[Bytes]) {
    let (Some(from), Some(to)) = (parse_side(&args[3]), parse_side(&args[4])) else {
        return ctx.out.error(errors::SYNTAX);
    };
    bmove(ctx, args, (from, to), &args[5]);
}

fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) {
    bmove(ctx, args, (false, true), &args[3]);
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(timeout) = parse_timeout(ctx, &args[1]) else {
        return;
    };
    let Some(spec) = parse_mpop(ctx, args, 2) else {
        return;
    };
    match mpop_first(ctx, args, &spec) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(true) => {}
        Ok(false) if may_block(ctx) => block(ctx, args, &args[spec.keys.clone()], Kind::List, timeout),
        Ok(false) => ctx.out.null_array(),
    }
}

/// Runs a blocked client's command for it once `key` holds a list: the pop (or move) from
/// that key, with the reply the command would have given, written to `out`.
pub fn serve_blocked(ks: &mut Keyspace, db: usize, args: &[Bytes], key: &[u8], out: &mut ReplyBuf) {
    let name = &args[0];
    if is(name, "blpop") || is(name, "brpop") {
        let front = is(name, "blpop");
        if let Ok(Some(items)) = pop_elements(ks, db, key, front, 1) {
            out.array(2);
            out.bulk(key);
            out.bulk(&items[0]);
        }
    } else if is(name, "blmpop") {
        // Arguments were validated when the command first ran.
        let numkeys = crate::util::parse_i64(&args[2]).unwrap_or(1) as usize;
        let mut front = true;
        let mut count = 1;
        let mut i = 3 + numkeys;
        while i < args.len() {
            if let Some(side) = parse_side(&args[i]) {
                front = side;
            } else if is(&args[i], "count") {
                count = args.get(i + 1).and_then(|c| crate::util::parse_i64(c)).unwrap_or(1) as usize;
                i += 1;
            }
            i += 1;
        }
        if let Ok(Some(items)) = pop_elements(ks, db, key, front, count) {
            reply_key_and_elements(out, key, &items);
        }
    } else {
        let sides = if is(name, "blmove") {
            (parse_side(&args[3]).unwrap_or(true), parse_side(&args[4]).unwrap_or(true))
        } else {
            (false, true)
        };
        reply_moved(out, move_element(ks, db, key, &args[2], sides.0, sides.1));
    }
}
