//! The libraries Redis loads into its Lua state besides Lua's own, written here in Rust with
//! the behaviour of the C libraries Redis ships: `bit` (LuaBitOp 1.0: 32-bit operations on
//! Lua numbers), `cjson` (lua-cjson 2.1: JSON with its escaping, number format, sparse-array
//! rule and depth limits), `cmsgpack` (lua-cmsgpack: MessagePack with its choice of the
//! smallest encoding) and `struct` (Roberto Ierusalimschy's struct: pack/unpack with format
//! strings). `math.random` runs on Redis's rand48 generator, so a seed gives the sequence
//! Redis gives.

use mlua::{LightUserData, Lua, MultiValue, Table, Value, Variadic};
use parking_lot::Mutex;
use std::sync::Arc;

/// Installs bit, cjson, cmsgpack and struct as globals.
pub fn load(lua: &Lua) -> mlua::Result<()> {
    let g = lua.globals();
    g.set("bit", bit_library(lua)?)?;
    g.set("cjson", cjson_library(lua)?)?;
    g.set("cmsgpack", msgpack::library(lua)?)?;
    g.set("struct", structlib::library(lua)?)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// rand48, as Redis's rand.c.

/// The 48-bit linear congruential generator of POSIX drand48, as Redis's rand.c has it.
pub struct Rand48 {
    x: u64,
}

impl Rand48 {
    pub fn seeded(seed: i32) -> Self {
        Rand48 { x: ((seed as u32 as u64) << 16) | 0x330E }
    }

    /// A number in 0..2^31.
    pub fn next_value(&mut self) -> i32 {
        self.x = (self.x.wrapping_mul(0x5DEECE66D).wrapping_add(0xB)) & ((1 << 48) - 1);
        (self.x >> 17) as i32
    }
}

/// math.random as Redis replaces it: Lua's own, on rand48.
pub fn math_random(rng: &mut Rand48, args: MultiValue) -> mlua::Result<f64> {
    const MAX: i64 = i32::MAX as i64;
    let r = (rng.next_value() as i64 % MAX) as f64 / MAX as f64;
    let int = |v: &Value| -> mlua::Result<i64> {
        match v {
            Value::Integer(i) => Ok(*i),
            Value::Number(n) => Ok(*n as i64),
            Value::String(s) => s.to_str()?.trim().parse::<f64>().map(|n| n as i64).map_err(mlua::Error::external),
            _ => Err(mlua::Error::RuntimeError("bad argument to 'random' (number expected)".into())),
        }
    };
    let args: Vec<Value> = args.into_vec();
    match args.len() {
        0 => Ok(r),
        1 => {
            let u = int(&args[0])?;
            if u < 1 {
                return Err(mlua::Error::RuntimeError("bad argument #1 to 'random' (interval is empty)".into()));
            }
            Ok((r * u as f64).floor() + 1.0)
        }
        2 => {
            let (l, u) = (int(&args[0])?, int(&args[1])?);
            if l > u {
                return Err(mlua::Error::RuntimeError("bad argument #2 to 'random' (interval is empty)".into()));
            }
            Ok((r * (u - l + 1) as f64).floor() + l as f64)
        }
        _ => Err(mlua::Error::RuntimeError("wrong number of arguments".into())),
    }
}

// ---------------------------------------------------------------------------------------
// bit (LuaBitOp).

fn number_of(v: &Value, fname: &str, i: usize) -> mlua::Result<f64> {
    match v {
        Value::Integer(n) => Ok(*n as f64),
        Value::Number(n) => Ok(*n),
        Value::String(s) => s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()).ok_or_else(|| {
            mlua::Error::RuntimeError(format!("bad argument #{i} to '{fname}' (number expected, got string)"))
        }),
        other => Err(mlua::Error::RuntimeError(format!(
            "bad argument #{i} to '{fname}' (number expected, got {})",
            if matches!(other, Value::Nil) { "no value" } else { other.type_name() }
        ))),
    }
}

/// LuaBitOp's normalisation: the number's integer part modulo 2^32 (rounded as adding
/// 2^52+2^51 to a double rounds).
fn tobit(n: f64) -> i32 {
    (n + 6755399441055744.0).to_bits() as u32 as i32
}

fn bits(args: &Variadic<Value>, fname: &str, i: usize) -> mlua::Result<i32> {
    let v = args.get(i).unwrap_or(&Value::Nil);
    Ok(tobit(number_of(v, fname, i + 1)?))
}

