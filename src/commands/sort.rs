//! SORT and SORT_RO (Redis's `sort.c`): sort the elements of a list, set or sorted set
//! numerically or byte-wise, by their own value or by keys and hash fields named after them
//! (`BY weight_*`, `BY obj_*->field`), return a window of the result (`LIMIT`) or values looked
//! up for each element (`GET`), and optionally store the result as a list (`STORE`).
//!
//! Elements are copied out of the source before any pattern lookup, as Redis does, so the
//! lookups (which count keyspace hits and misses like any read) may borrow the keyspace and
//! the destination may be the source itself. ALPHA compares bytes; Redis uses `strcoll` when
//! not storing, which is the same in the C locale Redis normally runs in.

use super::args::{int, is};
use super::flags::*;
use super::table::{key_access, KeyRef};
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use crate::storage::list::ListValue;
use crate::storage::value::Collection;
use crate::storage::{notify, KeyEvent, Keyspace};
use bytes::Bytes;
use std::cmp::Ordering;

// One line per command keeps the table readable as a table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    // Redis flags SORT write + denyoom whatever its options; admission only reserves room for
    // the STORE destination, the one key the finder marks as written.
    cmd!("sort", -2, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "generic", "1.0.0", "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", sort).keys_by(sort_keys),
    // Movable in Redis too (its keys may come from BY/GET patterns); the one key it names is
    // the source at position 1.
    cmd!("sort_ro", -2, READONLY | MOVABLE_KEYS, (1, 1, 1), "generic", "7.0.0", "Returns the sorted elements of a list, a set, or a sorted set.", sort_ro),
];

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

/// The keys of a SORT command line, as Redis's `sortGetKeys`: the source, then the destination
/// of the last STORE. Options are skipped with their arguments so that a GET or BY pattern
/// spelled `store` is not taken for the option.
fn sort_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let mut keys = vec![KeyRef { pos: 1, flags: key_access::READ }];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if is(a, "limit") {
            i += 2;
        } else if is(a, "store") && i + 1 < args.len() {
            // The destination itself is examined next, as Redis's loop does.
            store = Some(i + 1);
        } else if is(a, "get") || is(a, "by") {
            i += 1;
        }
        i += 1;
    }
    keys.extend(store.map(|pos| KeyRef { pos, flags: key_access::OVERWRITE }));
    keys
}

/// A BY or GET pattern, parsed once for all elements.
enum Pattern<'a> {
    /// `#`: the element itself.
    Element,
    /// No `*`: names no key, so every lookup misses.
    Fixed,
    /// `prefix*suffix`, or `prefix*suffix->field` for a hash field.
    Key { prefix: &'a [u8], suffix: &'a [u8], field: Option<&'a [u8]> },
}

