//! Bitmap commands (Redis's `bitops.c`): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD
//! and BITFIELD_RO, on string values.
//!
//! Bit 0 is the most significant bit of the first byte, as in Redis. A missing key reads as
//! an endless run of zero bits. Writes that reach past the end grow the string with zero
//! bytes (up to `proto-max-bulk-len`) through `Keyspace::modify`, which re-accounts the
//! entry; a write that changes no bit and grows nothing is not a change (no `setbit` event,
//! no dirty count), as in Redis.

use super::args::is;
use super::flags::*;
use super::strings::{self, max_string_len, string_len_for_write, Found, SetOptions};
use super::table::key_access;
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use crate::protocol::ReplyBuf;
use crate::storage::{notify, Entry, KeyEvent, Keyspace, Removal};
use crate::util::parse_i64;
use bytes::Bytes;

// One line per command keeps the table readable as a table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("setbit", 4, WRITE | DENYOOM, (1, 1, 1), "bitmap", "2.2.0", "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", setbit),
    cmd!("getbit", 3, READONLY | FAST, (1, 1, 1), "bitmap", "2.2.0", "Returns a bit value by offset.", getbit),
    cmd!("bitcount", -2, READONLY, (1, 1, 1), "bitmap", "2.6.0", "Counts the number of set bits (population counting) in a string.", bitcount),
    cmd!("bitpos", -3, READONLY, (1, 1, 1), "bitmap", "2.8.7", "Finds the first set (1) or clear (0) bit in a string.", bitpos),
    cmd!("bitop", -4, WRITE | DENYOOM, (2, -1, 1), "bitmap", "2.6.0", "Performs bitwise operations on multiple strings, and stores the result.", bitop).key_access(&[key_access::OVERWRITE, key_access::READ]),
    cmd!("bitfield", -2, WRITE | DENYOOM, (1, 1, 1), "bitmap", "3.2.0", "Performs arbitrary bitfield integer operations on strings.", bitfield).key_access(&[key_access::UPDATE]),
    cmd!("bitfield_ro", -2, READONLY | FAST, (1, 1, 1), "bitmap", "6.0.0", "Performs arbitrary read-only bitfield integer operations on strings.", bitfield_ro),
];

const SETBIT: KeyEvent = KeyEvent::new(notify::STRING, "setbit");
const BIT_OFFSET_ERROR: &str = "ERR bit offset is not an integer or out of range";

/// Parses a bit offset as Redis's `getBitOffsetFromArgument`: 0 up to the last bit of a
/// string of proto-max-bulk-len bytes. With `width` (BITFIELD), `#n` means bit `n * width`.
fn bit_offset(ctx: &mut Ctx, arg: &[u8], width: Option<u32>) -> Option<u64> {
    let (digits, scale) = match (arg.first(), width) {
        (Some(b'#'), Some(w)) => (&arg[1..], w as i64),
        _ => (arg, 1),
    };
    match parse_i64(digits).and_then(|n| n.checked_mul(scale)) {
        Some(n) if n >= 0 && ((n as u64) >> 3) < max_string_len(ctx) => Some(n as u64),
        _ => {
            ctx.out.error(BIT_OFFSET_ERROR);
            None
        }
    }
}

/// What the string at a key is, for a read: missing (no bits set), its bytes, or another type
/// (the WRONGTYPE error is already sent).
enum Bits<'a> {
    Missing,
    Value(&'a [u8]),
    WrongType,
}

fn read_bits<'a>(ks: &'a mut Keyspace, out: &mut ReplyBuf, db: usize, key: &[u8]) -> Bits<'a> {
    match ks.read(db, key) {
        None => Bits::Missing,
        Some(e) if e.is_string() => Bits::Value(e.str_value()),
        Some(_) => {
            out.error(errors::WRONGTYPE);
            Bits::WrongType
        }
    }
}

// ----- SETBIT, GETBIT -----

/// The byte index of bit `offset` and the mask selecting it (bit 0 is the most significant).
fn bit_position(offset: u64) -> (usize, u8) {
    ((offset >> 3) as usize, 1 << (7 - (offset & 7)))
}

