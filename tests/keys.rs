//! Generic key commands over TCP: DEL/UNLINK/EXISTS/TOUCH/TYPE, KEYS, SCAN (and its guarantee
//! under concurrent writes), RANDOMKEY, RENAME/RENAMENX, COPY, MOVE, OBJECT, the EXPIRE family,
//! TTL and friends, PERSIST, keyspace events, and lazy and active expiry.

mod common;

use common::{assert_ok, err, ok, run, KeyEvents, Server};
use redis::{Connection, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Runs a whole SCAN iteration with extra options; returns every key reported.
fn scan_all(con: &mut Connection, options: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    for _ in 0..1_000_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(options);
        let (next, batch): (String, Vec<String>) = ok(con, &args);
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
    assert_ok(&mut con, &["SET", "a", "1"]);
    assert_ok(&mut con, &["SET", "b", "2"]);
    assert_ok(&mut con, &["SET", "c", "3"]);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "a", "a", "b", "nope"]), 3);
    assert_eq!(ok::<i64>(&mut con, &["TOUCH", "a", "b", "nope"]), 2);
    assert_eq!(ok::<Option<String>>(&mut con, &["TYPE", "a"]).as_deref(), Some("string"));
    assert_eq!(ok::<Option<String>>(&mut con, &["TYPE", "nope"]).as_deref(), Some("none"));
    assert_eq!(ok::<i64>(&mut con, &["DEL", "a", "b", "nope"]), 2);
    assert_eq!(ok::<i64>(&mut con, &["UNLINK", "c", "c"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "a", "b", "c"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 0);
    assert_eq!(err(&mut con, &["DEL"]), "ERR wrong number of arguments for 'del' command");
    assert_eq!(err(&mut con, &["TYPE", "a", "b"]), "ERR wrong number of arguments for 'type' command");
}

#[test]
fn keys_with_patterns() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    for k in ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c", "h?llo"] {
        assert_ok(&mut con, &["SET", k, "v"]);
    }
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let foo: Vec<String> = ok(&mut con, &["KEYS", "foo*"]);
    assert_eq!(sorted(foo), ["foo_a", "foo_b", "foo_c"]);
    let all: Vec<String> = ok(&mut con, &["KEYS", "*"]);
    assert_eq!(all.len(), 7);
    let escaped: Vec<String> = ok(&mut con, &["KEYS", "h\\?llo"]);
    assert_eq!(escaped, ["h?llo"]);
    let none: Vec<String> = ok(&mut con, &["KEYS", "a*a*a*a*a*a*a*a*a*a*a*a*b"]);
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

    assert_eq!(err(&mut con, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(err(&mut con, &["SCAN", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(err(&mut con, &["SCAN", "0", "COUNT", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut con, &["SCAN", "0", "MATCH"]), "ERR syntax error");
    assert_eq!(err(&mut con, &["SCAN", "0", "BOGUS", "1"]), "ERR syntax error");
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
        let (next, batch): (String, Vec<String>) = ok(&mut con, &["SCAN", &cursor, "COUNT", "7"]);
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
    assert_eq!(ok::<Option<String>>(&mut con, &["RANDOMKEY"]), None);
    assert_ok(&mut con, &["SET", "foo", "x"]);
    assert_ok(&mut con, &["SET", "bar", "y"]);
    let mut seen = HashSet::new();
    for _ in 0..200 {
        seen.insert(ok::<Option<String>>(&mut con, &["RANDOMKEY"]).unwrap());
    }
    assert_eq!(seen, HashSet::from(["foo".to_string(), "bar".to_string()]));
    // Expired keys are never returned, even when they are most of the table.
    for i in 0..50 {
        assert_ok(&mut con, &["SET", &format!("gone:{i}"), "v", "PX", "1"]);
    }
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..20 {
        let k = ok::<Option<String>>(&mut con, &["RANDOMKEY"]).unwrap();
        assert!(k == "foo" || k == "bar", "{k}");
    }
}

#[test]
fn rename_and_renamenx() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(err(&mut con, &["RENAME", "nokey", "x"]), "ERR no such key");
    assert_eq!(err(&mut con, &["RENAMENX", "nokey", "x"]), "ERR no such key");
    assert_eq!(err(&mut con, &["RENAME", "nokey", "nokey"]), "ERR no such key");
    assert_ok(&mut con, &["SET", "mykey", "hello"]);
    assert_ok(&mut con, &["RENAME", "mykey", "mykey"]);
    assert_eq!(ok::<i64>(&mut con, &["RENAMENX", "mykey", "mykey"]), 0);
    assert_ok(&mut con, &["RENAME", "mykey", "mykey1"]);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "mykey1"]).as_deref(), Some("hello"));
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "mykey"]), 0);

    assert_ok(&mut con, &["SET", "other", "world"]);
    assert_ok(&mut con, &["RENAME", "mykey1", "other"]);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "other"]).as_deref(), Some("hello"));
    assert_ok(&mut con, &["SET", "third", "x"]);
    assert_eq!(ok::<i64>(&mut con, &["RENAMENX", "third", "other"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["RENAMENX", "third", "fourth"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 2);

    // The TTL moves with the key; the destination's TTL is not inherited.
    assert_ok(&mut con, &["SET", "vol", "v", "EX", "100"]);
    assert_ok(&mut con, &["RENAME", "vol", "vol2"]);
    let ttl = ok::<i64>(&mut con, &["TTL", "vol2"]);
    assert!(ttl > 90 && ttl <= 100, "{ttl}");
    assert_ok(&mut con, &["SET", "plain", "p"]);
    assert_ok(&mut con, &["RENAME", "plain", "vol2"]);
    assert_eq!(ok::<i64>(&mut con, &["TTL", "vol2"]), -1);

    // Across tenants: the key moves to the other tenant's table, TTL and value intact.
    assert_ok(&mut con, &["SET", "acme:item", "payload", "PX", "100000"]);
    assert_ok(&mut con, &["RENAME", "acme:item", "globex:item"]);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "globex:item"]).as_deref(), Some("payload"));
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "acme:item"]), 0);
    assert!(ok::<i64>(&mut con, &["PTTL", "globex:item"]) > 90_000);
    assert_ok(&mut con, &["RENAME", "globex:item", "plainkey"]);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "plainkey"]).as_deref(), Some("payload"));
    let keys: HashSet<String> = scan_all(&mut con, &[]).into_iter().collect();
    assert!(keys.contains("plainkey") && !keys.contains("globex:item"));
}

