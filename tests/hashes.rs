//! Hash commands over TCP: replies and error texts as Redis 7 gives them, both encodings,
//! RESP3 shapes, keyspace events, and the generic commands (TYPE, COPY, RENAME, SCAN TYPE,
//! OBJECT ENCODING, MEMORY USAGE, expiry) on hashes.

mod common;

use common::{assert_all_wrongtype, err, ok, used_memory, Raw, Server, WRONGTYPE};
use redis::Connection;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

#[test]
fn set_get_and_friends() {
    let server = Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<i64>(con, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(ok::<i64>(con, &["HSET", "h", "a", "10", "c", "3"]), 1);
    assert_eq!(ok::<String>(con, &["HMSET", "h", "d", "4"]), "OK");
    assert_eq!(ok::<Option<String>>(con, &["HGET", "h", "a"]).as_deref(), Some("10"));
    assert_eq!(ok::<Option<String>>(con, &["HGET", "h", "zz"]), None);
    assert_eq!(ok::<Option<String>>(con, &["HGET", "missing", "a"]), None);
    assert_eq!(ok::<i64>(con, &["HLEN", "h"]), 4);
    assert_eq!(ok::<i64>(con, &["HLEN", "missing"]), 0);
    assert_eq!(ok::<i64>(con, &["HEXISTS", "h", "b"]), 1);
    assert_eq!(ok::<i64>(con, &["HEXISTS", "h", "zz"]), 0);
    assert_eq!(ok::<i64>(con, &["HEXISTS", "missing", "b"]), 0);
    assert_eq!(ok::<i64>(con, &["HSTRLEN", "h", "a"]), 2);
    assert_eq!(ok::<i64>(con, &["HSTRLEN", "h", "zz"]), 0);
    assert_eq!(ok::<i64>(con, &["HSTRLEN", "missing", "a"]), 0);
    assert_eq!(
        ok::<Vec<Option<String>>>(con, &["HMGET", "h", "a", "zz", "d"]),
        vec![Some("10".into()), None, Some("4".into())]
    );
    assert_eq!(ok::<Vec<Option<String>>>(con, &["HMGET", "missing", "a", "b"]), vec![None, None]);
    // Small hashes keep insertion order, as a listpack does.
    assert_eq!(ok::<Vec<String>>(con, &["HKEYS", "h"]), ["a", "b", "c", "d"]);
    assert_eq!(ok::<Vec<String>>(con, &["HVALS", "h"]), ["10", "2", "3", "4"]);
    assert_eq!(ok::<Vec<String>>(con, &["HGETALL", "h"]), ["a", "10", "b", "2", "c", "3", "d", "4"]);
    assert!(ok::<Vec<String>>(con, &["HGETALL", "missing"]).is_empty());
    assert!(ok::<Vec<String>>(con, &["HKEYS", "missing"]).is_empty());
    assert!(ok::<Vec<String>>(con, &["HVALS", "missing"]).is_empty());

    // Empty fields and values, binary data.
    assert_eq!(ok::<i64>(con, &["HSET", "h", "", ""]), 1);
    assert_eq!(ok::<Option<String>>(con, &["HGET", "h", ""]).as_deref(), Some(""));
    let bin: Vec<u8> = (0..=255).collect();
    redis::cmd("HSET").arg("bin").arg(&bin[..]).arg(&bin[..]).query::<i64>(con).unwrap();
    let back: Vec<u8> = redis::cmd("HGET").arg("bin").arg(&bin[..]).query(con).unwrap();
    assert_eq!(back, bin);

    // HSETNX.
    assert_eq!(ok::<i64>(con, &["HSETNX", "h", "a", "x"]), 0);
    assert_eq!(ok::<Option<String>>(con, &["HGET", "h", "a"]).as_deref(), Some("10"));
    assert_eq!(ok::<i64>(con, &["HSETNX", "h", "new", "x"]), 1);
    assert_eq!(ok::<i64>(con, &["HSETNX", "fresh", "f", "v"]), 1);
    assert_eq!(ok::<String>(con, &["TYPE", "fresh"]), "hash");

    // HDEL counts removed fields and deletes the emptied key.
    assert_eq!(ok::<i64>(con, &["HDEL", "h", "zz"]), 0);
    assert_eq!(ok::<i64>(con, &["HDEL", "h", "a", "b", "a", "zz"]), 2);
    assert_eq!(ok::<i64>(con, &["HDEL", "missing", "a"]), 0);
    assert_eq!(ok::<i64>(con, &["HDEL", "fresh", "f", "g"]), 1);
    assert_eq!(ok::<i64>(con, &["EXISTS", "fresh"]), 0);
}

#[test]
fn errors_and_wrong_types() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    ok::<String>(con, &["SET", "s", "v"]);
    assert_all_wrongtype(
        con,
        &[
            &["HSET", "s", "f", "v"],
            &["HSETNX", "s", "f", "v"],
            &["HMSET", "s", "f", "v"],
            &["HGET", "s", "f"],
            &["HMGET", "s", "f"],
            &["HGETALL", "s"],
            &["HDEL", "s", "f"],
            &["HEXISTS", "s", "f"],
            &["HLEN", "s"],
            &["HSTRLEN", "s", "f"],
            &["HKEYS", "s"],
            &["HVALS", "s"],
            &["HINCRBY", "s", "f", "1"],
            &["HINCRBYFLOAT", "s", "f", "1"],
            &["HRANDFIELD", "s"],
            &["HRANDFIELD", "s", "2"],
            &["HSCAN", "s", "0"],
        ],
    );
    // String commands refuse hashes.
    ok::<i64>(con, &["HSET", "h", "f", "v"]);
    assert_eq!(err(con, &["GET", "h"]), WRONGTYPE);
    assert_eq!(err(con, &["APPEND", "h", "x"]), WRONGTYPE);
    assert_eq!(err(con, &["INCR", "h"]), WRONGTYPE);
    // SET replaces a hash.
    ok::<String>(con, &["SET", "h", "v"]);
    assert_eq!(ok::<String>(con, &["TYPE", "h"]), "string");

    assert_eq!(err(con, &["HSET", "h2", "a", "1", "b"]), "ERR wrong number of arguments for 'hset' command");
    assert_eq!(err(con, &["HMSET", "h2", "a", "1", "b"]), "ERR wrong number of arguments for 'hmset' command");
    assert_eq!(err(con, &["HSET", "h2", "a"]), "ERR wrong number of arguments for 'hset' command");
    assert_eq!(err(con, &["HGET", "h2"]), "ERR wrong number of arguments for 'hget' command");
    assert_eq!(ok::<i64>(con, &["EXISTS", "h2"]), 0);
}

