//! HyperLogLog values in Redis's representation, byte for byte: the algorithm, the layout and
//! the estimator are ported from Redis's `hyperloglog.c` (Salvatore Sanfilippo, BSD license),
//! so a value moves between redis-server and this server as a plain string and counts alike.
//!
//! A value is a 16-byte header — `"HYLL"`, the encoding (0 dense, 1 sparse), 3 unused bytes,
//! the cached cardinality as 8 little-endian bytes whose top bit (bit 7 of byte 15) marks the
//! cache invalid — followed by the registers:
//!
//! * dense: 16384 registers of 6 bits packed from the least significant bit of each byte
//!   (12288 bytes);
//! * sparse: run-length opcodes, ZERO `00xxxxxx` (1 to 64 zero registers), XZERO
//!   `01xxxxxx yyyyyyyy` (1 to 16384 zero registers) and VAL `1vvvvvxx` (1 to 4 registers of
//!   value 1 to 32). A sparse value becomes dense when a register needs more than 32 or the
//!   value would grow past `hll-sparse-max-bytes`.
//!
//! Elements are hashed with MurmurHash64A (seed `0xadc83b19`); the cardinality is Otmar
//! Ertl's estimator from the register histogram ("New cardinality estimation algorithms for
//! HyperLogLog sketches", arXiv:1702.01284), as Redis 7 computes it. Pure data: the caller
//! owns the bytes and decides where they live.

/// Bytes of the header before the registers.
pub const HEADER_LEN: usize = 16;
/// Number of registers (2^14).
pub const REGISTERS: usize = 1 << P;
/// Length of a dense value: header plus 16384 six-bit registers.
pub const DENSE_LEN: usize = HEADER_LEN + (REGISTERS * BITS).div_ceil(8);

/// Bits of the hash that select the register.
const P: u32 = 14;
/// Bits of the hash left for the run of zeros.
const Q: usize = 64 - P as usize;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2), the estimator's alpha for an infinite number of registers.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
/// Room kept after a sparse value while it is edited: the longest split grows it by 3
/// bytes, and the merge of two VAL opcodes moves the byte after the end as Redis's sds does.
const EDIT_ROOM: usize = 8;

/// How the registers of a value are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Dense,
    Sparse,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Dense => "dense",
            Encoding::Sparse => "sparse",
        }
    }
}

/// A sparse value whose opcodes do not cover exactly the 16384 registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt;

/// The encoding of `value` if it has the shape of a HyperLogLog (Redis's
/// `isHLLObjectOrReply`): a header with the magic and a known encoding, and for a dense
/// value the exact length. Sparse opcodes are only checked when they are walked.
pub fn encoding(value: &[u8]) -> Option<Encoding> {
    if value.len() < HEADER_LEN || &value[..4] != b"HYLL" {
        return None;
    }
    match value[4] {
        DENSE if value.len() == DENSE_LEN => Some(Encoding::Dense),
        SPARSE => Some(Encoding::Sparse),
        _ => None,
    }
}

/// An empty value as Redis creates it: sparse, one XZERO covering every register, cached
/// cardinality 0 (valid).
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + 2);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.resize(HEADER_LEN, 0);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        v.extend_from_slice(&xzero(run));
        left -= run;
    }
    v
}

/// A copy of a value to edit with [`add`] or [`raise`]: with room for the bytes a sparse
/// edit works in, so that no edit reallocates.
pub fn editable(value: &[u8]) -> Vec<u8> {
    let mut copy = Vec::with_capacity(value.len() + 2 * EDIT_ROOM);
    copy.extend_from_slice(value);
    copy
}

// ----- the header's cached cardinality -----

