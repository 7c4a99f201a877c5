//! DUMP and RESTORE through real server processes: payloads move both ways between Debian's
//! redis-server and tenantcache with every type and encoding intact (skipped, with a message,
//! where redis-server is not installed), and RESTORE's options and errors are Redis's.

mod common;

use common::*;
use std::collections::BTreeMap;

fn dump(con: &mut redis::Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query(con).unwrap()
}

fn restore(
    con: &mut redis::Connection,
    key: &str,
    ttl: i64,
    payload: &[u8],
    options: &[&str],
) -> redis::RedisResult<()> {
    redis::cmd("RESTORE").arg(key).arg(ttl).arg(payload).arg(options).query(con)
}

fn restore_err(con: &mut redis::Connection, key: &str, ttl: i64, payload: &[u8], options: &[&str]) -> String {
    let e = restore(con, key, ttl, payload, options).expect_err("RESTORE must fail");
    format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or(""))
}

/// A key's type and contents in one comparable form (members sorted where order is not kept).
fn contents(con: &mut redis::Connection, key: &str) -> (String, Vec<Vec<u8>>) {
    let kind: String = redis::cmd("TYPE").arg(key).query(con).unwrap();
    let mut items: Vec<Vec<u8>> = match kind.as_str() {
        "string" => vec![redis::cmd("GET").arg(key).query(con).unwrap()],
        "list" => redis::cmd("LRANGE").arg(key).arg(0).arg(-1).query(con).unwrap(),
        "set" => redis::cmd("SMEMBERS").arg(key).query(con).unwrap(),
        "zset" => redis::cmd("ZRANGE").arg(key).arg(0).arg(-1).arg("WITHSCORES").query(con).unwrap(),
        "hash" => {
            let map: BTreeMap<Vec<u8>, Vec<u8>> = redis::cmd("HGETALL").arg(key).query(con).unwrap();
            map.into_iter().flat_map(|(f, v)| [f, v]).collect()
        }
        other => panic!("unexpected type {other} of {key}"),
    };
    if kind == "set" {
        items.sort();
    }
    (kind, items)
}

/// Keys of every type, in the encodings small and large values get.
fn fill(con: &mut redis::Connection) -> Vec<&'static str> {
    let mut pipe = redis::pipe();
    pipe.cmd("SET").arg("s:text").arg("hello");
    pipe.cmd("SET").arg("s:int").arg("-12345");
    pipe.cmd("SET").arg("s:long").arg("abcdefgh".repeat(5000));
    pipe.cmd("SET").arg("s:binary").arg((0..=255u8).rev().collect::<Vec<u8>>());
    pipe.cmd("RPUSH").arg("l:small").arg(&["a", "12", "-7000", "a", ""]);
    pipe.cmd("RPUSH")
        .arg("l:large")
        .arg((0..3000).map(|i| format!("item:{i}:{}", "x".repeat(i % 70))).collect::<Vec<_>>());
    pipe.cmd("SADD").arg("set:intset").arg((0..300).map(|i| (i * 7919 - 1_000_000).to_string()).collect::<Vec<_>>());
    pipe.cmd("SADD").arg("set:plain").arg(&["x", "1", "yy"]);
    pipe.cmd("SADD").arg("set:large").arg((0..600).map(|i| format!("m{i}")).collect::<Vec<_>>());
    pipe.cmd("ZADD").arg("z:small").arg(&["1", "a", "-2.25", "b", "inf", "c", "1e100", "7"]);
    let members: Vec<String> =
        (0..300).flat_map(|i| [format!("{}", f64::from(i) / 3.0 - 20.0), format!("m{i}")]).collect();
    pipe.cmd("ZADD").arg("z:large").arg(members);
    pipe.cmd("HSET").arg("h:small").arg(&["name", "value", "n", "42", "empty", ""]);
    pipe.cmd("HSET")
        .arg("h:large")
        .arg((0..300).flat_map(|i| [format!("f{i}"), "v".repeat(i % 90)]).collect::<Vec<_>>());
    pipe.query::<()>(con).unwrap();
    vec![
        "s:text",
        "s:int",
        "s:long",
        "s:binary",
        "l:small",
        "l:large",
        "set:intset",
        "set:plain",
        "set:large",
        "z:small",
        "z:large",
        "h:small",
        "h:large",
    ]
}