impl<'a> Pattern<'a> {
    fn parse(p: &'a [u8]) -> Pattern<'a> {
        if p == b"#" {
            return Pattern::Element;
        }
        let Some(star) = memchr::memchr(b'*', p) else {
            return Pattern::Fixed;
        };
        let (prefix, rest) = (&p[..star], &p[star + 1..]);
        // `->` with nothing after it is part of the key name, as in Redis.
        match memchr::memmem::find(rest, b"->") {
            Some(arrow) if arrow + 2 < rest.len() => {
                Pattern::Key { prefix, suffix: &rest[..arrow], field: Some(&rest[arrow + 2..]) }
            }
            _ => Pattern::Key { prefix, suffix: rest, field: None },
        }
    }

    /// Runs `f` on the value the pattern names for `element`: the string at the substituted
    /// key, or the field of the hash there; `None` if missing or of another type.
    fn lookup<R>(
        &self,
        ks: &mut Keyspace,
        db: usize,
        element: &[u8],
        key: &mut Vec<u8>,
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> R {
        let (prefix, suffix, field) = match *self {
            Pattern::Element => return f(Some(element)),
            Pattern::Fixed => return f(None),
            Pattern::Key { prefix, suffix, field } => (prefix, suffix, field),
        };
        key.clear();
        key.extend_from_slice(prefix);
        key.extend_from_slice(element);
        key.extend_from_slice(suffix);
        let entry = ks.read(db, key);
        let value = match (entry, field) {
            (Some(e), None) if e.is_string() => Some(e.str_value()),
            (Some(e), Some(field)) => match e.collection() {
                Some(Collection::Hash(h)) => h.get(field),
                _ => None,
            },
            _ => None,
        };
        f(value)
    }
}

/// The parsed options of one SORT call.
struct Options<'a> {
    by: Option<&'a [u8]>,
    gets: Vec<Pattern<'a>>,
    limit: (i64, i64),
    desc: bool,
    alpha: bool,
    store: Option<&'a [u8]>,
    /// Run by a script, which must see the same result wherever it runs.
    for_script: bool,
}

/// Parses the options as Redis does (the last of repeated options wins); writes the error and
/// returns `None` on a bad LIMIT or an unknown or incomplete option.
fn parse_options<'a>(ctx: &mut Ctx, args: &'a [Bytes], readonly: bool) -> Option<Options<'a>> {
    let mut o = Options {
        by: None,
        gets: Vec::new(),
        limit: (0, -1),
        desc: false,
        alpha: false,
        store: None,
        for_script: ctx.in_script,
    };
    let mut j = 2;
    while j < args.len() {
        let (a, left) = (&args[j], args.len() - j - 1);
        if is(a, "asc") {
            o.desc = false;
        } else if is(a, "desc") {
            o.desc = true;
        } else if is(a, "alpha") {
            o.alpha = true;
        } else if is(a, "limit") && left >= 2 {
            o.limit = (int(ctx, &args[j + 1])?, int(ctx, &args[j + 2])?);
            j += 2;
        } else if !readonly && is(a, "store") && left >= 1 {
            o.store = Some(&args[j + 1]);
            j += 1;
        } else if is(a, "by") && left >= 1 {
            o.by = Some(&args[j + 1]);
            j += 1;
        } else if is(a, "get") && left >= 1 {
            o.gets.push(Pattern::parse(&args[j + 1]));
            j += 1;
        } else {
            ctx.out.error(errors::SYNTAX);
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// The window `LIMIT offset count` selects from `len` elements, as Redis clamps it: `None`
/// when empty, else the inclusive range.
fn window(len: usize, (offset, count): (i64, i64)) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = offset.clamp(0, len);
    let count = count.clamp(-1, len);
    let mut end = if count < 0 { len - 1 } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    (end >= start).then_some((start as usize, end as usize))
}

/// A numeric sort weight as Redis reads it with `strtod`: the text up to a NUL byte, leading
/// whitespace allowed, decimal or hexadecimal (`0x1.8p3`); an empty text is 0; trailing
/// garbage, NaN, overflow and underflow are errors.
fn parse_weight(v: &[u8]) -> Option<f64> {
    let v = &v[..v.iter().position(|&c| c == 0).unwrap_or(v.len())];
    if v.is_empty() {
        return Some(0.0);
    }
    let text = &v[v.iter().position(|c| !b" \t\n\x0b\x0c\r".contains(c))?..];
    let unsigned = text.strip_prefix(b"-").or_else(|| text.strip_prefix(b"+")).unwrap_or(text);
    // Letters match in any case, compared in place: this runs once per element sorted.
    let starts_with = |s: &[u8], prefix: &[u8]| s.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    let before = |s: &'_ [u8], letter: u8| s.iter().position(|c| c.eq_ignore_ascii_case(&letter)).unwrap_or(s.len());
    // Underflow is a non-zero mantissa giving a result below `tiny`: glibc flags decimal
    // subnormals (inexact), but hexadecimal ones only when they vanish to zero.
    let (x, mantissa, tiny) = if starts_with(unsigned, b"0x") {
        let hex = &unsigned[2..];
        let x = parse_hex_float(hex)?;
        (if text[0] == b'-' { -x } else { x }, &hex[..before(hex, b'p')], f64::from_bits(1))
    } else {
        (crate::util::parse_f64(text)?, &unsigned[..before(unsigned, b'e')], f64::MIN_POSITIVE)
    };
    let overflow = x.is_infinite() && !starts_with(unsigned, b"inf");
    let underflow = x.abs() < tiny && mantissa.iter().any(|&c| c != b'0' && c != b'.');
    (!overflow && !underflow).then_some(x)
}

/// The digits of a C99 hexadecimal float after `0x`: hex digits with an optional point, then
/// an optional binary exponent `p[+-]n`.
fn parse_hex_float(hex: &[u8]) -> Option<f64> {
    let (mantissa, exponent) = match hex.iter().position(|c| c.eq_ignore_ascii_case(&b'p')) {
        Some(p) => (&hex[..p], std::str::from_utf8(&hex[p + 1..]).ok()?.parse::<i32>().ok()?),
        None => (hex, 0),
    };
    let (mut value, mut scale, mut point, mut digits) = (0f64, 0i32, false, 0);
    for &c in mantissa {
        if c == b'.' && !point {
            point = true;
            continue;
        }
        value = value * 16.0 + (c as char).to_digit(16)? as f64;
        scale -= if point { 4 } else { 0 };
        digits += 1;
    }
    // Scaled in two halves: 2^-1074 itself is not representable as 1 / 2^1074.
    let e = exponent.saturating_add(scale);
    (digits > 0).then(|| value * 2f64.powi(e / 2) * 2f64.powi(e - e / 2))
}

/// The elements to sort and where the output window lies in them.
struct Loaded {
    elements: Vec<Vec<u8>>,
    /// Inclusive output range within `elements`; `None` for no output.
    window: Option<(usize, usize)>,
    /// Whether the elements still need sorting.
    sort: bool,
    alpha: bool,
    by: bool,
}

/// Copies the elements out of the source, reading only the window when the order is the
/// source's own (a list or sorted set with a constant BY). `Err` for a source of another type.
fn load(ks: &mut Keyspace, db: usize, key: &[u8], o: &Options) -> Result<Loaded, ()> {
    // A BY pattern without `*` names no weight: the source order is kept.
    let mut dont_sort = o.by.is_some_and(|p| !p.contains(&b'*'));
    let (mut alpha, mut by) = (o.alpha, o.by.is_some() && !dont_sort);
    let collection = match ks.read(db, key) {
        None => None,
        Some(e) => match e.collection() {
            Some(c @ (Collection::List(_) | Collection::Set(_) | Collection::ZSet(_))) => Some(c),
            _ => return Err(()),
        },
    };
    // A set has no order of its own, so a stored result (or one a script sees) is sorted to
    // be reproducible, as in Redis.
    if dont_sort && (o.store.is_some() || o.for_script) && matches!(collection, Some(Collection::Set(_))) {
        dont_sort = false;
        alpha = true;
        by = false;
    }
    let len = match collection {
        Some(Collection::List(l)) => l.len(),
        Some(Collection::Set(s)) => s.len(),
        Some(Collection::ZSet(z)) => z.len(),
        _ => 0,
    };
    let window = window(len, o.limit);
    // DESC counts the window from the end: positions `start..=end` of the reversed source.
    let elements: Vec<Vec<u8>> = match collection {
        Some(Collection::List(l)) if dont_sort => match window {
            None => Vec::new(),
            Some((start, end)) if o.desc => l.range(len - 1 - end, len - 1 - start).rev().map(<[u8]>::to_vec).collect(),
            Some((start, end)) => l.range(start, end).map(<[u8]>::to_vec).collect(),
        },
        Some(Collection::ZSet(z)) if dont_sort => match window {
            None => Vec::new(),
            Some((start, end)) if o.desc => {
                z.range(len - 1 - end, len - start).rev().map(|i| i.member.to_vec()).collect()
            }
            Some((start, end)) => z.range(start, end + 1).map(|i| i.member.to_vec()).collect(),
        },
        Some(Collection::List(l)) => l.iter().map(<[u8]>::to_vec).collect(),
        Some(Collection::Set(s)) => s.iter().map(|m| m.to_vec()).collect(),
        Some(Collection::ZSet(z)) => z.iter().map(|i| i.member.to_vec()).collect(),
        _ => Vec::new(),
    };
    // The direct loads above hold exactly the window.
    let direct_load = dont_sort && matches!(collection, Some(Collection::List(_) | Collection::ZSet(_)));
    let window = if direct_load { (!elements.is_empty()).then(|| (0, elements.len() - 1)) } else { window };
    Ok(Loaded { elements, window, sort: !dont_sort, alpha, by })
}

/// Sorts the elements in place as Redis's `sortCompare`; `Err` if a numeric weight is not a
/// number.
fn sort_elements(ks: &mut Keyspace, db: usize, loaded: &mut Loaded, o: &Options) -> Result<(), ()> {
    let by = if loaded.by { o.by.map(Pattern::parse) } else { None };
    let elements = std::mem::take(&mut loaded.elements);
    let mut key = Vec::new();
    let mut ordered: Vec<(Vec<u8>, Weight)> = Vec::with_capacity(elements.len());
    for e in elements {
        let weight = match (&by, loaded.alpha) {
            (None, true) => Weight::Own,
            (None, false) => Weight::Number(parse_weight(&e).ok_or(())?),
            (Some(p), true) => Weight::Text(p.lookup(ks, db, &e, &mut key, |v| v.map(<[u8]>::to_vec))),
            // A missing weight key counts as 0.
            (Some(p), false) => {
                Weight::Number(p.lookup(ks, db, &e, &mut key, |v| v.map_or(Some(0.0), parse_weight)).ok_or(())?)
            }
        };
        ordered.push((e, weight));
    }
    ordered.sort_by(|(a, wa), (b, wb)| {
        let cmp = match (wa, wb) {
            // Equal weights fall back to the elements' bytes, so the result is deterministic.
            (Weight::Number(x), Weight::Number(y)) => {
                x.partial_cmp(y).unwrap_or(Ordering::Equal).then_with(|| a.cmp(b))
            }
            // A missing weight sorts first.
            (Weight::Text(x), Weight::Text(y)) => x.cmp(y),
            _ => a.cmp(b),
        };
        if o.desc {
            cmp.reverse()
        } else {
            cmp
        }
    });
    loaded.elements = ordered.into_iter().map(|(e, _)| e).collect();
    Ok(())
}

/// What an element is sorted by.
enum Weight {
    Number(f64),
    /// ALPHA with BY: the looked-up value, `None` when missing.
    Text(Option<Vec<u8>>),
    /// ALPHA without BY: the element itself.
    Own,
}

fn sort(ctx: &mut Ctx, args: &[Bytes]) {
    sort_generic(ctx, args, false);
}

fn sort_ro(ctx: &mut Ctx, args: &[Bytes]) {
    sort_generic(ctx, args, true);
}

fn sort_generic(ctx: &mut Ctx, args: &[Bytes], readonly: bool) {
    let Some(o) = parse_options(ctx, args, readonly) else {
        return;
    };
    let db = ctx.db();
    let ks = ctx.ks.get();
    let Ok(mut loaded) = load(ks, db, &args[1], &o) else {
        return ctx.out.error(errors::WRONGTYPE);
    };
    if loaded.sort && sort_elements(ks, db, &mut loaded, &o).is_err() {
        return ctx.out.error(NOT_DOUBLE);
    }
    let window = match loaded.window {
        Some((start, end)) => &loaded.elements[start..=end],
        None => &[],
    };
    let per_element = o.gets.len().max(1);
    let mut key = Vec::new();
    let Some(dst) = o.store else {
        ctx.out.array(window.len() * per_element);
        for e in window {
            if o.gets.is_empty() {
                ctx.out.bulk(e);
            }
            for p in &o.gets {
                let out = &mut *ctx.out;
                p.lookup(ks, db, e, &mut key, |v| match v {
                    Some(v) => out.bulk(v),
                    None => out.null(),
                });
            }
        }
        return;
    };
    let mut list = ListValue::new();
    for e in window {
        if o.gets.is_empty() {
            list.push_back(e);
        }
        for p in &o.gets {
            // A missing value is stored as an empty string.
            p.lookup(ks, db, e, &mut key, |v| list.push_back(v.unwrap_or_default()));
        }
    }
    let stored = list.len();
    list.update_encoding(&ks.encoding);
    // Inserting a list wakes the clients blocked on the destination.
    let result = (stored > 0).then(|| Collection::List(Box::new(list)));
    ks.store_result(db, dst, result, KeyEvent::new(notify::LIST, "sortstore"));
    ctx.out.int(stored as i64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Bytes> {
        line.split(' ').map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    fn positions(line: &str) -> Vec<usize> {
        sort_keys(&args(line)).into_iter().map(|k| k.pos).collect()
    }

    #[test]
    fn finds_the_last_store_destination() {
        assert_eq!(positions("sort abc"), [1]);
        assert_eq!(positions("sort abc store def"), [1, 3]);
        assert_eq!(positions("sort abc store invalid store stillbad store def"), [1, 7]);
        assert_eq!(positions("sort abc get store by store limit store 1"), [1]);
        assert_eq!(positions("sort abc store"), [1]);
    }

    #[test]
    fn windows_clamp_as_redis() {
        assert_eq!(window(5, (0, -1)), Some((0, 4)));
        assert_eq!(window(5, (-10, 100)), Some((0, 4)));
        assert_eq!(window(5, (5, 10)), None);
        assert_eq!(window(5, (1, 0)), None);
        assert_eq!(window(5, (3, 10)), Some((3, 4)));
        assert_eq!(window(3, (2, i64::MAX)), Some((2, 2)));
        assert_eq!(window(0, (0, -1)), None);
    }

    #[test]
    fn weights_parse_as_strtod() {
        assert_eq!(parse_weight(b""), Some(0.0));
        assert_eq!(parse_weight(b" 1.5"), Some(1.5));
        assert_eq!(parse_weight(b"2\0junk"), Some(2.0));
        assert_eq!(parse_weight(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_weight(b"1.5 "), None);
        assert_eq!(parse_weight(b"   "), None);
        assert_eq!(parse_weight(b"nan"), None);
        assert_eq!(parse_weight(b"1e400"), None);
        assert_eq!(parse_weight(b"1e-400"), None);
        assert_eq!(parse_weight(b"0e-400"), Some(0.0));
        assert_eq!(parse_weight(b"abc"), None);
        assert_eq!(parse_weight(b"0x10"), Some(16.0));
        assert_eq!(parse_weight(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(parse_weight(b"0X.8"), Some(0.5));
        assert_eq!(parse_weight(b"0x1P1"), Some(2.0));
        assert_eq!(parse_weight(b"INF"), Some(f64::INFINITY));
        assert_eq!(parse_weight(b"0x"), None);
        assert_eq!(parse_weight(b"0x1g"), None);
        assert_eq!(parse_weight(b"0x1p"), None);
        assert_eq!(parse_weight(b"0x1p-2000"), None);
        assert_eq!(parse_weight(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_weight(b"1e-310"), None);
    }

    #[test]
    fn patterns_split_key_and_field() {
        let key = |p| match Pattern::parse(p) {
            Pattern::Key { prefix, suffix, field } => (prefix.to_vec(), suffix.to_vec(), field.map(<[u8]>::to_vec)),
            _ => panic!("not a key pattern"),
        };
        assert_eq!(key(b"w_*"), (b"w_".to_vec(), vec![], None));
        assert_eq!(key(b"o_*->f"), (b"o_".to_vec(), vec![], Some(b"f".to_vec())));
        assert_eq!(key(b"x:*->"), (b"x:".to_vec(), b"->".to_vec(), None));
        assert!(matches!(Pattern::parse(b"#"), Pattern::Element));
        assert!(matches!(Pattern::parse(b"nosort"), Pattern::Fixed));
    }
}
