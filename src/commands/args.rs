//! Argument parsing shared by handlers: each helper writes Redis's error reply itself and
//! returns `None`, so a handler can simply `let Some(n) = int(ctx, &args[2]) else { return };`.

use super::{errors, Ctx};
use crate::util::{parse_f64, parse_i64};
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
