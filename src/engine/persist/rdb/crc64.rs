//! CRC-64 with the Jones polynomial, reflected, initial value 0: the checksum Redis stores
//! after the EOF opcode of an RDB file (and in DUMP payloads). Table-driven, eight bytes a step.

/// The Jones polynomial, bit-reversed for the reflected (LSB-first) algorithm.
const POLY_REFLECTED: u64 = 0xad93_d235_94c9_35a9u64.reverse_bits();

/// `TABLES[k][b]`: the CRC contribution of byte `b` followed by `k` zero bytes.
static TABLES: [[u64; 256]; 8] = build_tables();

const fn build_tables() -> [[u64; 256]; 8] {
    let mut tables = [[0u64; 256]; 8];
    let mut n = 0;
    while n < 256 {
        let mut crc = n as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        tables[0][n] = crc;
        n += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut n = 0;
        while n < 256 {
            let prev = tables[k - 1][n];
            tables[k][n] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
            n += 1;
        }
        k += 1;
    }
    tables
}

/// Continues the checksum `crc` over `data`; start from 0, as Redis does.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        crc ^= u64::from_le_bytes(word);
        crc = TABLES[7][(crc & 0xff) as usize]
            ^ TABLES[6][((crc >> 8) & 0xff) as usize]
            ^ TABLES[5][((crc >> 16) & 0xff) as usize]
            ^ TABLES[4][((crc >> 24) & 0xff) as usize]
            ^ TABLES[3][((crc >> 32) & 0xff) as usize]
            ^ TABLES[2][((crc >> 40) & 0xff) as usize]
            ^ TABLES[1][((crc >> 48) & 0xff) as usize]
            ^ TABLES[0][(crc >> 56) as usize];
    }
    for &byte in chunks.remainder() {
        crc = TABLES[0][((crc ^ u64::from(byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_redis_test_vector() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    /// Bit at a time, most significant first, as the polynomial is usually written.
    fn crc64_bitwise(data: &[u8]) -> u64 {
        let mut crc: u64 = 0;
        for &byte in data {
            let reflected = byte.reverse_bits();
            for bit in (0..8).rev() {
                let top = (crc >> 63) ^ u64::from((reflected >> bit) & 1);
                crc <<= 1;
                if top == 1 {
                    crc ^= 0xad93_d235_94c9_35a9;
                }
            }
        }
        crc.reverse_bits()
    }

    #[test]
    fn matches_a_bitwise_computation() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 131 % 256) as u8).collect();
        for len in [0, 1, 5, 8, 15, 64, 300] {
            assert_eq!(crc64(0, &data[..len]), crc64_bitwise(&data[..len]), "len {len}");
        }
    }

    #[test]
    fn can_be_computed_in_pieces() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        let whole = crc64(0, &data);
        for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
            assert_eq!(crc64(crc64(0, &data[..split]), &data[split..]), whole, "split {split}");
        }
    }
}
