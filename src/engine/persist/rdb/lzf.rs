//! LZF, the compression Redis applies to long strings in RDB files.
//!
//! The stream is a sequence of runs. A control byte below 32 starts a literal run of
//! `control + 1` bytes. Otherwise its top three bits are a match length (7 means "add the
//! next byte") and its low five bits, with the next byte, the distance back minus one; the
//! match copies `length + 2` bytes, which may overlap what it is writing.

/// Longest distance back a match may reach.
const MAX_DISTANCE: usize = 1 << 13;
/// Longest match: 7 + 255 in the length fields, plus the implicit 2.
const MAX_MATCH: usize = 264;
/// Longest literal run.
const MAX_LITERALS: usize = 32;
const HASH_BITS: u32 = 14;

/// Why a compressed string could not be expanded.
#[derive(Debug, PartialEq)]
pub enum LzfError {
    /// The output would exceed the length the file declared.
    TooLong,
    /// A literal run or match reaches past the input.
    TruncatedInput,
    /// A match reaches back before the start of the output.
    BadReference,
    /// The input ended with less output than declared.
    TooShort,
}

/// Expands `input` into exactly `expected_len` bytes.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, LzfError> {
    let mut out = Vec::with_capacity(expected_len);
    let mut i = 0;
    while i < input.len() {
        let control = usize::from(input[i]);
        i += 1;
        if control < MAX_LITERALS {
            let run = control + 1;
            let literals = input.get(i..i + run).ok_or(LzfError::TruncatedInput)?;
            if out.len() + run > expected_len {
                return Err(LzfError::TooLong);
            }
            out.extend_from_slice(literals);
            i += run;
        } else {
            let mut length = control >> 5;
            if length == 7 {
                length += usize::from(*input.get(i).ok_or(LzfError::TruncatedInput)?);
                i += 1;
            }
            let low = usize::from(*input.get(i).ok_or(LzfError::TruncatedInput)?);
            i += 1;
            let distance = (((control & 0x1f) << 8) | low) + 1;
            let length = length + 2;
            let start = out.len().checked_sub(distance).ok_or(LzfError::BadReference)?;
            if out.len() + length > expected_len {
                return Err(LzfError::TooLong);
            }
            // Byte by byte: the source may overlap what is being written.
            for k in start..start + length {
                let byte = out[k];
                out.push(byte);
            }
        }
    }
    if out.len() != expected_len {
        return Err(LzfError::TooShort);
    }
    Ok(out)
}

/// Compresses `input`; `None` when the result would be longer than `max_len` bytes.
pub fn compress(input: &[u8], max_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(max_len.min(input.len()));
    // Position + 1 of the last occurrence of each 3-byte hash (0: none yet). Sized by the
    // input (twice its length, at most 2^HASH_BITS slots): a snapshot compresses millions of
    // short strings, and zeroing a full table for each costs more than compressing it.
    let bits = (usize::BITS - input.len().leading_zeros() + 1).clamp(4, HASH_BITS);
    let mut last_seen = vec![0usize; 1 << bits];
    let hash = |p: usize| -> usize {
        let v = (u32::from(input[p]) << 16) | (u32::from(input[p + 1]) << 8) | u32::from(input[p + 2]);
        (v.wrapping_mul(2_654_435_761) >> (32 - bits)) as usize
    };
    let mut literal_start = 0;
    let mut i = 0;
    while i + 2 < input.len() {
        let h = hash(i);
        let candidate = last_seen[h];
        last_seen[h] = i + 1;
        if candidate > 0 {
            let from = candidate - 1;
            let distance = i - from;
            if distance <= MAX_DISTANCE && input[from..from + 3] == input[i..i + 3] {
                let limit = MAX_MATCH.min(input.len() - i);
                let mut length = 3;
                while length < limit && input[from + length] == input[i + length] {
                    length += 1;
                }
                flush_literals(&mut out, &input[literal_start..i]);
                let encoded_len = length - 2;
                let encoded_distance = distance - 1;
                if encoded_len < 7 {
                    out.push(((encoded_len << 5) | (encoded_distance >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (encoded_distance >> 8)) as u8);
                    out.push((encoded_len - 7) as u8);
                }
                out.push((encoded_distance & 0xff) as u8);
                if out.len() > max_len {
                    return None;
                }
                i += length;
                literal_start = i;
                continue;
            }
        }
        i += 1;
    }
    flush_literals(&mut out, &input[literal_start..]);
    (out.len() <= max_len).then_some(out)
}

fn flush_literals(out: &mut Vec<u8>, literals: &[u8]) {
    for run in literals.chunks(MAX_LITERALS) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_repetitive_and_random_data() {
        let mut seed = 0x1234_5678u64;
        let mut random = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        let random_bytes: Vec<u8> = (0..5000).map(|_| random()).collect();
        let inputs: Vec<Vec<u8>> = vec![
            b"a".repeat(10_000),
            b"abcabcabcabcabcabcabcabc-hello-hello-hello".to_vec(),
            (0..20_000u32).map(|i| (i % 97) as u8).collect(),
            random_bytes.iter().map(|b| b % 4).collect(),
            random_bytes,
        ];
        for input in inputs {
            let packed = compress(&input, input.len() + input.len() / 16 + 64).expect("fits");
            assert_eq!(decompress(&packed, input.len()).unwrap(), input);
        }
    }

    #[test]
    fn gives_up_when_it_does_not_shrink() {
        let input: Vec<u8> = (0..=255u8).collect();
        assert!(compress(&input, input.len() - 4).is_none());
    }

    #[test]
    fn rejects_bad_streams() {
        assert_eq!(decompress(&[5, b'a'], 6), Err(LzfError::TruncatedInput));
        assert_eq!(decompress(&[0, b'a', 0x20, 0x05], 4), Err(LzfError::BadReference));
        assert_eq!(decompress(&[0, b'a', 0x20, 0x00], 2), Err(LzfError::TooLong));
        assert_eq!(decompress(&[0, b'a'], 2), Err(LzfError::TooShort));
        assert_eq!(decompress(&[0, b'a', 0xe0], 9), Err(LzfError::TruncatedInput));
    }
}
