//! `cmsgpack`: MessagePack as lua-cmsgpack (the library Redis ships) writes and reads it.
//! Numbers that are whole become the smallest integer encoding, others a float32 when that
//! is exact and a float64 otherwise; a table whose keys are exactly 1..n is an array, any
//! other a map (in Lua's iteration order); nesting stops at 16 levels with nil, which is how
//! a table that holds itself comes out.

use mlua::{Lua, MultiValue, Table, Value, Variadic};

/// Nesting past which values are written as nil.
const MAX_NESTING: usize = 16;

pub fn library(lua: &Lua) -> mlua::Result<Table<'_>> {
    let t = lua.create_table()?;
    t.set(
        "pack",
        lua.create_function(|lua, values: Variadic<Value>| {
            if values.is_empty() {
                return Err(mlua::Error::RuntimeError("MessagePack pack needs input.".into()));
            }
            let mut out = Vec::new();
            for v in values.iter() {
                encode(v, 0, &mut out)?;
            }
            lua.create_string(&out)
        })?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, s: mlua::String| {
            let (_, values) = decode_many(lua, s.as_bytes(), 0, 0)?;
            Ok(MultiValue::from_vec(values))
        })?,
    )?;
    t.set(
        "unpack_one",
        lua.create_function(|lua, (s, offset): (mlua::String, Option<i64>)| {
            unpack_limited(lua, s.as_bytes(), 1, offset.unwrap_or(0))
        })?,
    )?;
    t.set(
        "unpack_limit",
        lua.create_function(|lua, (s, limit, offset): (mlua::String, i64, Option<i64>)| {
            unpack_limited(lua, s.as_bytes(), limit, offset.unwrap_or(0))
        })?,
    )?;
    t.set("_NAME", "cmsgpack")?;
    t.set("_VERSION", "lua-cmsgpack 0.4.0")?;
    Ok(t)
}

fn unpack_limited<'lua>(lua: &'lua Lua, s: &[u8], limit: i64, offset: i64) -> mlua::Result<MultiValue<'lua>> {
    if offset < 0 || limit < 0 {
        return Err(mlua::Error::RuntimeError(format!(
            "Invalid request to unpack with offset of {offset} and limit of {limit}."
        )));
    }
    if offset as usize > s.len() {
        return Err(mlua::Error::RuntimeError("Start offset greater than input length.".into()));
    }
    let (next, mut values) = decode_many(lua, s, offset as usize, limit as usize)?;
    let next = if next >= s.len() { -1 } else { next as i64 };
    values.insert(0, Value::Number(next as f64));
    Ok(MultiValue::from_vec(values))
}

