//! Set commands (Redis's `t_set.c`): SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP,
//! SRANDMEMBER, SMOVE, SINTER, SINTERCARD, SUNION, SDIFF, their STORE forms and SSCAN.
//!
//! Replies, errors and keyspace events follow Redis 7.2 (sets are RESP3 sets where Redis says
//! so). Writes go through `Keyspace::with_collection`, which deletes a set left empty; reads
//! of one key use `Keyspace::read`, and commands over several keys read each key once for the
//! statistics and type check, then borrow all the sets together with `Keyspace::peek`.

use super::args::{self, is};
use super::flags::*;
use super::table::{finders, key_access};
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use crate::commands::listing::reply_scan_head;
use crate::glob::glob_match;
use crate::protocol::ReplyBuf;
use crate::storage::set::{Member, SetValue};
use crate::storage::value::Collection;
use crate::storage::{notify, EncodingLimits, Entry, KeyEvent, Keyspace, Kind, WrongType};
use crate::util::parse_i64;
use bytes::Bytes;

// One line per command keeps the table readable as a table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), "set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", sadd),
    cmd!("srem", -3, WRITE | FAST, (1, 1, 1), "set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", srem).key_access(&[key_access::REMOVE]),
    cmd!("smembers", 2, READONLY, (1, 1, 1), "set", "1.0.0", "Returns all members of a set.", smembers),
    cmd!("sismember", 3, READONLY | FAST, (1, 1, 1), "set", "1.0.0", "Determines whether a member belongs to a set.", sismember),
    cmd!("smismember", -3, READONLY | FAST, (1, 1, 1), "set", "6.2.0", "Determines whether multiple members belong to a set.", smismember),
    cmd!("scard", 2, READONLY | FAST, (1, 1, 1), "set", "1.0.0", "Returns the number of members in a set.", scard),
    cmd!("spop", -2, WRITE | FAST, (1, 1, 1), "set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", spop).key_access(&[key_access::POP]),
    cmd!("srandmember", -2, READONLY, (1, 1, 1), "set", "1.0.0", "Get one or multiple random members from a set", srandmember),
    cmd!("smove", 4, WRITE | FAST, (1, 2, 1), "set", "1.0.0", "Moves a member from one set to another.", smove).key_access(&[key_access::POP, key_access::INSERT]),
    cmd!("sinter", -2, READONLY, (1, -1, 1), "set", "1.0.0", "Returns the intersect of multiple sets.", sinter),
    cmd!("sintercard", -3, READONLY | MOVABLE_KEYS, (0, 0, 0), "set", "7.0.0", "Returns the number of members of the intersect of multiple sets.", sintercard).keys_by(finders::reads_counted_at_1),
    cmd!("sunion", -2, READONLY, (1, -1, 1), "set", "1.0.0", "Returns the union of multiple sets.", sunion),
    cmd!("sdiff", -2, READONLY, (1, -1, 1), "set", "1.0.0", "Returns the difference of multiple sets.", sdiff),
    cmd!("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), "set", "1.0.0", "Stores the intersect of multiple sets in a key.", sinterstore),
    cmd!("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), "set", "1.0.0", "Stores the union of multiple sets in a key.", sunionstore),
    cmd!("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), "set", "1.0.0", "Stores the difference of multiple sets in a key.", sdiffstore),
    cmd!("sscan", -3, READONLY, (1, 1, 1), "set", "2.8.0", "Iterates over members of a set.", sscan),
];

const SPOP_COUNT: &str = "ERR value is out of range, must be positive";
const SRANDMEMBER_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const NUMKEYS: &str = "ERR numkeys should be greater than 0";
const TOO_MANY_KEYS: &str = "ERR Number of keys can't be greater than number of args";
const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";

/// A reply of random members with repeats is written in chunks; past this many bytes of
/// pending output the client is disconnected instead, as Redis does when a client passes its
/// output buffer limit, so `SRANDMEMBER key -<huge>` cannot exhaust memory.
const REPLY_LIMIT: usize = 512 << 20;
const RANDOM_CHUNK: usize = 1000;

/// An empty set value for `with_collection` to create a key with; the first addition then
/// picks the encoding (see [`SetValue::prepare_for_adds`]).
fn new_set() -> Collection {
    Collection::Set(Box::default())
}

/// The set inside a collection that `with_collection` has checked to be one.
fn set_mut(c: &mut Collection) -> &mut SetValue {
    match c {
        Collection::Set(s) => s,
        #[allow(unreachable_patterns)]
        _ => unreachable!("with_collection checked the kind"),
    }
}

fn as_set(e: &Entry) -> Option<&SetValue> {
    match e.collection() {
        Some(Collection::Set(s)) => Some(s),
        _ => None,
    }
}

/// The set at `key` for a client's read (counts a hit or a miss, expires lazily).
fn read_set<'a>(ks: &'a mut Keyspace, db: usize, key: &[u8]) -> Result<Option<&'a SetValue>, WrongType> {
    match ks.read(db, key) {
        None => Ok(None),
        Some(e) => as_set(e).map(Some).ok_or(WrongType),
    }
}