#[test]
fn copy_between_keys_and_databases() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(ok::<i64>(&mut con, &["COPY", "nokey", "x"]), 0);
    assert_ok(&mut con, &["SET", "src", "foobar", "EX", "100"]);
    assert_eq!(err(&mut con, &["COPY", "src", "src"]), "ERR source and destination objects are the same");
    assert_eq!(ok::<i64>(&mut con, &["COPY", "src", "dst"]), 1);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "dst"]).as_deref(), Some("foobar"));
    let ttl = ok::<i64>(&mut con, &["TTL", "dst"]);
    assert!(ttl > 90 && ttl <= 100, "{ttl}");

    assert_ok(&mut con, &["SET", "src2", "hello"]);
    assert_eq!(ok::<i64>(&mut con, &["COPY", "src2", "dst"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["COPY", "src2", "dst", "REPLACE"]), 1);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "dst"]).as_deref(), Some("hello"));
    assert_eq!(ok::<i64>(&mut con, &["TTL", "dst"]), -1);

    // The copy is independent of its source.
    assert_ok(&mut con, &["SET", "dst", "changed"]);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "src2"]).as_deref(), Some("hello"));

    assert_eq!(ok::<i64>(&mut con, &["COPY", "src", "src", "DB", "3"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["COPY", "src", "src", "DB", "3"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["COPY", "src2", "src", "DB", "3", "REPLACE"]), 1);
    assert_ok(&mut con, &["SELECT", "3"]);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "src"]).as_deref(), Some("hello"));
    assert_ok(&mut con, &["SELECT", "0"]);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "src"]).as_deref(), Some("foobar"));

    assert_eq!(err(&mut con, &["COPY", "src", "x", "DB", "notanumber"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut con, &["COPY", "src", "x", "DB", "99"]), "ERR DB index is out of range");
    assert_eq!(err(&mut con, &["COPY", "src", "x", "DB", "-1"]), "ERR DB index is out of range");
    assert_eq!(err(&mut con, &["COPY", "src", "x", "DB"]), "ERR syntax error");
    assert_eq!(err(&mut con, &["COPY", "src", "x", "FOO"]), "ERR syntax error");
    assert_eq!(err(&mut con, &["COPY", "src"]), "ERR wrong number of arguments for 'copy' command");
}

