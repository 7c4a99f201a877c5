//! Generic key commands over TCP: DEL/UNLINK/EXISTS/TOUCH/TYPE, KEYS, SCAN (and its guarantee
//! under concurrent writes), RANDOMKEY, RENAME/RENAMENX, COPY, MOVE, OBJECT, the EXPIRE family,
//! TTL and friends, PERSIST, keyspace events, and lazy and active expiry.

mod common;

use common::Server;
use redis::{Connection, RedisResult, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn cmd(con: &mut Connection, args: &[&str]) -> RedisResult<Value> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con)
}

fn int(con: &mut Connection, args: &[&str]) -> i64 {
    redis::FromRedisValue::from_redis_value(&cmd(con, args).unwrap()).unwrap()
}

fn text(con: &mut Connection, args: &[&str]) -> Option<String> {
    redis::FromRedisValue::from_redis_value(&cmd(con, args).unwrap()).unwrap()
}

/// The full error text of a command that must fail ("ERR ...", "WRONGTYPE ...").
fn error(con: &mut Connection, args: &[&str]) -> String {
    let e = cmd(con, args).expect_err("command should fail");
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}

fn ok(con: &mut Connection, args: &[&str]) {
    assert_eq!(text(con, args).as_deref(), Some("OK"), "{args:?}");
}

/// Runs a whole SCAN iteration with extra options; returns every key reported.
fn scan_all(con: &mut Connection, options: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    for _ in 0..1_000_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(options);
        let (next, batch): (String, Vec<String>) =
            redis::FromRedisValue::from_redis_value(&cmd(con, &args).unwrap()).unwrap();
        keys.extend(batch);
        cursor = next;
        if cursor == "0" {
            return keys;
        }
    }
    panic!("SCAN did not finish");
}

#[test]
fn del_unlink_exists_touch_type() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    ok(&mut con, &["SET", "a", "1"]);
    ok(&mut con, &["SET", "b", "2"]);
    ok(&mut con, &["SET", "c", "3"]);
    assert_eq!(int(&mut con, &["EXISTS", "a", "a", "b", "nope"]), 3);
    assert_eq!(int(&mut con, &["TOUCH", "a", "b", "nope"]), 2);
    assert_eq!(text(&mut con, &["TYPE", "a"]).as_deref(), Some("string"));
    assert_eq!(text(&mut con, &["TYPE", "nope"]).as_deref(), Some("none"));
    assert_eq!(int(&mut con, &["DEL", "a", "b", "nope"]), 2);
    assert_eq!(int(&mut con, &["UNLINK", "c", "c"]), 1);
    assert_eq!(int(&mut con, &["EXISTS", "a", "b", "c"]), 0);
    assert_eq!(int(&mut con, &["DBSIZE"]), 0);
    assert_eq!(error(&mut con, &["DEL"]), "ERR wrong number of arguments for 'del' command");
    assert_eq!(error(&mut con, &["TYPE", "a", "b"]), "ERR wrong number of arguments for 'type' command");
}

#[test]
fn keys_with_patterns() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    for k in ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c", "h?llo"] {
        ok(&mut con, &["SET", k, "v"]);
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let foo: Vec<String> = redis::FromRedisValue::from_redis_value(&cmd(&mut con, &["KEYS", "foo*"]).unwrap()).unwrap();
    assert_eq!(sorted(foo), ["foo_a", "foo_b", "foo_c"]);
    let all: Vec<String> = redis::FromRedisValue::from_redis_value(&cmd(&mut con, &["KEYS", "*"]).unwrap()).unwrap();
    assert_eq!(all.len(), 7);
    let escaped: Vec<String> =
        redis::FromRedisValue::from_redis_value(&cmd(&mut con, &["KEYS", "h\\?llo"]).unwrap()).unwrap();
    assert_eq!(escaped, ["h?llo"]);
    let none: Vec<String> =
        redis::FromRedisValue::from_redis_value(&cmd(&mut con, &["KEYS", "a*a*a*a*a*a*a*a*a*a*a*a*b"]).unwrap())
            .unwrap();
    assert!(none.is_empty());
}