#[test]
fn increments() {
    let server = Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<i64>(con, &["HINCRBY", "h", "n", "5"]), 5);
    assert_eq!(ok::<i64>(con, &["HINCRBY", "h", "n", "-7"]), -2);
    assert_eq!(ok::<Option<String>>(con, &["HGET", "h", "n"]).as_deref(), Some("-2"));
    ok::<i64>(con, &["HSET", "h", "big", "17179869184"]);
    assert_eq!(ok::<i64>(con, &["HINCRBY", "h", "big", "17179869184"]), 34359738368);
    assert_eq!(err(con, &["HINCRBY", "h", "n", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["HINCRBY", "h", "n", "1.5"]), "ERR value is not an integer or out of range");
    for bad in [" 11", "11 ", "abc", "1.0", ""] {
        ok::<i64>(con, &["HSET", "h", "s", bad]);
        assert_eq!(err(con, &["HINCRBY", "h", "s", "1"]), "ERR hash value is not an integer", "{bad:?}");
    }
    ok::<i64>(con, &["HSET", "h", "max", "9223372036854775807"]);
    assert_eq!(err(con, &["HINCRBY", "h", "max", "1"]), "ERR increment or decrement would overflow");
    ok::<i64>(con, &["HSET", "h", "min", "-9223372036854775484"]);
    assert_eq!(ok::<i64>(con, &["HINCRBY", "h", "min", "-1"]), -9223372036854775485);
    assert_eq!(err(con, &["HINCRBY", "h", "min", "-10000"]), "ERR increment or decrement would overflow");
    // The failed increment left the value alone.
    assert_eq!(ok::<String>(con, &["HGET", "h", "min"]), "-9223372036854775485");

    assert_eq!(ok::<String>(con, &["HINCRBYFLOAT", "f", "x", "2.5"]), "2.5");
    assert_eq!(ok::<String>(con, &["HINCRBYFLOAT", "f", "x", "0.5"]), "3");
    assert_eq!(ok::<String>(con, &["HINCRBYFLOAT", "f", "y", "1.23"]), "1.23");
    assert_eq!(ok::<String>(con, &["HINCRBYFLOAT", "f", "y", "0.77"]), "2");
    assert_eq!(ok::<String>(con, &["HINCRBYFLOAT", "f", "y", "-0.1"]), "1.9");
    assert_eq!(ok::<String>(con, &["HINCRBYFLOAT", "f", "z", "1e3"]), "1000");
    assert_eq!(ok::<String>(con, &["HINCRBYFLOAT", "f", "z", "-1000"]), "0");
    ok::<i64>(con, &["HSET", "f", "int", "17179869184"]);
    assert_eq!(ok::<String>(con, &["HINCRBYFLOAT", "f", "int", "1"]), "17179869185");
    assert_eq!(err(con, &["HINCRBYFLOAT", "f", "x", "abc"]), "ERR value is not a valid float");
    assert_eq!(err(con, &["HINCRBYFLOAT", "f", "x", "+inf"]), "ERR value is NaN or Infinity");
    assert_eq!(err(con, &["HINCRBYFLOAT", "nokey", "x", "inf"]), "ERR value is NaN or Infinity");
    assert_eq!(ok::<i64>(con, &["EXISTS", "nokey"]), 0);
    for bad in [" 11", "11 ", "1\u{0}2", "abc"] {
        ok::<i64>(con, &["HSET", "f", "s", bad]);
        assert_eq!(err(con, &["HINCRBYFLOAT", "f", "s", "1"]), "ERR hash value is not a float", "{bad:?}");
    }
    ok::<i64>(con, &["HSET", "f", "huge", "1e308"]);
    assert_eq!(err(con, &["HINCRBYFLOAT", "f", "huge", "1e308"]), "ERR increment would produce NaN or Infinity");
}

