//! Ziplist, the compact sequence of Redis before 7.0 (replaced by listpack), still found in
//! older RDB files: small lists, hashes and sorted sets, and quicklist (v1) nodes. Read only.
//!
//! Layout: total bytes (u32 LE), offset of the last entry (u32 LE), entry count (u16 LE,
//! 65535 when not known), entries, 0xFF. Each entry is the previous entry's size (one byte
//! below 254, else 0xFE and u32 LE), an encoding, and the data.

use super::listpack::{le_after_header, sign_extend, str_entry, Entry};

const HEADER_SIZE: usize = 10;
const END: u8 = 0xff;
const BIG_PREVLEN: u8 = 0xfe;
const COUNT_UNKNOWN: u16 = u16::MAX;

/// Decodes and validates a whole ziplist; errors say what and where.
pub fn decode(zl: &[u8]) -> Result<Vec<Entry<'_>>, String> {
    if zl.len() < HEADER_SIZE + 1 {
        return Err(format!("ziplist of {} bytes is shorter than its header", zl.len()));
    }
    let u32_at = |p: usize| u32::from_le_bytes([zl[p], zl[p + 1], zl[p + 2], zl[p + 3]]) as usize;
    let total = u32_at(0);
    if total != zl.len() {
        return Err(format!("ziplist header says {total} bytes, the string has {}", zl.len()));
    }
    if zl[zl.len() - 1] != END {
        return Err("ziplist does not end with its terminator".into());
    }
    let tail = u32_at(4);
    let declared = u16::from_le_bytes([zl[8], zl[9]]);
    let end = zl.len() - 1;
    let mut entries = Vec::with_capacity(usize::from(declared).min((end - HEADER_SIZE) / 2));
    let mut p = HEADER_SIZE;
    let mut last_start = HEADER_SIZE;
    let mut prev_size = 0usize;
    while p < end {
        let at = p;
        let bad = || format!("ziplist entry at byte {at} is invalid");
        let (prevlen, prevlen_size) = if zl[p] < BIG_PREVLEN {
            (usize::from(zl[p]), 1)
        } else if zl[p] == BIG_PREVLEN {
            let b = zl.get(p + 1..p + 5).ok_or_else(bad)?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 5)
        } else {
            return Err(bad());
        };
        if prevlen != prev_size {
            return Err(format!("ziplist entry at byte {at} has a wrong previous-entry length"));
        }
        let (entry, body_size) = decode_body(&zl[p + prevlen_size..end]).ok_or_else(bad)?;
        last_start = p;
        prev_size = prevlen_size + body_size;
        p += prev_size;
        entries.push(entry);
    }
    if tail != last_start {
        return Err(format!("ziplist tail offset {tail} does not point at its last entry"));
    }
    if declared != COUNT_UNKNOWN && usize::from(declared) != entries.len() {
        return Err(format!("ziplist header says {declared} entries, it holds {}", entries.len()));
    }
    Ok(entries)
}

/// Decodes encoding and data at the start of `b`: the entry and the bytes they take.
fn decode_body(b: &[u8]) -> Option<(Entry<'_>, usize)> {
    let first = *b.first()?;
    let le = |n: usize| le_after_header(b, n);
    let string = |header: usize, len: usize| str_entry(b, header, len);
    match first >> 6 {
        0 => return string(1, usize::from(first & 0x3f)),
        1 => return string(2, (usize::from(first & 0x3f) << 8) | usize::from(*b.get(1)?)),
        // The 32-bit length is big-endian, unlike everything else here.
        2 if first == 0x80 => {
            let len = b.get(1..5)?.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
            return string(5, len);
        }
        _ => {}
    }
    match first {
        0xc0 => Some((Entry::Int(sign_extend(le(2)?, 16)), 3)),
        0xd0 => Some((Entry::Int(sign_extend(le(4)?, 32)), 5)),
        0xe0 => Some((Entry::Int(le(8)? as i64), 9)),
        0xf0 => Some((Entry::Int(sign_extend(le(3)?, 24)), 4)),
        0xfe => Some((Entry::Int(sign_extend(le(1)?, 8)), 2)),
        0xf1..=0xfd => Some((Entry::Int(i64::from(first & 0x0f) - 1), 1)),
        _ => None,
    }
}

/// Builds ziplists the way Redis 6 did, to test the reader on files only older versions wrote.
#[cfg(test)]
pub fn encode(elements: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0u8; HEADER_SIZE];
    let mut prev_size = 0usize;
    let mut last_start = HEADER_SIZE;
    for element in elements {
        let start = out.len();
        if prev_size < usize::from(BIG_PREVLEN) {
            out.push(prev_size as u8);
        } else {
            out.push(BIG_PREVLEN);
            out.extend_from_slice(&(prev_size as u32).to_le_bytes());
        }
        match super::canonical_i64(element) {
            Some(v @ 0..=12) => out.push(0xf1 + v as u8),
            Some(v) if i8::try_from(v).is_ok() => out.extend_from_slice(&[0xfe, v as u8]),
            Some(v) if i16::try_from(v).is_ok() => {
                out.push(0xc0);
                out.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-8_388_608..=8_388_607).contains(&v) => {
                out.push(0xf0);
                out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                out.push(0xd0);
                out.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                out.push(0xe0);
                out.extend_from_slice(&v.to_le_bytes());
            }
            None => {
                let len = element.len();
                if len < 64 {
                    out.push(len as u8);
                } else if len < 16384 {
                    out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
                } else {
                    out.push(0x80);
                    out.extend_from_slice(&(len as u32).to_be_bytes());
                }
                out.extend_from_slice(element);
            }
        }
        last_start = start;
        prev_size = out.len() - start;
    }
    out.push(END);
    let total = out.len() as u32;
    out[0..4].copy_from_slice(&total.to_le_bytes());
    out[4..8].copy_from_slice(&(last_start as u32).to_le_bytes());
    let count = elements.len().min(usize::from(COUNT_UNKNOWN)) as u16;
    out[8..10].copy_from_slice(&count.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_encoding() {
        let long_14 = vec![b'q'; 300];
        let long_32 = vec![b'z'; 20_000];
        let ints: Vec<Vec<u8>> =
            [0i64, 12, 13, -1, -128, 127, 300, -30000, 100_000, -8_388_608, 2_000_000_000, i64::MIN]
                .iter()
                .map(|v| v.to_string().into_bytes())
                .collect();
        let mut elements: Vec<&[u8]> = vec![b"", b"abc", &long_14, &long_32, b"tail"];
        elements.extend(ints.iter().map(|v| v.as_slice()));
        let zl = encode(&elements);
        let decoded: Vec<Vec<u8>> = decode(&zl).unwrap().iter().map(Entry::to_bytes).collect();
        let expected: Vec<Vec<u8>> = elements.iter().map(|e| e.to_vec()).collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn rejects_inconsistent_ziplists() {
        let zl = encode(&[b"hello", b"7", b"world"]);
        assert!(decode(&zl).is_ok());
        let mut wrong_tail = zl.clone();
        wrong_tail[4] += 1;
        assert!(decode(&wrong_tail).is_err());
        let mut wrong_prevlen = zl.clone();
        wrong_prevlen[HEADER_SIZE + 7] = 3;
        assert!(decode(&wrong_prevlen).is_err());
        let mut wrong_count = zl.clone();
        wrong_count[8] = 2;
        assert!(decode(&wrong_count).is_err());
        assert!(decode(&zl[..zl.len() - 1]).is_err());
    }
}