#[test]
fn scan_options_and_errors() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("SET").arg(format!("key:{i}")).arg("v").ignore();
    }
    pipe.query::<()>(&mut con).unwrap();

    let all: HashSet<String> = scan_all(&mut con, &[]).into_iter().collect();
    assert_eq!(all.len(), 1000);
    let small_steps: HashSet<String> = scan_all(&mut con, &["COUNT", "5"]).into_iter().collect();
    assert_eq!(small_steps.len(), 1000);
    let matched: HashSet<String> = scan_all(&mut con, &["MATCH", "key:1??"]).into_iter().collect();
    assert_eq!(matched.len(), 100);
    assert!(scan_all(&mut con, &["TYPE", "list"]).is_empty());
    assert!(scan_all(&mut con, &["TYPE", "nosuchtype"]).is_empty());
    let strings: HashSet<String> =
        scan_all(&mut con, &["TYPE", "STRING", "MATCH", "key:*", "COUNT", "10"]).into_iter().collect();
    assert_eq!(strings.len(), 1000);

    assert_eq!(error(&mut con, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(error(&mut con, &["SCAN", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(error(&mut con, &["SCAN", "0", "COUNT", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(error(&mut con, &["SCAN", "0", "MATCH"]), "ERR syntax error");
    assert_eq!(error(&mut con, &["SCAN", "0", "BOGUS", "1"]), "ERR syntax error");
}

/// A full SCAN returns every key that existed for the whole iteration, while another client
/// adds and removes enough keys to make the table grow and shrink under it.
#[test]
fn scan_guarantee_under_concurrent_writes() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let mut writer = server.conn();
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET").arg(format!("stable:{i}")).arg("v").ignore();
    }
    pipe.query::<()>(&mut con).unwrap();

    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    for step in 0..100_000 {
        let (next, batch): (String, Vec<String>) =
            redis::FromRedisValue::from_redis_value(&cmd(&mut con, &["SCAN", &cursor, "COUNT", "7"]).unwrap()).unwrap();
        seen.extend(batch);
        cursor = next;
        if cursor == "0" {
            break;
        }
        // Grow the table eightfold, then drain it again, then churn.
        let mut pipe = redis::pipe();
        match step {
            5 => (0..4000).for_each(|i| {
                pipe.cmd("SET").arg(format!("churn:{i}")).arg("v").ignore();
            }),
            40 => (0..4000).for_each(|i| {
                pipe.cmd("DEL").arg(format!("churn:{i}")).ignore();
            }),
            _ => (0..10).for_each(|i| {
                let k = format!("extra:{}", (step * 10 + i) % 300);
                if step % 2 == 0 {
                    pipe.cmd("SET").arg(k).arg("v").ignore();
                } else {
                    pipe.cmd("DEL").arg(k).ignore();
                }
            }),
        }
        pipe.query::<()>(&mut writer).unwrap();
    }
    assert_eq!(cursor, "0", "SCAN did not finish");
    for i in 0..500 {
        assert!(seen.contains(&format!("stable:{i}")), "SCAN missed stable:{i}");
    }
}

#[test]
fn randomkey() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(text(&mut con, &["RANDOMKEY"]), None);
    ok(&mut con, &["SET", "foo", "x"]);
    ok(&mut con, &["SET", "bar", "y"]);
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.insert(text(&mut con, &["RANDOMKEY"]).unwrap());
    }
    assert_eq!(seen, HashSet::from(["foo".to_string(), "bar".to_string()]));
    // Expired keys are never returned, even when they are most of the table.
    for i in 0..50 {
        ok(&mut con, &["SET", &format!("gone:{i}"), "v", "PX", "1"]);
    }
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..20 {
        let k = text(&mut con, &["RANDOMKEY"]).unwrap();
        assert!(k == "foo" || k == "bar", "{k}");
    }
}

#[test]
fn rename_and_renamenx() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(error(&mut con, &["RENAME", "nokey", "x"]), "ERR no such key");
    assert_eq!(error(&mut con, &["RENAMENX", "nokey", "x"]), "ERR no such key");
    assert_eq!(error(&mut con, &["RENAME", "nokey", "nokey"]), "ERR no such key");
    ok(&mut con, &["SET", "mykey", "hello"]);
    ok(&mut con, &["RENAME", "mykey", "mykey"]);
    assert_eq!(int(&mut con, &["RENAMENX", "mykey", "mykey"]), 0);
    ok(&mut con, &["RENAME", "mykey", "mykey1"]);
    assert_eq!(text(&mut con, &["GET", "mykey1"]).as_deref(), Some("hello"));
    assert_eq!(int(&mut con, &["EXISTS", "mykey"]), 0);

    ok(&mut con, &["SET", "other", "world"]);
    ok(&mut con, &["RENAME", "mykey1", "other"]);
    assert_eq!(text(&mut con, &["GET", "other"]).as_deref(), Some("hello"));
    ok(&mut con, &["SET", "third", "x"]);
    assert_eq!(int(&mut con, &["RENAMENX", "third", "other"]), 0);
    assert_eq!(int(&mut con, &["RENAMENX", "third", "fourth"]), 1);
    assert_eq!(int(&mut con, &["DBSIZE"]), 2);

    // The TTL moves with the key; the destination's TTL is not inherited.
    ok(&mut con, &["SET", "vol", "v", "EX", "100"]);
    ok(&mut con, &["RENAME", "vol", "vol2"]);
    let ttl = int(&mut con, &["TTL", "vol2"]);
    assert!(ttl > 90 && ttl <= 100, "{ttl}");
    ok(&mut con, &["SET", "plain", "p"]);
    ok(&mut con, &["RENAME", "plain", "vol2"]);
    assert_eq!(int(&mut con, &["TTL", "vol2"]), -1);

    // Across tenants: the key moves to the other tenant's table, TTL and value intact.
    ok(&mut con, &["SET", "acme:item", "payload", "PX", "100000"]);
    ok(&mut con, &["RENAME", "acme:item", "globex:item"]);
    assert_eq!(text(&mut con, &["GET", "globex:item"]).as_deref(), Some("payload"));
    assert_eq!(int(&mut con, &["EXISTS", "acme:item"]), 0);
    assert!(int(&mut con, &["PTTL", "globex:item"]) > 90_000);
    ok(&mut con, &["RENAME", "globex:item", "plainkey"]);
    assert_eq!(text(&mut con, &["GET", "plainkey"]).as_deref(), Some("payload"));
    let keys: HashSet<String> = scan_all(&mut con, &[]).into_iter().collect();
    assert!(keys.contains("plainkey") && !keys.contains("globex:item"));
}

#[test]
fn copy_between_keys_and_databases() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(int(&mut con, &["COPY", "nokey", "x"]), 0);
    ok(&mut con, &["SET", "src", "foobar", "EX", "100"]);
    assert_eq!(error(&mut con, &["COPY", "src", "src"]), "ERR source and destination objects are the same");
    assert_eq!(int(&mut con, &["COPY", "src", "dst"]), 1);
    assert_eq!(text(&mut con, &["GET", "dst"]).as_deref(), Some("foobar"));
    let ttl = int(&mut con, &["TTL", "dst"]);
    assert!(ttl > 90 && ttl <= 100, "{ttl}");

    ok(&mut con, &["SET", "src2", "hello"]);
    assert_eq!(int(&mut con, &["COPY", "src2", "dst"]), 0);
    assert_eq!(int(&mut con, &["COPY", "src2", "dst", "REPLACE"]), 1);
    assert_eq!(text(&mut con, &["GET", "dst"]).as_deref(), Some("hello"));
    assert_eq!(int(&mut con, &["TTL", "dst"]), -1);

    // The copy is independent of its source.
    ok(&mut con, &["SET", "dst", "changed"]);
    assert_eq!(text(&mut con, &["GET", "src2"]).as_deref(), Some("hello"));

    assert_eq!(int(&mut con, &["COPY", "src", "src", "DB", "3"]), 1);
    assert_eq!(int(&mut con, &["COPY", "src", "src", "DB", "3"]), 0);
    assert_eq!(int(&mut con, &["COPY", "src2", "src", "DB", "3", "REPLACE"]), 1);
    ok(&mut con, &["SELECT", "3"]);
    assert_eq!(text(&mut con, &["GET", "src"]).as_deref(), Some("hello"));
    ok(&mut con, &["SELECT", "0"]);
    assert_eq!(text(&mut con, &["GET", "src"]).as_deref(), Some("foobar"));

    assert_eq!(
        error(&mut con, &["COPY", "src", "x", "DB", "notanumber"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(error(&mut con, &["COPY", "src", "x", "DB", "99"]), "ERR DB index is out of range");
    assert_eq!(error(&mut con, &["COPY", "src", "x", "DB", "-1"]), "ERR DB index is out of range");
    assert_eq!(error(&mut con, &["COPY", "src", "x", "DB"]), "ERR syntax error");
    assert_eq!(error(&mut con, &["COPY", "src", "x", "FOO"]), "ERR syntax error");
    assert_eq!(error(&mut con, &["COPY", "src"]), "ERR wrong number of arguments for 'copy' command");
}

#[test]
fn move_between_databases() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    ok(&mut con, &["SET", "mykey", "foo", "EX", "100"]);
    assert_eq!(int(&mut con, &["MOVE", "mykey", "1"]), 1);
    assert_eq!(int(&mut con, &["EXISTS", "mykey"]), 0);
    assert_eq!(int(&mut con, &["MOVE", "mykey", "1"]), 0);
    ok(&mut con, &["SELECT", "1"]);
    assert_eq!(text(&mut con, &["GET", "mykey"]).as_deref(), Some("foo"));
    let ttl = int(&mut con, &["TTL", "mykey"]);
    assert!(ttl > 90 && ttl <= 100, "{ttl}");
    ok(&mut con, &["SELECT", "0"]);
    ok(&mut con, &["SET", "mykey", "bar"]);
    assert_eq!(int(&mut con, &["MOVE", "mykey", "1"]), 0, "exists in the target");
    assert_eq!(text(&mut con, &["GET", "mykey"]).as_deref(), Some("bar"));
    assert_eq!(error(&mut con, &["MOVE", "mykey", "0"]), "ERR source and destination objects are the same");
    assert_eq!(error(&mut con, &["MOVE", "mykey", "notanumber"]), "ERR value is not an integer or out of range");
    assert_eq!(error(&mut con, &["MOVE", "mykey", "16"]), "ERR DB index is out of range");
    assert_eq!(error(&mut con, &["MOVE", "mykey", "99999999999"]), "ERR value is not an integer or out of range");
}

#[test]
fn object_subcommands() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    ok(&mut con, &["SET", "int", "12345"]);
    ok(&mut con, &["SET", "big", "12345678901234567890123"]);
    ok(&mut con, &["SET", "short", "hello"]);
    ok(&mut con, &["SET", "long", &"x".repeat(45)]);
    assert_eq!(text(&mut con, &["OBJECT", "ENCODING", "int"]).as_deref(), Some("int"));
    assert_eq!(text(&mut con, &["OBJECT", "encoding", "big"]).as_deref(), Some("embstr"));
    assert_eq!(text(&mut con, &["OBJECT", "ENCODING", "short"]).as_deref(), Some("embstr"));
    assert_eq!(text(&mut con, &["OBJECT", "ENCODING", "long"]).as_deref(), Some("raw"));
    assert_eq!(text(&mut con, &["OBJECT", "ENCODING", "nokey"]), None);

    // Integers in 0..10000 are shared objects in Redis, with a fixed reference count.
    ok(&mut con, &["SET", "small", "123"]);
    assert_eq!(int(&mut con, &["OBJECT", "REFCOUNT", "small"]), i32::MAX as i64);
    assert_eq!(int(&mut con, &["OBJECT", "REFCOUNT", "int"]), 1);
    assert_eq!(int(&mut con, &["OBJECT", "REFCOUNT", "short"]), 1);
    assert_eq!(int(&mut con, &["OBJECT", "IDLETIME", "short"]), 0);
    assert_eq!(
        error(&mut con, &["OBJECT", "FREQ", "short"]),
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    );
    assert_eq!(text(&mut con, &["OBJECT", "FREQ", "nokey"]), None);

    let help: Vec<String> =
        redis::FromRedisValue::from_redis_value(&cmd(&mut con, &["OBJECT", "HELP"]).unwrap()).unwrap();
    assert_eq!(help[0], "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    assert_eq!(help.last().unwrap(), "    Print this help.");
    assert_eq!(error(&mut con, &["OBJECT", "FOO", "x"]), "ERR unknown subcommand 'FOO'. Try OBJECT HELP.");
    assert_eq!(error(&mut con, &["OBJECT", "ENCODING"]), "ERR wrong number of arguments for 'object|encoding' command");
}

#[test]
fn object_under_lfu_policy() {
    let server = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut con = server.conn();
    ok(&mut con, &["SET", "k", "v"]);
    assert!(int(&mut con, &["OBJECT", "FREQ", "k"]) >= 0);
    assert!(error(&mut con, &["OBJECT", "IDLETIME", "k"]).starts_with("ERR An LFU maxmemory policy is selected"));
}

#[test]
fn expire_options_and_errors() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(int(&mut con, &["EXPIRE", "nokey", "100"]), 0);
    for opt in ["NX", "XX", "GT", "LT"] {
        assert_eq!(int(&mut con, &["EXPIRE", "nokey", "100", opt]), 0);
    }
    ok(&mut con, &["SET", "foo", "bar", "EX", "100"]);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "200", "NX"]), 0);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "200", "XX"]), 1);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "100", "GT"]), 0);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "300", "GT"]), 1);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "400", "LT"]), 0);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "50", "LT", "XX"]), 1);
    let ttl = int(&mut con, &["TTL", "foo"]);
    assert!(ttl > 40 && ttl <= 50, "{ttl}");

    ok(&mut con, &["SET", "foo", "bar"]);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "200", "XX"]), 0);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "200", "GT"]), 0);
    assert_eq!(int(&mut con, &["TTL", "foo"]), -1);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "100", "LT"]), 1);
    ok(&mut con, &["SET", "foo", "bar"]);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "200", "NX"]), 1);

    assert_eq!(
        error(&mut con, &["EXPIRE", "foo", "200", "LT", "GT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    for opts in [["NX", "GT"], ["NX", "LT"], ["NX", "XX"]] {
        assert_eq!(
            error(&mut con, &["EXPIRE", "foo", "200", opts[0], opts[1]]),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
    }
    assert_eq!(error(&mut con, &["EXPIRE", "foo", "200", "XX", "AB"]), "ERR Unsupported option AB");
    assert_eq!(error(&mut con, &["EXPIRE", "foo", ""]), "ERR value is not an integer or out of range");
    assert_eq!(error(&mut con, &["EXPIRE", "foo", "1.5"]), "ERR value is not an integer or out of range");

    ok(&mut con, &["SET", "foo", "bar"]);
    for (command, value) in [
        ("EXPIRE", "9223370399119966"),
        ("EXPIRE", "9223372036854776"),
        ("EXPIRE", "-9223372036854776"),
        ("PEXPIRE", "9223372036854770000"),
        ("EXPIREAT", "9223372036854776"),
    ] {
        assert_eq!(
            error(&mut con, &[command, "foo", value]),
            format!("ERR invalid expire time in '{}' command", command.to_lowercase())
        );
    }
    assert_eq!(int(&mut con, &["TTL", "foo"]), -1);
    assert_eq!(int(&mut con, &["PEXPIREAT", "foo", "9223372036854770000"]), 1);
    assert_eq!(int(&mut con, &["PEXPIRETIME", "foo"]), 9223372036854770000);

    // A time in the past deletes the key.
    assert_eq!(int(&mut con, &["PEXPIREAT", "foo", "-9223372036854770000"]), 1);
    assert_eq!(int(&mut con, &["TTL", "foo"]), -2);
    ok(&mut con, &["SET", "foo", "bar"]);
    assert_eq!(int(&mut con, &["EXPIRE", "foo", "-10", "LT"]), 1);
    assert_eq!(int(&mut con, &["EXISTS", "foo"]), 0);
    ok(&mut con, &["SET", "foo", "bar"]);
    assert_eq!(int(&mut con, &["EXPIREAT", "foo", "1"]), 1);
    assert_eq!(int(&mut con, &["EXISTS", "foo"]), 0);
    assert_eq!(error(&mut con, &["EXPIRE", "foo"]), "ERR wrong number of arguments for 'expire' command");
}

#[test]
fn ttl_family_and_persist() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(int(&mut con, &[c, "nokey"]), -2, "{c}");
    }
    ok(&mut con, &["SET", "x", "v"]);
    for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(int(&mut con, &[c, "x"]), -1, "{c}");
    }
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let at = (now_s + 100).to_string();
    assert_eq!(int(&mut con, &["EXPIREAT", "x", &at]), 1);
    assert_eq!(int(&mut con, &["EXPIRETIME", "x"]), now_s + 100);
    assert_eq!(int(&mut con, &["PEXPIRETIME", "x"]), (now_s + 100) * 1000);
    let ttl = int(&mut con, &["TTL", "x"]);
    assert!((98..=100).contains(&ttl), "{ttl}");
    assert_eq!(int(&mut con, &["PEXPIRE", "x", "1500"]), 1);
    let pttl = int(&mut con, &["PTTL", "x"]);
    assert!(pttl > 1000 && pttl <= 1500, "{pttl}");
    // Seconds round to the nearest.
    assert!((1..=2).contains(&int(&mut con, &["TTL", "x"])));

    assert_eq!(int(&mut con, &["PERSIST", "x"]), 1);
    assert_eq!(int(&mut con, &["TTL", "x"]), -1);
    assert_eq!(int(&mut con, &["PERSIST", "x"]), 0);
    assert_eq!(int(&mut con, &["PERSIST", "nokey"]), 0);
    assert_eq!(text(&mut con, &["GET", "x"]).as_deref(), Some("v"));
}

