//! The RDB codec against the real thing: redis-server 7.0 and redis-check-rdb must accept
//! every file the writer makes, with every key, value, encoding and TTL intact; and the
//! reader must load exactly what redis-server saves. Skipped, with a message, where the Redis
//! binaries are not installed.

mod common;

use common::{RedisServer, REDIS_SERVER};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use tenantcache::engine::persist::rdb::{
    read_rdb, types, write_rdb, RdbItem, RdbKey, RdbReader, RdbValue, RdbWriteOptions, StandardAux,
};

const REDIS_CHECK_RDB: &str = "/usr/bin/redis-check-rdb";

fn redis_binaries_present() -> bool {
    let present = Path::new(REDIS_SERVER).exists() && Path::new(REDIS_CHECK_RDB).exists();
    if !present {
        println!("skipped: {REDIS_SERVER} or {REDIS_CHECK_RDB} is not installed");
    }
    present
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A scratch directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("tenantcache-rdb-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn b(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// A key and the encoding Redis must report for it.
type Sample = (RdbKey, Option<&'static str>);

/// Every type and encoding the writer produces, with the encoding Redis must report after
/// loading it (None for strings, whose in-memory encoding is Redis's own choice).
fn every_encoding(expire_base_ms: u64) -> Vec<Sample> {
    let many = |n: usize, f: &dyn Fn(usize) -> String| -> Vec<Vec<u8>> { (0..n).map(|i| f(i).into_bytes()).collect() };
    let entries: Vec<(&str, RdbValue, Option<&str>)> = vec![
        ("s:text", RdbValue::String(b("hello")), None),
        ("s:int", RdbValue::String(b("-12345")), Some("int")),
        ("s:big-int", RdbValue::String(b("9223372036854775807")), Some("int")),
        ("s:long", RdbValue::String(b"abcdefgh".repeat(5000)), Some("raw")),
        ("s:binary", RdbValue::String((0..=255u8).rev().collect()), Some("raw")),
        ("l:small", RdbValue::List(vec![b("a"), b("12"), b("-7000"), b("a"), Vec::new()]), Some("quicklist")),
        ("l:nodes", RdbValue::List(many(5000, &|i| format!("item:{i}:{}", "x".repeat(i % 50)))), Some("quicklist")),
        ("l:big-items", RdbValue::List(vec![vec![b'p'; 9000], b("q"), vec![b'r'; 100_000]]), Some("quicklist")),
        ("set:intset", RdbValue::Set(many(300, &|i| (i as i64 * 7_919 - 1_000_000).to_string())), Some("intset")),
        ("set:intset64", RdbValue::Set(vec![b("-9223372036854775808"), b("9223372036854775807")]), Some("intset")),
        ("set:plain", RdbValue::Set(vec![b("x"), b("1"), b("yy")]), Some("hashtable")),
        ("set:many-ints", RdbValue::Set(many(513, &|i| i.to_string())), Some("hashtable")),
        (
            "z:listpack",
            RdbValue::ZSet(vec![
                (b("a"), 1.0),
                (b("b"), -2.25),
                (b("c"), 0.1),
                (b("d"), f64::INFINITY),
                (b("7"), 1e100),
                (b("e"), 1.0),
            ]),
            Some("listpack"),
        ),
        (
            "z:skiplist",
            RdbValue::ZSet((0..300).map(|i| (format!("m{i}").into_bytes(), f64::from(i) / 3.0 - 20.0)).collect()),
            Some("skiplist"),
        ),
        ("z:long-member", RdbValue::ZSet(vec![(vec![b'm'; 100], f64::NEG_INFINITY), (b("n"), 5.0)]), Some("skiplist")),
        (
            "h:listpack",
            RdbValue::Hash(vec![(b("name"), b("value")), (b("n"), b("42")), (b("empty"), Vec::new())]),
            Some("listpack"),
        ),
        (
            "h:many",
            RdbValue::Hash(
                (0..600).map(|i| (format!("f{i}").into_bytes(), format!("{}", i * 3).into_bytes())).collect(),
            ),
            Some("hashtable"),
        ),
        ("h:long-value", RdbValue::Hash(vec![(b("f"), vec![b'v'; 200])]), Some("hashtable")),
    ];
    let mut out = Vec::new();
    for (i, (name, value, encoding)) in entries.into_iter().enumerate() {
        let mut key = RdbKey::new(0, name, value);
        // Every other key expires (an hour away and more), some live in database 2.
        if i % 2 == 0 {
            key.expire_at_ms = Some(expire_base_ms + i as u64 * 1000);
        }
        if i % 3 == 0 {
            key.db = 2;
        }
        out.push((key, encoding));
    }
    out
}

/// What a live server holds at `key`, read back into the model.
fn fetch_value(con: &mut redis::Connection, key: &[u8]) -> RdbValue {
    let kind: String = redis::cmd("TYPE").arg(key).query(con).unwrap();
    let mut strings = |cmd: &mut redis::Cmd| -> Vec<Vec<u8>> { cmd.query(con).unwrap() };
    match kind.as_str() {
        "string" => RdbValue::String(strings(redis::cmd("MGET").arg(key)).remove(0)),
        "list" => RdbValue::List(strings(redis::cmd("LRANGE").arg(key).arg(0).arg(-1))),
        "set" => RdbValue::Set(strings(redis::cmd("SMEMBERS").arg(key))),
        "zset" => {
            let flat = strings(redis::cmd("ZRANGE").arg(key).arg(0).arg(-1).arg("WITHSCORES"));
            let pairs = flat
                .chunks_exact(2)
                .map(|p| {
                    let text = String::from_utf8(p[1].clone()).unwrap();
                    (p[0].clone(), text.parse::<f64>().unwrap())
                })
                .collect();
            RdbValue::ZSet(pairs)
        }
        "hash" => {
            let flat = strings(redis::cmd("HGETALL").arg(key));
            RdbValue::Hash(flat.chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect())
        }
        other => panic!("unexpected type {other}"),
    }
}

#[test]
fn redis_server_and_check_rdb_load_what_the_writer_writes() {
    if !redis_binaries_present() {
        return;
    }
    let variants: [(&str, RdbWriteOptions, &[&str]); 2] = [
        ("plain", RdbWriteOptions::default(), &[]),
        (
            // Compressed strings, nodes of four entries, plain nodes; LFU so that FREQ is kept.
            "packed",
            RdbWriteOptions {
                compress: true,
                list_max_listpack_size: 4,
                list_plain_node_threshold: 8000,
                ..Default::default()
            },
            &["--maxmemory-policy", "allkeys-lfu"],
        ),
    ];
    for (name, options, server_args) in variants {
        let dir = TempDir::new(&format!("write-{name}"));
        let expire_base = now_ms() + 3_600_000;
        let mut keys = every_encoding(expire_base);
        let mut idle = RdbKey::new(0, "meta:idle", RdbValue::String(b("v")));
        idle.lru_idle_secs = Some(5000);
        let mut freq = RdbKey::new(0, "meta:freq", RdbValue::String(b("v")));
        freq.lfu_freq = Some(77);
        keys.push((idle, None));
        keys.push((freq, None));
        let records: Vec<RdbKey> = keys.iter().map(|(k, _)| k.clone()).collect();
        let path = dir.0.join("dump.rdb");
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        write_rdb(file, options, &StandardAux::now("7.0.15", 1 << 20), &records).unwrap();

        let check = Command::new(REDIS_CHECK_RDB).arg(&path).output().expect("run redis-check-rdb");
        let report = String::from_utf8_lossy(&check.stdout);
        assert!(check.status.success() && report.contains("RDB looks OK"), "{name}: redis-check-rdb says:\n{report}");

        let mut args = vec!["--sanitize-dump-payload", "yes"];
        args.extend_from_slice(server_args);
        let server = RedisServer::start_in(&dir.0, &args);
        let lfu = name == "packed";
        for (key, encoding) in &keys {
            let mut con = server.conn_db(key.db);
            let label = format!("{name}: {}", String::from_utf8_lossy(&key.key));
            // Access statistics first: reading the value touches them.
            if let (Some(secs), false) = (key.lru_idle_secs, lfu) {
                let got: u64 = redis::cmd("OBJECT").arg("IDLETIME").arg(&key.key).query(&mut con).unwrap();
                assert!((secs..secs + 10).contains(&got), "{label}: idle {got}");
            }
            if let (Some(freq), true) = (key.lfu_freq, lfu) {
                let got: u8 = redis::cmd("OBJECT").arg("FREQ").arg(&key.key).query(&mut con).unwrap();
                assert_eq!(got, freq, "{label}: freq");
            }
            let expire_at: i64 = redis::cmd("PEXPIRETIME").arg(&key.key).query(&mut con).unwrap();
            assert_eq!(expire_at, key.expire_at_ms.map_or(-1, |t| t as i64), "{label}: expiry");
            if let Some(encoding) = encoding {
                let got: String = redis::cmd("OBJECT").arg("ENCODING").arg(&key.key).query(&mut con).unwrap();
                assert_eq!(&got, encoding, "{label}: encoding");
            }
            assert_eq!(fetch_value(&mut con, &key.key).canonical(), key.value.canonical(), "{label}");
        }
        for db in [0u32, 2] {
            let expected = keys.iter().filter(|(k, _)| k.db == db).count();
            let size: usize = redis::cmd("DBSIZE").query(&mut server.conn_db(db)).unwrap();
            assert_eq!(size, expected, "{name}: keys in db {db}");
        }
    }
}

/// Fills a server through commands with every type, small and large encodings and TTLs.
fn fill(server: &RedisServer, keys: &[Sample]) {
    for (key, _) in keys {
        let mut con = server.conn_db(key.db);
        let k = &key.key;
        match &key.value {
            RdbValue::String(v) => redis::cmd("SET").arg(k).arg(v).query::<()>(&mut con).unwrap(),
            RdbValue::List(items) => {
                for chunk in items.chunks(500) {
                    redis::cmd("RPUSH").arg(k).arg(chunk).query::<()>(&mut con).unwrap();
                }
            }
            RdbValue::Set(members) => redis::cmd("SADD").arg(k).arg(members).query::<()>(&mut con).unwrap(),
            RdbValue::ZSet(pairs) => {
                let mut cmd = redis::cmd("ZADD");
                cmd.arg(k);
                for (member, score) in pairs {
                    let score = if score.is_infinite() {
                        if *score > 0.0 {
                            "+inf".to_string()
                        } else {
                            "-inf".to_string()
                        }
                    } else {
                        format!("{score:e}")
                    };
                    cmd.arg(score).arg(member);
                }
                cmd.query::<()>(&mut con).unwrap();
            }
            RdbValue::Hash(pairs) => {
                let mut cmd = redis::cmd("HSET");
                cmd.arg(k);
                for (field, value) in pairs {
                    cmd.arg(field).arg(value);
                }
                cmd.query::<()>(&mut con).unwrap();
            }
            RdbValue::Stream(_) => unreachable!("the samples hold no streams: tests/streams.rs moves those"),
        }
        if let Some(at) = key.expire_at_ms {
            redis::cmd("PEXPIREAT").arg(k).arg(at).query::<()>(&mut con).unwrap();
        }
    }
}

/// The type byte Redis 7.0 gives each value in the file, from the in-memory encoding.
fn rdb_type_for(value: &RdbValue, encoding: Option<&str>) -> u8 {
    match (value, encoding) {
        (RdbValue::String(_), _) => types::STRING,
        (RdbValue::List(_), _) => types::LIST_QUICKLIST_2,
        (RdbValue::Set(_), Some("intset")) => types::SET_INTSET,
        (RdbValue::Set(_), _) => types::SET,
        (RdbValue::ZSet(_), Some("listpack")) => types::ZSET_LISTPACK,
        (RdbValue::ZSet(_), _) => types::ZSET_2,
        (RdbValue::Hash(_), Some("listpack")) => types::HASH_LISTPACK,
        (RdbValue::Hash(_), _) => types::HASH,
        (RdbValue::Stream(_), _) => types::STREAM_LISTPACKS_2,
    }
}

#[test]
fn the_reader_loads_what_redis_server_saves() {
    if !redis_binaries_present() {
        return;
    }
    let dir = TempDir::new("read");
    let server = RedisServer::start_in(&dir.0, &["--maxmemory-policy", "allkeys-lru"]);
    let expire_base = now_ms() + 3_600_000;
    let keys = every_encoding(expire_base);
    fill(&server, &keys);
    let expected: BTreeMap<(u32, Vec<u8>), &Sample> = keys.iter().map(|e| ((e.0.db, e.0.key.clone()), e)).collect();

    // Once under LRU (IDLE recorded), once under LFU (FREQ recorded).
    for policy in ["allkeys-lru", "allkeys-lfu"] {
        let mut con = server.conn_db(0);
        redis::cmd("CONFIG").arg("SET").arg("maxmemory-policy").arg(policy).query::<()>(&mut con).unwrap();
        redis::cmd("SAVE").query::<()>(&mut con).unwrap();
        let bytes = std::fs::read(dir.0.join("dump.rdb")).unwrap();

        let mut reader = RdbReader::new(bytes.as_slice()).unwrap();
        assert_eq!(reader.version(), 10);
        let mut aux = BTreeMap::new();
        let mut seen = 0;
        while let Some(item) = reader.next_item().unwrap_or_else(|e| panic!("{policy}: {e}")) {
            let key = match item {
                RdbItem::Aux(name, value) => {
                    aux.insert(String::from_utf8(name).unwrap(), String::from_utf8(value).unwrap());
                    continue;
                }
                RdbItem::ResizeDb { .. } | RdbItem::Function(_) => continue,
                RdbItem::Key(key) => key,
            };
            let label = format!("{policy}: {}", String::from_utf8_lossy(&key.key));
            let (want, encoding) =
                expected.get(&(key.db, key.key.clone())).unwrap_or_else(|| panic!("{label}: not written"));
            assert_eq!(key.value.canonical(), want.value.canonical(), "{label}");
            assert_eq!(key.expire_at_ms, want.expire_at_ms, "{label}: expiry");
            assert_eq!(reader.last_type(), Some(rdb_type_for(&want.value, *encoding)), "{label}: type");
            if policy == "allkeys-lru" {
                assert!(key.lru_idle_secs.is_some_and(|s| s < 60) && key.lfu_freq.is_none(), "{label}: {key:?}");
            } else {
                assert!(key.lfu_freq.is_some() && key.lru_idle_secs.is_none(), "{label}");
            }
            seen += 1;
        }
        assert_eq!(seen, keys.len(), "{policy}: keys in the file");
        assert_eq!(aux.get("redis-ver").map(String::as_str), Some("7.0.15"), "{aux:?}");
        assert_eq!(aux.get("redis-bits").map(String::as_str), Some("64"));
        assert!(aux.contains_key("ctime") && aux.contains_key("used-mem") && aux.contains_key("aof-base"), "{aux:?}");
        // The same file through the one-call form.
        assert_eq!(read_rdb(bytes.as_slice()).unwrap().keys.len(), keys.len());
    }
}