#[test]
fn move_between_databases() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "mykey", "foo", "EX", "100"]);
    assert_eq!(ok::<i64>(&mut con, &["MOVE", "mykey", "1"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "mykey"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["MOVE", "mykey", "1"]), 0);
    assert_ok(&mut con, &["SELECT", "1"]);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "mykey"]).as_deref(), Some("foo"));
    let ttl = ok::<i64>(&mut con, &["TTL", "mykey"]);
    assert!(ttl > 90 && ttl <= 100, "{ttl}");
    assert_ok(&mut con, &["SELECT", "0"]);
    assert_ok(&mut con, &["SET", "mykey", "bar"]);
    assert_eq!(ok::<i64>(&mut con, &["MOVE", "mykey", "1"]), 0, "exists in the target");
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "mykey"]).as_deref(), Some("bar"));
    assert_eq!(err(&mut con, &["MOVE", "mykey", "0"]), "ERR source and destination objects are the same");
    assert_eq!(err(&mut con, &["MOVE", "mykey", "notanumber"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut con, &["MOVE", "mykey", "16"]), "ERR DB index is out of range");
    assert_eq!(err(&mut con, &["MOVE", "mykey", "99999999999"]), "ERR value is not an integer or out of range");
}

#[test]
fn object_subcommands() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "int", "12345"]);
    assert_ok(&mut con, &["SET", "big", "12345678901234567890123"]);
    assert_ok(&mut con, &["SET", "short", "hello"]);
    assert_ok(&mut con, &["SET", "long", &"x".repeat(45)]);
    assert_eq!(ok::<Option<String>>(&mut con, &["OBJECT", "ENCODING", "int"]).as_deref(), Some("int"));
    assert_eq!(ok::<Option<String>>(&mut con, &["OBJECT", "encoding", "big"]).as_deref(), Some("embstr"));
    assert_eq!(ok::<Option<String>>(&mut con, &["OBJECT", "ENCODING", "short"]).as_deref(), Some("embstr"));
    assert_eq!(ok::<Option<String>>(&mut con, &["OBJECT", "ENCODING", "long"]).as_deref(), Some("raw"));
    assert_eq!(ok::<Option<String>>(&mut con, &["OBJECT", "ENCODING", "nokey"]), None);

    // Integers in 0..10000 are shared objects in Redis, with a fixed reference count.
    assert_ok(&mut con, &["SET", "small", "123"]);
    assert_eq!(ok::<i64>(&mut con, &["OBJECT", "REFCOUNT", "small"]), i32::MAX as i64);
    assert_eq!(ok::<i64>(&mut con, &["OBJECT", "REFCOUNT", "int"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["OBJECT", "REFCOUNT", "short"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["OBJECT", "IDLETIME", "short"]), 0);
    assert_eq!(
        err(&mut con, &["OBJECT", "FREQ", "short"]),
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    );
    assert_eq!(ok::<Option<String>>(&mut con, &["OBJECT", "FREQ", "nokey"]), None);

    let help: Vec<String> = ok(&mut con, &["OBJECT", "HELP"]);
    assert_eq!(help[0], "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    assert_eq!(help.last().unwrap(), "    Print this help.");
    assert_eq!(err(&mut con, &["OBJECT", "FOO", "x"]), "ERR unknown subcommand 'FOO'. Try OBJECT HELP.");
    assert_eq!(err(&mut con, &["OBJECT", "ENCODING"]), "ERR wrong number of arguments for 'object|encoding' command");
}

#[test]
fn object_under_lfu_policy() {
    let server = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "k", "v"]);
    // A new key starts at Redis's LFU_INIT_VAL.
    assert_eq!(ok::<i64>(&mut con, &["OBJECT", "FREQ", "k"]), 5);
    assert!(err(&mut con, &["OBJECT", "IDLETIME", "k"]).starts_with("ERR An LFU maxmemory policy is selected"));
}

