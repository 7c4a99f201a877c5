//! The JSON of the REST API: a reader for request bodies (a command is an array of strings
//! and numbers; a pipeline an array of those) and a writer turning RESP2 replies into
//! Upstash's `{"result": ...}` / `{"error": "..."}` shapes.
//!
//! The reader is small on purpose: it accepts exactly the JSON a command can be (strings,
//! numbers, arrays of them), with every escape of RFC 8259, and refuses the rest with a
//! message; nesting is bounded. Numbers become their literal text, as Upstash treats them.
//!
//! The writer walks the RESP bytes the dispatcher wrote: simple and bulk strings become JSON
//! strings (base64 with `Upstash-Encoding: base64`, except a top-level `OK` as Upstash
//! leaves it), integers numbers, nil `null`, arrays arrays; an error at the top becomes the
//! `error` member, one inside an array `{"error": "..."}`.

use bytes::Bytes;

/// Deepest nesting the reader accepts: a pipeline is two levels.
const MAX_DEPTH: usize = 2;

/// A parsed body: a command (array of arguments) or an array of commands.
#[derive(Debug, PartialEq, Eq)]
pub enum Body {
    Command(Vec<Bytes>),
    Commands(Vec<Vec<Bytes>>),
}

enum Value {
    Arg(Bytes),
    List(Vec<Value>),
}

/// Parses a body that must be a JSON array of arguments, or of arrays of arguments.
pub fn parse_body(text: &[u8]) -> Result<Body, String> {
    let mut reader = Reader { s: text, i: 0 };
    reader.skip_ws();
    let value = reader.value(0)?;
    reader.skip_ws();
    if reader.i != text.len() {
        return Err(format!("unexpected data after the JSON value at byte {}", reader.i));
    }
    let Value::List(items) = value else {
        return Err("the body must be a JSON array".into());
    };
    if items.iter().all(|v| matches!(v, Value::Arg(_))) {
        let args = items
            .into_iter()
            .map(|v| match v {
                Value::Arg(a) => a,
                Value::List(_) => unreachable!(),
            })
            .collect();
        return Ok(Body::Command(args));
    }
    let mut commands = Vec::with_capacity(items.len());
    for item in items {
        let Value::List(args) = item else {
            return Err("a pipeline must be an array of arrays".into());
        };
        let mut command = Vec::with_capacity(args.len());
        for a in args {
            match a {
                Value::Arg(a) => command.push(a),
                Value::List(_) => return Err("a command's arguments must be strings or numbers".into()),
            }
        }
        commands.push(command);
    }
    Ok(Body::Commands(commands))
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        match self.s.get(self.i) {
            Some(b'[') if depth < MAX_DEPTH => self.array(depth + 1),
            Some(b'[') => Err("arrays nest too deep for a command".into()),
            Some(b'"') => self.string().map(Value::Arg),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Arg),
            Some(_) => Err(format!("unexpected byte at {}: arguments must be strings or numbers", self.i)),
            None => Err("unexpected end of the JSON body".into()),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
            return Ok(Value::List(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.s.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::List(items));
                }
                _ => return Err(format!("expected ',' or ']' at byte {}", self.i)),
            }
        }
    }

    fn number(&mut self) -> Result<Bytes, String> {
        let start = self.i;
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        let digits = |r: &mut Self| {
            let from = r.i;
            while r.i < r.s.len() && r.s[r.i].is_ascii_digit() {
                r.i += 1;
            }
            r.i > from
        };
        if !digits(self) {
            return Err(format!("bad number at byte {start}"));
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(format!("bad number at byte {start}"));
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(format!("bad number at byte {start}"));
            }
        }
        Ok(Bytes::copy_from_slice(&self.s[start..self.i]))
    }

    fn string(&mut self) -> Result<Bytes, String> {
        let start = self.i;
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err(format!("unterminated string starting at byte {start}"));
            };
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return Err(format!("unterminated string starting at byte {start}"));
                    };
                    self.i += 1;
                    if let Some(c) = crate::util::json_escape(e) {
                        out.push(c);
                        continue;
                    }
                    match e {
                        b'u' => {
                            let mut c = self.hex4()?;
                            if (0xD800..0xDC00).contains(&c) {
                                // A surrogate pair: the low half must follow.
                                if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(format!("unpaired surrogate at byte {}", self.i));
                                }
                                self.i += 2;
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(format!("unpaired surrogate at byte {}", self.i));
                                }
                                c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
                            } else if (0xDC00..0xE000).contains(&c) {
                                return Err(format!("unpaired surrogate at byte {}", self.i));
                            }
                            let ch = char::from_u32(c).ok_or_else(|| format!("bad escape at byte {}", self.i))?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(format!("bad escape at byte {}", self.i - 1)),
                    }
                }
                0..=0x1f => return Err(format!("control character in a string at byte {}", self.i - 1)),
                _ => out.push(b),
            }
        }
        if std::str::from_utf8(&out).is_err() {
            return Err(format!("the string starting at byte {start} is not UTF-8"));
        }
        Ok(Bytes::from(out))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self.s.get(self.i..self.i + 4).ok_or("unterminated \\u escape")?;
        let text = std::str::from_utf8(digits).map_err(|_| "bad \\u escape")?;
        let c = u32::from_str_radix(text, 16).map_err(|_| format!("bad \\u escape at byte {}", self.i))?;
        self.i += 4;
        Ok(c)
    }
}

