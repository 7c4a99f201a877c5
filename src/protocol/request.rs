//! Incremental request parser: RESP multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
//! commands (`PING\r\n`, as typed in telnet), with Redis's limits and error texts.
//!
//! The parser keeps its position across reads, so a 512 MB bulk arriving in many reads is
//! scanned once, and a command split anywhere between reads is resumed where it stopped.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;

/// Longest inline command or header line accepted without a newline (Redis's PROTO_INLINE_MAX_SIZE).
const INLINE_MAX: usize = 64 * 1024;
/// Largest multibulk count Redis accepts (INT_MAX).
const MULTIBULK_MAX: i64 = i32::MAX as i64;
/// Bulks at least this large get their whole buffer reserved up front (PROTO_MBULK_BIG_ARG).
const BIG_ARG: usize = 32 * 1024;
/// Argument slots reserved for a multibulk before its arguments arrive: the declared count
/// is only a claim, so room beyond this grows with the arguments actually received.
const PREALLOCATED_ARGS: usize = 1024;
/// Before authentication: most elements of a multibulk and largest bulk (as Redis 7).
const UNAUTHENTICATED_MULTIBULK_MAX: i64 = 10;
const UNAUTHENTICATED_BULK_MAX: i64 = 16 * 1024;
/// Memory one received argument takes besides its bytes (its slot in the argument vector).
const ARG_OVERHEAD: usize = std::mem::size_of::<Bytes>();

/// A malformed request: the connection replies `-ERR Protocol error: <text>` and closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

/// What the parser enforces on the next request of one client.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// `proto-max-bulk-len`.
    pub max_bulk_len: usize,
    /// `client-query-buffer-limit`: a bulk larger than this can never be received, so no
    /// buffer is reserved for it (the connection closes when the data passes the limit).
    pub query_buffer_limit: usize,
    /// Whether the client may send large requests: false while `requirepass` is set and the
    /// client has not authenticated.
    pub authenticated: bool,
}