/// The cached cardinality, if the cache is valid.
pub fn cached_cardinality(value: &[u8]) -> Option<u64> {
    let card: [u8; 8] = value[8..16].try_into().expect("a header");
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

pub fn set_cached_cardinality(value: &mut [u8], card: u64) {
    value[8..16].copy_from_slice(&card.to_le_bytes());
}

pub fn invalidate_cache(value: &mut [u8]) {
    value[15] |= 0x80;
}

// ----- hashing -----

/// MurmurHash2, 64-bit version, as Redis has it (endian neutral: words are read little
/// endian).
pub fn murmurhash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut words = key.chunks_exact(8);
    for w in &mut words {
        let mut k = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element falls in and the length of the `000..1` pattern of the rest of
/// its hash, counting the final 1 (1 to 51): Redis's `hllPatLen`.
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(element, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The bit above the Q used ones ends the run, so the count is at most Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ----- dense registers -----

/// Register `i` of dense `registers` (the bytes after the header).
#[inline]
fn dense_get(registers: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = registers[byte] as u16;
    // A register that fits in its first byte needs nothing of the next one (which is past
    // the end for the last register; Redis reads the string's terminator there).
    let b1 = if fb > 8 - BITS { registers[byte + 1] as u16 } else { 0 };
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u16) as u8
}

#[inline]
fn dense_set(registers: &mut [u8], i: usize, value: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = value as u16;
    registers[byte] &= !((REGISTER_MAX as u16) << fb) as u8;
    registers[byte] |= (v << fb) as u8;
    if fb > 8 - BITS {
        let fb8 = 8 - fb;
        registers[byte + 1] &= !((REGISTER_MAX as u16) >> fb8) as u8;
        registers[byte + 1] |= (v >> fb8) as u8;
    }
}

/// Raises register `i` to `count` if it is lower; whether it changed.
#[inline]
fn dense_raise(registers: &mut [u8], i: usize, count: u8) -> bool {
    let raise = count > dense_get(registers, i);
    if raise {
        dense_set(registers, i, count);
    }
    raise
}

/// Adds `element` to a dense value in place (its length never changes); whether a register
/// changed. The cache is left for the caller to invalidate.
pub fn dense_add(value: &mut [u8], element: &[u8]) -> bool {
    let (index, count) = pattern(element);
    dense_raise(&mut value[HEADER_LEN..], index, count)
}

/// The histogram of a dense value's register values.
fn dense_histogram(registers: &[u8], histogram: &mut [u32; 64]) {
    // Three bytes hold four registers.
    for b in registers[..REGISTERS * BITS / 8].chunks_exact(3) {
        let (b0, b1, b2) = (b[0] as usize, b[1] as usize, b[2] as usize);
        histogram[b0 & 63] += 1;
        histogram[(b0 >> 6 | b1 << 2) & 63] += 1;
        histogram[(b1 >> 4 | b2 << 4) & 63] += 1;
        histogram[b2 >> 2] += 1;
    }
}

// ----- sparse opcodes -----

#[inline]
fn is_zero(op: u8) -> bool {
    op & 0xc0 == 0
}

#[inline]
fn is_xzero(op: u8) -> bool {
    op & 0xc0 == 0x40
}

#[inline]
fn is_val(op: u8) -> bool {
    op & 0x80 != 0
}

#[inline]
fn zero_len(op: u8) -> usize {
    (op & 0x3f) as usize + 1
}

/// The run of the XZERO at `at`; a missing second byte reads as 0, as Redis reads the
/// string's terminator.
#[inline]
fn xzero_len(bytes: &[u8], at: usize) -> usize {
    ((((bytes[at] & 0x3f) as usize) << 8) | bytes.get(at + 1).copied().unwrap_or(0) as usize) + 1
}

#[inline]
fn val_value(op: u8) -> u8 {
    ((op >> 2) & 0x1f) + 1
}

#[inline]
fn val_len(op: u8) -> usize {
    (op & 0x3) as usize + 1
}

#[inline]
fn val(value: u8, len: usize) -> u8 {
    ((value - 1) << 2 | (len as u8 - 1)) | 0x80
}

#[inline]
fn zero(len: usize) -> u8 {
    (len - 1) as u8
}

#[inline]
fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [(l >> 8) as u8 | 0x40, (l & 0xff) as u8]
}

/// One opcode of a sparse value as a run: (register value, registers, opcode bytes).
#[inline]
fn sparse_op(bytes: &[u8], at: usize) -> (u8, usize, usize) {
    let op = bytes[at];
    if is_zero(op) {
        (0, zero_len(op), 1)
    } else if is_xzero(op) {
        (0, xzero_len(bytes, at), 2)
    } else {
        (val_value(op), val_len(op), 1)
    }
}

/// Rewrites a sparse value as dense (Redis's `hllSparseToDense`), keeping the header's
/// cached cardinality; a dense value is left as it is.
pub fn to_dense(value: &mut Vec<u8>) -> Result<(), Corrupt> {
    if value[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_LEN];
    dense[..HEADER_LEN].copy_from_slice(&value[..HEADER_LEN]);
    dense[4] = DENSE;
    let registers = &mut dense[HEADER_LEN..];
    let (mut idx, mut p) = (0, HEADER_LEN);
    while p < value.len() {
        let (v, run, oplen) = sparse_op(value, p);
        // Any run past the last register is corruption (Redis since the fix of
        // CVE-2025-32023, as Debian's 7.0.15 has it).
        if idx + run > REGISTERS {
            return Err(Corrupt);
        }
        if v != 0 {
            for i in idx..idx + run {
                dense_set(registers, i, v);
            }
        }
        idx += run;
        p += oplen;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *value = dense;
    Ok(())
}

/// What an edit of a sparse value came to.
enum SparseEdit {
    Unchanged,
    Updated,
    /// The register needs the dense encoding (a value over 32, or a value over the size
    /// limit).
    Promote,
}

/// Raises register `index` of a value to `count` if it is lower (Redis's `hllSparseSet` and
/// `hllDenseSet`), promoting a sparse value to dense when the sparse form cannot hold it or
/// would grow past `sparse_max_bytes`. Whether the register changed.
pub fn raise(value: &mut Vec<u8>, index: usize, count: u8, sparse_max_bytes: usize) -> Result<bool, Corrupt> {
    match value[4] {
        DENSE => return Ok(dense_raise(&mut value[HEADER_LEN..], index, count)),
        SPARSE => {}
        _ => return Err(Corrupt),
    }
    let mut end = value.len();
    value.resize(end + EDIT_ROOM, 0);
    let edit = sparse_raise(value, &mut end, index, count, sparse_max_bytes);
    value.truncate(end);
    match edit? {
        SparseEdit::Unchanged => Ok(false),
        SparseEdit::Updated => {
            invalidate_cache(value);
            Ok(true)
        }
        SparseEdit::Promote => {
            to_dense(value)?;
            Ok(dense_raise(&mut value[HEADER_LEN..], index, count))
        }
    }
}

/// Adds `element` to a value (dense or sparse); whether a register changed.
pub fn add(value: &mut Vec<u8>, element: &[u8], sparse_max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(element);
    raise(value, index, count, sparse_max_bytes)
}

/// The sparse half of [`raise`] on `buf[..*end]`, with [`EDIT_ROOM`] bytes after the end to
/// grow into; `*end` follows the value's length.
fn sparse_raise(
    buf: &mut [u8],
    end: &mut usize,
    index: usize,
    count: u8,
    sparse_max_bytes: usize,
) -> Result<SparseEdit, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return Ok(SparseEdit::Promote);
    }
    // Step 1: find the opcode covering the register.
    let (mut p, mut first, mut span, mut prev) = (HEADER_LEN, 0usize, 0usize, None);
    while p < *end {
        let (_, run, oplen) = sparse_op(buf, p);
        span = run;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= *end {
        return Err(Corrupt);
    }
    let op = buf[p];
    let oplen = if is_xzero(op) { 2 } else { 1 };
    let next = (p + oplen < *end).then_some(p + oplen);

    // Step 2: the easy cases change the opcode in place.
    let mut updated = false;
    if is_val(op) {
        if val_value(op) >= count {
            return Ok(SparseEdit::Unchanged);
        }
        if span == 1 {
            buf[p] = val(count, 1);
            updated = true;
        }
    } else if is_zero(op) && span == 1 {
        buf[p] = val(count, 1);
        updated = true;
    }

    if !updated {
        // The general case: split the opcode into up to three (XZERO-VAL-XZERO at most).
        let mut seq = [0u8; 5];
        let mut n = 0;
        let last = first + span - 1;
        fn push_zeros(seq: &mut [u8; 5], n: &mut usize, len: usize) {
            if len > SPARSE_ZERO_MAX_LEN {
                seq[*n..*n + 2].copy_from_slice(&xzero(len));
                *n += 2;
            } else {
                seq[*n] = zero(len);
                *n += 1;
            }
        }
        if is_val(op) {
            let current = val_value(op);
            if index != first {
                seq[n] = val(current, index - first);
                n += 1;
            }
            seq[n] = val(count, 1);
            n += 1;
            if index != last {
                seq[n] = val(current, last - index);
                n += 1;
            }
        } else {
            if index != first {
                push_zeros(&mut seq, &mut n, index - first);
            }
            seq[n] = val(count, 1);
            n += 1;
            if index != last {
                push_zeros(&mut seq, &mut n, last - index);
            }
        }

        // Step 3: put the new sequence in place of the old opcode.
        let delta = n as isize - oplen as isize;
        if delta > 0 && *end + delta as usize > sparse_max_bytes {
            return Ok(SparseEdit::Promote);
        }
        if delta != 0 {
            if let Some(next) = next {
                buf.copy_within(next..*end, next.wrapping_add_signed(delta));
            }
        }
        *end = end.wrapping_add_signed(delta);
        buf[p..p + n].copy_from_slice(&seq[..n]);
    }

    // Step 4: merge adjacent VAL opcodes of the same value, from the opcode before the
    // changed one, over at most 5 opcodes.
    let mut p = prev.unwrap_or(HEADER_LEN);
    let mut scan = 5;
    while p < *end && scan > 0 {
        scan -= 1;
        let op = buf[p];
        if is_xzero(op) {
            p += 2;
            continue;
        }
        if is_zero(op) {
            p += 1;
            continue;
        }
        if p + 1 < *end && is_val(buf[p + 1]) {
            let (v1, v2) = (val_value(op), val_value(buf[p + 1]));
            let len = val_len(op) + val_len(buf[p + 1]);
            if v1 == v2 && len <= SPARSE_VAL_MAX_LEN {
                buf[p + 1] = val(v1, len);
                // As Redis's memmove, the byte after the end comes along.
                buf.copy_within(p + 1..*end + 1, p);
                *end -= 1;
                // The merged opcode may merge with the next one too.
                continue;
            }
        }
        p += 1;
    }
    Ok(SparseEdit::Updated)
}

/// The histogram of a sparse value's register values; `Corrupt` unless the runs cover
/// exactly the registers (the histogram is still filled, as Redis does).
fn sparse_histogram(value: &[u8], histogram: &mut [u32; 64]) -> Result<(), Corrupt> {
    let (mut idx, mut p) = (0, HEADER_LEN);
    while p < value.len() {
        let (v, run, oplen) = sparse_op(value, p);
        idx += run;
        histogram[v as usize] += run as u32;
        p += oplen;
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

// ----- cardinality -----

/// Ertl's sigma function.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// Ertl's tau function.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate from a register histogram (Redis's `hllCount`).
fn estimate(histogram: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histogram[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histogram[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histogram[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of a value, ignoring the cache.
pub fn count(value: &[u8]) -> Result<u64, Corrupt> {
    let mut histogram = [0u32; 64];
    match value[4] {
        DENSE => dense_histogram(&value[HEADER_LEN..], &mut histogram),
        SPARSE => sparse_histogram(value, &mut histogram)?,
        _ => return Err(Corrupt),
    }
    Ok(estimate(&histogram))
}

/// Registers as one byte each: the union of several values (PFCOUNT of many keys, PFMERGE).
pub type RawRegisters = [u8; REGISTERS];

/// Raises `max` to the registers of `value` where they are higher (Redis's `hllMerge`).
pub fn merge_into(max: &mut RawRegisters, value: &[u8]) -> Result<(), Corrupt> {
    if value[4] == DENSE {
        let registers = &value[HEADER_LEN..];
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense_get(registers, i));
        }
        return Ok(());
    }
    let (mut i, mut p) = (0, HEADER_LEN);
    while p < value.len() {
        let (v, run, oplen) = sparse_op(value, p);
        // As in `to_dense`: a run past the last register is corruption.
        if i + run > REGISTERS {
            return Err(Corrupt);
        }
        if v != 0 {
            for m in &mut max[i..i + run] {
                *m = (*m).max(v);
            }
        }
        i += run;
        p += oplen;
    }
    if i == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// The estimated cardinality of registers held one per byte.
pub fn count_raw(max: &RawRegisters) -> u64 {
    let mut histogram = [0u32; 64];
    for &r in max.iter() {
        histogram[r as usize & 63] += 1;
    }
    estimate(&histogram)
}

/// Writes `max` into a value (PFMERGE's destination): every non-zero register is raised,
/// through the sparse form while it holds them.
pub fn store_registers(value: &mut Vec<u8>, max: &RawRegisters, sparse_max_bytes: usize) {
    for (i, &m) in max.iter().enumerate() {
        if m != 0 {
            // A corrupt destination was refused when it was read as a source.
            let _ = raise(value, i, m, sparse_max_bytes);
        }
    }
}

// ----- PFDEBUG -----

/// Every register of a dense value.
pub fn dense_registers(value: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let registers = &value[HEADER_LEN..];
    (0..REGISTERS).map(move |i| dense_get(registers, i))
}

/// The opcodes of a sparse value as PFDEBUG DECODE lists them: `z:len`, `Z:len`,
/// `v:value,len`, separated by spaces.
pub fn decode_sparse(value: &[u8]) -> String {
    let mut ops = Vec::new();
    let mut p = HEADER_LEN;
    while p < value.len() {
        let op = value[p];
        let (v, run, oplen) = sparse_op(value, p);
        ops.push(if is_zero(op) {
            format!("z:{run}")
        } else if is_xzero(op) {
            format!("Z:{run}")
        } else {
            format!("v:{v},{run}")
        });
        p += oplen;
    }
    ops.join(" ")
}

// ----- PFSELFTEST -----

/// Redis's PFSELFTEST: dense registers keep what is written to them without touching their
/// neighbours, and a dense and a sparse value fed the same 10 million elements agree and
/// stay within a few standard errors of the truth. `Err` has the TESTFAILED text.
pub fn self_test(sparse_max_bytes: usize, mut random: impl FnMut() -> u64) -> Result<(), String> {
    let mut dense = vec![0u8; DENSE_LEN];
    dense[..4].copy_from_slice(b"HYLL");
    let mut expected = [0u8; REGISTERS];
    for _ in 0..1000 {
        let registers = &mut dense[HEADER_LEN..];
        for (i, e) in expected.iter_mut().enumerate() {
            *e = (random() & REGISTER_MAX as u64) as u8;
            dense_set(registers, i, *e);
        }
        for (i, &e) in expected.iter().enumerate() {
            let got = dense_get(registers, i);
            if got != e {
                return Err(format!("TESTFAILED Register {i} should be {e} but is {got}"));
            }
        }
    }

    dense[HEADER_LEN..].fill(0);
    let mut sparse = new_sparse();
    let relative_error = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = random();
    for j in 1..=10_000_000u64 {
        let element = (j ^ seed).to_le_bytes();
        dense_add(&mut dense, &element);
        let _ = add(&mut sparse, &element, sparse_max_bytes);
        if j != checkpoint {
            continue;
        }
        if j < (sparse_max_bytes / 2) as u64 && encoding(&sparse) != Some(Encoding::Sparse) {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let estimate = count(&dense).unwrap_or(0);
        if count(&sparse) != Ok(estimate) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let error = checkpoint.abs_diff(estimate);
        // At 10 a collision is too likely to allow more.
        let max_error = if j == 10 { 1 } else { (relative_error * 6.0 * checkpoint as f64).ceil() as u64 };
        if error > max_error {
            return Err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{error}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_value_is_one_xzero_with_a_valid_zero_cache() {
        let v = new_sparse();
        assert_eq!(v, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        assert_eq!(cached_cardinality(&v), Some(0));
        assert_eq!(count(&v), Ok(0));
        assert_eq!(decode_sparse(&v), "Z:16384");
    }

    #[test]
    fn dense_registers_keep_their_values() {
        let mut r = vec![0u8; DENSE_LEN - HEADER_LEN];
        for i in 0..REGISTERS {
            dense_set(&mut r, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&r, i), (i % 64) as u8, "register {i}");
        }
    }

    #[test]
    fn sparse_and_dense_agree_and_promotion_happens() {
        let mut sparse = new_sparse();
        let mut dense = new_sparse();
        to_dense(&mut dense).unwrap();
        for i in 0..5000u32 {
            let e = i.to_string();
            let a = add(&mut sparse, e.as_bytes(), 3000).unwrap();
            let b = add(&mut dense, e.as_bytes(), 3000).unwrap();
            assert_eq!(a, b, "element {i}");
            assert_eq!(count(&sparse), count(&dense), "after {i}");
            assert!(sparse.len() <= 3000 || encoding(&sparse) == Some(Encoding::Dense));
        }
        assert_eq!(encoding(&sparse), Some(Encoding::Dense));
        let c = count(&dense).unwrap();
        assert!((4800..5200).contains(&c), "{c}");
    }
}
