//! Zipmap, the small-hash encoding of Redis 2.x (RDB type 9), still found in old RDB files.
//! Read only: a loaded zipmap becomes an ordinary hash.
//!
//! Layout: a count byte (254 = count not known), then per pair the field's length, the field,
//! the value's length, a byte counting unused bytes after the value, the value and those
//! unused bytes; 0xFF ends it. A length is one byte below 254, else 254 and a u32 LE.

const BIG_LEN: u8 = 254;
const END: u8 = 0xff;

/// A field and its value, borrowed from the zipmap.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes and validates a whole zipmap into its field-value pairs, in order.
pub fn decode(zm: &[u8]) -> Result<Vec<Pair<'_>>, String> {
    let Some(&count) = zm.first() else {
        return Err("zipmap of 0 bytes".into());
    };
    let mut pairs = Vec::new();
    let mut p = 1;
    loop {
        match zm.get(p) {
            None => return Err("zipmap does not end with its terminator".into()),
            Some(&END) => break,
            Some(_) => {}
        }
        let (field, after) = take(zm, p, false)?;
        let (value, after) = take(zm, after, true)?;
        pairs.push((field, value));
        p = after;
    }
    if p + 1 != zm.len() {
        return Err(format!("zipmap ends at byte {p} of {}", zm.len()));
    }
    if count < BIG_LEN && usize::from(count) != pairs.len() {
        return Err(format!("zipmap says {count} pairs and holds {}", pairs.len()));
    }
    Ok(pairs)
}

/// The string whose length is at `p` (a value also has its unused-byte count after the
/// length), and where the next length starts.
fn take(zm: &[u8], p: usize, is_value: bool) -> Result<(&[u8], usize), String> {
    let bad = || format!("zipmap entry at byte {p} is invalid");
    let (len, mut at) = match *zm.get(p).ok_or_else(bad)? {
        END => return Err(bad()),
        BIG_LEN => {
            let b = zm.get(p + 1..p + 5).ok_or_else(bad)?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, p + 5)
        }
        n => (usize::from(n), p + 1),
    };
    let free = if is_value {
        at += 1;
        usize::from(*zm.get(at - 1).ok_or_else(bad)?)
    } else {
        0
    };
    let end = at.checked_add(len).ok_or_else(bad)?;
    let s = zm.get(at..end).ok_or_else(bad)?;
    let next = end.checked_add(free).filter(|&n| n <= zm.len()).ok_or_else(bad)?;
    Ok((s, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_with_short_and_long_lengths_and_free_bytes() {
        let long = vec![b'x'; 300];
        let mut zm = vec![2u8, 3];
        zm.extend_from_slice(b"foo");
        zm.extend_from_slice(&[3, 2]);
        zm.extend_from_slice(b"bar..");
        zm.push(5);
        zm.extend_from_slice(b"field");
        zm.push(BIG_LEN);
        zm.extend_from_slice(&300u32.to_le_bytes());
        zm.push(0);
        zm.extend_from_slice(&long);
        zm.push(END);
        let pairs = decode(&zm).unwrap();
        assert_eq!(pairs, vec![(&b"foo"[..], &b"bar"[..]), (&b"field"[..], &long[..])]);
        // A count of 254 means "not known": the pairs are counted by walking.
        zm[0] = BIG_LEN;
        assert_eq!(decode(&zm).unwrap().len(), 2);
    }

    #[test]
    fn damage_is_an_error_never_a_panic() {
        let mut zm = vec![1u8, 1, b'a', 1, 0, b'b', END];
        assert_eq!(decode(&zm).unwrap(), vec![(&b"a"[..], &b"b"[..])]);
        zm[0] = 3;
        assert!(decode(&zm).unwrap_err().contains("says 3 pairs"));
        for cut in 0..zm.len() {
            assert!(decode(&zm[..cut]).is_err(), "cut at {cut}");
        }
        // Lengths and free counts that run past the end.
        for (i, b) in [(1, 200u8), (3, 200), (4, 200), (1, BIG_LEN)] {
            let mut z = vec![1u8, 1, b'a', 1, 0, b'b', END];
            z[i] = b;
            assert!(decode(&z).is_err(), "byte {i} = {b}");
        }
    }
}