fn whole(n: f64) -> bool {
    n.is_finite() && (n as i64) as f64 == n
}

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n < 128 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_len(len: usize, small: u8, small_max: usize, wide: u8, out: &mut Vec<u8>) {
    if len <= small_max {
        out.push(small | len as u8);
    } else if len <= 0xffff {
        out.push(wide);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(wide + 1);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_int(*i, out),
        Value::Number(n) if whole(*n) => encode_int(*n as i64, out),
        Value::Number(n) => {
            if (*n as f32) as f64 == *n {
                out.push(0xca);
                out.extend_from_slice(&(*n as f32).to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        Value::String(s) => {
            let b = s.as_bytes();
            if b.len() < 32 {
                out.push(0xa0 | b.len() as u8);
            } else if b.len() <= 0xff {
                out.extend_from_slice(&[0xd9, b.len() as u8]);
            } else if b.len() <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(b.len() as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            }
            out.extend_from_slice(b);
        }
        Value::Table(t) if level < MAX_NESTING => {
            // Looked at once to choose array or map, then walked again to write: holding every
            // value at once would run out of the references the Lua state lends.
            let (mut count, mut max, mut is_array) = (0usize, 0i64, true);
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, _) = pair?;
                count += 1;
                let n = match k {
                    Value::Integer(i) => i as f64,
                    Value::Number(n) => n,
                    _ => {
                        is_array = false;
                        continue;
                    }
                };
                if !(whole(n) && n > 0.0) {
                    is_array = false;
                }
                max = max.max(n as i64);
            }
            if is_array && max as usize == count {
                encode_len(count, 0x90, 15, 0xdc, out);
                for i in 1..=count {
                    encode(&t.raw_get::<_, Value>(i)?, level + 1, out)?;
                }
            } else {
                encode_len(count, 0x80, 15, 0xde, out);
                for pair in t.clone().pairs::<Value, Value>() {
                    let (k, val) = pair?;
                    encode(&k, level + 1, out)?;
                    encode(&val, level + 1, out)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

fn missing() -> mlua::Error {
    mlua::Error::RuntimeError("Missing bytes in input.".into())
}

fn take<'b>(s: &'b [u8], at: &mut usize, n: usize) -> mlua::Result<&'b [u8]> {
    let b = s.get(*at..*at + n).ok_or_else(missing)?;
    *at += n;
    Ok(b)
}

fn uint(s: &[u8], at: &mut usize, n: usize) -> mlua::Result<u64> {
    Ok(take(s, at, n)?.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
}

/// Decodes up to `limit` values (0: all) from `at`; the offset after them and the values.
fn decode_many<'lua>(lua: &'lua Lua, s: &[u8], mut at: usize, limit: usize) -> mlua::Result<(usize, Vec<Value<'lua>>)> {
    let mut values = Vec::new();
    while at < s.len() && (limit == 0 || values.len() < limit) {
        values.push(decode(lua, s, &mut at)?);
    }
    Ok((at, values))
}

fn decode<'lua>(lua: &'lua Lua, s: &[u8], at: &mut usize) -> mlua::Result<Value<'lua>> {
    let c = take(s, at, 1)?[0];
    let array = |lua: &'lua Lua, n: usize, at: &mut usize| -> mlua::Result<Value<'lua>> {
        let t = lua.create_table()?;
        for i in 1..=n {
            t.raw_set(i, decode(lua, s, at)?)?;
        }
        Ok(Value::Table(t))
    };
    let map = |lua: &'lua Lua, n: usize, at: &mut usize| -> mlua::Result<Value<'lua>> {
        let t = lua.create_table()?;
        for _ in 0..n {
            let k = decode(lua, s, at)?;
            let v = decode(lua, s, at)?;
            if !matches!(k, Value::Nil) {
                t.raw_set(k, v)?;
            }
        }
        Ok(Value::Table(t))
    };
    let string = |lua: &'lua Lua, n: usize, at: &mut usize| -> mlua::Result<Value<'lua>> {
        Ok(Value::String(lua.create_string(take(s, at, n)?)?))
    };
    Ok(match c {
        0x00..=0x7f => Value::Number(c as f64),
        0x80..=0x8f => map(lua, (c & 0x0f) as usize, at)?,
        0x90..=0x9f => array(lua, (c & 0x0f) as usize, at)?,
        0xa0..=0xbf => string(lua, (c & 0x1f) as usize, at)?,
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xc4 | 0xd9 => {
            let n = uint(s, at, 1)? as usize;
            string(lua, n, at)?
        }
        0xc5 | 0xda => {
            let n = uint(s, at, 2)? as usize;
            string(lua, n, at)?
        }
        0xc6 | 0xdb => {
            let n = uint(s, at, 4)? as usize;
            string(lua, n, at)?
        }
        0xca => Value::Number(f32::from_bits(uint(s, at, 4)? as u32) as f64),
        0xcb => Value::Number(f64::from_bits(uint(s, at, 8)?)),
        0xcc => Value::Number(uint(s, at, 1)? as f64),
        0xcd => Value::Number(uint(s, at, 2)? as f64),
        0xce => Value::Number(uint(s, at, 4)? as f64),
        0xcf => Value::Number(uint(s, at, 8)? as f64),
        0xd0 => Value::Number(uint(s, at, 1)? as u8 as i8 as f64),
        0xd1 => Value::Number(uint(s, at, 2)? as u16 as i16 as f64),
        0xd2 => Value::Number(uint(s, at, 4)? as u32 as i32 as f64),
        0xd3 => Value::Number(uint(s, at, 8)? as i64 as f64),
        0xdc => {
            let n = uint(s, at, 2)? as usize;
            array(lua, n, at)?
        }
        0xdd => {
            let n = uint(s, at, 4)? as usize;
            array(lua, n, at)?
        }
        0xde => {
            let n = uint(s, at, 2)? as usize;
            map(lua, n, at)?
        }
        0xdf => {
            let n = uint(s, at, 4)? as usize;
            map(lua, n, at)?
        }
        0xe0..=0xff => Value::Number(c as i8 as f64),
        _ => return Err(mlua::Error::RuntimeError("Bad data format in input.".into())),
    })
}