fn reply_member(out: &mut ReplyBuf, m: Member) {
    match m {
        Member::Int(n) => out.bulk_int(n),
        Member::Bytes(b) => out.bulk(b),
    }
}

/// A set reply (an array in RESP2).
fn reply_set<'a>(out: &mut ReplyBuf, len: usize, members: impl IntoIterator<Item = Member<'a>>) {
    out.set(len);
    for m in members {
        reply_member(out, m);
    }
}

// ----- single-key commands -----

const SADD: KeyEvent = KeyEvent::new(notify::SET, "sadd");
const SREM: KeyEvent = KeyEvent::new(notify::SET, "srem");

fn sadd(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let (key, members) = (&args[1], &args[2..]);
    let ks = ctx.ks.get();
    let limits = ks.encoding;
    let added = ks.with_collection(db, key, Kind::Set, Some(new_set), &[SADD], |c| {
        let set = set_mut(c);
        set.prepare_for_adds(&members[0], members.len(), &limits);
        let added = members.iter().filter(|m| set.insert(m, &limits)).count();
        (added, added > 0)
    });
    match added {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(added) => ctx.out.int(added.unwrap_or(0) as i64),
    }
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let (key, members) = (&args[1], &args[2..]);
    let ks = ctx.ks.get();
    let removed = ks.with_collection(db, key, Kind::Set, None, &[SREM], |c| {
        let set = set_mut(c);
        let n = members.iter().filter(|m| set.remove(m)).count();
        (n, n > 0)
    });
    match removed {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(n) => ctx.out.int(n.unwrap_or(0) as i64),
    }
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_set(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.set(0),
        Ok(Some(set)) => reply_set(ctx.out, set.len(), set.iter()),
    }
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_set(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(set) => ctx.out.int(set.is_some_and(|s| s.contains(&args[2])) as i64),
    }
}

/// A missing key is an empty set: one 0 per member.
fn smismember(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_set(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(set) => {
            ctx.out.array(args.len() - 2);
            for m in &args[2..] {
                ctx.out.int(set.is_some_and(|s| s.contains(m)) as i64);
            }
        }
    }
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    match read_set(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(set) => ctx.out.int(set.map_or(0, SetValue::len) as i64),
    }
}

// ----- random members -----

/// SPOP key [count]: the count form replies with a set, the other with one bulk string.
fn spop(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return ctx.out.error(errors::SYNTAX);
    }
    let count = match args.get(2) {
        None => None,
        // Redis gives the same message for a count that is not an integer.
        Some(arg) => match parse_i64(arg) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.out.error(SPOP_COUNT),
        },
    };
    let db = ctx.db();
    let key = &args[1];
    let ks = ctx.ks.get();
    let rng = &mut ctx.client.rng;
    let popped = ks.with_collection(db, key, Kind::Set, None, &[KeyEvent::new(notify::SET, "spop")], |c| {
        let set = set_mut(c);
        let popped = match count {
            None => vec![set.pop_random(rng)],
            Some(n) => set.pop_many(rng, n),
        };
        let changed = !popped.is_empty();
        (popped, changed)
    });
    let popped = match popped {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return if count.is_some() { ctx.out.set(0) } else { ctx.out.null() },
        Ok(Some(result)) => result,
    };
    if count.is_none() {
        return ctx.out.bulk(&popped[0]);
    }
    ctx.out.set(popped.len());
    for m in &popped {
        ctx.out.bulk(m);
    }
}