fn bit_library(lua: &Lua) -> mlua::Result<Table<'_>> {
    let t = lua.create_table()?;
    t.set("tobit", lua.create_function(|_, a: Variadic<Value>| Ok(bits(&a, "tobit", 0)? as f64))?)?;
    t.set("bnot", lua.create_function(|_, a: Variadic<Value>| Ok(!bits(&a, "bnot", 0)? as f64))?)?;
    t.set("bswap", lua.create_function(|_, a: Variadic<Value>| Ok(bits(&a, "bswap", 0)?.swap_bytes() as f64))?)?;
    fn fold(name: &'static str, f: fn(i32, i32) -> i32) -> impl Fn(&Lua, Variadic<Value>) -> mlua::Result<f64> {
        move |_, a| {
            let mut acc = bits(&a, name, 0)?;
            for i in 1..a.len() {
                acc = f(acc, bits(&a, name, i)?);
            }
            Ok(acc as f64)
        }
    }
    t.set("band", lua.create_function(fold("band", |a, b| a & b))?)?;
    t.set("bor", lua.create_function(fold("bor", |a, b| a | b))?)?;
    t.set("bxor", lua.create_function(fold("bxor", |a, b| a ^ b))?)?;
    fn shift(name: &'static str, f: fn(i32, u32) -> i32) -> impl Fn(&Lua, Variadic<Value>) -> mlua::Result<f64> {
        move |_, a| {
            let x = bits(&a, name, 0)?;
            let n = (bits(&a, name, 1)? & 31) as u32;
            Ok(f(x, n) as f64)
        }
    }
    t.set("lshift", lua.create_function(shift("lshift", |x, n| ((x as u32) << n) as i32))?)?;
    t.set("rshift", lua.create_function(shift("rshift", |x, n| ((x as u32) >> n) as i32))?)?;
    t.set("arshift", lua.create_function(shift("arshift", |x, n| x >> n))?)?;
    t.set("rol", lua.create_function(shift("rol", |x, n| (x as u32).rotate_left(n) as i32))?)?;
    t.set("ror", lua.create_function(shift("ror", |x, n| (x as u32).rotate_right(n) as i32))?)?;
    t.set(
        "tohex",
        lua.create_function(|_, a: Variadic<Value>| {
            let x = bits(&a, "tohex", 0)? as u32;
            let mut n = if a.len() > 1 { bits(&a, "tohex", 1)? } else { 8 };
            let upper = n < 0;
            if upper {
                n = -n;
            }
            let n = n.clamp(1, 8) as usize;
            let s = if upper { format!("{x:08X}") } else { format!("{x:08x}") };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}

// ---------------------------------------------------------------------------------------
// cjson.

/// lua-cjson's settings (module-wide, as in the C library).
struct JsonConfig {
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
    encode_max_depth: i64,
    decode_max_depth: i64,
    precision: usize,
    encode_invalid_numbers: bool,
    decode_invalid_numbers: bool,
    keep_buffer: bool,
}

impl Default for JsonConfig {
    fn default() -> Self {
        JsonConfig {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            encode_invalid_numbers: false,
            decode_invalid_numbers: true,
            keep_buffer: true,
        }
    }
}

fn json_null() -> Value<'static> {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn rt(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(msg.into())
}

/// `%.<precision>g`.
fn format_g(n: f64, precision: usize) -> String {
    let mut buf = [0u8; 64];
    let fmt = std::ffi::CString::new(format!("%.{precision}g")).expect("format");
    // SAFETY: the buffer is 64 bytes and snprintf is told so; the format takes one double.
    let len = unsafe { libc::snprintf(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), fmt.as_ptr(), n) };
    String::from_utf8_lossy(&buf[..(len.max(0) as usize).min(buf.len() - 1)]).into_owned()
}

