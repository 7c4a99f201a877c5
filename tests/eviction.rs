//! `maxmemory-policy` behaviour with one tenant, as Redis users rely on it: which keys go
//! first under each policy, and the errors when nothing may go. Every key here starts with
//! `t:`, so all of them belong to tenant `t` (the default pattern is `{tenant}`).

mod common;

use common::{info_int, ok, run, used_memory};
use redis::Connection;

const VALUE_BYTES: usize = 200;

fn value() -> String {
    "v".repeat(VALUE_BYTES)
}

/// Writes `SET prefix:<i>` for i in `range`, pipelined, with an optional TTL in seconds.
fn fill(con: &mut Connection, prefix: &str, range: std::ops::Range<usize>, ttl: Option<u64>) {
    let value = value();
    let mut pipe = redis::pipe();
    for i in range {
        let cmd = pipe.cmd("SET").arg(format!("t:{prefix}:{i}")).arg(&value);
        if let Some(ttl) = ttl {
            cmd.arg("EX").arg(ttl);
        }
        cmd.ignore();
    }
    let _: () = pipe.query(con).unwrap();
}

/// How many of `t:prefix:<i>` exist (EXISTS does not count as an access, as in Redis).
fn count(con: &mut Connection, prefix: &str, range: std::ops::Range<usize>) -> usize {
    let mut pipe = redis::pipe();
    for i in range {
        pipe.cmd("EXISTS").arg(format!("t:{prefix}:{i}"));
    }
    let found: Vec<i64> = pipe.query(con).unwrap();
    found.iter().sum::<i64>() as usize
}

/// Reads `t:prefix:<i>` (an access for LRU and LFU).
fn read(con: &mut Connection, prefix: &str, range: std::ops::Range<usize>) {
    let mut pipe = redis::pipe();
    for i in range {
        pipe.cmd("GET").arg(format!("t:{prefix}:{i}")).ignore();
    }
    let _: () = pipe.query(con).unwrap();
}

fn server(policy: &str) -> common::Server {
    common::Server::start(&["--maxmemory", "2mb", "--maxmemory-policy", policy])
}

#[test]
fn volatile_lru_evicts_only_keys_with_a_ttl() {
    let server = server("volatile-lru");
    let mut con = server.conn();
    fill(&mut con, "persistent", 0..1000, None);
    fill(&mut con, "volatile", 0..20_000, Some(3600));
    assert!(info_int(&mut con, "stats", "evicted_keys") > 0);
    assert_eq!(count(&mut con, "persistent", 0..1000), 1000, "a key without TTL was evicted");
    assert!(used_memory(&mut con) <= 2 * 1024 * 1024);
    // With no volatile key to evict, a write that needs room is refused as in Redis.
    let _: () = ok(&mut con, &["FLUSHALL"]);
    let evicted_before = info_int(&mut con, "stats", "evicted_keys");
    let refused = (0..20_000).find_map(|i| {
        let key = format!("t:persistent:{i}");
        run(&mut con, &["SET", &key, &value()]).err().map(|e| (i, e))
    });
    let (written, e) = refused.expect("writes past maxmemory were never refused");
    assert!(written > 1000, "refused after {written} keys");
    assert_eq!(e.code(), Some("OOM"), "{e}");
    assert_eq!(info_int(&mut con, "stats", "evicted_keys"), evicted_before, "a key without TTL was evicted");
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let server = server("volatile-ttl");
    let mut con = server.conn();
    fill(&mut con, "long", 0..3000, Some(100_000));
    fill(&mut con, "short", 0..3000, Some(1000));
    // Room for the newcomers comes from the short-lived keys first.
    fill(&mut con, "new", 0..2000, Some(50_000));
    let evicted = info_int(&mut con, "stats", "evicted_keys") as usize;
    assert!(evicted > 1000, "evicted {evicted}");
    let short_lost = 3000 - count(&mut con, "short", 0..3000);
    let long_lost = 3000 - count(&mut con, "long", 0..3000);
    assert!(short_lost > 4 * long_lost, "short-lived lost {short_lost}, long-lived lost {long_lost}");
}

#[test]
fn allkeys_lru_keeps_recently_used_keys() {
    let server = server("allkeys-lru");
    let mut con = server.conn();
    fill(&mut con, "hot", 0..500, None);
    fill(&mut con, "cold", 0..2000, None);
    assert_eq!(info_int(&mut con, "stats", "evicted_keys"), 0, "everything fits at first");
    // The LRU clock ticks every second, as in Redis: reading the hot keys a tick later makes
    // them the newest.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    read(&mut con, "hot", 0..500);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // Fewer newcomers than there are cold keys: the cold ones should make the room.
    fill(&mut con, "new", 0..1500, None);
    let evicted = info_int(&mut con, "stats", "evicted_keys");
    assert!(evicted > 300, "evicted {evicted}");
    let hot = count(&mut con, "hot", 0..500);
    assert!(hot >= 475, "only {hot} of 500 recently read keys survived ({evicted} evicted)");
}

#[test]
fn allkeys_lfu_keeps_frequently_used_keys() {
    let server = server("allkeys-lfu");
    let mut con = server.conn();
    fill(&mut con, "frequent", 0..500, None);
    for _ in 0..20 {
        read(&mut con, "frequent", 0..500);
    }
    fill(&mut con, "rare", 0..20_000, None);
    assert!(info_int(&mut con, "stats", "evicted_keys") > 10_000);
    let frequent = count(&mut con, "frequent", 0..500);
    assert!(frequent >= 450, "only {frequent} of 500 frequently read keys survived");
    let freq: i64 = ok(&mut con, &["OBJECT", "FREQ", "t:frequent:1"]);
    assert!(freq > 5, "OBJECT FREQ {freq}");
}

#[test]
fn allkeys_random_and_noeviction() {
    let server = server("allkeys-random");
    let mut con = server.conn();
    fill(&mut con, "k", 0..20_000, None);
    let kept = count(&mut con, "k", 0..20_000);
    assert!(kept > 1000 && kept < 20_000, "kept {kept}");
    // Random, not by age: some of the oldest keys survive, which LRU would have evicted first.
    assert!(count(&mut con, "k", 0..1000) > 0);
    assert!(used_memory(&mut con) <= 2 * 1024 * 1024);
    // Switching to noeviction at the limit refuses writes that need memory but allows reads
    // and deletes, as Redis does.
    // Client buffers count in used_memory too, so the room the fill's big pipeline held is
    // free again once it is over: a few writes may still fit before the refusal.
    let _: () = ok(&mut con, &["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    let refused = (0..10_000).find_map(|i| run(&mut con, &["SET", &format!("t:k:new{i}"), &value()]).err());
    let e = refused.expect("a write is refused at the limit");
    let e = format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""));
    assert!(e.starts_with("OOM command not allowed when used memory > 'maxmemory'"), "{e}");
    let kept_key = (0..20_000).map(|i| format!("t:k:{i}")).find(|k| count_one(&mut con, k)).unwrap();
    let got: String = ok(&mut con, &["GET", &kept_key]);
    assert_eq!(got, value());
    let deleted: i64 = ok(&mut con, &["DEL", &kept_key]);
    assert_eq!(deleted, 1);
}

fn count_one(con: &mut Connection, key: &str) -> bool {
    ok::<i64>(con, &["EXISTS", key]) == 1
}