#[test]
fn encodings_follow_the_listpack_limits() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    let encoding = |con: &mut Connection, key: &str| ok::<String>(con, &["OBJECT", "ENCODING", key]);

    ok::<i64>(con, &["HSET", "small", "a", "1"]);
    assert_eq!(encoding(con, "small"), "listpack");
    let long = "x".repeat(65);
    ok::<i64>(con, &["HSET", "small", "b", &long]);
    assert_eq!(encoding(con, "small"), "hashtable");
    assert_eq!(ok::<String>(con, &["HGET", "small", "b"]), long);
    assert_eq!(ok::<String>(con, &["HGET", "small", "a"]), "1");

    for i in 0..128 {
        ok::<i64>(con, &["HSET", "many", &format!("f{i}"), "v"]);
    }
    assert_eq!(encoding(con, "many"), "listpack");
    ok::<i64>(con, &["HSET", "many", "one-more", "v"]);
    assert_eq!(encoding(con, "many"), "hashtable");
    assert_eq!(ok::<i64>(con, &["HLEN", "many"]), 129);
    // Never converted back, as in Redis.
    for i in 0..128 {
        ok::<i64>(con, &["HDEL", "many", &format!("f{i}")]);
    }
    assert_eq!(encoding(con, "many"), "hashtable");
    assert_eq!(ok::<Vec<String>>(con, &["HGETALL", "many"]), ["one-more", "v"]);

    // The limits are live configuration, under both names.
    ok::<String>(con, &["CONFIG", "SET", "hash-max-listpack-value", "8"]);
    ok::<i64>(con, &["HSET", "v8", "tmp", "0"]);
    ok::<String>(con, &["HINCRBYFLOAT", "v8", "tmp", "0.000005"]);
    assert_eq!(encoding(con, "v8"), "listpack");
    ok::<String>(con, &["HINCRBYFLOAT", "v8", "tmp", "0.0000005"]);
    assert_eq!(encoding(con, "v8"), "hashtable");
    ok::<i64>(con, &["HINCRBY", "v9", "abcdefghi", "1"]);
    assert_eq!(encoding(con, "v9"), "hashtable");
    ok::<String>(con, &["CONFIG", "SET", "hash-max-ziplist-entries", "2"]);
    ok::<i64>(con, &["HSET", "e2", "a", "1", "b", "2"]);
    assert_eq!(encoding(con, "e2"), "listpack");
    ok::<i64>(con, &["HSET", "e2", "c", "3"]);
    assert_eq!(encoding(con, "e2"), "hashtable");
}

