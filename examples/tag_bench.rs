//! Tag benchmark (`scripts/bench-tags.sh`): the native way (TAG.SET / TAG.INVALIDATE) against
//! the client-side way on Redis (SET + SADD per tag in one MULTI; invalidation by a Lua script
//! that reads the tag's set and deletes its keys).
//!
//!   cargo run --release --example tag_bench -- --port 6379 --mode native|clientside
//!
//! Prints: write throughput, invalidation time for tags of 1k, 10k and 100k keys, p99 and max
//! latency of a concurrent GET client during the 100k invalidation, and memory per tagged key.

use redis::Connection;
use std::time::{Duration, Instant};

const INVALIDATE_LUA: &str = "local m = redis.call('SMEMBERS', KEYS[1]) \
    for i = 1, #m, 5000 do redis.call('DEL', unpack(m, i, math.min(i + 4999, #m))) end \
    redis.call('DEL', KEYS[1]) return #m";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Native,
    ClientSide,
}

fn connect(port: u16) -> Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap()
}

/// Writes `n` keys `prefix{i}` with a 64-byte value and tags `tags(i)`, pipelined.
fn write_tagged(con: &mut Connection, mode: Mode, prefix: &str, n: usize, tags: impl Fn(usize) -> Vec<String>) {
    let value = vec![b'v'; 64];
    let mut pipe = redis::pipe();
    for i in 0..n {
        let key = format!("{prefix}{i}");
        let t = tags(i);
        match mode {
            Mode::Native => {
                pipe.cmd("TAG.SET").arg(&key).arg(&value).arg("TAGS").arg(&t).ignore();
            }
            Mode::ClientSide => {
                pipe.cmd("MULTI").ignore();
                pipe.cmd("SET").arg(&key).arg(&value).ignore();
                for tag in &t {
                    pipe.cmd("SADD").arg(format!("tag:{tag}")).arg(&key).ignore();
                }
                pipe.cmd("EXEC").ignore();
            }
        }
        if i % 100 == 99 || i + 1 == n {
            let _: () = pipe.query(con).expect("write batch");
            pipe = redis::pipe();
        }
    }
}

fn invalidate(con: &mut Connection, mode: Mode, tag: &str) -> i64 {
    match mode {
        Mode::Native => redis::cmd("TAG.INVALIDATE").arg(tag).query(con).unwrap(),
        Mode::ClientSide => redis::cmd("EVAL").arg(INVALIDATE_LUA).arg(1).arg(format!("tag:{tag}")).query(con).unwrap(),
    }
}

fn used_memory(con: &mut Connection) -> i64 {
    let info: String = redis::cmd("INFO").arg("memory").query(con).unwrap();
    info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap()
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let get = |name: &str| argv.iter().position(|a| a == name).map(|i| argv[i + 1].clone());
    let port: u16 = get("--port").map_or(6379, |p| p.parse().unwrap());
    let mode = match get("--mode").as_deref() {
        Some("clientside") => Mode::ClientSide,
        _ => Mode::Native,
    };
    let mut con = connect(port);
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();

    // Write throughput: 100k keys with two tags each (one shared by 100 keys, one by 1000).
    let n = 100_000;
    let start = Instant::now();
    write_tagged(&mut con, mode, "org:1:item:", n, |i| {
        vec![format!("group:{}", i / 100), format!("page:{}", i / 1000)]
    });
    let secs = start.elapsed().as_secs_f64();
    println!("write_ops_per_sec,{:.0}", n as f64 / secs);

    // Memory per tagged key: the same keys with and without one tag each.
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let base = used_memory(&mut con);
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("SET").arg(format!("org:1:item:{i}")).arg(vec![b'v'; 64]).ignore();
        if i % 1000 == 999 {
            let _: () = pipe.query(&mut con).unwrap();
            pipe = redis::pipe();
        }
    }
    let plain = used_memory(&mut con) - base;
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let base = used_memory(&mut con);
    write_tagged(&mut con, mode, "org:1:item:", n, |i| vec![format!("group:{}", i / 100)]);
    let tagged = used_memory(&mut con) - base;
    println!("index_bytes_per_tagged_key,{:.1}", (tagged - plain) as f64 / n as f64);
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();

    // Invalidation time by tag size.
    for size in [1_000usize, 10_000, 100_000] {
        let tag = format!("big{size}");
        write_tagged(&mut con, mode, &format!("org:2:{size}:"), size, |_| vec![tag.clone()]);
        let start = Instant::now();
        let deleted = invalidate(&mut con, mode, &tag);
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(deleted as usize, size);
        println!("invalidate_{size}_ms,{ms:.2}");
    }

    // p99 latency of a concurrent GET client during the 100k invalidation.
    write_tagged(&mut con, mode, "org:3:", 100_000, |_| vec!["huge".into()]);
    let _: () = redis::cmd("SET").arg("hot:key").arg("v").query(&mut con).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let reader = std::thread::spawn(move || {
        let mut c = connect(port);
        let mut lat = Vec::new();
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) && lat.len() < 10_000_000 {
            let t = Instant::now();
            let _: Option<String> = redis::cmd("GET").arg("hot:key").query(&mut c).unwrap();
            lat.push(t.elapsed());
        }
        lat
    });
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    invalidate(&mut con, mode, "huge");
    let took = start.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut lat = reader.join().unwrap();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1000.0;
    println!("concurrent_get_window_ms,{:.0}", took.as_secs_f64() * 1000.0 + 600.0);
    println!("concurrent_get_p50_ms,{:.3}", p(0.50));
    println!("concurrent_get_p99_ms,{:.3}", p(0.99));
    println!("concurrent_get_max_ms,{:.3}", lat.last().unwrap().as_secs_f64() * 1000.0);
}
