//! Listpack, the compact sequence Redis 7 embeds in RDB files for small hashes, sorted sets and
//! the nodes of lists.
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 when not known), the entries,
//! and a 0xFF terminator. Each entry is an encoding byte (with its data) followed by its
//! "backlen": the size of encoding and data, written so it can be read right to left (7 bits a
//! byte, the last byte holding the lowest bits, the high bit set on all bytes but the first).
//! Strings that spell an integer the way Redis prints one are stored as integers.
//!
//! Besides building and decoding whole listpacks (RDB payloads), a listpack can be kept in
//! memory and changed in place, addressed by the byte offsets of its elements ([`first`],
//! [`next`], [`prev`], [`append`], [`replace_int`]): the nodes of streams live that way, in
//! the very bytes Redis keeps and saves.

/// The integer a string spells if it spells one the way Redis prints integers: optional `-`,
/// no leading zeros, no `+`, no `-0`, within `i64`. Redis encodes only such strings as integers
/// (in listpacks, intsets and integer-encoded strings), so that they read back byte for byte.
pub fn canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut magnitude: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

const HEADER_SIZE: usize = 6;
const TERMINATOR: u8 = 0xff;
const COUNT_UNKNOWN: u16 = u16::MAX;

impl Default for ListpackBuilder {
    fn default() -> Self {
        ListpackBuilder::new()
    }
}

/// Builds a listpack entry by entry.
pub struct ListpackBuilder {
    bytes: Vec<u8>,
    count: usize,
}

impl ListpackBuilder {
    pub fn new() -> ListpackBuilder {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&[0; HEADER_SIZE]);
        ListpackBuilder { bytes, count: 0 }
    }

    /// Appends an element, integer-encoded when it spells a canonical integer.
    pub fn push(&mut self, element: &[u8]) {
        let start = self.bytes.len();
        match canonical_i64(element) {
            Some(v) => encode_integer(&mut self.bytes, v),
            None => encode_string(&mut self.bytes, element),
        }
        let entry_len = (self.bytes.len() - start) as u64;
        encode_backlen(&mut self.bytes, entry_len);
        self.count += 1;
    }

    /// Bytes the finished listpack would have now.
    pub fn size(&self) -> usize {
        self.bytes.len() + 1
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.push(TERMINATOR);
        let total = self.bytes.len() as u32;
        self.bytes[0..4].copy_from_slice(&total.to_le_bytes());
        let count = if self.count < usize::from(COUNT_UNKNOWN) { self.count as u16 } else { COUNT_UNKNOWN };
        self.bytes[4..6].copy_from_slice(&count.to_le_bytes());
        self.bytes
    }
}

/// The bytes an element takes in a listpack, backlen included.
pub fn entry_size(element: &[u8]) -> usize {
    let mut scratch = Vec::with_capacity(16);
    let data_len = match canonical_i64(element) {
        Some(v) => {
            encode_integer(&mut scratch, v);
            scratch.len()
        }
        None if element.len() < 64 => 1 + element.len(),
        None if element.len() < 4096 => 2 + element.len(),
        None => 5 + element.len(),
    };
    data_len + backlen_size(data_len as u64)
}

fn encode_integer(out: &mut Vec<u8>, v: i64) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u64) & 0x1fff;
        out.extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
    } else if (-32768..=32767).contains(&v) {
        out.push(0xf1);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-8_388_608..=8_388_607).contains(&v) {
        out.push(0xf2);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if (i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&v) {
        out.push(0xf3);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        out.push(0xf4);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 64 {
        out.push(0x80 | len as u8);
    } else if len < 4096 {
        out.extend_from_slice(&[0xe0 | (len >> 8) as u8, len as u8]);
    } else {
        out.push(0xf0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
}

/// Size classes as Redis's `lpEncodeBacklen` draws them (note the strict bounds).
fn backlen_size(len: u64) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

fn encode_backlen(out: &mut Vec<u8>, len: u64) {
    let size = backlen_size(len);
    for i in (0..size).rev() {
        let group = ((len >> (7 * i)) & 0x7f) as u8;
        // The first byte (highest group) carries no continuation bit.
        out.push(if i == size - 1 { group } else { group | 0x80 });
    }
}

/// One decoded entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Entry<'_> {
    /// The element as Redis would return it: integers in decimal.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Entry::Str(s) => s.to_vec(),
            Entry::Int(v) => v.to_string().into_bytes(),
        }
    }
}