#[test]
fn random_fields() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    assert_eq!(ok::<Option<String>>(con, &["HRANDFIELD", "missing"]), None);
    assert!(ok::<Vec<String>>(con, &["HRANDFIELD", "missing", "5"]).is_empty());

    for (key, extra) in [("small", "j"), ("big", &"x".repeat(100)[..])] {
        let mut expected = HashMap::new();
        for (i, f) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
            ok::<i64>(con, &["HSET", key, f, &i.to_string()]);
            expected.insert(f.to_string(), i.to_string());
        }
        ok::<i64>(con, &["HSET", key, "j", extra]);
        expected.insert("j".into(), extra.to_string());

        let single: String = ok(con, &["HRANDFIELD", key]);
        assert!(expected.contains_key(&single));
        assert!(ok::<Vec<String>>(con, &["HRANDFIELD", key, "0"]).is_empty());

        // Negative: repeats allowed, exactly |count| fields.
        let picks: Vec<String> = ok(con, &["HRANDFIELD", key, "-1000"]);
        assert_eq!(picks.len(), 1000);
        let distinct: HashSet<&String> = picks.iter().collect();
        assert_eq!(distinct.len(), 10, "1000 picks of 10 fields cover all of them");
        let pairs: Vec<String> = ok(con, &["HRANDFIELD", key, "-20", "WITHVALUES"]);
        assert_eq!(pairs.len(), 40);
        for p in pairs.chunks(2) {
            assert_eq!(expected[&p[0]], p[1]);
        }

        // Positive: distinct fields; the whole hash when count >= size.
        for n in [1usize, 2, 8, 10, 20] {
            let picks: Vec<String> = ok(con, &["HRANDFIELD", key, &n.to_string()]);
            let distinct: HashSet<&String> = picks.iter().collect();
            assert_eq!(picks.len(), n.min(10));
            assert_eq!(distinct.len(), n.min(10));
            assert!(picks.iter().all(|p| expected.contains_key(p)));
            let pairs: Vec<String> = ok(con, &["HRANDFIELD", key, &n.to_string(), "withvalues"]);
            assert_eq!(pairs.len(), 2 * n.min(10));
            for p in pairs.chunks(2) {
                assert_eq!(expected[&p[0]], p[1]);
            }
        }
    }

    assert_eq!(err(con, &["HRANDFIELD", "small", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["HRANDFIELD", "small", "1", "WITHSCORES"]), "ERR syntax error");
    assert_eq!(err(con, &["HRANDFIELD", "small", "1", "WITHVALUES", "x"]), "ERR syntax error");
    assert_eq!(
        err(con, &["HRANDFIELD", "small", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(err(con, &["HRANDFIELD", "small", "-9223372036854770000", "WITHVALUES"]), "ERR value is out of range");
}

#[test]
fn resp3_and_exact_shapes() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    c.call(&["HSET", "h", "a", "1"]);
    // Empty array versus null, in RESP2.
    assert_eq!(c.call(&["HRANDFIELD", "h", "0"]), "*[]");
    assert_eq!(c.call(&["HRANDFIELD", "missing", "3"]), "*[]");
    assert_eq!(c.call(&["HRANDFIELD", "missing"]), "nil");
    assert_eq!(c.call(&["HGETALL", "h"]), r#"*["a","1"]"#);
    assert_eq!(c.call(&["HSCAN", "missing", "0"]), r#"*["0",*[]]"#);
    assert_eq!(c.call(&["HRANDFIELD", "h", "-2", "WITHVALUES"]), r#"*["a","1","a","1"]"#);

    c.call(&["HELLO", "3"]);
    assert_eq!(c.call(&["HGETALL", "h"]), r#"%["a","1"]"#);
    assert_eq!(c.call(&["HGETALL", "missing"]), "%[]");
    assert_eq!(c.call(&["HGET", "h", "zz"]), "_");
    assert_eq!(c.call(&["HMGET", "h", "a", "zz"]), r#"*["1",_]"#);
    assert_eq!(c.call(&["HRANDFIELD", "missing"]), "_");
    // With values, RESP3 gets [field, value] pairs.
    assert_eq!(c.call(&["HRANDFIELD", "h", "-2", "WITHVALUES"]), r#"*[*["a","1"],*["a","1"]]"#);
    assert_eq!(c.call(&["HRANDFIELD", "h", "5", "WITHVALUES"]), r#"*[*["a","1"]]"#);
    assert_eq!(c.call(&["HRANDFIELD", "h", "5"]), r#"*["a"]"#);
    assert_eq!(c.call(&["HINCRBYFLOAT", "h", "a", "0.5"]), r#""1.5""#);
    assert_eq!(c.call(&["HSCAN", "h", "0"]), r#"*["0",*["a","1.5"]]"#);
}

#[test]
fn scan_fields() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["HSET", "small", "foo", "1", "fab", "2", "fiz", "3", "foobar", "4"]);
    let (cursor, items): (String, Vec<String>) = ok(con, &["HSCAN", "small", "0", "MATCH", "foo*", "COUNT", "1"]);
    assert_eq!(cursor, "0");
    assert_eq!(items, ["foo", "1", "foobar", "4"]);
    let (_, items): (String, Vec<String>) = ok(con, &["HSCAN", "small", "0", "NOVALUES"]);
    assert_eq!(items, ["foo", "fab", "fiz", "foobar"]);

    assert_eq!(err(con, &["HSCAN", "small", "x"]), "ERR invalid cursor");
    assert_eq!(err(con, &["HSCAN", "small", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(err(con, &["HSCAN", "small", "0", "COUNT", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["HSCAN", "small", "0", "COUNT"]), "ERR syntax error");
    assert_eq!(err(con, &["HSCAN", "small", "0", "TYPE", "hash"]), "ERR syntax error");
    // Options are only looked at once the key exists, as in Redis.
    let (cursor, items): (String, Vec<String>) = ok(con, &["HSCAN", "missing", "0", "BOGUS"]);
    assert_eq!((cursor.as_str(), items.len()), ("0", 0));

    // A big hash is walked in steps; fields deleted meanwhile do not hide the others.
    for i in 0..1000 {
        ok::<i64>(con, &["HSET", "big", &format!("field:{i}"), &i.to_string()]);
    }
    let mut seen = HashMap::new();
    let mut cursor = "0".to_string();
    let mut steps = 0;
    let mut deleted = HashSet::new();
    loop {
        let (next, items): (String, Vec<String>) = ok(con, &["HSCAN", "big", &cursor, "COUNT", "50"]);
        assert!(items.len() <= 100);
        for p in items.chunks(2) {
            seen.insert(p[0].clone(), p[1].clone());
        }
        // Delete one field not returned yet at each step.
        if let Some(victim) =
            (0..1000).map(|i| format!("field:{i}")).find(|f| !seen.contains_key(f) && !deleted.contains(f))
        {
            ok::<i64>(con, &["HDEL", "big", &victim]);
            deleted.insert(victim);
        }
        steps += 1;
        assert!(steps < 1000, "HSCAN does not terminate");
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert!(steps > 10);
    for i in 0..1000 {
        let f = format!("field:{i}");
        if !deleted.contains(&f) {
            assert_eq!(seen.get(&f), Some(&i.to_string()), "{f} missed");
        }
    }
    let (_, items): (String, Vec<String>) =
        ok(con, &["HSCAN", "big", "0", "MATCH", "field:99*", "COUNT", "100000", "NOVALUES"]);
    let expected: HashSet<String> = [
        "field:99",
        "field:990",
        "field:991",
        "field:992",
        "field:993",
        "field:994",
        "field:995",
        "field:996",
        "field:997",
        "field:998",
        "field:999",
    ]
    .iter()
    .map(|s| s.to_string())
    .filter(|f| !deleted.contains(f))
    .collect();
    assert_eq!(items.into_iter().collect::<HashSet<_>>(), expected);
}

#[test]
fn generic_commands_on_hashes() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    for (key, n) in [("small", 3), ("big", 200)] {
        for i in 0..n {
            ok::<i64>(con, &["HSET", key, &format!("f{i}"), &format!("v{i}")]);
        }
        assert_eq!(ok::<String>(con, &["TYPE", key]), "hash");

        // COPY is a deep copy.
        assert_eq!(ok::<i64>(con, &["COPY", key, &format!("{key}-copy")]), 1);
        ok::<i64>(con, &["HSET", key, "f0", "changed"]);
        assert_eq!(ok::<String>(con, &["HGET", &format!("{key}-copy"), "f0"]), "v0");
        assert_eq!(ok::<i64>(con, &["HLEN", &format!("{key}-copy")]), n);
        assert_eq!(
            ok::<String>(con, &["OBJECT", "ENCODING", &format!("{key}-copy")]),
            ok::<String>(con, &["OBJECT", "ENCODING", key])
        );
        assert_eq!(ok::<i64>(con, &["COPY", key, key, "DB", "3"]), 1);

        // RENAME carries the value.
        ok::<String>(con, &["RENAME", &format!("{key}-copy"), &format!("{key}-renamed")]);
        assert_eq!(ok::<i64>(con, &["HLEN", &format!("{key}-renamed")]), n);
    }
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "small"]), "listpack");
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "big"]), "hashtable");

    ok::<String>(con, &["SET", "str", "v"]);
    let mut keys: Vec<String> = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, batch): (String, Vec<String>) = ok(con, &["SCAN", &cursor, "TYPE", "hash"]);
        keys.extend(batch);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    keys.sort();
    assert_eq!(keys, ["big", "big-renamed", "small", "small-renamed"]);

    // MEMORY USAGE grows with the hash, and the memory comes back after DEL.
    let before = used_memory(con);
    ok::<i64>(con, &["HSET", "m", "f", "v"]);
    let small: i64 = ok(con, &["MEMORY", "USAGE", "m"]);
    for i in 0..1000 {
        ok::<i64>(con, &["HSET", "m", &format!("field:{i}"), "some value here"]);
    }
    let large: i64 = ok(con, &["MEMORY", "USAGE", "m"]);
    assert!(small > 0 && large > small + 1000 * 30, "{small} {large}");
    assert!(used_memory(con) >= before + large - 100);
    assert_eq!(ok::<i64>(con, &["DEL", "m"]), 1);
    assert_eq!(used_memory(con), before);

    // Expiry: lazy on access, and active for hashes nobody reads.
    ok::<i64>(con, &["HSET", "lazy", "f", "v"]);
    ok::<i64>(con, &["PEXPIRE", "lazy", "50"]);
    ok::<i64>(con, &["HSET", "active", "f", "v"]);
    ok::<i64>(con, &["PEXPIRE", "active", "50"]);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(ok::<Option<String>>(con, &["HGET", "lazy", "f"]), None);
    assert_eq!(ok::<i64>(con, &["HLEN", "lazy"]), 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while ok::<i64>(con, &["DBSIZE"]) > 5 {
        assert!(Instant::now() < deadline, "the active cycle does not reclaim the hash");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Writing keeps the TTL, as in Redis.
    ok::<i64>(con, &["HSET", "ttl", "f", "v"]);
    ok::<i64>(con, &["EXPIRE", "ttl", "100"]);
    ok::<i64>(con, &["HSET", "ttl", "g", "v"]);
    ok::<i64>(con, &["HDEL", "ttl", "g"]);
    assert!(ok::<i64>(con, &["TTL", "ttl"]) > 90);
}

#[test]
fn keyspace_events() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = Raw::connect(&server);
    let mut c = Raw::connect(&server);
    assert_eq!(sub.call(&["PSUBSCRIBE", "__keyevent@0__:*"]), r#"*["psubscribe","__keyevent@0__:*",:1]"#);
    let mut expect = |event: &str, key: &str| {
        assert_eq!(sub.read(), format!(r#"*["pmessage","__keyevent@0__:*","__keyevent@0__:{event}","{key}"]"#));
    };
    c.call(&["HSET", "h", "a", "1", "b", "2"]);
    expect("hset", "h");
    c.call(&["HSET", "h", "a", "1"]);
    expect("hset", "h");
    c.call(&["HMSET", "h", "c", "3"]);
    expect("hset", "h");
    assert_eq!(c.call(&["HSETNX", "h", "a", "x"]), ":0");
    c.call(&["HSETNX", "h", "d", "4"]);
    expect("hset", "h");
    c.call(&["HINCRBY", "h", "n", "1"]);
    expect("hincrby", "h");
    c.call(&["HINCRBYFLOAT", "h", "n", "1.5"]);
    expect("hincrbyfloat", "h");
    assert_eq!(c.call(&["HDEL", "h", "zz"]), ":0");
    c.call(&["HDEL", "h", "a"]);
    expect("hdel", "h");
    c.call(&["HDEL", "h", "b", "c", "d", "n"]);
    expect("hdel", "h");
    expect("del", "h");
    // Failed commands and reads are silent: the next event is the marker's.
    c.call(&["HINCRBY", "h2", "f", "x"]);
    c.call(&["HGET", "h2", "f"]);
    c.call(&["SET", "marker", "1"]);
    expect("set", "marker");
}