#[test]
fn lazy_expiry_on_every_access_path() {
    let server = Server::start(&["--hz", "1"]);
    let mut con = server.conn();
    let reads: &[&[&str]] = &[
        &["GET", "k"],
        &["EXISTS", "k"],
        &["TYPE", "k"],
        &["TTL", "k"],
        &["PTTL", "k"],
        &["TOUCH", "k"],
        &["OBJECT", "ENCODING", "k"],
        &["PERSIST", "k"],
        &["EXPIRE", "k", "100"],
        &["RENAME", "k", "k2"],
        &["COPY", "k", "k2"],
        &["MOVE", "k", "1"],
        &["DEL", "k"],
        &["KEYS", "*"],
        &["RANDOMKEY"],
    ];
    for read in reads {
        ok(&mut con, &["SET", "k", "v", "PX", "1"]);
        std::thread::sleep(Duration::from_millis(5));
        let reply = cmd(&mut con, read);
        match *read {
            ["RENAME", ..] => assert_eq!(error(&mut con, read), "ERR no such key"),
            ["TYPE", ..] => assert_eq!(reply.unwrap(), Value::SimpleString("none".into())),
            ["TTL", ..] | ["PTTL", ..] => assert_eq!(reply.unwrap(), Value::Int(-2)),
            ["GET", ..] | ["OBJECT", ..] | ["RANDOMKEY"] => assert_eq!(reply.unwrap(), Value::Nil),
            ["KEYS", ..] => assert_eq!(reply.unwrap(), Value::Array(vec![])),
            _ => assert_eq!(reply.unwrap(), Value::Int(0), "{read:?}"),
        }
        assert_eq!(int(&mut con, &["EXISTS", "k", "k2"]), 0, "{read:?}");
    }
    ok(&mut con, &["SELECT", "1"]);
    assert_eq!(int(&mut con, &["DBSIZE"]), 0);
}

