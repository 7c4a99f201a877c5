//! Criterion benches of the code every request crosses: the request parser (a pipeline of
//! SETs, and one multibulk of 100,000 arguments arriving in 16 KB reads), the reply
//! encoder, the glob matcher (KEYS, SCAN MATCH, PSUBSCRIBE), the per-tenant hash table and a
//! write that evicts at `maxmemory`.
//!
//! `cargo bench` runs them; `cargo bench --no-run` only builds them.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tenantcache::glob::glob_match;
use tenantcache::protocol::{ReplyBuf, RequestLimits, RequestParser};
use tenantcache::storage::{hash_key, Entry, Keyspace, Table};
use tenantcache::tenants::TenantRegistry;

/// Commands per pipeline, keys per table: large enough that per-batch overhead is noise.
const BATCH: usize = 1000;
const MAX_BULK_LEN: usize = 512 * 1024 * 1024;

fn key(i: usize) -> Vec<u8> {
    format!("org_{:04}:session:{:08}", i % 97, i).into_bytes()
}

/// `BATCH` RESP-encoded `SET key <64-byte value>` commands, as redis-benchmark -P sends them.
fn set_pipeline() -> Vec<u8> {
    let value = [b'x'; 64];
    let mut out = Vec::new();
    for i in 0..BATCH {
        let key = key(i);
        out.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n", key.len()).as_bytes());
        out.extend_from_slice(&key);
        out.extend_from_slice(format!("\r\n${}\r\n", value.len()).as_bytes());
        out.extend_from_slice(&value);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Arguments of the large multibulk row, and the read size it arrives in (the server's).
const LARGE_ARGS: usize = 100_000;
const READ_CHUNK: usize = 16 * 1024;

/// One `RPUSH list x x ...` of `LARGE_ARGS` elements.
fn large_multibulk() -> Vec<u8> {
    let mut out = format!("*{}\r\n$5\r\nRPUSH\r\n$4\r\nlist\r\n", LARGE_ARGS + 2).into_bytes();
    for _ in 0..LARGE_ARGS {
        out.extend_from_slice(b"$1\r\nx\r\n");
    }
    out
}

fn parser(c: &mut Criterion) {
    let input = set_pipeline();
    let mut group = c.benchmark_group("parser");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("set_pipeline", |b| {
        b.iter_batched(
            || BytesMut::from(&input[..]),
            |mut buf| {
                let mut parser = RequestParser::new();
                let mut commands = 0;
                while let Some(args) = parser.next(&mut buf, &RequestLimits::new(MAX_BULK_LEN)).expect("valid input") {
                    commands += 1;
                    black_box(args);
                }
                assert_eq!(commands, BATCH);
            },
            BatchSize::SmallInput,
        )
    });
    // One request of many arguments arriving in many reads: the parser resumes where it
    // stopped, so the time per argument does not grow with the count.
    let large = large_multibulk();
    group.throughput(Throughput::Elements(LARGE_ARGS as u64));
    group.bench_function("large_multibulk_100k_args_16k_reads", |b| {
        b.iter(|| {
            let mut parser = RequestParser::new();
            let mut buf = BytesMut::with_capacity(READ_CHUNK);
            let mut args = None;
            for chunk in large.chunks(READ_CHUNK) {
                buf.extend_from_slice(chunk);
                if let Some(done) = parser.next(&mut buf, &RequestLimits::new(MAX_BULK_LEN)).expect("valid input") {
                    args = Some(done);
                }
            }
            assert_eq!(args.map(|a| a.len()), Some(LARGE_ARGS + 2));
        })
    });
    group.finish();
}

fn encoder(c: &mut Criterion) {
    let value = [b'v'; 64];
    let mut group = c.benchmark_group("reply_encoder");
    group.throughput(Throughput::Elements(BATCH as u64));
    for resp3 in [false, true] {
        let name = if resp3 { "mixed_resp3" } else { "mixed_resp2" };
        let mut out = ReplyBuf::new();
        out.resp3 = resp3;
        // The replies of a GET/SET/INCR/MGET mix, one per pipelined command.
        group.bench_function(name, |b| {
            b.iter(|| {
                out.buf.clear();
                for i in 0..BATCH {
                    match i % 4 {
                        0 => out.ok(),
                        1 => out.bulk(black_box(&value)),
                        2 => out.int(black_box(i as i64)),
                        _ => {
                            out.array(3);
                            out.bulk(&value[..8]);
                            out.null();
                            out.bulk_int(i as i64);
                        }
                    }
                }
                black_box(out.len())
            })
        });
    }
    group.finish();
}

fn glob(c: &mut Criterion) {
    let keys: Vec<Vec<u8>> = (0..BATCH).map(key).collect();
    let patterns: &[(&str, &[u8])] = &[
        ("prefix_star", b"org_0042:*"),
        ("star_infix_star", b"*:session:*7*"),
        ("class_and_any", b"org_00[1-3]?:sess*"),
    ];
    let mut group = c.benchmark_group("glob");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, pattern) in patterns {
        group.bench_function(*name, |b| {
            b.iter(|| keys.iter().filter(|k| glob_match(black_box(pattern), k, false)).count())
        });
    }
    group.finish();
}

fn table(c: &mut Criterion) {
    let keys: Vec<(Vec<u8>, u64)> = (0..BATCH).map(key).map(|k| (k.clone(), hash_key(&k))).collect();
    let value = [b'v'; 32];
    let mut group = c.benchmark_group("table");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("insert", |b| {
        b.iter(|| {
            let mut table = Table::new();
            for (key, hash) in &keys {
                table.insert(Entry::string(key, &value, 0), *hash);
            }
            black_box(table.len())
        })
    });
    let mut filled = Table::new();
    for (key, hash) in &keys {
        filled.insert(Entry::string(key, &value, 0), *hash);
    }
    group.bench_function("get_hit", |b| {
        b.iter(|| keys.iter().filter(|(key, hash)| filled.get(black_box(key), *hash).is_some()).count())
    });
    let misses: Vec<(Vec<u8>, u64)> = (BATCH..2 * BATCH).map(key).map(|k| (k.clone(), hash_key(&k))).collect();
    group.bench_function("get_miss", |b| {
        b.iter(|| misses.iter().filter(|(key, hash)| filled.get(black_box(key), *hash).is_some()).count())
    });
    group.finish();
}

/// A write at `maxmemory` under allkeys-lru: room is made by evicting (sampling, pool,
/// removal, free), then the new key is inserted. The clock advances one millisecond per 400
/// writes, as under a pipelined benchmark, so LRU ticks hold many keys as they do in service.
/// `overwrite` is the same write to a key that exists, which evicts nothing.
fn eviction(c: &mut Criterion) {
    const WRITES_PER_MS: u64 = 400;
    let value = [b'v'; 64];
    let filled = |maxmemory: &str| {
        let mut ks = Keyspace::new(1, TenantRegistry::new(Vec::new(), b':'));
        ks.apply_setting("maxmemory-policy", "allkeys-lru");
        ks.apply_setting("maxmemory", maxmemory);
        ks.refresh_limits_active();
        ks
    };
    let mut group = c.benchmark_group("eviction");
    group.throughput(Throughput::Elements(1));
    let mut ks = filled("8mb");
    let mut n: u64 = 0;
    let mut write = |ks: &mut Keyspace, key: &[u8]| {
        n += 1;
        if n.is_multiple_of(WRITES_PER_MS) {
            ks.now_ms += 1;
        }
        ks.make_room(0, key.len() + value.len() + 64, 1).expect("allkeys-lru makes room");
        ks.insert(0, Entry::string(key, &value, 0), &[]);
    };
    // Fill to the limit first, so every measured write evicts.
    for i in 0..200_000u64 {
        write(&mut ks, format!("key:{i:012}").as_bytes());
    }
    let mut next = 200_000u64;
    group.bench_function("write_at_maxmemory", |b| {
        b.iter(|| {
            next += 1;
            write(&mut ks, format!("key:{next:012}").as_bytes())
        })
    });
    let mut ks = filled("0");
    for i in 0..50_000u64 {
        write(&mut ks, format!("key:{i:012}").as_bytes());
    }
    group.bench_function("overwrite", |b| {
        b.iter(|| {
            next += 1;
            write(&mut ks, format!("key:{:012}", next % 50_000).as_bytes())
        })
    });
    group.finish();
}

criterion_group!(benches, parser, encoder, glob, table, eviction);
criterion_main!(benches);
