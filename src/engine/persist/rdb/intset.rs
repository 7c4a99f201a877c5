//! Intset, Redis's encoding of small all-integer sets: element width in bytes (u32 LE: 2, 4
//! or 8), element count (u32 LE), then the elements, ascending, little-endian, all of the
//! smallest width that holds every one of them.

/// Encodes `values`, which must be ascending and distinct.
pub fn encode(values: &[i64]) -> Vec<u8> {
    let fits = |lo: i64, hi: i64| values.iter().all(|v| (lo..=hi).contains(v));
    let width: usize = if fits(i64::from(i16::MIN), i64::from(i16::MAX)) {
        2
    } else if fits(i64::from(i32::MIN), i64::from(i32::MAX)) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * values.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    out
}

/// Decodes and validates an intset: a known width, a size that matches the count, at least
/// one element, strictly ascending elements.
pub fn decode(b: &[u8]) -> Result<Vec<i64>, String> {
    if b.len() < 8 {
        return Err(format!("intset of {} bytes is shorter than its header", b.len()));
    }
    let width = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("intset has element width {width}"));
    }
    let count = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if (b.len() - 8) != count.saturating_mul(width) {
        return Err(format!("intset of {count} elements of {width} bytes is {} bytes long", b.len()));
    }
    if count == 0 {
        return Err("intset is empty".into());
    }
    let values: Vec<i64> = b[8..]
        .chunks_exact(width)
        .map(|c| {
            let mut word = [0u8; 8];
            word[..width].copy_from_slice(c);
            // Sign-extend from the element width.
            let shift = 64 - 8 * width as u32;
            (i64::from_le_bytes(word) << shift) >> shift
        })
        .collect();
    if values.windows(2).any(|w| w[0] >= w[1]) {
        return Err("intset elements are not strictly ascending".into());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_smallest_width_and_round_trips() {
        for (values, width) in
            [(vec![-3i64, 0, 7, 32767], 2u8), (vec![-40000, 1, 2], 4), (vec![i64::MIN, 0, i64::MAX], 8)]
        {
            let blob = encode(&values);
            assert_eq!(blob[0], width);
            assert_eq!(blob.len(), 8 + values.len() * usize::from(width));
            assert_eq!(decode(&blob).unwrap(), values);
        }
    }

    #[test]
    fn rejects_invalid_intsets() {
        let good = encode(&[1, 2, 3]);
        assert!(decode(&good[..good.len() - 1]).is_err());
        let mut unordered = good.clone();
        unordered[8] = 9;
        assert!(decode(&unordered).is_err());
        let mut bad_width = good;
        bad_width[0] = 3;
        assert!(decode(&bad_width).is_err());
        assert!(decode(&encode(&[])).is_err());
    }
}