fn setbit(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let Some(offset) = bit_offset(ctx, &args[2], None) else {
        return;
    };
    let on = match parse_i64(&args[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return ctx.out.error("ERR bit is not an integer or out of range"),
    };
    let (byte, mask) = bit_position(offset);
    let db = ctx.db();
    let was_set = match string_len_for_write(ctx, key) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => {
            let mut value = vec![0u8; byte + 1];
            if on {
                value[byte] = mask;
            }
            strings::create(ctx, key, &value, SETBIT);
            false
        }
        Found::String(len) => {
            let grows = byte >= len;
            // Only a bit that flips (or a string that grows) is a change and a `setbit`.
            let was_set = ctx.ks.get().modify(db, key, &[SETBIT], |e| {
                if grows {
                    e.edit_string(|v| v.resize(byte + 1, 0));
                }
                let b = &mut e.str_value_mut()[byte];
                let was_set = *b & mask != 0;
                if on {
                    *b |= mask;
                } else {
                    *b &= !mask;
                }
                (was_set, grows || was_set != on)
            });
            was_set.unwrap_or(false)
        }
    };
    ctx.out.int(was_set as i64);
}

fn getbit(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(offset) = bit_offset(ctx, &args[2], None) else {
        return;
    };
    let (byte, mask) = bit_position(offset);
    let db = ctx.db();
    let set = match read_bits(ctx.ks.get(), ctx.out, db, &args[1]) {
        Bits::WrongType => return,
        Bits::Missing => false,
        Bits::Value(v) => v.get(byte).is_some_and(|b| b & mask != 0),
    };
    ctx.out.int(set as i64);
}

// ----- BITCOUNT, BITPOS -----

/// A range of a string selected by BITCOUNT/BITPOS arguments, as bytes `start..=end` plus
/// masks of the bits outside the range in the first and last byte (BIT ranges only).
struct ByteRange {
    start: usize,
    end: usize,
    /// Bits of `value[start]` before the range.
    first_outside: u8,
    /// Bits of `value[end]` after the range.
    last_outside: u8,
}

/// Redis's range arithmetic for BITCOUNT and BITPOS: negative indexes count from the end,
/// both ends are clamped, and a BIT range keeps masks for its partial edge bytes. `None` for
/// an empty range.
fn byte_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<ByteRange> {
    let total = if in_bits { (len as i64) << 3 } else { len as i64 };
    let clamp = |i: i64| if i < 0 { (total + i).max(0) } else { i };
    let (start, end) = (clamp(start), clamp(end).min(total - 1));
    if start > end {
        return None;
    }
    if !in_bits {
        return Some(ByteRange { start: start as usize, end: end as usize, first_outside: 0, last_outside: 0 });
    }
    Some(ByteRange {
        start: (start >> 3) as usize,
        end: (end >> 3) as usize,
        first_outside: !(0xffu8 >> (start & 7)),
        last_outside: (1u16 << (7 - (end & 7))).wrapping_sub(1) as u8,
    })
}

/// The unit word of a BITCOUNT/BITPOS range: BYTE (the default) or BIT.
fn range_unit(out: &mut ReplyBuf, arg: Option<&Bytes>) -> Option<bool> {
    match arg {
        None => Some(false),
        Some(a) if is(a, "bit") => Some(true),
        Some(a) if is(a, "byte") => Some(false),
        Some(_) => {
            out.error(errors::SYNTAX);
            None
        }
    }
}

fn bitcount(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let out = &mut *ctx.out;
    let value = match read_bits(ctx.ks.get(), out, db, &args[1]) {
        Bits::WrongType => return,
        Bits::Missing => return out.int(0),
        Bits::Value(v) => v,
    };
    let range = match args.len() {
        2 => whole(value),
        4 | 5 => {
            let (Some(start), Some(end)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
                return out.error(errors::NOT_INTEGER);
            };
            if start < 0 && end < 0 && start > end {
                return out.int(0);
            }
            let Some(in_bits) = range_unit(out, args.get(4)) else {
                return;
            };
            byte_range(value.len(), start, end, in_bits)
        }
        _ => return out.error(errors::SYNTAX),
    };
    let Some(r) = range else {
        return out.int(0);
    };
    let bytes = &value[r.start..=r.end];
    let mut count: u64 = bytes.iter().map(|b| b.count_ones() as u64).sum();
    count -= (bytes[0] & r.first_outside).count_ones() as u64;
    count -= (bytes[bytes.len() - 1] & r.last_outside).count_ones() as u64;
    out.int(count as i64);
}