/// SRANDMEMBER key [count]: a positive count gives distinct members, a negative one allows
/// repeats; the count form replies with an array.
fn srandmember(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return ctx.out.error(errors::SYNTAX);
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => match parse_i64(arg) {
            None => return ctx.out.error(errors::NOT_INTEGER),
            Some(i64::MIN) => return ctx.out.error(SRANDMEMBER_RANGE),
            Some(n) => Some(n),
        },
    };
    let db = ctx.db();
    let set = match read_set(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return if count.is_some() { ctx.out.array(0) } else { ctx.out.null() },
        Ok(Some(set)) => set,
    };
    let rng = &mut ctx.client.rng;
    let Some(count) = count else {
        return reply_member(ctx.out, set.random(rng));
    };
    let wanted = count.unsigned_abs() as usize;
    if count < 0 {
        ctx.out.array(wanted);
        let mut left = wanted;
        while left > 0 {
            let chunk = left.min(RANDOM_CHUNK);
            for m in set.random_with_repeats(rng, chunk) {
                reply_member(ctx.out, m);
            }
            left -= chunk;
            if left > 0 && (ctx.out.len() > REPLY_LIMIT || ctx.out.exhausted()) {
                ctx.client.close_after_reply = true;
                return;
            }
        }
    } else if wanted >= set.len() {
        ctx.out.array(set.len());
        set.iter().for_each(|m| reply_member(ctx.out, m));
    } else {
        ctx.out.array(wanted);
        for m in set.random_distinct(rng, wanted) {
            reply_member(ctx.out, m);
        }
    }
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let ks = ctx.ks.get();
    let limits = ks.encoding;
    let Some(src_kind) = ks.get(db, src).map(Entry::kind) else {
        return ctx.out.int(0);
    };
    let dst_kind = ks.get(db, dst).map(Entry::kind);
    if src_kind != Kind::Set || dst_kind.is_some_and(|k| k != Kind::Set) {
        return ctx.out.error(errors::WRONGTYPE);
    }
    if src == dst {
        let present = ks.get(db, src).and_then(as_set).is_some_and(|s| s.contains(member));
        return ctx.out.int(present as i64);
    }
    let removed = ks.with_collection(db, src, Kind::Set, None, &[SREM], |c| {
        let set = set_mut(c);
        let removed = set.remove(member);
        (removed, removed)
    });
    let Ok(Some(true)) = removed else {
        return ctx.out.int(0);
    };
    // A member the destination already holds leaves it untouched: no event, and its watchers'
    // transactions go on, as in Redis.
    ks.with_collection(db, dst, Kind::Set, Some(new_set), &[SADD], |c| {
        let set = set_mut(c);
        if set.contains(member) {
            return (false, false);
        }
        set.prepare_for_adds(member, 1, &limits);
        let added = set.insert(member, &limits);
        (added, added)
    })
    .expect("the destination's kind was checked");
    ctx.out.int(1);
}

// ----- operations over several sets -----

/// Reads every key as Redis's `lookupKeyRead` does (statistics, lazy expiry, `keymiss`), stops
/// at the first key of another type, then borrows all the sets at once (`None` for a missing
/// key, which counts as an empty set).
fn gather_sets<'a>(ks: &'a mut Keyspace, db: usize, keys: &[Bytes]) -> Result<Vec<Option<&'a SetValue>>, WrongType> {
    for key in keys {
        read_set(ks, db, key)?;
    }
    let ks: &'a Keyspace = ks;
    Ok(keys.iter().map(|k| ks.peek(db, k).and_then(as_set)).collect())
}

/// Members common to all sets, taken from the smallest; stops after `limit` (0 = no limit).
fn intersection<'a>(sets: &[Option<&'a SetValue>], limit: usize) -> Vec<Member<'a>> {
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<&SetValue>>>() else {
        return Vec::new();
    };
    sets.sort_by_key(|s| s.len());
    let (smallest, others) = sets.split_first().expect("at least one key");
    let mut found = Vec::new();
    for m in smallest.iter() {
        if others.iter().all(|s| std::ptr::eq(*s, *smallest) || s.contains_member(m)) {
            found.push(m);
            if found.len() == limit {
                break;
            }
        }
    }
    found
}

/// Members of the first set that no other set holds.
fn difference<'a>(sets: &[Option<&'a SetValue>]) -> Vec<Member<'a>> {
    let Some(Some(first)) = sets.first() else {
        return Vec::new();
    };
    let others: Vec<&SetValue> = sets[1..].iter().flatten().copied().collect();
    first.iter().filter(|m| others.iter().all(|s| !s.contains_member(*m))).collect()
}

/// The union as a set value, each member once.
fn union(sets: &[Option<&SetValue>], limits: &EncodingLimits) -> SetValue {
    let mut result = SetValue::default();
    for set in sets.iter().flatten() {
        for m in set.iter() {
            result.insert_member(m, limits);
        }
    }
    result
}

#[derive(Clone, Copy)]
enum SetOp {
    Inter,
    Union,
    Diff,
}