#[test]
fn expire_options_and_errors() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "nokey", "100"]), 0);
    for opt in ["NX", "XX", "GT", "LT"] {
        assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "nokey", "100", opt]), 0);
    }
    assert_ok(&mut con, &["SET", "foo", "bar", "EX", "100"]);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "200", "NX"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "200", "XX"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "100", "GT"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "300", "GT"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "400", "LT"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "50", "LT", "XX"]), 1);
    let ttl = ok::<i64>(&mut con, &["TTL", "foo"]);
    assert!(ttl > 40 && ttl <= 50, "{ttl}");

    assert_ok(&mut con, &["SET", "foo", "bar"]);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "200", "XX"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "200", "GT"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["TTL", "foo"]), -1);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "100", "LT"]), 1);
    assert_ok(&mut con, &["SET", "foo", "bar"]);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "200", "NX"]), 1);

    assert_eq!(
        err(&mut con, &["EXPIRE", "foo", "200", "LT", "GT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    for opts in [["NX", "GT"], ["NX", "LT"], ["NX", "XX"]] {
        assert_eq!(
            err(&mut con, &["EXPIRE", "foo", "200", opts[0], opts[1]]),
            "ERR NX and XX, GT or LT options at the same time are not compatible"
        );
    }
    assert_eq!(err(&mut con, &["EXPIRE", "foo", "200", "XX", "AB"]), "ERR Unsupported option AB");
    assert_eq!(err(&mut con, &["EXPIRE", "foo", ""]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut con, &["EXPIRE", "foo", "1.5"]), "ERR value is not an integer or out of range");

    assert_ok(&mut con, &["SET", "foo", "bar"]);
    for (command, value) in [
        ("EXPIRE", "9223370399119966"),
        ("EXPIRE", "9223372036854776"),
        ("EXPIRE", "-9223372036854776"),
        ("PEXPIRE", "9223372036854770000"),
        ("EXPIREAT", "9223372036854776"),
    ] {
        assert_eq!(
            err(&mut con, &[command, "foo", value]),
            format!("ERR invalid expire time in '{}' command", command.to_lowercase())
        );
    }
    assert_eq!(ok::<i64>(&mut con, &["TTL", "foo"]), -1);
    assert_eq!(ok::<i64>(&mut con, &["PEXPIREAT", "foo", "9223372036854770000"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["PEXPIRETIME", "foo"]), 9223372036854770000);

    // A time in the past deletes the key.
    assert_eq!(ok::<i64>(&mut con, &["PEXPIREAT", "foo", "-9223372036854770000"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["TTL", "foo"]), -2);
    assert_ok(&mut con, &["SET", "foo", "bar"]);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "foo", "-10", "LT"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "foo"]), 0);
    assert_ok(&mut con, &["SET", "foo", "bar"]);
    assert_eq!(ok::<i64>(&mut con, &["EXPIREAT", "foo", "1"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "foo"]), 0);
    assert_eq!(err(&mut con, &["EXPIRE", "foo"]), "ERR wrong number of arguments for 'expire' command");
}

