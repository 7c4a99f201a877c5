//! Reply encoder. Handlers call semantic methods (`bulk`, `map`, `double`, `null` ...) and the
//! buffer writes RESP2 or RESP3 as the connection negotiated with `HELLO`.

use bytes::BytesMut;

/// The output buffer of one connection, flushed once per batch of pipelined commands.
pub struct ReplyBuf {
    pub buf: BytesMut,
    pub resp3: bool,
    /// Error replies written so far on this connection.
    errors: u64,
    /// Error code (first word) of the last error, for `INFO errorstats`.
    last_error_code: Option<String>,
    /// Errors written since the dispatcher last took them into the statistics.
    uncounted_errors: u64,
    /// Errors passed on from where they were counted already (see `error_uncounted`).
    passed_on_errors: u64,
    /// The client's hard output buffer limit (0 = none): past it the client is closed
    /// without its replies, so a reply that loops on a client-given count stops early.
    pub stop_at: usize,
}

impl ReplyBuf {
    /// A connection's buffer, sized for a typical batch of replies.
    pub fn new() -> Self {
        Self::for_message(false, 16 * 1024)
    }

    /// A buffer for one message to another client (a pub/sub message, a served blocking
    /// pop), in that client's protocol and sized for the message rather than for a batch.
    pub fn for_message(resp3: bool, capacity: usize) -> Self {
        ReplyBuf {
            buf: BytesMut::with_capacity(capacity),
            resp3,
            errors: 0,
            last_error_code: None,
            uncounted_errors: 0,
            passed_on_errors: 0,
            stop_at: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether the replies passed the client's hard output limit: the client will be closed
    /// without them, so a long reply may stop being produced (as Redis's `CLIENT_CLOSE_ASAP`
    /// checks in HRANDFIELD and friends).
    #[inline]
    pub fn exhausted(&self) -> bool {
        self.stop_at != 0 && self.buf.len() > self.stop_at
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &str) {
        self.buf.extend_from_slice(b"+");
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply; `msg` starts with its code (`ERR ...`, `WRONGTYPE ...`).
    /// Newlines would break the protocol, so they become spaces, as in Redis.
    pub fn error(&mut self, msg: &str) {
        self.buf.extend_from_slice(b"-");
        for &b in msg.as_bytes() {
            self.buf.extend_from_slice(&[if b == b'\r' || b == b'\n' { b' ' } else { b }]);
        }
        self.buf.extend_from_slice(b"\r\n");
        self.errors += 1;
        self.uncounted_errors += 1;
        let code = msg.split(' ').next().unwrap_or("ERR");
        self.last_error_code = Some(code.to_string());
    }

    /// An error reply that the statistics already counted where it arose (a script's
    /// command failed and the script passed its error on).
    /// The command still failed (its `failed_calls` count).
    pub fn error_uncounted(&mut self, msg: &str) {
        self.buf.extend_from_slice(b"-");
        for &b in msg.as_bytes() {
            self.buf.extend_from_slice(&[if b == b'\r' || b == b'\n' { b' ' } else { b }]);
        }
        self.buf.extend_from_slice(b"\r\n");
        self.passed_on_errors += 1;
    }

    /// Errors written by [`ReplyBuf::error_uncounted`] since the last call.
    pub fn take_passed_on_errors(&mut self) -> u64 {
        std::mem::take(&mut self.passed_on_errors)
    }

    /// Error replies written so far (a handler failed if this changed while it ran).
    pub fn error_count(&self) -> u64 {
        self.errors
    }

    /// The code (first word) of the last error written, for `INFO errorstats`.
    pub fn last_error_code(&self) -> Option<&str> {
        self.last_error_code.as_deref()
    }

    /// Errors written since the last call, and the code of the last one: the dispatcher
    /// adds them to `INFO errorstats` (nested commands of EXEC take their own first).
    pub fn take_uncounted_errors(&mut self) -> (u64, Option<&str>) {
        let n = std::mem::take(&mut self.uncounted_errors);
        (n, self.last_error_code.as_deref())
    }

    pub fn int(&mut self, n: i64) {
        self.prefixed_num(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.prefixed_num(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(n).as_bytes());
    }

    /// The null bulk string (`$-1` / `_`).
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// The null array (`*-1` / `_`), e.g. a timed-out blocking pop or an aborted EXEC.
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, len: usize) {
        self.prefixed_num(b'*', len as i64);
    }

    /// A map of `len` pairs; RESP2 clients see a flat array of `2 * len`.
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            self.prefixed_num(b'%', len as i64);
        } else {
            self.prefixed_num(b'*', 2 * len as i64);
        }
    }

    /// A set; RESP2 clients see an array.
    pub fn set(&mut self, len: usize) {
        self.prefixed_num(if self.resp3 { b'~' } else { b'*' }, len as i64);
    }

    /// An out-of-band push message header; RESP2 clients see an array.
    pub fn push(&mut self, len: usize) {
        self.prefixed_num(if self.resp3 { b'>' } else { b'*' }, len as i64);
    }

    /// A double; RESP2 clients see it as a bulk string.
    pub fn double(&mut self, d: f64) {
        let text = format_double(d);
        if self.resp3 {
            self.buf.extend_from_slice(b",");
            self.buf.extend_from_slice(text.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A boolean; RESP2 clients see the integer 1 or 0.
    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A verbatim string (`=len\r\ntxt:...`); RESP2 clients see a bulk string.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.prefixed_num(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// Bytes already encoded elsewhere (e.g. a cached reply).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn prefixed_num(&mut self, prefix: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(&[prefix]);
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }
}

impl Default for ReplyBuf {
    fn default() -> Self {
        Self::new()
    }
}

/// Formats a double as Redis 7.0 does for replies (`%.17g`, integers without a fraction,
/// `inf`/`-inf`/`nan`).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if d.fract() == 0.0 && d.abs() < 4503599627370496.0 {
        return format!("{}", d as i64);
    }
    format_g17(d)
}

/// C's `printf("%.17g")`.
fn format_g17(d: f64) -> String {
    let sci = format!("{:.16e}", d);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let m = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{}e{}{:02}", m, sign, exp.abs());
    }
    let decimals = (16 - exp).max(0) as usize;
    trim_fraction(&format!("{:.*}", decimals, d)).to_string()
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_like_redis() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(1.5e-7), "1.4999999999999999e-07");
    }

    #[test]
    fn resp2_and_resp3_shapes() {
        let mut r = ReplyBuf::new();
        r.map(1);
        r.null();
        r.resp3 = true;
        r.map(1);
        r.null();
        r.double(2.5);
        assert_eq!(&r.buf[..], b"*2\r\n$-1\r\n%1\r\n_\r\n,2.5\r\n");
    }
}