/// Decodes and validates a whole listpack: the header's byte total, every entry's encoding and
/// backlen, the element count (unless unknown) and the terminator. Errors say what and where.
pub fn decode(lp: &[u8]) -> Result<Vec<Entry<'_>>, String> {
    if lp.len() < HEADER_SIZE + 1 {
        return Err(format!("listpack of {} bytes is shorter than its header", lp.len()));
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return Err(format!("listpack header says {total} bytes, the string has {}", lp.len()));
    }
    if lp[lp.len() - 1] != TERMINATOR {
        return Err("listpack does not end with its terminator".into());
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]);
    let end = lp.len() - 1;
    // Every entry takes at least two bytes, so this never over-allocates.
    let mut entries = Vec::with_capacity(usize::from(declared).min((end - HEADER_SIZE) / 2));
    let mut p = HEADER_SIZE;
    while p < end {
        let at = p;
        let (entry, data_len) =
            decode_entry(&lp[p..end]).ok_or_else(|| format!("listpack entry at byte {at} is invalid"))?;
        let backlen_len = backlen_size(data_len as u64);
        let next = p + data_len + backlen_len;
        if next > end {
            return Err(format!("listpack entry at byte {at} runs past the end"));
        }
        let stored = decode_backlen(&lp[p + data_len..next]);
        if stored != Some(data_len as u64) {
            return Err(format!("listpack entry at byte {at} has a wrong backlen"));
        }
        entries.push(entry);
        p = next;
    }
    if declared != COUNT_UNKNOWN && usize::from(declared) != entries.len() {
        return Err(format!("listpack header says {declared} entries, it holds {}", entries.len()));
    }
    Ok(entries)
}

/// The `n`-byte little-endian integer after the header byte of `b` (listpack and ziplist
/// integers and lengths).
pub fn le_after_header(b: &[u8], n: usize) -> Option<u64> {
    let bytes = b.get(1..1 + n)?;
    Some(bytes.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
}

/// The low `bits` bits of `v` as a signed integer.
pub fn sign_extend(v: u64, bits: u32) -> i64 {
    ((v << (64 - bits)) as i64) >> (64 - bits)
}

/// The string entry of `len` bytes after a `header`-byte encoding in `b`, and the bytes both
/// take.
pub fn str_entry(b: &[u8], header: usize, len: usize) -> Option<(Entry<'_>, usize)> {
    let s = b.get(header..header.checked_add(len)?)?;
    Some((Entry::Str(s), header + len))
}

/// Decodes the entry at the start of `b` (which ends before the terminator): the entry and the
/// size of its encoding and data.
fn decode_entry(b: &[u8]) -> Option<(Entry<'_>, usize)> {
    let first = *b.first()?;
    let le = |n: usize| le_after_header(b, n);
    let string = |header: usize, len: usize| str_entry(b, header, len);
    match first {
        0x00..=0x7f => Some((Entry::Int(i64::from(first)), 1)),
        0x80..=0xbf => string(1, usize::from(first & 0x3f)),
        0xc0..=0xdf => {
            let v = (u64::from(first & 0x1f) << 8) | u64::from(*b.get(1)?);
            Some((Entry::Int(sign_extend(v, 13)), 2))
        }
        0xe0..=0xef => string(2, (usize::from(first & 0x0f) << 8) | usize::from(*b.get(1)?)),
        0xf0 => string(5, le(4)? as usize),
        0xf1 => Some((Entry::Int(sign_extend(le(2)?, 16)), 3)),
        0xf2 => Some((Entry::Int(sign_extend(le(3)?, 24)), 4)),
        0xf3 => Some((Entry::Int(sign_extend(le(4)?, 32)), 5)),
        0xf4 => Some((Entry::Int(le(8)? as i64), 9)),
        _ => None,
    }
}

/// Reads a backlen laid out left to right in `b`; `None` when its continuation bits are wrong.
fn decode_backlen(b: &[u8]) -> Option<u64> {
    let (first, rest) = b.split_first()?;
    if first & 0x80 != 0 || rest.iter().any(|x| x & 0x80 == 0) {
        return None;
    }
    Some(b.iter().fold(0u64, |acc, &x| (acc << 7) | u64::from(x & 0x7f)))
}

// ----- listpacks changed in place -----

/// An element to append: bytes (integer-encoded when they spell a canonical integer) or an
/// integer.
#[derive(Clone, Copy, Debug)]
pub enum Element<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

/// An empty listpack with room for `capacity` bytes.
pub fn empty(capacity: usize) -> Vec<u8> {
    let mut lp = Vec::with_capacity(capacity.max(HEADER_SIZE + 1));
    lp.extend_from_slice(&((HEADER_SIZE + 1) as u32).to_le_bytes());
    lp.extend_from_slice(&0u16.to_le_bytes());
    lp.push(TERMINATOR);
    lp
}

/// The size of the element at `at` (encoding, data and backlen).
fn element_size(lp: &[u8], at: usize) -> usize {
    let (_, data_len) = decode_entry(&lp[at..lp.len() - 1]).expect("a listpack element");
    data_len + backlen_size(data_len as u64)
}

/// The offset of the first element, `None` when empty.
pub fn first(lp: &[u8]) -> Option<usize> {
    (lp[HEADER_SIZE] != TERMINATOR).then_some(HEADER_SIZE)
}

/// The offset of the element after the one at `at`.
pub fn next(lp: &[u8], at: usize) -> Option<usize> {
    let n = at + element_size(lp, at);
    (lp[n] != TERMINATOR).then_some(n)
}

/// The offset of the element before the one at `at` (or before the terminator, for `at` the
/// listpack's length minus one).
pub fn prev(lp: &[u8], at: usize) -> Option<usize> {
    if at <= HEADER_SIZE {
        return None;
    }
    // The backlen ends right before `at`, read right to left: the last byte holds the lowest
    // bits, and every byte but the first has its high bit set.
    let (mut p, mut len, mut shift) = (at - 1, 0usize, 0);
    loop {
        len |= usize::from(lp[p] & 0x7f) << shift;
        if lp[p] & 0x80 == 0 {
            break;
        }
        shift += 7;
        p -= 1;
    }
    Some(p - len)
}

/// The offset of the last element, `None` when empty.
pub fn last(lp: &[u8]) -> Option<usize> {
    prev(lp, lp.len() - 1)
}

/// The element at `at`.
pub fn get(lp: &[u8], at: usize) -> Entry<'_> {
    decode_entry(&lp[at..lp.len() - 1]).expect("a listpack element").0
}

