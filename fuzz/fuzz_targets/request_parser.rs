//! Arbitrary bytes into the request parser, delivered in reads split where the input says.
//!
//! The first byte picks the limits (authenticated or not, a small or the default
//! `proto-max-bulk-len`) and the second the read size. The commands parsed from split
//! reads must be exactly those parsed from the whole input at once (the parser keeps its
//! state across reads), every command is non-empty, and the parser never holds more than
//! it was given.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tenantcache::protocol::{ProtocolError, RequestLimits, RequestParser};

/// Parses `input` delivered in reads of at most `read_size` bytes.
fn parse(input: &[u8], read_size: usize, limits: &RequestLimits) -> (Vec<Vec<Bytes>>, Option<ProtocolError>) {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut commands = Vec::new();
    for chunk in input.chunks(read_size.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match parser.next(&mut buf, limits) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "empty command returned");
                    commands.push(args);
                }
                Ok(None) => break,
                Err(e) => return (commands, Some(e)),
            }
        }
        assert!(parser.pending_bytes() <= input.len() * (1 + std::mem::size_of::<Bytes>()));
    }
    (commands, None)
}

fuzz_target!(|data: &[u8]| {
    let [mode, split, input @ ..] = data else {
        return;
    };
    let limits = RequestLimits {
        max_bulk_len: if mode & 1 == 0 { 512 << 20 } else { 100 },
        query_buffer_limit: if mode & 2 == 0 { 1 << 20 } else { 64 << 10 },
        authenticated: mode & 4 == 0,
    };
    let (whole, whole_err) = parse(input, input.len(), &limits);
    let (pieces, pieces_err) = parse(input, *split as usize % 17 + 1, &limits);
    // Over 64 KB a line may be refused early when it arrives in pieces (as in Redis); below,
    // where the reads end changes nothing.
    if input.len() < 60_000 {
        assert_eq!(whole, pieces, "split reads parsed differently");
        assert_eq!(whole_err, pieces_err, "split reads failed differently");
    }
});
