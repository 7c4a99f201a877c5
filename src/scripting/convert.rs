//! Values between Lua and RESP, as Redis's script_lua.c converts them: a command's reply
//! (RESP2 or RESP3, as the script chose with `redis.setresp`) into Lua values, and a script's
//! return value into the caller's reply.
//!
//! Reply → Lua: integer → number, bulk → string, nil bulk / nil array → false, status →
//! `{ok=...}`, error → `{err=...}`, array → table; RESP3 adds map → `{map={...}}`, set →
//! `{set={member=true}}`, null → nil, boolean → boolean, double → `{double=n}`, big number →
//! `{big_number=s}`, verbatim → `{verbatim_string={format=, string=}}`.
//!
//! Lua → reply: string → bulk, number → integer (truncated), boolean → 1 / nil in RESP2 (a
//! RESP3 boolean once the script chose RESP3), a table with `err`, `ok`, `double`,
//! `big_number`, `verbatim_string`, `map` or `set` → that reply, any other table → an array
//! up to its first nil, anything else → nil.

use crate::protocol::ReplyBuf;
use bytes::Bytes;
use mlua::{Lua, MultiValue, Table, Value};

/// An error table `{err="CODE message"}` (a message without a code gets ERR), as
/// luaPushError makes it.
pub fn error_table<'lua>(lua: &'lua Lua, text: &str) -> mlua::Result<Table<'lua>> {
    let text = text.trim_start_matches('-').trim_end_matches(['\r', '\n']);
    let has_code = text.split(' ').next().is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase()));
    let text = if has_code { text.to_string() } else { format!("ERR {text}") };
    let t = lua.create_table()?;
    t.raw_set("err", text)?;
    Ok(t)
}

/// The arguments of redis.call: strings, and numbers as `%.17g` writes them. Err with
/// Redis's message for anything else or for no argument at all.
pub fn lua_args<'lua>(_lua: &'lua Lua, args: MultiValue<'lua>) -> mlua::Result<Result<Vec<Bytes>, String>> {
    if args.is_empty() {
        return Ok(Err("Please specify at least one argument for this redis lib call".into()));
    }
    let mut argv = Vec::with_capacity(args.len());
    for v in args {
        match v {
            Value::String(s) => argv.push(Bytes::copy_from_slice(s.as_bytes())),
            Value::Integer(i) => argv.push(Bytes::from(format_number(i as f64))),
            Value::Number(n) => argv.push(Bytes::from(format_number(n))),
            _ => return Ok(Err("Lua redis lib command arguments must be strings or integers".into())),
        }
    }
    Ok(Ok(argv))
}

/// A Lua number as C's `%.17g` prints it.
pub fn format_number(n: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is 64 bytes and snprintf is told so; the format takes one double.
    let len = unsafe { libc::snprintf(buf.as_mut_ptr() as *mut libc::c_char, buf.len(), c"%.17g".as_ptr(), n) };
    String::from_utf8_lossy(&buf[..(len.max(0) as usize).min(buf.len() - 1)]).into_owned()
}

/// A command's reply (one complete RESP value) as the Lua value Redis makes of it.
pub fn reply_to_lua<'lua>(lua: &'lua Lua, reply: &[u8]) -> mlua::Result<Value<'lua>> {
    let mut at = 0;
    parse(lua, reply, &mut at)
}

fn line<'b>(buf: &'b [u8], at: &mut usize) -> &'b [u8] {
    let start = *at;
    let end = memchr::memmem::find(&buf[start..], b"\r\n").map_or(buf.len(), |i| start + i);
    *at = (end + 2).min(buf.len());
    &buf[start..end]
}

fn number(text: &[u8]) -> i64 {
    crate::util::parse_i64(text).unwrap_or(0)
}

fn parse<'lua>(lua: &'lua Lua, buf: &[u8], at: &mut usize) -> mlua::Result<Value<'lua>> {
    let Some(&kind) = buf.get(*at) else {
        return Ok(Value::Nil);
    };
    *at += 1;
    let head = line(buf, at);
    Ok(match kind {
        b':' => Value::Number(number(head) as f64),
        b'$' => {
            let n = number(head);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let n = n as usize;
            let data = &buf[*at..(*at + n).min(buf.len())];
            *at = (*at + n + 2).min(buf.len());
            Value::String(lua.create_string(data)?)
        }
        b'+' => {
            let t = lua.create_table()?;
            t.raw_set("ok", lua.create_string(head)?)?;
            Value::Table(t)
        }
        b'-' => {
            let t = error_table(lua, &String::from_utf8_lossy(head))?;
            // The command counted its error already.
            t.raw_set("ignore_error_stats_update", true)?;
            Value::Table(t)
        }
        b'*' | b'>' => {
            let n = number(head);
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table_with_capacity(n as usize, 0)?;
            for i in 0..n {
                t.raw_set(i + 1, parse(lua, buf, at)?)?;
            }
            Value::Table(t)
        }
        b'%' => {
            let n = number(head);
            let map = lua.create_table()?;
            for _ in 0..n {
                let k = parse(lua, buf, at)?;
                let v = parse(lua, buf, at)?;
                map.raw_set(k, v)?;
            }
            let t = lua.create_table()?;
            t.raw_set("map", map)?;
            Value::Table(t)
        }
        b'~' => {
            let n = number(head);
            let set = lua.create_table()?;
            for _ in 0..n {
                let k = parse(lua, buf, at)?;
                set.raw_set(k, true)?;
            }
            let t = lua.create_table()?;
            t.raw_set("set", set)?;
            Value::Table(t)
        }
        b'|' => {
            // Attributes are not shown to scripts: skipped, then the reply they decorate.
            for _ in 0..number(head) * 2 {
                parse(lua, buf, at)?;
            }
            parse(lua, buf, at)?
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(head == b"t"),
        b',' => {
            let d = match head {
                b"inf" => f64::INFINITY,
                b"-inf" => f64::NEG_INFINITY,
                _ => std::str::from_utf8(head).ok().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN),
            };
            let t = lua.create_table()?;
            t.raw_set("double", d)?;
            Value::Table(t)
        }
        b'(' => {
            let t = lua.create_table()?;
            t.raw_set("big_number", lua.create_string(head)?)?;
            Value::Table(t)
        }
        b'=' => {
            let n = number(head) as usize;
            let data = &buf[*at..(*at + n).min(buf.len())];
            *at = (*at + n + 2).min(buf.len());
            let (format, text) = if data.len() >= 4 { (&data[..3], &data[4..]) } else { (&b"txt"[..], data) };
            let v = lua.create_table()?;
            v.raw_set("string", lua.create_string(text)?)?;
            v.raw_set("format", lua.create_string(format)?)?;
            let t = lua.create_table()?;
            t.raw_set("verbatim_string", v)?;
            Value::Table(t)
        }
        _ => Value::Nil,
    })
}

