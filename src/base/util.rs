//! Small helpers shared by command families: Redis-exact number parsing and a fast PRNG.

/// Parses a signed 64-bit integer exactly as Redis's `string2ll`: no spaces, no `+`,
/// no leading zeros, nothing after the digits.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let v = parse_digits(digits)?;
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

pub fn parse_u64(s: &[u8]) -> Option<u64> {
    parse_i64(s).filter(|v| *v >= 0).map(|v| v as u64)
}

/// The value of decimal digits (and nothing else), if it fits in 64 bits; 0 for none.
fn parse_digits(digits: &[u8]) -> Option<u64> {
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(v)
}

/// Parses a SCAN cursor as Redis's `strtoull`-based parser does: an optional sign, decimal
/// digits, no leading space, no overflow ("-1" wraps, the empty string is 0).
pub fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let (negative, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() && !arg.is_empty() {
        return None;
    }
    let v = parse_digits(digits)?;
    Some(if negative { v.wrapping_neg() } else { v })
}

/// Parses a double as Redis's `string2d`/`strtold`: accepts `inf`, `-inf`, `+inf`, exponents;
/// rejects spaces, empty strings and NaN.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5120 {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    if text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace) {
        return None;
    }
    // Compared without case and without a lowercased copy: this runs for every score.
    let named = |names: &[&str]| names.iter().any(|n| s.eq_ignore_ascii_case(n.as_bytes()));
    let contains = |word: &[u8]| s.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
    let v: f64 = if named(&["inf", "+inf", "infinity", "+infinity"]) {
        f64::INFINITY
    } else if named(&["-inf", "-infinity"]) {
        f64::NEG_INFINITY
    } else if contains(b"nan") || contains(b"inf") {
        return None;
    } else {
        // Rust rejects forms C accepts ("1.", ".5" are fine in both; hex floats are rare).
        text.parse().ok()?
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Parses a memory size as redis.conf does: `100`, `10kb`, `5mb`, `1gb`, `1k` (1000), `1m`.
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.trim().to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    if num.is_empty() {
        return None;
    }
    let n: u64 = num.parse().ok()?;
    let mul: u64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    n.checked_mul(mul)
}

/// xorshift64*: fast, good enough for sampling keys; not for anything secret.
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Rng(seed | 1)
    }

    /// A generator for a randomized test: seeded from the environment variable `var` if set,
    /// else from the clock, and the seed is printed (cargo shows it when the test fails).
    #[cfg(test)]
    pub fn for_test(test: &str, var: &str) -> Self {
        let seed = std::env::var(var).ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| Rng::new().next_u64());
        eprintln!("{test}: {var}={seed}");
        Rng::seeded(seed)
    }

    /// A generator that repeats the sequence of `seed` (reproducible randomized tests).
    pub fn seeded(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

impl Default for Rng {
    fn default() -> Self {
        Self::new()
    }
}

/// `a == b` for the short strings of the hot paths (keys, tenant and class names): lengths up
/// to 16 compare as two overlapping words each instead of calling `memcmp`.
#[inline]
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    let half = |s: &[u8], at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().expect("4 bytes"));
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// Whether `given` equals the secret `expected`, in time independent of where they differ
/// (passwords, REST tokens), so that timing tells nothing about the secret.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, &e) in expected.iter().enumerate() {
        diff |= (given.get(i).copied().unwrap_or(0) ^ e) as usize;
    }
    diff == 0
}

/// ASCII-lowercases `name` into `buf` without allocating; `None` if it does not fit.
pub fn lowercase<'b>(name: &[u8], buf: &'b mut [u8; 64]) -> Option<&'b [u8]> {
    if name.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    Some(&buf[..name.len()])
}

/// The C library's text for an `errno` value, as Redis prints it (`strerror`).
pub fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    // The standard library appends " (os error N)".
    match text.rsplit_once(" (os error") {
        Some((message, _)) => message.to_string(),
        None => text,
    }
}

/// Appends `s` quoted and escaped as Redis's `sdscatrepr` does.
pub fn push_repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// The byte a one-character JSON escape (`\n`, `\"` ...) stands for; `None` for `u` (four
/// hex digits follow) and for letters JSON does not define. Shared by the REST API's JSON
/// reader and the scripts' `cjson.decode`.
pub fn json_escape(e: u8) -> Option<u8> {
    match e {
        b'"' | b'\\' | b'/' => Some(e),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agrees with `==` for every length up to 40 and a difference at every position.
    #[test]
    fn bytes_eq_matches_slice_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).collect();
            assert!(bytes_eq(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!bytes_eq(&a, &b), "length {n}, difference at {i}");
            }
            let longer: Vec<u8> = (0..=n as u8).collect();
            assert!(!bytes_eq(&a, &longer));
        }
    }

    #[test]
    fn integers_like_redis() {
        assert_eq!(parse_i64(b"123"), Some(123));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"012"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b"-0"), None);
    }

    #[test]
    fn cursors_parse_like_strtoull() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b" 1"), None);
        assert_eq!(parse_cursor(b"1x"), None);
        assert_eq!(parse_cursor(b"-"), None);
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("10mb"), Some(10 << 20));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("10xb"), None);
        assert_eq!(parse_memory("-1"), None);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
    }
}
