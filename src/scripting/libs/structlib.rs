//! `struct`: binary packing with format strings, as Roberto Ierusalimschy's struct library
//! that Redis ships: `<` `>` `=` set the byte order, `b B h H l L T i[n] I[n]` integers,
//! `f d` floats, `c[n]` fixed strings, `s` zero-terminated strings, `x` padding.

use mlua::{Lua, MultiValue, Table, Value, Variadic};

pub fn library(lua: &Lua) -> mlua::Result<Table<'_>> {
    let t = lua.create_table()?;
    t.set(
        "pack",
        lua.create_function(|lua, (fmt, values): (mlua::String, Variadic<Value>)| pack(lua, fmt.as_bytes(), &values))?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, (fmt, data, pos): (mlua::String, mlua::String, Option<i64>)| {
            unpack(lua, fmt.as_bytes(), data.as_bytes(), pos.unwrap_or(1))
        })?,
    )?;
    t.set("size", lua.create_function(|_, fmt: mlua::String| size(fmt.as_bytes()))?)?;
    Ok(t)
}

fn err(msg: impl Into<String>) -> mlua::Error {
    mlua::Error::RuntimeError(msg.into())
}

/// A format item: its code and size argument.
fn items(fmt: &[u8]) -> Vec<(u8, Option<usize>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        i += 1;
        let start = i;
        while i < fmt.len() && fmt[i].is_ascii_digit() {
            i += 1;
        }
        let n = std::str::from_utf8(&fmt[start..i]).ok().and_then(|s| s.parse().ok());
        out.push((c, n));
    }
    out
}

fn int_size(c: u8, n: Option<usize>) -> Option<usize> {
    Some(match c {
        b'b' | b'B' => 1,
        b'h' | b'H' => 2,
        b'l' | b'L' | b'T' => 8,
        b'i' | b'I' => n.unwrap_or(4),
        _ => return None,
    })
}

fn number(v: Option<&Value>, i: usize) -> mlua::Result<f64> {
    match v {
        Some(Value::Integer(n)) => Ok(*n as f64),
        Some(Value::Number(n)) => Ok(*n),
        Some(Value::String(s)) => s
            .to_str()?
            .trim()
            .parse()
            .map_err(|_| err(format!("bad argument #{i} to 'pack' (number expected, got string)"))),
        _ => Err(err(format!("bad argument #{i} to 'pack' (number expected, got no value)"))),
    }
}

fn pack<'lua>(lua: &'lua Lua, fmt: &[u8], values: &[Value]) -> mlua::Result<mlua::String<'lua>> {
    let mut big = false;
    let mut out = Vec::new();
    let mut arg = 0;
    for (c, n) in items(fmt) {
        if let Some(size) = int_size(c, n) {
            if !(1..=8).contains(&size) {
                return Err(err(format!("integral size {size} is larger than limit of 8")));
            }
            let v = number(values.get(arg), arg + 2)? as i64 as u64;
            arg += 1;
            let bytes = v.to_le_bytes();
            if big {
                out.extend(bytes[..size].iter().rev());
            } else {
                out.extend_from_slice(&bytes[..size]);
            }
            continue;
        }
        match c {
            b'<' | b'=' => big = false,
            b'>' => big = true,
            b'!' | b' ' => {}
            b'x' => out.push(0),
            b'f' => {
                let v = number(values.get(arg), arg + 2)? as f32;
                arg += 1;
                out.extend_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() });
            }
            b'd' => {
                let v = number(values.get(arg), arg + 2)?;
                arg += 1;
                out.extend_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() });
            }
            b'c' | b's' => {
                let s = match values.get(arg) {
                    Some(Value::String(s)) => s.as_bytes().to_vec(),
                    Some(Value::Integer(i)) => i.to_string().into_bytes(),
                    Some(Value::Number(n)) => n.to_string().into_bytes(),
                    _ => {
                        return Err(err(format!("bad argument #{} to 'pack' (string expected, got no value)", arg + 2)))
                    }
                };
                arg += 1;
                if c == b'c' {
                    let len = n.unwrap_or(s.len());
                    if s.len() < len {
                        return Err(err(format!("bad argument #{} to 'pack' (string too short)", arg + 1)));
                    }
                    out.extend_from_slice(&s[..len]);
                } else {
                    out.extend_from_slice(&s);
                    out.push(0);
                }
            }
            other => return Err(err(format!("invalid format option '{}'", other as char))),
        }
    }
    lua.create_string(&out)
}

fn unpack<'lua>(lua: &'lua Lua, fmt: &[u8], data: &[u8], pos: i64) -> mlua::Result<MultiValue<'lua>> {
    let mut big = false;
    let mut at = (pos.max(1) - 1) as usize;
    let mut out = Vec::new();
    let too_short = || err("bad argument #2 to 'unpack' (data string too short)");
    for (c, n) in items(fmt) {
        if let Some(size) = int_size(c, n) {
            let b = data.get(at..at + size).ok_or_else(too_short)?;
            at += size;
            let mut v: u64 = 0;
            for i in 0..size {
                let byte = if big { b[i] } else { b[size - 1 - i] };
                v = (v << 8) | byte as u64;
            }
            let signed = c.is_ascii_lowercase() && size < 8 && v & (1 << (size * 8 - 1)) != 0;
            let value = if signed {
                (v | (!0u64 << (size * 8))) as i64 as f64
            } else if c.is_ascii_lowercase() {
                v as i64 as f64
            } else {
                v as f64
            };
            out.push(Value::Number(value));
            continue;
        }
        match c {
            b'<' | b'=' => big = false,
            b'>' => big = true,
            b'!' | b' ' => {}
            b'x' => at += 1,
            b'f' => {
                let b: [u8; 4] = data.get(at..at + 4).ok_or_else(too_short)?.try_into().expect("4 bytes");
                at += 4;
                out.push(Value::Number(if big { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) } as f64));
            }
            b'd' => {
                let b: [u8; 8] = data.get(at..at + 8).ok_or_else(too_short)?.try_into().expect("8 bytes");
                at += 8;
                out.push(Value::Number(if big { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) }));
            }
            b'c' => {
                let len = n.unwrap_or(0);
                let b = data.get(at..at + len).ok_or_else(too_short)?;
                at += len;
                out.push(Value::String(lua.create_string(b)?));
            }
            b's' => {
                let rest = data.get(at..).unwrap_or_default();
                let end = memchr::memchr(0, rest).ok_or_else(|| err("unfinished string in data"))?;
                out.push(Value::String(lua.create_string(&rest[..end])?));
                at += end + 1;
            }
            other => return Err(err(format!("invalid format option '{}'", other as char))),
        }
    }
    out.push(Value::Number((at + 1) as f64));
    Ok(MultiValue::from_vec(out))
}

fn size(fmt: &[u8]) -> mlua::Result<usize> {
    let mut total = 0;
    for (c, n) in items(fmt) {
        if let Some(size) = int_size(c, n) {
            total += size;
            continue;
        }
        total += match c {
            b'x' => 1,
            b'f' => 4,
            b'd' => 8,
            b'c' => n.unwrap_or(0),
            b's' => return Err(err("options 'c0' - 's' have undefined sizes")),
            _ => 0,
        };
    }
    Ok(total)
}