#[test]
fn payloads_move_both_ways_between_redis_server_and_tenantcache() {
    if !redis_server_present() {
        return;
    }
    let redis = RedisServer::start(&[]);
    let mut rs = redis.client().get_connection().unwrap();
    let tc_server = Server::start(&[]);
    let mut tc = tc_server.conn();
    for key in fill(&mut rs) {
        let original = contents(&mut rs, key);
        let payload = dump(&mut rs, key).unwrap();
        restore(&mut tc, key, 0, &payload, &[]).unwrap_or_else(|e| panic!("RESTORE {key} from redis-server: {e}"));
        assert_eq!(contents(&mut tc, key), original, "{key} restored from redis-server");
        let ours = dump(&mut tc, key).unwrap();
        let copy = format!("{key}:back");
        restore(&mut rs, &copy, 0, &ours, &[]).unwrap_or_else(|e| panic!("redis-server RESTORE of our {key}: {e}"));
        assert_eq!(contents(&mut rs, &copy), original, "{key} restored by redis-server from our payload");
        // Sorted sets and hashes get the encoding Redis chose (small lists and sets of
        // strings are listpacks here, as in Redis 7.2; 7.0 names them otherwise).
        let encoding = |con: &mut redis::Connection, k: &str| -> String {
            redis::cmd("OBJECT").arg("ENCODING").arg(k).query(con).unwrap()
        };
        if key.starts_with("z:") || key.starts_with("h:") {
            assert_eq!(encoding(&mut tc, key), encoding(&mut rs, key), "{key}");
        }
    }
}

#[test]
fn restore_options_and_errors_are_redis_s() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "k", "v"]);
    let payload = dump(&mut con, "k").unwrap();
    assert_eq!(dump(&mut con, "missing"), None);

    assert_eq!(restore_err(&mut con, "k", 0, &payload, &[]), "BUSYKEY Target key name already exists.");
    assert_ok(&mut con, &["SET", "k", "other"]);
    restore(&mut con, "k", 0, &payload, &["REPLACE"]).unwrap();
    assert_eq!(ok::<String>(&mut con, &["GET", "k"]), "v");

    // A relative TTL in milliseconds, or an absolute one; one in the past stores nothing.
    restore(&mut con, "ttl", 100_000, &payload, &[]).unwrap();
    let pttl: i64 = ok(&mut con, &["PTTL", "ttl"]);
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    let now_ms: i64 = ok::<Vec<i64>>(&mut con, &["TIME"])[0] * 1000;
    restore(&mut con, "abs", now_ms + 200_000, &payload, &["ABSTTL"]).unwrap();
    let pttl: i64 = ok(&mut con, &["PTTL", "abs"]);
    assert!((190_000..=201_000).contains(&pttl), "{pttl}");
    restore(&mut con, "k", now_ms - 3000, &payload, &["ABSTTL", "REPLACE"]).unwrap();
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "k"]), 0, "REPLACE with a past time deletes the key");

    // IDLETIME under an LRU policy, FREQ under an LFU one.
    assert_ok(&mut con, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    restore(&mut con, "idle", 0, &payload, &["IDLETIME", "1000"]).unwrap();
    let idle: i64 = ok(&mut con, &["OBJECT", "IDLETIME", "idle"]);
    assert!((1000..=1010).contains(&idle), "{idle}");
    assert_ok(&mut con, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    restore(&mut con, "freq", 0, &payload, &["FREQ", "100"]).unwrap();
    assert_eq!(ok::<i64>(&mut con, &["OBJECT", "FREQ", "freq"]), 100);
    assert_ok(&mut con, &["CONFIG", "SET", "maxmemory-policy", "noeviction"]);

    // Argument errors, checked before the payload.
    assert_eq!(restore_err(&mut con, "x", -1, &payload, &[]), "ERR Invalid TTL value, must be >= 0");
    assert_eq!(
        restore_err(&mut con, "x", 0, &payload, &["IDLETIME", "-1"]),
        "ERR Invalid IDLETIME value, must be >= 0"
    );
    assert_eq!(
        restore_err(&mut con, "x", 0, &payload, &["FREQ", "256"]),
        "ERR Invalid FREQ value, must be >= 0 and <= 255"
    );
    assert_eq!(restore_err(&mut con, "x", 0, &payload, &["IDLETIME", "1", "FREQ", "1"]), "ERR syntax error");
    assert_eq!(restore_err(&mut con, "x", 0, &payload, &["BOGUS"]), "ERR syntax error");

    // Payload errors: the footer (version, CRC-64), then the value itself.
    let wrong = "ERR DUMP payload version or checksum are wrong";
    let mut flipped = payload.clone();
    flipped[1] ^= 0x20;
    assert_eq!(restore_err(&mut con, "x", 0, &flipped, &[]), wrong);
    assert_eq!(restore_err(&mut con, "x", 0, &payload[..payload.len() - 1], &[]), wrong);
    assert_eq!(restore_err(&mut con, "x", 0, b"short", &[]), wrong);
    let mut future = payload.clone();
    let at = future.len() - 10;
    future[at] = 99;
    assert_eq!(restore_err(&mut con, "x", 0, &future, &[]), wrong);
    // A right footer over a value that cannot be read: type 2 (set) claiming members it lacks.
    let mut body = vec![2u8, 5, 1, b'a'];
    body.extend_from_slice(&10u16.to_le_bytes());
    let crc = tenantcache::engine::persist::rdb::crc64(0, &body);
    body.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(restore_err(&mut con, "x", 0, &body, &[]), "ERR Bad data format");
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "x"]), 0);
}