impl RequestLimits {
    /// Limits of an authenticated client with the given `proto-max-bulk-len`.
    pub fn new(max_bulk_len: usize) -> Self {
        RequestLimits { max_bulk_len, query_buffer_limit: usize::MAX, authenticated: true }
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
    /// Memory held by `args`, kept as they arrive so the per-read limit check is O(1).
    args_bytes: usize,
    /// How far an inline line without its newline has been scanned, so that a long line
    /// arriving in many reads is scanned once.
    inline_scanned: usize,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next complete command from `buf`, consuming its bytes.
    /// `Ok(None)` means more input is needed. Empty commands (blank inline lines, `*0`) are skipped.
    pub fn next(&mut self, buf: &mut BytesMut, limits: &RequestLimits) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        loop {
            if self.pending == 0 {
                if buf.is_empty() {
                    return Ok(None);
                }
                if buf[0] != b'*' {
                    match self.parse_inline(buf)? {
                        None => return Ok(None),
                        Some(args) if args.is_empty() => continue,
                        Some(args) => return Ok(Some(args)),
                    }
                }
                let Some(count) = take_length_line(buf, "too big mbulk count string")? else {
                    return Ok(None);
                };
                let count = count
                    .filter(|n| *n <= MULTIBULK_MAX)
                    .ok_or_else(|| ProtocolError("invalid multibulk length".into()))?;
                if count > UNAUTHENTICATED_MULTIBULK_MAX && !limits.authenticated {
                    return Err(ProtocolError("unauthenticated multibulk length".into()));
                }
                if count <= 0 {
                    continue;
                }
                self.pending = count as usize;
                self.args = Vec::with_capacity(self.pending.min(PREALLOCATED_ARGS));
                self.args_bytes = 0;
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
                        let Some(len) = take_length_line(buf, "too big bulk count string")? else {
                            return Ok(None);
                        };
                        let len = len
                            .filter(|n| *n >= 0 && *n as u64 <= limits.max_bulk_len as u64)
                            .ok_or_else(|| ProtocolError("invalid bulk length".into()))?;
                        if len > UNAUTHENTICATED_BULK_MAX && !limits.authenticated {
                            return Err(ProtocolError("unauthenticated bulk length".into()));
                        }
                        let len = len as usize;
                        if len >= BIG_ARG && len < limits.query_buffer_limit {
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
                self.args_bytes += arg.len() + ARG_OVERHEAD;
                self.args.push(arg);
                self.pending -= 1;
            }
            self.args_bytes = 0;
            return Ok(Some(std::mem::take(&mut self.args)));
        }
    }

    /// Bytes held by a command that is still being received (for the query buffer limit).
    pub fn pending_bytes(&self) -> usize {
        self.args_bytes
    }

    /// Whether the parser stands between commands: `buf` then starts with a new request.
    pub fn is_between_commands(&self) -> bool {
        self.pending == 0 && self.inline_scanned == 0
    }

    /// Takes one inline command line from `buf`; `Ok(None)` until its newline arrives.
    fn parse_inline(&mut self, buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let from = self.inline_scanned.min(buf.len());
        let Some(nl) = memchr(b'\n', &buf[from..]).map(|i| from + i) else {
            if buf.len() > INLINE_MAX {
                return Err(ProtocolError("too big inline request".into()));
            }
            self.inline_scanned = buf.len();
            return Ok(None);
        };
        self.inline_scanned = 0;
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
}

/// Takes one `*<count>\r\n` or `$<len>\r\n` line from `buf` and returns its number
/// (`Some(None)` if it is not one). Parsed in place: no slice of the buffer is made for it.
fn take_length_line(buf: &mut BytesMut, too_big: &str) -> Result<Option<Option<i64>>, ProtocolError> {
    // The common line, a few digits and CR, read in one pass without a search call; anything
    // else (a sign, no digits, 19 or more of them, a line not yet complete) takes the general
    // path below, which answers the same for these.
    let mut n: i64 = 0;
    for (i, &b) in buf.iter().enumerate().skip(1).take(19) {
        if b.is_ascii_digit() && i <= 18 {
            n = n * 10 + (b - b'0') as i64;
            continue;
        }
        if b == b'\r' && i > 1 && i + 1 < buf.len() {
            buf.advance(i + 2);
            return Ok(Some(Some(n)));
        }
        break;
    }
    match memchr(b'\r', buf) {
        Some(pos) if pos + 1 < buf.len() => {
            let n = parse_int(&buf[1..pos]);
            buf.advance(pos + 2);
            Ok(Some(n))
        }
        Some(_) => Ok(None),
        None if buf.len() > INLINE_MAX => Err(ProtocolError(too_big.into())),
        None => Ok(None),
    }
}

/// Arguments of a request [`peek_requests`] hands over: the name, the key and what follows.
pub const PEEKED_ARGS: usize = 4;

/// Calls `each` with the first [`PEEKED_ARGS`] arguments (fewer if the request has fewer) of
/// each of the first `max` complete multibulk requests at the start of `buf`, without
/// consuming anything; returns how many it saw. The second argument is the key of nearly every
/// keyed command and the next ones a member or field, which is all a prefetch needs: a wrong
/// guess costs one useless cache-line load. Stops at anything it does not expect (inline
/// commands, an incomplete request), leaving the real parser to judge it.
pub fn peek_requests<'b>(buf: &'b [u8], max: usize, mut each: impl FnMut(&[&'b [u8]])) -> usize {
    let mut at = 0;
    let mut seen = 0;
    while seen < max {
        let Some((count, after)) = peek_header(buf, at, b'*') else {
            break;
        };
        at = after;
        let mut args: [&[u8]; PEEKED_ARGS] = [&[]; PEEKED_ARGS];
        for i in 0..count {
            let Some((len, after)) = peek_header(buf, at, b'$') else {
                return seen;
            };
            let end = after + len;
            if end + 2 > buf.len() {
                return seen;
            }
            if let Some(arg) = args.get_mut(i) {
                *arg = &buf[after..end];
            }
            at = end + 2;
        }
        each(&args[..count.min(PEEKED_ARGS)]);
        seen += 1;
    }
    seen
}

/// A `<marker><digits>\r\n` line at `at`: its number and where the next line starts.
#[inline]
fn peek_header(buf: &[u8], at: usize, marker: u8) -> Option<(usize, usize)> {
    if buf.get(at) != Some(&marker) {
        return None;
    }
    let mut n = 0usize;
    let mut i = at + 1;
    // Lengths of up to 9 digits: a longer one is a big bulk, not worth peeking past.
    while let Some(&d) = buf.get(i).filter(|d| d.is_ascii_digit()) {
        if i - at > 9 {
            return None;
        }
        n = n * 10 + (d - b'0') as usize;
        i += 1;
    }
    (i > at + 1 && buf.get(i) == Some(&b'\r') && buf.get(i + 1) == Some(&b'\n')).then_some((n, i + 2))
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
///
/// A NUL byte is an ordinary byte of its argument. (Redis reads inline lines as C strings:
/// a NUL hides the newline after it, and that client waits for the line until it passes
/// 64 KB; here the line is served, and nothing of it is dropped.)
pub fn split_inline_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut args = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
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
                    if i + 1 < n && !is_space(line[i + 1]) {
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
                    if i + 1 < n && !is_space(line[i + 1]) {
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
                    b' ' | b'\n' | b'\r' | b'\t' => break,
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

/// C's `isspace`: Rust's `is_ascii_whitespace` plus the vertical tab.
fn is_space(c: u8) -> bool {
    c.is_ascii_whitespace() || c == 0x0b
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
        while let Some(cmd) = p.next(&mut buf, &RequestLimits::new(512 << 20))? {
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
            let got = p.next(&mut buf, &RequestLimits::new(1 << 20)).unwrap();
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
        assert!(p.next(&mut buf, &RequestLimits::new(10)).is_err());
    }

    #[test]
    fn inline_escapes() {
        let args = split_inline_args(br#"set "a\x41\n" 'it\'s' plain"#).unwrap();
        assert_eq!(args, vec![b"set".to_vec(), b"aA\n".to_vec(), b"it's".to_vec(), b"plain".to_vec()]);
        assert!(split_inline_args(br#""a"b"#).is_none());
    }

    #[test]
    fn nul_is_an_ordinary_byte_of_an_inline_argument() {
        let cmds = parse_all(b"PING\0\r\nECHO a\0b c\r\n\0\r\nECHO \"x\0y\\x00\"\r\n").unwrap();
        assert_eq!(
            cmds,
            vec![
                vec![Bytes::from(&b"PING\0"[..])],
                vec![Bytes::from("ECHO"), Bytes::from(&b"a\0b"[..]), Bytes::from("c")],
                vec![Bytes::from(&b"\0"[..])],
                vec![Bytes::from("ECHO"), Bytes::from(&b"x\0y\0"[..])],
            ]
        );
        assert_eq!(parse_all(b"ECHO \"a\0\r\n").unwrap_err().0, "unbalanced quotes in request");
        assert_eq!(split_inline_args(b"\x0b\x0ca\x0bb").unwrap(), vec![b"a\x0bb".to_vec()]);
    }

    #[test]
    fn every_byte_value_in_an_inline_line() {
        for c in 0..=255u8 {
            let line = [b'E', b'C', b'H', b'O', b' ', c, b'x', c, b'\r', b'\n'];
            // Parses or fails, and consumes the line either way.
            let mut p = RequestParser::new();
            let mut buf = BytesMut::from(&line[..]);
            let _ = p.next(&mut buf, &RequestLimits::new(1 << 20));
            assert!(c == b'\n' || buf.is_empty(), "byte {c}");
        }
    }

    #[test]
    fn unauthenticated_limits() {
        let limits = RequestLimits { authenticated: false, ..RequestLimits::new(512 << 20) };
        let parse = |input: &[u8]| {
            let mut p = RequestParser::new();
            let mut buf = BytesMut::from(input);
            p.next(&mut buf, &limits)
        };
        assert_eq!(parse(b"*11\r\n").unwrap_err().0, "unauthenticated multibulk length");
        assert_eq!(parse(b"*10\r\n").unwrap(), None);
        assert_eq!(parse(b"*1\r\n$16385\r\n").unwrap_err().0, "unauthenticated bulk length");
        assert_eq!(parse(b"*1\r\n$16384\r\n").unwrap(), None);
    }

    #[test]
    fn pending_bytes_of_an_unfinished_multibulk() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*4\r\n$3\r\nDEL\r\n$2\r\nab\r\n$1\r\n"[..]);
        assert_eq!(p.next(&mut buf, &RequestLimits::new(1 << 20)).unwrap(), None);
        assert_eq!(p.pending_bytes(), 5 + 2 * ARG_OVERHEAD);
        buf.extend_from_slice(b"c\r\n$1\r\nd\r\n");
        assert_eq!(p.next(&mut buf, &RequestLimits::new(1 << 20)).unwrap().unwrap().len(), 4);
        assert_eq!(p.pending_bytes(), 0);
    }

    #[test]
    fn a_declared_count_reserves_no_more_than_the_cap() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2000000000\r\n"[..]);
        assert_eq!(p.next(&mut buf, &RequestLimits::new(1 << 20)).unwrap(), None);
        assert!(p.args.capacity() <= PREALLOCATED_ARGS);
    }

    #[test]
    fn long_inline_line_split_across_reads() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        for _ in 0..100 {
            buf.extend_from_slice(b"a ");
            assert_eq!(p.next(&mut buf, &RequestLimits::new(1 << 20)).unwrap(), None);
        }
        buf.extend_from_slice(b"\r\n");
        assert_eq!(p.next(&mut buf, &RequestLimits::new(1 << 20)).unwrap().unwrap().len(), 100);
    }

    #[test]
    fn peek_requests_sees_complete_requests_only() {
        let input = b"*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*1\r\n$4\r\nPING\r\n*5\r\n$4\r\nHSET\r\n$2\r\nk2\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nw\r\n*2\r\n$3\r\nGET\r\n$2\r\nk";
        let mut requests = Vec::new();
        let seen = peek_requests(input, 16, |args| requests.push(args.iter().map(|a| a.to_vec()).collect::<Vec<_>>()));
        // The GET at the end is incomplete: not counted, not offered.
        assert_eq!(seen, 3);
        let expected: [&[&[u8]]; 3] = [&[b"GET", b"k1"], &[b"PING"], &[b"HSET", b"k2", b"f", b"v"]];
        assert_eq!(requests, expected.map(|r| r.iter().map(|a| a.to_vec()).collect::<Vec<_>>()));
        // At most `max` requests.
        let mut n = 0;
        assert_eq!(peek_requests(input, 1, |_| n += 1), 1);
        assert_eq!(n, 1);
        // Inline commands and malformed headers stop the peek; the parser judges them.
        assert_eq!(peek_requests(b"PING\r\n", 16, |_| panic!("nothing complete")), 0);
        assert_eq!(peek_requests(b"*2\r\n$x\r\n", 16, |_| panic!("nothing complete")), 0);
        assert_eq!(peek_requests(b"*2\r\n$9999999999\r\n", 16, |_| panic!("nothing complete")), 0);
        // Whatever the peek saw, the parser reads the same commands.
        assert_eq!(parse_all(&input[..input.len() - 1]).unwrap().len(), 3);
    }

    #[test]
    fn length_lines_read_as_the_general_path_reads_them() {
        let general = |line: &[u8]| -> (Option<Option<i64>>, usize) {
            match memchr(b'\r', line) {
                Some(pos) if pos + 1 < line.len() => (Some(parse_int(&line[1..pos])), pos + 2),
                _ => (None, 0),
            }
        };
        let cases: [&[u8]; 14] = [
            b"*3\r\n",
            b"$0\r\n",
            b"$64\r\nrest",
            b"*-1\r\n",
            b"$\r\n",
            b"$12a\r\n",
            b"$123456789012345678\r\n",
            b"$1234567890123456789\r\n",
            b"$99999999999999999999999\r\n",
            b"*3\r",
            b"*3",
            b"$+5\r\n",
            b"$5\rX",
            b"$007\r\n",
        ];
        for line in cases {
            let mut buf = BytesMut::from(line);
            let got = take_length_line(&mut buf, "too big").unwrap();
            let (want, consumed) = general(line);
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(line));
            assert_eq!(line.len() - buf.len(), consumed, "{:?}", String::from_utf8_lossy(line));
        }
    }
}