impl SetOp {
    fn store_event(self) -> &'static str {
        match self {
            SetOp::Inter => "sinterstore",
            SetOp::Union => "sunionstore",
            SetOp::Diff => "sdiffstore",
        }
    }
}

/// SINTER, SUNION and SDIFF: the result as a set reply.
fn reply_set_op(ctx: &mut Ctx, keys: &[Bytes], op: SetOp) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let limits = ks.encoding;
    let sets = match gather_sets(ks, db, keys) {
        Ok(sets) => sets,
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
    };
    match op {
        SetOp::Inter | SetOp::Diff => {
            let members = if let SetOp::Inter = op { intersection(&sets, 0) } else { difference(&sets) };
            reply_set(ctx.out, members.len(), members);
        }
        SetOp::Union => {
            let result = union(&sets, &limits);
            reply_set(ctx.out, result.len(), result.iter());
        }
    }
}

/// SINTERSTORE, SUNIONSTORE and SDIFFSTORE: the result replaces `dst` (type and TTL
/// included); an empty result deletes it.
fn store_set_op(ctx: &mut Ctx, args: &[Bytes], op: SetOp) {
    let db = ctx.db();
    let (dst, keys) = (&args[1], &args[2..]);
    let ks = ctx.ks.get();
    let limits = ks.encoding;
    let result = match gather_sets(ks, db, keys) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(sets) => match op {
            SetOp::Union => union(&sets, &limits),
            SetOp::Inter | SetOp::Diff => {
                let members = if let SetOp::Inter = op { intersection(&sets, 0) } else { difference(&sets) };
                let mut result = SetValue::default();
                for m in members {
                    result.insert_member(m, &limits);
                }
                result
            }
        },
    };
    let len = result.len();
    let result = (len > 0).then(|| Collection::Set(Box::new(result)));
    ks.store_result(db, dst, result, KeyEvent::new(notify::SET, op.store_event()));
    ctx.out.int(len as i64);
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) {
    reply_set_op(ctx, &args[1..], SetOp::Inter);
}

fn sunion(ctx: &mut Ctx, args: &[Bytes]) {
    reply_set_op(ctx, &args[1..], SetOp::Union);
}

fn sdiff(ctx: &mut Ctx, args: &[Bytes]) {
    reply_set_op(ctx, &args[1..], SetOp::Diff);
}

fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) {
    store_set_op(ctx, args, SetOp::Inter);
}

fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) {
    store_set_op(ctx, args, SetOp::Union);
}

fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) {
    store_set_op(ctx, args, SetOp::Diff);
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx, args: &[Bytes]) {
    let numkeys = match parse_i64(&args[1]) {
        Some(n) if n > 0 => n as usize,
        _ => return ctx.out.error(NUMKEYS),
    };
    if numkeys > args.len() - 2 {
        return ctx.out.error(TOO_MANY_KEYS);
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < args.len() {
        if is(&args[i], "limit") && i + 1 < args.len() {
            match parse_i64(&args[i + 1]) {
                Some(n) if n >= 0 => limit = n as usize,
                _ => return ctx.out.error(LIMIT_NEGATIVE),
            }
            i += 2;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let db = ctx.db();
    match gather_sets(ctx.ks.get(), db, &args[2..2 + numkeys]) {
        Err(WrongType) => ctx.out.error(errors::WRONGTYPE),
        Ok(sets) => ctx.out.int(intersection(&sets, limit).len() as i64),
    }
}

// ----- SSCAN -----

/// SSCAN key cursor [MATCH pattern] [COUNT count]. As in Redis the cursor is checked first,
/// a missing key ends the iteration before the options are looked at, and the options are
/// checked after the type.
fn sscan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(cursor) = args::cursor(ctx, &args[2]) else {
        return;
    };
    let db = ctx.db();
    match read_set(ctx.ks.get(), db, &args[1]) {
        Err(WrongType) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return reply_scan_head(ctx.out, 0, 0),
        Ok(Some(_)) => {}
    }
    let o = match args::scan_options(&args[3..], args::ScanExtra::None) {
        Ok(o) => o,
        Err(msg) => return ctx.out.error(msg),
    };
    let ks: &Keyspace = ctx.ks.get();
    let set = ks.peek(db, &args[1]).and_then(as_set).expect("read above");
    let mut found = Vec::new();
    let next = set.scan(cursor, o.count, |m| {
        if o.pattern.is_none_or(|p| m.with_bytes(|b| glob_match(p, b, false))) {
            found.push(m);
        }
    });
    reply_scan_head(ctx.out, next, found.len());
    for m in found {
        reply_member(ctx.out, m);
    }
}