/// The element at `at` as an integer (0 for a string that spells none).
pub fn get_int(lp: &[u8], at: usize) -> i64 {
    match get(lp, at) {
        Entry::Int(v) => v,
        Entry::Str(s) => canonical_i64(s).unwrap_or(0),
    }
}

/// The bytes `element` takes in a listpack, backlen included.
pub fn element_len(element: Element) -> usize {
    match element {
        Element::Bytes(b) => entry_size(b),
        Element::Int(v) => {
            let mut scratch = Vec::with_capacity(9);
            encode_integer(&mut scratch, v);
            scratch.len() + backlen_size(scratch.len() as u64)
        }
    }
}

fn encode_element(out: &mut Vec<u8>, element: Element) {
    let start = out.len();
    match element {
        Element::Bytes(b) => match canonical_i64(b) {
            Some(v) => encode_integer(out, v),
            None => encode_string(out, b),
        },
        Element::Int(v) => encode_integer(out, v),
    }
    let data_len = (out.len() - start) as u64;
    encode_backlen(out, data_len);
}

/// Writes the header's byte total and, moved by `added` elements, its element count (which
/// stays "unknown" once past what 16 bits hold, as Redis keeps it).
fn update_header(lp: &mut [u8], added: i64) {
    let total = lp.len() as u32;
    lp[0..4].copy_from_slice(&total.to_le_bytes());
    let count = u16::from_le_bytes([lp[4], lp[5]]);
    if count != COUNT_UNKNOWN {
        let n = i64::from(count) + added;
        let n = if (0..i64::from(COUNT_UNKNOWN)).contains(&n) { n as u16 } else { COUNT_UNKNOWN };
        lp[4..6].copy_from_slice(&n.to_le_bytes());
    }
}

/// Appends `element` at the end.
pub fn append(lp: &mut Vec<u8>, element: Element) {
    lp.pop();
    encode_element(lp, element);
    lp.push(TERMINATOR);
    update_header(lp, 1);
}

/// Replaces the element at `at` with the integer `v`; elements after it move when the
/// encoding's size changes.
pub fn replace_int(lp: &mut Vec<u8>, at: usize, v: i64) {
    let old = element_size(lp, at);
    let mut encoded = Vec::with_capacity(10);
    encode_element(&mut encoded, Element::Int(v));
    if encoded.len() == old {
        lp[at..at + old].copy_from_slice(&encoded);
    } else {
        lp.splice(at..at + old, encoded);
        update_header(lp, 0);
    }
}