#[test]
fn ttl_family_and_persist() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(ok::<i64>(&mut con, &[c, "nokey"]), -2, "{c}");
    }
    assert_ok(&mut con, &["SET", "x", "v"]);
    for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(ok::<i64>(&mut con, &[c, "x"]), -1, "{c}");
    }
    let now_s = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let at = (now_s + 100).to_string();
    assert_eq!(ok::<i64>(&mut con, &["EXPIREAT", "x", &at]), 1);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRETIME", "x"]), now_s + 100);
    assert_eq!(ok::<i64>(&mut con, &["PEXPIRETIME", "x"]), (now_s + 100) * 1000);
    let ttl = ok::<i64>(&mut con, &["TTL", "x"]);
    assert!((98..=100).contains(&ttl), "{ttl}");
    assert_eq!(ok::<i64>(&mut con, &["PEXPIRE", "x", "1500"]), 1);
    let pttl = ok::<i64>(&mut con, &["PTTL", "x"]);
    assert!(pttl > 1000 && pttl <= 1500, "{pttl}");
    // Seconds round to the nearest.
    assert!((1..=2).contains(&ok::<i64>(&mut con, &["TTL", "x"])));

    assert_eq!(ok::<i64>(&mut con, &["PERSIST", "x"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["TTL", "x"]), -1);
    assert_eq!(ok::<i64>(&mut con, &["PERSIST", "x"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["PERSIST", "nokey"]), 0);
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "x"]).as_deref(), Some("v"));
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
        assert_ok(&mut con, &["SET", "k", "v", "PX", "1"]);
        std::thread::sleep(Duration::from_millis(5));
        let reply = run(&mut con, read);
        match *read {
            ["RENAME", ..] => assert_eq!(err(&mut con, read), "ERR no such key"),
            ["TYPE", ..] => assert_eq!(reply.unwrap(), Value::SimpleString("none".into())),
            ["TTL", ..] | ["PTTL", ..] => assert_eq!(reply.unwrap(), Value::Int(-2)),
            ["GET", ..] | ["OBJECT", ..] | ["RANDOMKEY"] => assert_eq!(reply.unwrap(), Value::Nil),
            ["KEYS", ..] => assert_eq!(reply.unwrap(), Value::Array(vec![])),
            _ => assert_eq!(reply.unwrap(), Value::Int(0), "{read:?}"),
        }
        assert_eq!(ok::<i64>(&mut con, &["EXISTS", "k", "k2"]), 0, "{read:?}");
    }
    assert_ok(&mut con, &["SELECT", "1"]);
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 0);
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
    assert_ok(&mut con, &["SET", "keeper", "v"]);
    assert_ok(&mut con, &["SET", "later", "v", "EX", "1000"]);
    // Loading may outlast the TTL on a slow debug build; then some keys are already gone.
    if loading.elapsed() < Duration::from_millis(900) {
        assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 100_002);
    }
    let started = Instant::now();
    let mut size = 0;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        size = ok::<i64>(&mut con, &["DBSIZE"]);
        if size == 2 {
            break;
        }
    }
    assert_eq!(size, 2, "keys left after {:?}", started.elapsed());
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "keeper", "later"]), 2);
}

/// The next `n` keyevent messages as "event key db" strings.
fn next_keyevents(events: &mut KeyEvents, n: usize) -> Vec<String> {
    events.next(n).into_iter().map(|(event, key, db)| format!("{event} {key} {db}")).collect()
}

#[test]
fn keyspace_events() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut events = KeyEvents::subscribe(&server, "__key*__:*");
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "a", "1"]);
    assert_eq!(next_keyevents(&mut events, 1), ["set a 0"]);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "a", "100"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["PERSIST", "a"]), 1);
    assert_ok(&mut con, &["RENAME", "a", "b"]);
    assert_eq!(ok::<i64>(&mut con, &["COPY", "b", "c"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["MOVE", "c", "2"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["DEL", "b", "nokey"]), 1);
    assert_eq!(
        next_keyevents(&mut events, 8),
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
    assert_ok(&mut con, &["SET", "d", "1"]);
    assert_eq!(ok::<i64>(&mut con, &["EXPIRE", "d", "-1"]), 1);
    assert_ok(&mut con, &["SET", "e", "1", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(ok::<Option<String>>(&mut con, &["GET", "e"]), None);
    // `A` leaves out key-miss events.
    assert_eq!(next_keyevents(&mut events, 5), ["set d 0", "del d 0", "set e 0", "expire e 0", "expired e 0"]);
}

#[test]
fn new_key_events() {
    let server = Server::start(&["--notify-keyspace-events", "En"]);
    let mut events = KeyEvents::subscribe(&server, "__key*__:*");
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "foo", "bar"]);
    assert_ok(&mut con, &["SET", "foo", "baz"]);
    assert_ok(&mut con, &["SET", "bar", "bar"]);
    assert_ok(&mut con, &["RENAME", "bar", "baz"]);
    assert_eq!(next_keyevents(&mut events, 3), ["new foo 0", "new bar 0", "new baz 0"]);
}