/// The whole of a string as a range (none for an empty string).
fn whole(value: &[u8]) -> Option<ByteRange> {
    (!value.is_empty()).then(|| ByteRange { start: 0, end: value.len() - 1, first_outside: 0, last_outside: 0 })
}

fn bitpos(ctx: &mut Ctx, args: &[Bytes]) {
    let out = &mut *ctx.out;
    let bit = match parse_i64(&args[2]) {
        None => return out.error(errors::NOT_INTEGER),
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return out.error("ERR The bit argument must be 1 or 0."),
    };
    let db = ctx.client.db;
    let value = match read_bits(ctx.ks.get(), out, db, &args[1]) {
        Bits::WrongType => return,
        // An endless run of zeros: the first clear bit is 0, a set one is never found.
        Bits::Missing => return out.int(if bit { -1 } else { 0 }),
        Bits::Value(v) => v,
    };
    let (range, end_given) = match args.len() {
        3 => (whole(value), false),
        4..=6 => {
            let Some(start) = parse_i64(&args[3]) else {
                return out.error(errors::NOT_INTEGER);
            };
            let Some(in_bits) = range_unit(out, args.get(5)) else {
                return;
            };
            let end = match args.get(4) {
                Some(a) => match parse_i64(a) {
                    Some(end) => end,
                    None => return out.error(errors::NOT_INTEGER),
                },
                None => i64::MAX,
            };
            (byte_range(value.len(), start, end, in_bits), args.len() >= 5)
        }
        _ => return out.error(errors::SYNTAX),
    };
    let Some(r) = range else {
        return out.int(-1);
    };
    // Bits outside the range read as the opposite of the bit looked for.
    let looked_at = |i: usize| {
        let mut b = value[i];
        let mut outside = 0;
        if i == r.start {
            outside |= r.first_outside;
        }
        if i == r.end {
            outside |= r.last_outside;
        }
        if bit {
            b &= !outside;
        } else {
            b |= outside;
        }
        b
    };
    let found = (r.start..=r.end).find_map(|i| {
        let b = looked_at(i);
        let hit = if bit { b != 0 } else { b != 0xff };
        hit.then(|| (i as i64) * 8 + if bit { b.leading_zeros() } else { b.leading_ones() } as i64)
    });
    let pos = match found {
        Some(pos) => pos,
        // No set bit in range; no clear bit: the string's right is zero padded unless the
        // caller gave the end of the range.
        None if bit || end_given => -1,
        None => (r.end as i64 + 1) * 8,
    };
    out.int(pos);
}

// ----- BITOP -----

