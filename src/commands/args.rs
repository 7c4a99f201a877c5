//! Argument parsing shared by handlers: each helper writes Redis's error reply itself and
//! returns `None`, so a handler can simply `let Some(n) = int(ctx, &args[2]) else { return };`.
//! The one exception is [`scan_options`], which returns the error: SCAN-family commands
//! report it at different points.

use super::{errors, Ctx};
use crate::util::{parse_cursor, parse_f64, parse_i64};
use bytes::Bytes;

pub fn int(ctx: &mut Ctx, arg: &[u8]) -> Option<i64> {
    let v = parse_i64(arg);
    if v.is_none() {
        ctx.out.error(errors::NOT_INTEGER);
    }
    v
}

/// A non-negative integer; `what` names it in the error (`timeout`, `count` ...).
pub fn non_negative(ctx: &mut Ctx, arg: &[u8], msg: &str) -> Option<i64> {
    match parse_i64(arg) {
        Some(v) if v >= 0 => Some(v),
        Some(_) => {
            ctx.out.error(msg);
            None
        }
        None => {
            ctx.out.error(errors::NOT_INTEGER);
            None
        }
    }
}

pub fn float(ctx: &mut Ctx, arg: &[u8]) -> Option<f64> {
    let v = parse_f64(arg);
    if v.is_none() {
        ctx.out.error(errors::NOT_FLOAT);
    }
    v
}

/// Case-insensitive comparison of an argument with an option name.
#[inline]
pub fn is(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

pub fn text(arg: &[u8]) -> String {
    String::from_utf8_lossy(arg).into_owned()
}

/// The optional `MATCH pattern` of a listing subcommand (`TENANT LIST`, `KEYCLASS LIST`), its
/// only option; writes the syntax error and returns `None` for anything else.
pub fn match_option<'a>(ctx: &mut Ctx, args: &'a [Bytes]) -> Option<Option<&'a [u8]>> {
    match args.len() {
        2 => Some(None),
        4 if is(&args[2], "MATCH") => Some(Some(&args[3])),
        _ => {
            ctx.out.error(errors::SYNTAX);
            None
        }
    }
}

/// A SCAN-family cursor (see [`parse_cursor`]); writes Redis's error when it is not one.
pub fn cursor(ctx: &mut Ctx, arg: &[u8]) -> Option<u64> {
    let v = parse_cursor(arg);
    if v.is_none() {
        ctx.out.error("ERR invalid cursor");
    }
    v
}

/// Which option a SCAN-family command takes beyond `COUNT` and `MATCH`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ScanExtra {
    None,
    /// SCAN's `TYPE name`.
    Type,
    /// HSCAN's `NOVALUES`.
    NoValues,
}

/// The options of SCAN, SSCAN, HSCAN and ZSCAN.
pub struct ScanOptions<'a> {
    pub count: usize,
    /// `None` also for `*`, which matches everything: no need to test each element.
    pub pattern: Option<&'a [u8]>,
    pub type_name: Option<&'a [u8]>,
    pub no_values: bool,
}

/// Parses SCAN-family options (the arguments after the cursor) as Redis's
/// `scanGenericCommand`; on failure, the error to reply (each command reports it at its own
/// point).
pub fn scan_options(args: &[Bytes], extra: ScanExtra) -> Result<ScanOptions<'_>, &'static str> {
    let mut o = ScanOptions { count: 10, pattern: None, type_name: None, no_values: false };
    let mut i = 0;
    while i < args.len() {
        match args.get(i + 1) {
            Some(value) if is(&args[i], "count") => {
                o.count = match parse_i64(value) {
                    None => return Err(errors::NOT_INTEGER),
                    Some(n) if n < 1 => return Err(errors::SYNTAX),
                    Some(n) => n as usize,
                };
            }
            Some(value) if is(&args[i], "match") => o.pattern = Some(&value[..]).filter(|p| *p != b"*"),
            // Redis 7 accepts an unknown type name and then matches nothing.
            Some(value) if extra == ScanExtra::Type && is(&args[i], "type") => o.type_name = Some(value),
            _ if extra == ScanExtra::NoValues && is(&args[i], "novalues") => {
                o.no_values = true;
                i += 1;
                continue;
            }
            _ => return Err(errors::SYNTAX),
        }
        i += 2;
    }
    Ok(o)
}
