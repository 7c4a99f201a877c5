//! Reply shapes the listing commands share: names filtered by a glob (KEYS, PUBSUB CHANNELS,
//! TENANT LIST, KEYCLASS LIST) and the head of a SCAN-family reply.

use crate::glob::glob_match;
use crate::protocol::ReplyBuf;

/// Replies with the names that match the glob `pattern` (all of them without one), as the
/// listings KEYS, PUBSUB CHANNELS, TENANT LIST and KEYCLASS LIST do.
pub fn reply_matching<'n>(out: &mut ReplyBuf, names: impl Iterator<Item = &'n [u8]>, pattern: Option<&[u8]>) {
    // "*" matches everything: no need to test each name.
    let pattern = pattern.filter(|p| *p != b"*");
    let found: Vec<&[u8]> = names.filter(|n| pattern.is_none_or(|p| glob_match(p, n, false))).collect();
    out.array(found.len());
    for n in found {
        out.bulk(n);
    }
}

/// Writes the head of a SCAN-family reply: `[cursor, [...]]` with room for `len` elements.
pub fn reply_scan_head(out: &mut ReplyBuf, next: u64, len: usize) {
    out.array(2);
    out.bulk(itoa::Buffer::new().format(next).as_bytes());
    out.array(len);
}