fn cjson_library(lua: &Lua) -> mlua::Result<Table<'_>> {
    let config = Arc::new(Mutex::new(JsonConfig::default()));
    let t = lua.create_table()?;
    let c = config.clone();
    t.set(
        "encode",
        lua.create_function(move |lua, v: Value| {
            let cfg = c.lock();
            let mut out = Vec::new();
            json_encode(&v, &cfg, 1, &mut out)?;
            lua.create_string(&out)
        })?,
    )?;
    let c = config.clone();
    t.set(
        "decode",
        lua.create_function(move |lua, s: mlua::String| {
            let cfg = c.lock();
            let mut p = JsonParser { s: s.as_bytes(), at: 0, cfg: &cfg, depth: 0 };
            p.skip_ws();
            let v = p.value(lua)?;
            p.skip_ws();
            if p.at < p.s.len() {
                return Err(rt(format!("Expected the end but found invalid token at character {}", p.at + 1)));
            }
            Ok(v)
        })?,
    )?;
    let c = config.clone();
    t.set(
        "encode_keep_buffer",
        lua.create_function(move |_, v: Option<bool>| {
            let mut cfg = c.lock();
            if let Some(v) = v {
                cfg.keep_buffer = v;
            }
            Ok(cfg.keep_buffer)
        })?,
    )?;
    for (name, which) in [("encode_max_depth", 0), ("decode_max_depth", 1), ("encode_number_precision", 2)] {
        let c = config.clone();
        t.set(
            name,
            lua.create_function(move |_, v: Option<i64>| {
                let mut cfg = c.lock();
                if let Some(v) = v {
                    let (lo, hi) = if which == 2 { (1, 14) } else { (1, i32::MAX as i64) };
                    if v < lo || v > hi {
                        return Err(rt(format!(
                            "bad argument #1 to '{name}' (expected integer between {lo} and {hi})"
                        )));
                    }
                    match which {
                        0 => cfg.encode_max_depth = v,
                        1 => cfg.decode_max_depth = v,
                        _ => cfg.precision = v as usize,
                    }
                }
                Ok(match which {
                    0 => cfg.encode_max_depth,
                    1 => cfg.decode_max_depth,
                    _ => cfg.precision as i64,
                })
            })?,
        )?;
    }
    let c = config.clone();
    t.set(
        "encode_sparse_array",
        lua.create_function(move |_, (convert, ratio, safe): (Option<bool>, Option<i64>, Option<i64>)| {
            let mut cfg = c.lock();
            if let Some(v) = convert {
                cfg.sparse_convert = v;
            }
            if let Some(v) = ratio {
                cfg.sparse_ratio = v;
            }
            if let Some(v) = safe {
                cfg.sparse_safe = v;
            }
            Ok((cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe))
        })?,
    )?;
    for (name, encode) in [("encode_invalid_numbers", true), ("decode_invalid_numbers", false)] {
        let c = config.clone();
        t.set(
            name,
            lua.create_function(move |_, v: Value| {
                let mut cfg = c.lock();
                let set = match &v {
                    Value::Boolean(b) => Some(*b),
                    Value::String(s) => Some(matches!(s.to_str().unwrap_or(""), "on" | "null")),
                    _ => None,
                };
                let field = if encode { &mut cfg.encode_invalid_numbers } else { &mut cfg.decode_invalid_numbers };
                if let Some(b) = set {
                    *field = b;
                }
                Ok(*field)
            })?,
        )?;
    }
    t.set("null", json_null())?;
    t.set("_NAME", "cjson")?;
    t.set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{:04x}", b).as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn json_number(n: f64, cfg: &JsonConfig, out: &mut Vec<u8>) -> mlua::Result<()> {
    if !n.is_finite() && !cfg.encode_invalid_numbers {
        return Err(rt("Cannot serialise number: must not be NaN or Inf"));
    }
    out.extend_from_slice(format_g(n, cfg.precision).as_bytes());
    Ok(())
}

/// lua-cjson's array test: the largest positive integer key if every key is one (and the
/// array is not too sparse), 0 for an object.
fn array_length(t: &Table, cfg: &JsonConfig) -> mlua::Result<Option<i64>> {
    let (mut max, mut items) = (0i64, 0i64);
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair?;
        let k = match k {
            Value::Integer(i) => i as f64,
            Value::Number(n) => n,
            _ => return Ok(None),
        };
        if k < 1.0 || k.floor() != k {
            return Ok(None);
        }
        max = max.max(k as i64);
        items += 1;
    }
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio && max > cfg.sparse_safe {
        if !cfg.sparse_convert {
            return Err(rt("Cannot serialise table: excessively sparse array"));
        }
        return Ok(None);
    }
    Ok(Some(max))
}

fn json_encode(v: &Value, cfg: &JsonConfig, depth: i64, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(u) if u.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => json_number(*i as f64, cfg, out)?,
        Value::Number(n) => json_number(*n, cfg, out)?,
        Value::String(s) => json_string(s.as_bytes(), out),
        Value::Table(t) => {
            if depth > cfg.encode_max_depth {
                return Err(rt(format!("Cannot serialise, excessive nesting ({depth})")));
            }
            match array_length(t, cfg)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        json_encode(&t.raw_get::<_, Value>(i)?, cfg, depth + 1, out)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.clone().pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => json_string(s.as_bytes(), out),
                            Value::Integer(i) => {
                                out.push(b'"');
                                json_number(*i as f64, cfg, out)?;
                                out.push(b'"');
                            }
                            Value::Number(n) => {
                                out.push(b'"');
                                json_number(*n, cfg, out)?;
                                out.push(b'"');
                            }
                            _ => return Err(rt("Cannot serialise table: table key must be a number or string")),
                        }
                        out.push(b':');
                        json_encode(&val, cfg, depth + 1, out)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => return Err(rt(format!("Cannot serialise {}: type not supported", other.type_name()))),
    }
    Ok(())
}

struct JsonParser<'s> {
    s: &'s [u8],
    at: usize,
    cfg: &'s JsonConfig,
    depth: i64,
}