/// 100,000 keys with a 1 s TTL that nobody reads are reclaimed by the active cycle.
#[test]
fn active_expiry_reclaims_unread_keys() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let loading = Instant::now();
    for chunk in 0..10 {
        let mut pipe = redis::pipe();
        for i in 0..10_000 {
            pipe.cmd("SET").arg(format!("ttl:{chunk}:{i}")).arg("value").arg("PX").arg(1000).ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
    }
    ok(&mut con, &["SET", "keeper", "v"]);
    ok(&mut con, &["SET", "later", "v", "EX", "1000"]);
    // Loading may outlast the TTL on a slow debug build; then some keys are already gone.
    if loading.elapsed() < Duration::from_millis(900) {
        assert_eq!(int(&mut con, &["DBSIZE"]), 100_002);
    }
    let started = Instant::now();
    let mut size = 0;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        size = int(&mut con, &["DBSIZE"]);
        if size == 2 {
            break;
        }
    }
    assert_eq!(size, 2, "keys left after {:?}", started.elapsed());
    assert_eq!(int(&mut con, &["EXISTS", "keeper", "later"]), 2);
}

/// Subscribes to every keyspace and keyevent channel and collects (channel, payload) pairs.
struct Events {
    con: Connection,
}

impl Events {
    fn new(server: &Server) -> Events {
        let mut con = server.conn();
        redis::cmd("PSUBSCRIBE").arg("__key*__:*").exec(&mut con).unwrap();
        con.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        Events { con }
    }

