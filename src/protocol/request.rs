//! Incremental request parser: RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
//! commands (`PING\r\n`, as typed in telnet), with Redis's limits and error texts.
//!
//! The parser keeps its position across reads, so a 512 MB bulk arriving in many reads is
//! scanned once, and a command split anywhere between reads is resumed where it stopped.

use bytes::{Buf, Bytes, BytesMut};

/// Longest inline command or header line accepted without a newline (Redis's PROTO_INLINE_MAX_SIZE).
const INLINE_MAX: usize = 64 * 1024;
/// Largest multibulk count Redis accepts (INT_MAX).
const MULTIBULK_MAX: i64 = i32::MAX as i64;
/// Bulks at least this large get their whole buffer reserved up front.
const BIG_ARG: usize = 32 * 1024;

/// A malformed request: the connection replies `-ERR Protocol error: <text>` and closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

/// Parses one client's request stream.
#[derive(Default)]
pub struct RequestParser {
    /// Arguments still expected by the multibulk being parsed (0 = between commands).
    pending: usize,
    /// Length of the bulk whose `$len` line was read but whose data has not fully arrived.
    bulk_len: Option<usize>,
    args: Vec<Bytes>,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next complete command from `buf`, consuming its bytes.
    /// `Ok(None)` means more input is needed. Empty commands (blank inline lines, `*0`) are skipped.
    pub fn next(&mut self, buf: &mut BytesMut, max_bulk_len: usize) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.pending == 0 {
                if buf.is_empty() {
                    return Ok(None);
                }
                if buf[0] != b'*' {
                    match parse_inline(buf)? {
                        None => return Ok(None),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Some(args)),
                    }
                }
                let Some(line) = take_line(buf, "too big mbulk count string")? else {
                    return Ok(None);
                };
                let count = parse_int(&line[1..])
                    .filter(|n| *n <= MULTIBULK_MAX)
                    .ok_or_else(|| ProtocolError("invalid multibulk length".into()))?;
                if count <= 0 {
                    continue;
                }
                self.pending = count as usize;
                self.args = Vec::with_capacity(self.pending.min(1024));
            }
            while self.pending > 0 {
                let len = match self.bulk_len {
                    Some(len) => len,
                    None => {
                        if buf.is_empty() {
                            return Ok(None);
                        }
                        if buf[0] != b'$' {
                            return Err(ProtocolError(format!("expected '$', got '{}'", buf[0] as char)));
                        }
                        let Some(line) = take_line(buf, "too big bulk count string")? else {
                            return Ok(None);
                        };
                        let len = parse_int(&line[1..])
                            .filter(|n| *n >= 0 && *n as u64 <= max_bulk_len as u64)
                            .ok_or_else(|| ProtocolError("invalid bulk length".into()))?
                            as usize;
                        if len >= BIG_ARG {
                            buf.reserve(len + 2);
                        }
                        self.bulk_len = Some(len);
                        len
                    }
                };
                if buf.len() < len + 2 {
                    return Ok(None);
                }
                let arg = buf.split_to(len).freeze();
                buf.advance(2);
                self.bulk_len = None;
                self.args.push(arg);
                self.pending -= 1;
            }
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    /// Bytes held by a command that is still being received (for the query buffer limit).
    pub fn pending_bytes(&self) -> usize {
        self.args.iter().map(|a| a.len()).sum::<usize>()
    }
}

/// Takes one `\r\n`-terminated line (without the terminator) from `buf`.
fn take_line(buf: &mut BytesMut, too_big: &str) -> Result<Option<Bytes>, ProtocolError> {
    match memchr(b'\r', buf) {
        Some(pos) if pos + 1 < buf.len() => {
            let line = buf.split_to(pos).freeze();
            buf.advance(2);
            Ok(Some(line))
        }
        Some(_) => Ok(None),
        None if buf.len() > INLINE_MAX => Err(ProtocolError(too_big.into())),
        None => Ok(None),
    }
}

fn parse_inline(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some(nl) = memchr(b'\n', buf) else {
        if buf.len() > INLINE_MAX {
            return Err(ProtocolError("too big inline request".into()));
        }
        return Ok(None);
    };
    let line = buf.split_to(nl + 1);
    let mut end = nl;
    if end > 0 && line[end - 1] == b'\r' {
        end -= 1;
    }
    match split_inline_args(&line[..end]) {
        Some(args) => Ok(Some(args.into_iter().map(Bytes::from).collect())),
        None => Err(ProtocolError("unbalanced quotes in request".into())),
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// Parses a RESP length: an optional minus sign and decimal digits, nothing else.
fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (d - b'0') as i64;
    }
    Some(if neg { -n } else { n })
}

/// Splits an inline command line as Redis's `sdssplitargs` does: whitespace separates
/// arguments, double quotes take `\n`, `\xHH`-style escapes, single quotes take `\'`.
/// Returns `None` for unbalanced quotes (or a closing quote not followed by a space).
pub fn split_inline_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(args);
        }
        let mut cur = Vec::new();
        let mut in_dq = false;
        let mut in_sq = false;
        loop {
            if in_dq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    cur.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else if in_sq {
                if i >= n {
                    return None;
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        args.push(cur);
    }
}

fn hex(c: u8) -> u8 {
    (c as char).to_digit(16).unwrap_or(0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(cmd) = p.next(&mut buf, 512 << 20)? {
            out.push(cmd);
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_inline() {
        let cmds = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n\r\nSET a \"b c\"\r\n").unwrap();
        assert_eq!(cmds.len(), 3);
        assert_eq!(cmds[0], vec![Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(cmds[1], vec![Bytes::from("PING")]);
        assert_eq!(cmds[2][2], Bytes::from("b c"));
    }

    #[test]
    fn resumes_across_reads() {
        let full = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        for (i, b) in full.iter().enumerate() {
            buf.extend_from_slice(&[*b]);
            let got = p.next(&mut buf, 1 << 20).unwrap();
            assert_eq!(got.is_some(), i == full.len() - 1);
        }
    }

    #[test]
    fn errors() {
        assert_eq!(parse_all(b"*3000000000\r\n").unwrap_err().0, "invalid multibulk length");
        assert_eq!(parse_all(b"*1\r\n$-1\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(parse_all(b"*1\r\n$x\r\n").unwrap_err().0, "invalid bulk length");
        assert_eq!(parse_all(b"*1\r\nfoo\r\n").unwrap_err().0, "expected '$', got 'f'");
        assert_eq!(parse_all(b"SET \"a\r\n").unwrap_err().0, "unbalanced quotes in request");
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*1\r\n$100\r\n"[..]);
        assert!(p.next(&mut buf, 10).is_err());
    }

    #[test]
    fn inline_escapes() {
        let args = split_inline_args(br#"set "a\x41\n" 'it\'s' plain"#).unwrap();
        assert_eq!(args, vec![b"set".to_vec(), b"aA\n".to_vec(), b"it's".to_vec(), b"plain".to_vec()]);
        assert!(split_inline_args(br#""a"b"#).is_none());
    }
}