/// Writes a script's result as the caller's reply. `resp3` is the protocol the script chose
/// (it decides what booleans become).
pub fn lua_to_reply(value: &Value, out: &mut ReplyBuf, resp3: bool) {
    write_value(value, out, resp3, 0)
}

/// Past this depth a table is answered as an error rather than walked (a table can hold
/// itself).
const MAX_DEPTH: usize = 256;

fn write_value(value: &Value, out: &mut ReplyBuf, resp3: bool, depth: usize) {
    match value {
        Value::String(s) => out.bulk(s.as_bytes()),
        Value::Boolean(b) => {
            if resp3 {
                out.boolean(*b)
            } else if *b {
                out.int(1)
            } else {
                out.null()
            }
        }
        Value::Integer(i) => out.int(*i),
        Value::Number(n) => out.int(if n.is_nan() { 0 } else { *n as i64 }),
        Value::Table(t) if depth >= MAX_DEPTH => {
            let _ = t;
            out.error("ERR reached lua stack limit")
        }
        Value::Table(t) => write_table(t, out, resp3, depth),
        _ => out.null(),
    }
}

fn field<'lua>(t: &Table<'lua>, name: &str) -> Value<'lua> {
    t.raw_get(name).unwrap_or(Value::Nil)
}

fn write_table(t: &Table, out: &mut ReplyBuf, resp3: bool, depth: usize) {
    if let Value::String(err) = field(t, "err") {
        let text = String::from_utf8_lossy(err.as_bytes()).replace(['\r', '\n'], " ");
        let text = text.trim_start_matches('-');
        if matches!(field(t, "ignore_error_stats_update"), Value::Boolean(true)) {
            return out.error_uncounted(text);
        }
        return out.error(text);
    }
    if let Value::String(ok) = field(t, "ok") {
        let text = String::from_utf8_lossy(ok.as_bytes()).replace(['\r', '\n'], " ");
        return out.simple(&text);
    }
    if let Value::Number(d) = field(t, "double") {
        return out.double(d);
    }
    if let Value::Integer(d) = field(t, "double") {
        return out.double(d as f64);
    }
    if let Value::String(n) = field(t, "big_number") {
        let text = String::from_utf8_lossy(n.as_bytes()).replace(['\r', '\n'], " ");
        if out.resp3 {
            return out.raw(format!("({text}\r\n").as_bytes());
        }
        return out.bulk(text.as_bytes());
    }
    if let Value::Table(v) = field(t, "verbatim_string") {
        if let (Value::String(format), Value::String(text)) = (field(&v, "format"), field(&v, "string")) {
            if out.resp3 {
                let (f, s) = (format.as_bytes(), text.as_bytes());
                let mut data = Vec::with_capacity(f.len() + 1 + s.len());
                data.extend_from_slice(&f[..f.len().min(3)]);
                data.push(b':');
                data.extend_from_slice(s);
                out.raw(format!("={}\r\n", data.len()).as_bytes());
                out.raw(&data);
                return out.raw(b"\r\n");
            }
            return out.bulk(text.as_bytes());
        }
    }
    // Counted first, then written, without holding every value at once (the Lua state can
    // lend Rust only so many references).
    if let Value::Table(map) = field(t, "map") {
        out.map(map.clone().pairs::<Value, Value>().count());
        for (k, v) in map.pairs::<Value, Value>().filter_map(Result::ok) {
            write_value(&k, out, resp3, depth + 1);
            write_value(&v, out, resp3, depth + 1);
        }
        return;
    }
    if let Value::Table(set) = field(t, "set") {
        out.set(set.clone().pairs::<Value, Value>().count());
        for (k, _) in set.pairs::<Value, Value>().filter_map(Result::ok) {
            write_value(&k, out, resp3, depth + 1);
        }
        return;
    }
    let mut len = 0;
    while !matches!(t.raw_get::<_, Value>(len + 1), Ok(Value::Nil) | Err(_)) {
        len += 1;
    }
    out.array(len);
    for i in 1..=len {
        let v = t.raw_get::<_, Value>(i).unwrap_or(Value::Nil);
        write_value(&v, out, resp3, depth + 1);
    }
}
