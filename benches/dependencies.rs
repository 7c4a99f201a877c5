//! Criterion benches behind the README's "Dependencies" section: crates a design would reach
//! for, measured against what the server uses instead on the same input.
//!
//! * `request_parser`: our [`RequestParser`] against `redis-protocol`'s RESP2 decoder
//!   (`decode_bytes_mut`, the zero-copy one) on one pipelined read of 16 `SET key <64-byte
//!   value>` and on one of 16 `MSET` of 10 keys each; both end with the arguments as
//!   `Vec<Bytes>`, which is what the dispatcher takes.
//! * `keyspace_table`: insert and get of 1,000 keys with 32-byte values in our per-tenant
//!   [`Table`] against a `DashMap<Vec<u8>, Vec<u8>>` with the same hasher.
//!
//! `cargo bench --bench dependencies`; time per iteration divided by the commands (or keys)
//! in it is the cost per command (or key).

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dashmap::DashMap;
use redis_protocol::resp2::decode::decode_bytes_mut;
use redis_protocol::resp2::types::BytesFrame;
use tenantcache::protocol::{RequestLimits, RequestParser};
use tenantcache::storage::{hash_key, Entry, Table};

const MAX_BULK_LEN: usize = 512 * 1024 * 1024;
/// Commands in one pipelined read, as `redis-benchmark -P 16` sends them.
const PIPELINE: usize = 16;
/// Keys of the table rows.
const KEYS: usize = 1000;

fn bulk(out: &mut Vec<u8>, arg: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
    out.extend_from_slice(arg);
    out.extend_from_slice(b"\r\n");
}

/// `PIPELINE` × `SET key:NNNN <64-byte value>`.
fn set_pipeline() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..PIPELINE {
        out.extend_from_slice(b"*3\r\n");
        bulk(&mut out, b"SET");
        bulk(&mut out, format!("key:{i:04}").as_bytes());
        bulk(&mut out, &[b'x'; 64]);
    }
    out
}

/// `PIPELINE` × `MSET` of 10 keys with 64-byte values.
fn mset_pipeline() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..PIPELINE {
        out.extend_from_slice(b"*21\r\n");
        bulk(&mut out, b"MSET");
        for k in 0..10 {
            bulk(&mut out, format!("key:{:04}", i * 10 + k).as_bytes());
            bulk(&mut out, &[b'x'; 64]);
        }
    }
    out
}

/// Our parser: every command of `buf`, as argument vectors.
fn parse_ours(mut buf: BytesMut) -> usize {
    let mut parser = RequestParser::new();
    let limits = RequestLimits::new(MAX_BULK_LEN);
    let mut commands = 0;
    while let Some(args) = parser.next(&mut buf, &limits).expect("valid input") {
        commands += 1;
        black_box(args);
    }
    commands
}

/// `redis-protocol`: every frame of `buf`, turned into the same argument vectors.
fn parse_redis_protocol(mut buf: BytesMut) -> usize {
    let mut commands = 0;
    while let Some((frame, _, _)) = decode_bytes_mut(&mut buf).expect("valid input") {
        let BytesFrame::Array(items) = frame else { panic!("a request is an array") };
        let args: Vec<Bytes> = items
            .into_iter()
            .map(|item| match item {
                BytesFrame::BulkString(b) => b,
                _ => panic!("request arguments are bulk strings"),
            })
            .collect();
        commands += 1;
        black_box(args);
    }
    commands
}

fn request_parser(c: &mut Criterion) {
    let mut group = c.benchmark_group("request_parser");
    group.throughput(Throughput::Elements(PIPELINE as u64));
    for (name, input) in [("set_x16", set_pipeline()), ("mset10_x16", mset_pipeline())] {
        assert_eq!(parse_ours(BytesMut::from(&input[..])), PIPELINE);
        assert_eq!(parse_redis_protocol(BytesMut::from(&input[..])), PIPELINE);
        group.bench_function(format!("{name}/tenantcache"), |b| {
            b.iter_batched(|| BytesMut::from(&input[..]), parse_ours, BatchSize::SmallInput)
        });
        group.bench_function(format!("{name}/redis_protocol"), |b| {
            b.iter_batched(|| BytesMut::from(&input[..]), parse_redis_protocol, BatchSize::SmallInput)
        });
    }
    group.finish();
}

fn keyspace_table(c: &mut Criterion) {
    let keys: Vec<(Vec<u8>, u64)> = (0..KEYS)
        .map(|i| format!("org_{:04}:session:{:08}", i % 97, i).into_bytes())
        .map(|k| (k.clone(), hash_key(&k)))
        .collect();
    let value = [b'v'; 32];
    let mut group = c.benchmark_group("keyspace_table");
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("insert/tenantcache_table", |b| {
        b.iter(|| {
            let mut table = Table::new();
            for (key, hash) in &keys {
                table.insert(Entry::string(key, &value, 0), *hash);
            }
            black_box(table.len())
        })
    });
    group.bench_function("insert/dashmap", |b| {
        b.iter(|| {
            let map: DashMap<Vec<u8>, Vec<u8>, foldhash::fast::FixedState> = DashMap::default();
            for (key, _) in &keys {
                map.insert(key.clone(), value.to_vec());
            }
            black_box(map.len())
        })
    });
    let mut table = Table::new();
    let map: DashMap<Vec<u8>, Vec<u8>, foldhash::fast::FixedState> = DashMap::default();
    for (key, hash) in &keys {
        table.insert(Entry::string(key, &value, 0), *hash);
        map.insert(key.clone(), value.to_vec());
    }
    // A lookup starts from the key's bytes in both: the table's hash is computed here, once
    // per key, as the keyspace does.
    group.bench_function("get_hit/tenantcache_table", |b| {
        b.iter(|| keys.iter().filter(|(key, _)| table.get(black_box(key), hash_key(key)).is_some()).count())
    });
    group.bench_function("get_hit/dashmap", |b| {
        b.iter(|| keys.iter().filter(|(key, _)| map.get(black_box(&key[..])).is_some()).count())
    });
    group.finish();
}

criterion_group!(benches, request_parser, keyspace_table);
criterion_main!(benches);