#[derive(Clone, Copy, PartialEq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, args: &[Bytes]) {
    let op = match &args[1] {
        a if is(a, "and") => BitOp::And,
        a if is(a, "or") => BitOp::Or,
        a if is(a, "xor") => BitOp::Xor,
        a if is(a, "not") => BitOp::Not,
        _ => return ctx.out.error(errors::SYNTAX),
    };
    if op == BitOp::Not && args.len() != 4 {
        return ctx.out.error("ERR BITOP NOT must be called with a single source key.");
    }
    let mut sources: Vec<Vec<u8>> = Vec::with_capacity(args.len() - 3);
    let db = ctx.db();
    for key in &args[3..] {
        match read_bits(ctx.ks.get(), ctx.out, db, key) {
            Bits::WrongType => return,
            Bits::Missing => sources.push(Vec::new()),
            Bits::Value(v) => sources.push(v.to_vec()),
        }
    }
    let len = sources.iter().map(Vec::len).max().unwrap_or(0);
    let mut result = vec![0u8; len];
    // A shorter source reads as zero bytes past its end.
    let byte = |s: &Vec<u8>, i: usize| s.get(i).copied().unwrap_or(0);
    for (i, out) in result.iter_mut().enumerate() {
        let first = byte(&sources[0], i);
        *out = match op {
            BitOp::Not => !first,
            BitOp::And => sources[1..].iter().fold(first, |acc, s| acc & byte(s, i)),
            BitOp::Or => sources[1..].iter().fold(first, |acc, s| acc | byte(s, i)),
            BitOp::Xor => sources[1..].iter().fold(first, |acc, s| acc ^ byte(s, i)),
        };
    }
    let dest = &args[2];
    if len > 0 {
        if let Err(e) = strings::store(ctx, dest, &result, &SetOptions::default()) {
            return ctx.out.error(e);
        }
    } else {
        // An empty result leaves no key, as in Redis (a `del` if there was one).
        let db = ctx.db();
        ctx.ks.get().remove(db, dest, Removal::Deleted);
    }
    ctx.out.int(len as i64);
}

// ----- BITFIELD -----

/// BITFIELD's `OVERFLOW` behaviour for SET and INCRBY.
#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// A field type: `i1`..`i64` or `u1`..`u63`.
#[derive(Clone, Copy)]
struct FieldType {
    signed: bool,
    bits: u32,
}

#[derive(Clone, Copy)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

struct Field {
    op: FieldOp,
    ty: FieldType,
    offset: u64,
    overflow: Overflow,
}

fn field_type(ctx: &mut Ctx, arg: &[u8]) -> Option<FieldType> {
    let signed = match arg.first() {
        Some(b'i') => Some(true),
        Some(b'u') => Some(false),
        _ => None,
    };
    let bits = signed.and_then(|signed| {
        let max = if signed { 64 } else { 63 };
        parse_i64(&arg[1..]).filter(|b| (1..=max).contains(b))
    });
    match (signed, bits) {
        (Some(signed), Some(bits)) => Some(FieldType { signed, bits: bits as u32 }),
        _ => {
            ctx.out.error(
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
            );
            None
        }
    }
}

/// Parses the BITFIELD subcommands; `None` once an error is sent.
fn parse_fields(ctx: &mut Ctx, args: &[Bytes]) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let sub = &args[j];
        let takes_value = if is(sub, "get") && left >= 2 {
            false
        } else if (is(sub, "set") || is(sub, "incrby")) && left >= 3 {
            true
        } else if is(sub, "overflow") && left >= 1 {
            overflow = match &args[j + 1] {
                a if is(a, "wrap") => Overflow::Wrap,
                a if is(a, "sat") => Overflow::Sat,
                a if is(a, "fail") => Overflow::Fail,
                _ => {
                    ctx.out.error("ERR Invalid OVERFLOW type specified");
                    return None;
                }
            };
            j += 2;
            continue;
        } else {
            ctx.out.error(errors::SYNTAX);
            return None;
        };
        let ty = field_type(ctx, &args[j + 1])?;
        let offset = bit_offset(ctx, &args[j + 2], Some(ty.bits))?;
        let op = if takes_value {
            let Some(n) = parse_i64(&args[j + 3]) else {
                ctx.out.error(errors::NOT_INTEGER);
                return None;
            };
            if is(sub, "set") {
                FieldOp::Set(n)
            } else {
                FieldOp::IncrBy(n)
            }
        } else {
            FieldOp::Get
        };
        fields.push(Field { op, ty, offset, overflow });
        j += if takes_value { 4 } else { 3 };
    }
    Some(fields)
}

fn read_field(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for i in 0..bits as u64 {
        let at = offset + i;
        let bit = bytes.get((at >> 3) as usize).map_or(0, |b| (b >> (7 - (at & 7))) & 1);
        value = (value << 1) | bit as u64;
    }
    value
}