/// The element count, counted when the header does not know it.
pub fn len(lp: &[u8]) -> usize {
    let count = u16::from_le_bytes([lp[4], lp[5]]);
    if count != COUNT_UNKNOWN {
        return usize::from(count);
    }
    let mut n = 0;
    let mut at = first(lp);
    while let Some(p) = at {
        n += 1;
        at = next(lp, p);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(elements: &[&[u8]]) -> Vec<u8> {
        let mut builder = ListpackBuilder::new();
        for e in elements {
            builder.push(e);
        }
        builder.finish()
    }

    #[test]
    fn encodes_small_entries_byte_for_byte() {
        // "a", 5, -1, 1000: string, 7-bit uint, 13-bit int, 13-bit int.
        let lp = build(&[b"a", b"5", b"-1", b"1000"]);
        let expected: Vec<u8> = vec![
            18, 0, 0, 0, 4, 0, // header: 18 bytes, 4 entries
            0x81, b'a', 2, // 6-bit string
            5, 1, // 7-bit uint
            0xdf, 0xff, 2, // 13-bit -1
            0xc3, 0xe8, 2,    // 13-bit 1000
            0xff, // terminator
        ];
        assert_eq!(lp, expected[..]);
    }

    #[test]
    fn backlen_uses_redis_size_classes() {
        let mut out = Vec::new();
        encode_backlen(&mut out, 200);
        assert_eq!(out, [200 >> 7, (200 & 127) | 128]);
        for len in [0u64, 127, 128, 16382, 16383, 2_097_150, 2_097_151, 268_435_455, 1 << 32] {
            let mut out = Vec::new();
            encode_backlen(&mut out, len);
            assert_eq!(out.len(), backlen_size(len));
            assert_eq!(decode_backlen(&out), Some(len), "len {len}");
        }
    }

    #[test]
    fn round_trips_every_encoding() {
        let long_12 = vec![b'x'; 100];
        let long_32 = vec![b'y'; 5000];
        let ints: Vec<Vec<u8>> = [
            0i64,
            127,
            128,
            -4096,
            4095,
            -4097,
            32767,
            -32768,
            40000,
            -8_388_608,
            8_388_607,
            8_388_608,
            i64::from(i32::MIN),
            i64::from(i32::MAX),
            i64::from(i32::MAX) + 1,
            i64::MIN,
            i64::MAX,
        ]
        .iter()
        .map(|v| v.to_string().into_bytes())
        .collect();
        let mut elements: Vec<&[u8]> = vec![b"", b"-0", b"007", b"+1", &long_12, &long_32];
        elements.extend(ints.iter().map(|v| v.as_slice()));
        let lp = build(&elements);
        let decoded: Vec<Vec<u8>> = decode(&lp).unwrap().iter().map(Entry::to_bytes).collect();
        let expected: Vec<Vec<u8>> = elements.iter().map(|e| e.to_vec()).collect();
        assert_eq!(decoded, expected);
        let sizes: usize = elements.iter().map(|e| entry_size(e)).sum();
        assert_eq!(sizes + HEADER_SIZE + 1, lp.len());
    }

    #[test]
    fn rejects_inconsistent_listpacks() {
        let lp = build(&[b"hello", b"42"]);
        let mut wrong_total = lp.clone();
        wrong_total[0] += 1;
        assert!(decode(&wrong_total).is_err());
        let mut wrong_count = lp.clone();
        wrong_count[4] = 3;
        assert!(decode(&wrong_count).is_err());
        let mut wrong_backlen = lp.clone();
        wrong_backlen[HEADER_SIZE + 6] = 9;
        assert!(decode(&wrong_backlen).is_err());
        let mut bad_encoding = lp.clone();
        bad_encoding[HEADER_SIZE] = 0xf5;
        assert!(decode(&bad_encoding).is_err());
        let mut no_terminator = lp;
        *no_terminator.last_mut().unwrap() = 0;
        assert!(decode(&no_terminator).is_err());
    }

    #[test]
    fn edits_in_place_walk_both_ways() {
        let mut lp = empty(16);
        assert_eq!(first(&lp), None);
        let long = vec![b'z'; 300];
        append(&mut lp, Element::Int(5));
        append(&mut lp, Element::Bytes(b"field"));
        append(&mut lp, Element::Bytes(&long));
        append(&mut lp, Element::Bytes(b"-17"));
        assert_eq!(decode(&lp).unwrap().len(), 4);
        let at = first(&lp).unwrap();
        replace_int(&mut lp, at, 100_000);
        assert!(decode(&lp).is_ok());
        let forward: Vec<Vec<u8>> =
            std::iter::successors(first(&lp), |&p| next(&lp, p)).map(|p| get(&lp, p).to_bytes()).collect();
        let mut backward: Vec<Vec<u8>> =
            std::iter::successors(last(&lp), |&p| prev(&lp, p)).map(|p| get(&lp, p).to_bytes()).collect();
        backward.reverse();
        assert_eq!(forward, backward);
        assert_eq!(forward[0], b"100000");
        assert_eq!(get_int(&lp, last(&lp).unwrap()), -17);
        assert_eq!(len(&lp), 4);
        assert_eq!(element_len(Element::Bytes(&long)), entry_size(&long));
    }
}
