//! Cache-aside load generator for the tenant benchmarks (`scripts/bench-tenants.sh`).
//!
//! Tenant A reads a Zipf-distributed working set and writes a key back on every miss, as an
//! application in front of a database would. Optionally tenant B floods the cache with unique
//! keys at a multiple of A's request rate. A's hit ratio is printed per window of A requests.
//!
//!   cargo run --release --example cache_workload -- --port 6379 --a-keys 20000 \
//!       --flood 4 --requests 400000 --window 50000 --value-size 1000 --zipf 1.0
//!
//! Works against any Redis-compatible server: it sends only GET and SET, pipelined.

use redis::Connection;
use std::collections::HashMap;

struct Args {
    port: u16,
    a_keys: usize,
    flood: usize,
    requests: usize,
    window: usize,
    value_size: usize,
    zipf: f64,
    batch: usize,
    warmup: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        port: 6379,
        a_keys: 20_000,
        flood: 0,
        requests: 400_000,
        window: 50_000,
        value_size: 1000,
        zipf: 1.0,
        batch: 100,
        warmup: 0,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut flags: HashMap<&str, &str> = HashMap::new();
    for pair in argv.chunks(2) {
        let name = pair[0].trim_start_matches("--");
        flags.insert(name, pair.get(1).map(String::as_str).unwrap_or(""));
    }
    let num = |k: &str, d: usize| flags.get(k).map_or(d, |v| v.parse().expect(k));
    a.port = num("port", 6379) as u16;
    a.a_keys = num("a-keys", a.a_keys);
    a.flood = num("flood", a.flood);
    a.requests = num("requests", a.requests);
    a.window = num("window", a.window);
    a.value_size = num("value-size", a.value_size);
    a.batch = num("batch", a.batch);
    a.warmup = num("warmup", a.warmup);
    a.zipf = flags.get("zipf").map_or(a.zipf, |v| v.parse().expect("zipf"));
    a
}

/// xorshift64*: deterministic, so every server sees the same request sequence.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Zipf(s) over 0..n by inverse CDF.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for i in 1..=n {
            sum += 1.0 / (i as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.next_f64();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

fn main() {
    let args = parse_args();
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", args.port)).expect("client");
    let mut con: Connection = client.get_connection().expect("connect");
    let zipf = Zipf::new(args.a_keys, args.zipf);
    // Keys are scattered over the id space so that popularity does not follow key order.
    let scramble = |i: usize| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000_007;
    let value = vec![b'v'; args.value_size];
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut flood_id: u64 = 0;
    let (mut hits, mut misses) = (0u64, 0u64);
    let (mut total_hits, mut total_misses) = (0u64, 0u64);
    let mut done = 0;
    println!("window,a_requests,hit_ratio");
    while done < args.requests + args.warmup {
        let keys: Vec<String> = (0..args.batch).map(|_| format!("a:{}", scramble(zipf.sample(&mut rng)))).collect();
        let mut pipe = redis::pipe();
        for k in &keys {
            pipe.cmd("GET").arg(k);
        }
        let got: Vec<Option<Vec<u8>>> = pipe.query(&mut con).expect("GET batch");
        let mut fill = redis::pipe();
        let mut fills = 0;
        for (k, v) in keys.iter().zip(&got) {
            if done >= args.warmup {
                if v.is_some() {
                    hits += 1;
                } else {
                    misses += 1;
                }
            }
            if v.is_none() {
                fill.cmd("SET").arg(k).arg(&value).ignore();
                fills += 1;
            }
        }
        if fills > 0 {
            // A refused write (OOM) is a miss that stays a miss; keep going.
            let _: redis::RedisResult<()> = fill.query(&mut con);
        }
        if args.flood > 0 {
            let mut flood = redis::pipe();
            for _ in 0..args.batch * args.flood {
                flood.cmd("SET").arg(format!("b:{flood_id}")).arg(&value).ignore();
                flood_id += 1;
            }
            let _: redis::RedisResult<()> = flood.query(&mut con);
        }
        done += args.batch;
        if done > args.warmup && (done - args.warmup).is_multiple_of(args.window) {
            let ratio = hits as f64 / (hits + misses).max(1) as f64;
            println!("{},{},{:.4}", (done - args.warmup) / args.window, done - args.warmup, ratio);
            total_hits += hits;
            total_misses += misses;
            hits = 0;
            misses = 0;
        }
    }
    let overall = total_hits as f64 / (total_hits + total_misses).max(1) as f64;
    println!("overall_hit_ratio,{overall:.4}");
}