fn write_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..bits as u64 {
        let at = offset + i;
        let bit = (value >> (bits as u64 - 1 - i)) & 1;
        let (byte, mask) = bit_position(at);
        if bit == 1 {
            bytes[byte] |= mask;
        } else {
            bytes[byte] &= !mask;
        }
    }
}

/// Sign-extends a `bits`-wide two's complement field.
fn signed_field(raw: u64, bits: u32) -> i64 {
    if bits < 64 && raw & (1 << (bits - 1)) != 0 {
        (raw | (u64::MAX << bits)) as i64
    } else {
        raw as i64
    }
}

/// `value + incr` in an unsigned field of `bits` bits under the overflow rule, or `None` when
/// it does not fit and the rule is FAIL. The arithmetic is Redis's
/// `checkUnsignedBitfieldOverflow`, wrapping where C wraps, so edge cases come out alike.
fn unsigned_result(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = 0u64.wrapping_sub(value) as i64;
    let wrapped = value.wrapping_add(incr as u64) & max;
    let limit = if value > max || (incr > 0 && incr > max_incr) {
        max
    } else if incr < 0 && incr < min_incr {
        0
    } else {
        return Some(wrapped);
    };
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(limit),
        Overflow::Wrap => Some(wrapped),
    }
}

/// `value + incr` in a signed field of `bits` bits, as Redis's `checkSignedBitfieldOverflow`
/// computes it (including where its limits wrap: a SET far below the minimum of a field
/// narrower than 64 bits saturates to the maximum there, and so here).
fn signed_result(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrapped = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let high = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= high;
            } else {
                c &= !high;
            }
        }
        c as i64
    };
    let limit = if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        max
    } else if value < min || (bits != 64 && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr) {
        min
    } else {
        return Some(value.wrapping_add(incr));
    };
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(limit),
        Overflow::Wrap => Some(wrapped()),
    }
}

/// The integer a field holds, as BITFIELD replies it.
fn field_value(ty: FieldType, raw: u64) -> i64 {
    if ty.signed {
        signed_field(raw, ty.bits)
    } else {
        raw as i64
    }
}

/// Runs the fields over `bytes` (already grown to hold every written field), returning the
/// replies (`None` for a FAIL overflow) and whether any bit changed.
fn run_fields(bytes: &mut [u8], fields: &[Field]) -> (Vec<Option<i64>>, bool) {
    let mut changed = false;
    let replies = fields
        .iter()
        .map(|f| {
            let old = read_field(bytes, f.offset, f.ty.bits);
            let (bits, ow) = (f.ty.bits, f.overflow);
            let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            // The field's new bits and the reply: SET answers the old value, INCRBY the new.
            let (new, reply) = match (f.op, f.ty.signed) {
                (FieldOp::Get, _) => return Some(field_value(f.ty, old)),
                (FieldOp::Set(v), true) => {
                    (signed_result(v, 0, bits, ow).map(|n| n as u64 & mask), field_value(f.ty, old))
                }
                (FieldOp::Set(v), false) => (unsigned_result(v as u64, 0, bits, ow), old as i64),
                (FieldOp::IncrBy(n), true) => {
                    let new = signed_result(signed_field(old, bits), n, bits, ow);
                    (new.map(|n| n as u64 & mask), new.unwrap_or(0))
                }
                (FieldOp::IncrBy(n), false) => {
                    let new = unsigned_result(old, n, bits, ow);
                    (new, new.unwrap_or(0) as i64)
                }
            };
            let new = new?;
            write_field(bytes, f.offset, f.ty.bits, new);
            changed |= new != old;
            Some(reply)
        })
        .collect();
    (replies, changed)
}

fn reply_fields(ctx: &mut Ctx, replies: &[Option<i64>]) {
    ctx.out.array(replies.len());
    for r in replies {
        match r {
            Some(n) => ctx.out.int(*n),
            None => ctx.out.null(),
        }
    }
}

fn bitfield(ctx: &mut Ctx, args: &[Bytes]) {
    bitfield_generic(ctx, args, false);
}

fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) {
    bitfield_generic(ctx, args, true);
}