/// Appends `bytes` as a JSON string: UTF-8 as it is (invalid sequences as U+FFFD), with the
/// escapes JSON needs.
pub fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let text = String::from_utf8_lossy(bytes);
    let mut plain_from = 0;
    let tb = text.as_bytes();
    for (i, &b) in tb.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f | 0x7f => None,
            _ => continue,
        };
        out.extend_from_slice(&tb[plain_from..i]);
        match escape {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        plain_from = i + 1;
    }
    out.extend_from_slice(&tb[plain_from..]);
    out.push(b'"');
}

/// Appends `bytes` base64-encoded (standard alphabet, padded) as a JSON string.
pub fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.push(b'"');
    for chunk in bytes.chunks(3) {
        let n =
            (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
        out.push(ALPHABET[(n >> 18) as usize & 63]);
        out.push(ALPHABET[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 { ALPHABET[(n >> 6) as usize & 63] } else { b'=' });
        out.push(if chunk.len() > 2 { ALPHABET[n as usize & 63] } else { b'=' });
    }
    out.push(b'"');
}

/// One RESP2 reply, parsed out of the dispatcher's output.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(Bytes),
    Error(Bytes),
    Int(i64),
    Bulk(Bytes),
    Nil,
    Array(Vec<Reply>),
    /// RESP3-only types the writer passes through as text (a client here speaks RESP2, so
    /// these do not arise; kept total rather than panicking).
    Other(Bytes),
}

/// Parses one reply from the start of `buf`; returns it and the bytes it took. `None` for
/// truncated or malformed input (never produced by the dispatcher).
pub fn parse_reply(buf: &[u8]) -> Option<(Reply, usize)> {
    let line_end = memchr::memmem::find(buf, b"\r\n")?;
    let line = &buf[1..line_end];
    let after = line_end + 2;
    let int = |l: &[u8]| std::str::from_utf8(l).ok()?.parse::<i64>().ok();
    match buf.first()? {
        b'+' => Some((Reply::Simple(Bytes::copy_from_slice(line)), after)),
        b'-' => Some((Reply::Error(Bytes::copy_from_slice(line)), after)),
        b':' => Some((Reply::Int(int(line)?), after)),
        b'$' => {
            let n = int(line)?;
            if n < 0 {
                return Some((Reply::Nil, after));
            }
            let n = n as usize;
            let data = buf.get(after..after + n)?;
            Some((Reply::Bulk(Bytes::copy_from_slice(data)), after + n + 2))
        }
        b'*' | b'~' | b'>' => {
            let n = int(line)?;
            if n < 0 {
                return Some((Reply::Nil, after));
            }
            let mut items = Vec::with_capacity((n as usize).min(1024));
            let mut at = after;
            for _ in 0..n {
                let (item, used) = parse_reply(&buf[at..])?;
                items.push(item);
                at += used;
            }
            Some((Reply::Array(items), at))
        }
        b'%' => {
            let n = int(line)?;
            let mut items = Vec::new();
            let mut at = after;
            for _ in 0..n.max(0) * 2 {
                let (item, used) = parse_reply(&buf[at..])?;
                items.push(item);
                at += used;
            }
            Some((Reply::Array(items), at))
        }
        b'_' => Some((Reply::Nil, after)),
        _ => Some((Reply::Other(Bytes::copy_from_slice(line)), after)),
    }
}

/// How strings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    Base64,
}

fn write_text(out: &mut Vec<u8>, bytes: &[u8], encoding: Encoding) {
    match encoding {
        Encoding::Plain => write_string(out, bytes),
        Encoding::Base64 => write_base64(out, bytes),
    }
}

/// Writes a reply as the value of `result` (a nested error as `{"error": ...}`).
pub fn write_value(out: &mut Vec<u8>, reply: &Reply, encoding: Encoding, top: bool) {
    match reply {
        Reply::Simple(s) if top && &s[..] == b"OK" => out.extend_from_slice(b"\"OK\""),
        Reply::Simple(s) | Reply::Bulk(s) | Reply::Other(s) => write_text(out, s, encoding),
        Reply::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
        Reply::Nil => out.extend_from_slice(b"null"),
        Reply::Error(e) => {
            out.extend_from_slice(b"{\"error\":");
            write_string(out, e);
            out.push(b'}');
        }
        Reply::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, encoding, false);
            }
            out.push(b']');
        }
    }
}