impl<'s> JsonParser<'s> {
    fn skip_ws(&mut self) {
        while self.at < self.s.len() && matches!(self.s[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
    }

    fn fail(&self, expected: &str) -> mlua::Error {
        let found = if self.at >= self.s.len() { "the end" } else { "invalid token" };
        rt(format!("Expected {expected} but found {found} at character {}", self.at + 1))
    }

    fn value<'lua>(&mut self, lua: &'lua Lua) -> mlua::Result<Value<'lua>> {
        let Some(&c) = self.s.get(self.at) else {
            return Err(self.fail("value"));
        };
        match c {
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth > self.cfg.decode_max_depth {
                    return Err(rt(format!(
                        "Found too many nested data structures ({}) at character {}",
                        self.depth,
                        self.at + 1
                    )));
                }
                let t = lua.create_table()?;
                self.at += 1;
                self.skip_ws();
                let close = if c == b'{' { b'}' } else { b']' };
                if self.s.get(self.at) == Some(&close) {
                    self.at += 1;
                    self.depth -= 1;
                    return Ok(Value::Table(t));
                }
                let mut i = 1;
                loop {
                    self.skip_ws();
                    if c == b'{' {
                        if self.s.get(self.at) != Some(&b'"') {
                            return Err(self.fail("object key string"));
                        }
                        let k = self.string(lua)?;
                        self.skip_ws();
                        if self.s.get(self.at) != Some(&b':') {
                            return Err(self.fail("colon"));
                        }
                        self.at += 1;
                        self.skip_ws();
                        let v = self.value(lua)?;
                        t.raw_set(k, v)?;
                    } else {
                        let v = self.value(lua)?;
                        t.raw_set(i, v)?;
                        i += 1;
                    }
                    self.skip_ws();
                    match self.s.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(&b) if b == close => {
                            self.at += 1;
                            break;
                        }
                        _ => {
                            return Err(self.fail(if c == b'{' { "comma or object end" } else { "comma or array end" }))
                        }
                    }
                }
                self.depth -= 1;
                Ok(Value::Table(t))
            }
            b'"' => Ok(Value::String(self.string(lua)?)),
            b't' if self.s[self.at..].starts_with(b"true") => {
                self.at += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.s[self.at..].starts_with(b"false") => {
                self.at += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.s[self.at..].starts_with(b"null") => {
                self.at += 4;
                Ok(json_null())
            }
            _ => self.number(),
        }
    }

    fn number<'lua>(&mut self) -> mlua::Result<Value<'lua>> {
        let start = self.at;
        while self.at < self.s.len()
            && matches!(self.s[self.at], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E' | b'x' | b'X' | b'a'..=b'd' | b'f' | b'A'..=b'D' | b'F' | b'i' | b'n' | b'I' | b'N')
        {
            self.at += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.at]).unwrap_or("");
        let plain =
            !text.is_empty() && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'));
        let n = if plain {
            text.parse::<f64>().ok()
        } else if self.cfg.decode_invalid_numbers {
            match text.to_ascii_lowercase().as_str() {
                "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
                "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
                "nan" | "-nan" => Some(f64::NAN),
                t => t.strip_prefix("0x").and_then(|h| i64::from_str_radix(h, 16).ok()).map(|v| v as f64),
            }
        } else {
            None
        };
        match n {
            Some(n) => Ok(Value::Number(n)),
            None => {
                self.at = start;
                Err(self.fail("value"))
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.s.get(self.at..self.at + 4)?;
        let v = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
        self.at += 4;
        Some(v)
    }

    fn string<'lua>(&mut self, lua: &'lua Lua) -> mlua::Result<mlua::String<'lua>> {
        let start = self.at;
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.at) else {
                self.at = start;
                return Err(rt(format!(
                    "Expected value but found unexpected end of string at character {}",
                    start + 1
                )));
            };
            self.at += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.at) else { continue };
                    self.at += 1;
                    if let Some(c) = crate::util::json_escape(e) {
                        out.push(c);
                        continue;
                    }
                    match e {
                        b'u' => {
                            let Some(mut cp) = self.hex4() else {
                                return Err(rt(format!(
                                    "Expected value but found invalid unicode escape code at character {}",
                                    start + 1
                                )));
                            };
                            if (0xD800..0xDC00).contains(&cp) && self.s.get(self.at..self.at + 2) == Some(b"\\u") {
                                self.at += 2;
                                let lo = self.hex4().unwrap_or(0);
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3ff);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut tmp = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                        }
                        _ => {
                            return Err(rt(format!(
                                "Expected value but found invalid escape code at character {}",
                                start + 1
                            )));
                        }
                    }
                }
                _ => out.push(b),
            }
        }
        lua.create_string(&out)
    }
}

pub mod msgpack;
pub mod structlib;