fn bitfield_generic(ctx: &mut Ctx, args: &[Bytes], read_only: bool) {
    let Some(fields) = parse_fields(ctx, args) else {
        return;
    };
    let key = &args[1];
    let highest_bit =
        fields.iter().filter(|f| !matches!(f.op, FieldOp::Get)).map(|f| f.offset + f.ty.bits as u64 - 1).max();
    let Some(highest_bit) = highest_bit else {
        // Only GETs: a read, which a missing key answers with zeros.
        let db = ctx.db();
        let value = match read_bits(ctx.ks.get(), ctx.out, db, key) {
            Bits::WrongType => return,
            Bits::Missing => &[][..],
            Bits::Value(v) => v,
        };
        let replies: Vec<Option<i64>> =
            fields.iter().map(|f| Some(field_value(f.ty, read_field(value, f.offset, f.ty.bits)))).collect();
        return reply_fields(ctx, &replies);
    };
    if read_only {
        return ctx.out.error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let needed = (highest_bit >> 3) as usize + 1;
    let db = ctx.db();
    let replies = match string_len_for_write(ctx, key) {
        Found::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Found::Missing => {
            let mut value = vec![0u8; needed];
            let (replies, changed) = run_fields(&mut value, &fields);
            // The key is created even when every write failed, as in Redis, but only a
            // field written is a `setbit`.
            let events: &[KeyEvent] = if replies.iter().any(Option::is_some) || changed { &[SETBIT] } else { &[] };
            ctx.ks.get().insert(db, Entry::string(key, &value, 0), events);
            replies
        }
        Found::String(len) => {
            let grows = needed > len;
            let replies = ctx.ks.get().modify(db, key, &[SETBIT], |e| {
                if grows {
                    e.edit_string(|v| v.resize(needed, 0));
                }
                let (replies, changed) = run_fields(e.str_value_mut(), &fields);
                let written = grows && replies.iter().any(Option::is_some);
                (replies, changed || written)
            });
            replies.unwrap_or_default()
        }
    };
    reply_fields(ctx, &replies);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_and_write_across_bytes() {
        let mut bytes = vec![0u8; 3];
        write_field(&mut bytes, 4, 12, 0xabc);
        assert_eq!(bytes, [0x0a, 0xbc, 0x00]);
        assert_eq!(read_field(&bytes, 4, 12), 0xabc);
        assert_eq!(read_field(&bytes, 0, 4), 0);
        // Past the end reads zeros.
        assert_eq!(read_field(&bytes, 20, 16), 0);
    }

    #[test]
    fn overflow_rules_match_redis() {
        assert_eq!(unsigned_result(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_result(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_result(250, 10, 8, Overflow::Fail), None);
        assert_eq!(unsigned_result(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_result(5, -10, 8, Overflow::Wrap), Some(251));
        // SET into an unsigned field reads a negative value as a large one.
        assert_eq!(unsigned_result(-1i64 as u64, 0, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_result(-2i64 as u64, 0, 8, Overflow::Wrap), Some(254));
        assert_eq!(signed_result(120, 10, 8, Overflow::Wrap), Some(-126));
        assert_eq!(signed_result(120, 10, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_result(-128, -1, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_result(-300, 0, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_result(i64::MAX, 1, 64, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(signed_result(i64::MAX, 1, 64, Overflow::Fail), None);
        // Redis's limit arithmetic wraps for a value this far below an i63's minimum.
        assert_eq!(signed_result(-6_261_699_330_633_375_200, 0, 63, Overflow::Sat), Some((1i64 << 62) - 1));
    }

    #[test]
    fn ranges_clamp_and_mask_edges() {
        let r = byte_range(3, 5, 18, true).unwrap();
        assert_eq!((r.start, r.end, r.first_outside, r.last_outside), (0, 2, 0b1111_1000, 0b0001_1111));
        assert!(byte_range(3, 2, 1, false).is_none());
        let r = byte_range(3, -2, -1, false).unwrap();
        assert_eq!((r.start, r.end), (1, 2));
        let r = byte_range(3, 0, 100, false).unwrap();
        assert_eq!((r.start, r.end), (0, 2));
    }
}