/// Writes `{"result": ...}` or, for an error reply, `{"error": "..."}`.
pub fn write_envelope(out: &mut Vec<u8>, reply: &Reply, encoding: Encoding) {
    match reply {
        Reply::Error(e) => write_error(out, e),
        _ => {
            out.extend_from_slice(b"{\"result\":");
            write_value(out, reply, encoding, true);
            out.push(b'}');
        }
    }
}

/// Writes a reply back in RESP2 (for `Upstash-Response-Format: resp2`).
pub fn write_resp(out: &mut Vec<u8>, reply: &Reply) {
    let mut line = |prefix: u8, text: &[u8]| {
        out.push(prefix);
        out.extend_from_slice(text);
        out.extend_from_slice(b"\r\n");
    };
    match reply {
        Reply::Simple(s) | Reply::Other(s) => line(b'+', s),
        Reply::Error(e) => line(b'-', e),
        Reply::Int(n) => line(b':', itoa::Buffer::new().format(*n).as_bytes()),
        Reply::Nil => line(b'$', b"-1"),
        Reply::Bulk(b) => {
            line(b'$', itoa::Buffer::new().format(b.len()).as_bytes());
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Array(items) => {
            line(b'*', itoa::Buffer::new().format(items.len()).as_bytes());
            for item in items {
                write_resp(out, item);
            }
        }
    }
}

/// Writes `{"error": "..."}`.
pub fn write_error(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(b"{\"error\":");
    write_string(out, text);
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn bodies() {
        assert_eq!(
            parse_body(br#"["SET","k","v","EX",10]"#).unwrap(),
            Body::Command(args(&["SET", "k", "v", "EX", "10"]))
        );
        assert_eq!(
            parse_body(br#" [ ["get","a"] , ["incr","b"] ] "#).unwrap(),
            Body::Commands(vec![args(&["get", "a"]), args(&["incr", "b"])])
        );
        assert_eq!(parse_body(br#"["a\"b\\\u00e9\ud83d\ude00\n"]"#).unwrap(), Body::Command(args(&["a\"b\\é😀\n"])));
        assert_eq!(parse_body(b"[]").unwrap(), Body::Command(vec![]));
        assert_eq!(parse_body(b"[-1.5e3]").unwrap(), Body::Command(args(&["-1.5e3"])));
        for bad in [
            &b"{}"[..],
            b"[",
            b"[\"a\"",
            b"[true]",
            b"[null]",
            b"[[[\"a\"]]]",
            b"[\"a\"] x",
            b"\"a\"",
            b"[\"a\",[\"b\"]]",
            b"",
            b"[1.]",
            b"[\"\\ud800\"]",
        ] {
            assert!(parse_body(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn replies() {
        let json = |resp: &[u8], enc| {
            let (reply, used) = parse_reply(resp).unwrap();
            assert_eq!(used, resp.len());
            let mut out = Vec::new();
            write_envelope(&mut out, &reply, enc);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(json(b"+OK\r\n", Encoding::Plain), r#"{"result":"OK"}"#);
        assert_eq!(json(b"+OK\r\n", Encoding::Base64), r#"{"result":"OK"}"#);
        assert_eq!(json(b"+PONG\r\n", Encoding::Base64), r#"{"result":"UE9ORw=="}"#);
        assert_eq!(json(b"$3\r\nfoo\r\n", Encoding::Base64), r#"{"result":"Zm9v"}"#);
        assert_eq!(json(b"$2\r\na\"\r\n", Encoding::Plain), r#"{"result":"a\""}"#);
        assert_eq!(json(b"$-1\r\n", Encoding::Base64), r#"{"result":null}"#);
        assert_eq!(json(b":-7\r\n", Encoding::Base64), r#"{"result":-7}"#);
        assert_eq!(json(b"-ERR bad\r\n", Encoding::Base64), r#"{"error":"ERR bad"}"#);
        assert_eq!(
            json(b"*4\r\n$1\r\na\r\n$-1\r\n:1\r\n*1\r\n+OK\r\n", Encoding::Plain),
            r#"{"result":["a",null,1,["OK"]]}"#
        );
        assert_eq!(json(b"*1\r\n+OK\r\n", Encoding::Base64), r#"{"result":["T0s="]}"#);
        let resp = b"*3\r\n$1\r\na\r\n$-1\r\n:-2\r\n";
        let mut out = Vec::new();
        write_resp(&mut out, &parse_reply(resp).unwrap().0);
        assert_eq!(out, resp);
        let mut out = Vec::new();
        write_string(&mut out, b"\x01\xff");
        assert_eq!(String::from_utf8(out).unwrap(), "\"\\u0001\u{fffd}\"");
    }
}