    /// The next `n` keyevent messages as "event key" strings (keyspace messages are skipped).
    fn next_keyevents(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < n {
            let msg = self.con.recv_response().expect("a keyspace event");
            let parts: Vec<Value> = match msg {
                Value::Array(v) | Value::Push { data: v, .. } => v,
                other => panic!("unexpected {other:?}"),
            };
            let s = |v: &Value| -> String { redis::FromRedisValue::from_redis_value(v).unwrap() };
            if s(&parts[0]) != "pmessage" {
                continue;
            }
            let channel = s(&parts[2]);
            if let Some(rest) = channel.strip_prefix("__keyevent@") {
                let (db, event) = rest.split_once("__:").unwrap();
                out.push(format!("{event} {} {db}", s(&parts[3])));
            }
        }
        out
    }
}

#[test]
fn keyspace_events() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut events = Events::new(&server);
    let mut con = server.conn();
    ok(&mut con, &["SET", "a", "1"]);
    assert_eq!(events.next_keyevents(1), ["set a 0"]);
    assert_eq!(int(&mut con, &["EXPIRE", "a", "100"]), 1);
    assert_eq!(int(&mut con, &["PERSIST", "a"]), 1);
    ok(&mut con, &["RENAME", "a", "b"]);
    assert_eq!(int(&mut con, &["COPY", "b", "c"]), 1);
    assert_eq!(int(&mut con, &["MOVE", "c", "2"]), 1);
    assert_eq!(int(&mut con, &["DEL", "b", "nokey"]), 1);
    assert_eq!(
        events.next_keyevents(8),
        [
            "expire a 0",
            "persist a 0",
            "rename_from a 0",
            "rename_to b 0",
            "copy_to c 0",
            "move_from c 0",
            "move_to c 2",
            "del b 0"
        ]
    );
    ok(&mut con, &["SET", "d", "1"]);
    assert_eq!(int(&mut con, &["EXPIRE", "d", "-1"]), 1);
    ok(&mut con, &["SET", "e", "1", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(text(&mut con, &["GET", "e"]), None);
    // `A` leaves out key-miss events.
    assert_eq!(events.next_keyevents(5), ["set d 0", "del d 0", "set e 0", "expire e 0", "expired e 0"]);
}

#[test]
fn new_key_events() {
    let server = Server::start(&["--notify-keyspace-events", "En"]);
    let mut events = Events::new(&server);
    let mut con = server.conn();
    ok(&mut con, &["SET", "foo", "bar"]);
    ok(&mut con, &["SET", "foo", "baz"]);
    ok(&mut con, &["SET", "bar", "bar"]);
    ok(&mut con, &["RENAME", "bar", "baz"]);
    assert_eq!(events.next_keyevents(3), ["new foo 0", "new bar 0", "new baz 0"]);
}
