//! String commands over TCP: replies and error texts as Redis 7 gives them.

mod common;

use common::{assert_all_wrong_arity, err, ok, run};

use redis::{Connection, Value};
use std::time::Duration;

fn get(con: &mut Connection, key: &str) -> Option<String> {
    ok(con, &["GET", key])
}

#[test]
fn set_options() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<String>(con, &["SET", "k", "v"]), "OK");
    assert_eq!(get(con, "k").as_deref(), Some("v"));
    assert_eq!(get(con, "missing"), None);
    assert_eq!(ok::<String>(con, &["SET", "empty", ""]), "OK");
    assert_eq!(get(con, "empty").as_deref(), Some(""));

    // NX / XX.
    assert_eq!(ok::<Option<String>>(con, &["SET", "k", "w", "NX"]), None);
    assert_eq!(ok::<Option<String>>(con, &["SET", "new", "w", "XX"]), None);
    assert_eq!(ok::<Option<String>>(con, &["SET", "k", "w", "xx"]).as_deref(), Some("OK"));
    assert_eq!(get(con, "new"), None);

    // GET returns the old value, also when NX refuses the write.
    assert_eq!(ok::<Option<String>>(con, &["SET", "k", "x", "GET"]).as_deref(), Some("w"));
    assert_eq!(ok::<Option<String>>(con, &["SET", "g", "1", "GET"]), None);
    assert_eq!(ok::<Option<String>>(con, &["SET", "g", "2", "GET", "NX"]).as_deref(), Some("1"));
    assert_eq!(get(con, "g").as_deref(), Some("1"));
    assert_eq!(ok::<Option<String>>(con, &["SET", "g2", "2", "GET", "XX"]), None);
    assert_eq!(get(con, "g2"), None);

    // Conflicting or malformed options.
    for bad in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "EX", "10", "PX", "100"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "PERSIST"],
        &["SET", "k", "v", "foo"],
    ] {
        assert_eq!(err(con, bad), "ERR syntax error", "{bad:?}");
    }
    assert_eq!(err(con, &["SET", "k", "v", "EX", "abc"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["SET", "k", "v", "EX", "0"]), "ERR invalid expire time in 'set' command");
    assert_eq!(err(con, &["SET", "k", "v", "PX", "-5"]), "ERR invalid expire time in 'set' command");
    assert_eq!(err(con, &["SET", "k", "v", "EX", "9223372036854775807"]), "ERR invalid expire time in 'set' command");
    assert_eq!(err(con, &["SET", "k"]), "ERR wrong number of arguments for 'set' command");
    // The same expiry option twice is accepted; the last one wins.
    assert_eq!(ok::<String>(con, &["SET", "twice", "v", "EX", "1", "EX", "100"]), "OK");
}

#[test]
fn set_expiry() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;

    assert_eq!(ok::<String>(con, &["SET", "px", "v", "PX", "100"]), "OK");
    assert_eq!(ok::<String>(con, &["SET", "exat", "v", "PXAT", &(now_ms + 100).to_string()]), "OK");
    assert_eq!(ok::<String>(con, &["SET", "kept", "v", "PX", "100"]), "OK");
    assert_eq!(ok::<String>(con, &["SET", "kept", "v2", "KEEPTTL"]), "OK");
    assert_eq!(ok::<String>(con, &["SET", "cleared", "v", "PX", "100"]), "OK");
    assert_eq!(ok::<String>(con, &["SET", "cleared", "v2"]), "OK");
    assert_eq!(ok::<String>(con, &["SET", "long", "v", "EX", "100"]), "OK");
    // An absolute time in the past leaves no key.
    assert_eq!(ok::<String>(con, &["SET", "past", "v"]), "OK");
    assert_eq!(ok::<String>(con, &["SET", "past", "v", "EXAT", "1"]), "OK");
    assert_eq!(get(con, "past"), None);

    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(get(con, "px"), None);
    assert_eq!(get(con, "exat"), None);
    assert_eq!(get(con, "kept"), None);
    assert_eq!(get(con, "cleared").as_deref(), Some("v2"));
    assert_eq!(get(con, "long").as_deref(), Some("v"));
}

#[test]
fn setnx_setex_getset_getdel() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<i64>(con, &["SETNX", "n", "1"]), 1);
    assert_eq!(ok::<i64>(con, &["SETNX", "n", "2"]), 0);
    assert_eq!(get(con, "n").as_deref(), Some("1"));

    assert_eq!(ok::<String>(con, &["SETEX", "e", "100", "v"]), "OK");
    assert_eq!(get(con, "e").as_deref(), Some("v"));
    assert_eq!(ok::<String>(con, &["PSETEX", "pe", "100", "v"]), "OK");
    assert_eq!(err(con, &["SETEX", "e", "0", "v"]), "ERR invalid expire time in 'setex' command");
    assert_eq!(err(con, &["PSETEX", "e", "-1", "v"]), "ERR invalid expire time in 'psetex' command");
    assert_eq!(err(con, &["SETEX", "e", "x", "v"]), "ERR value is not an integer or out of range");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(con, "pe"), None);

    assert_eq!(ok::<Option<String>>(con, &["GETSET", "gs", "a"]), None);
    assert_eq!(ok::<Option<String>>(con, &["GETSET", "gs", "b"]).as_deref(), Some("a"));
    assert_eq!(get(con, "gs").as_deref(), Some("b"));

    assert_eq!(ok::<Option<String>>(con, &["GETDEL", "gs"]).as_deref(), Some("b"));
    assert_eq!(ok::<Option<String>>(con, &["GETDEL", "gs"]), None);
    assert_eq!(ok::<i64>(con, &["EXISTS", "gs"]), 0);
}

#[test]
fn getex() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<Option<String>>(con, &["GETEX", "missing", "EX", "10"]), None);
    // The expiry is only checked once the key is known to exist.
    assert_eq!(ok::<Option<String>>(con, &["GETEX", "missing", "EX", "bad"]), None);

    ok::<String>(con, &["SET", "k", "v"]);
    assert_eq!(ok::<String>(con, &["GETEX", "k"]), "v");
    assert_eq!(ok::<String>(con, &["GETEX", "k", "PX", "100"]), "v");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(con, "k"), None);

    ok::<String>(con, &["SET", "p", "v", "PX", "100"]);
    assert_eq!(ok::<String>(con, &["GETEX", "p", "PERSIST"]), "v");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(get(con, "p").as_deref(), Some("v"));

    // An absolute time in the past deletes the key after replying with its value.
    assert_eq!(ok::<String>(con, &["GETEX", "p", "EXAT", "1"]), "v");
    assert_eq!(get(con, "p"), None);

    ok::<String>(con, &["SET", "k", "v"]);
    for bad in [
        &["GETEX", "k", "foo"][..],
        &["GETEX", "k", "EX", "10", "PERSIST"],
        &["GETEX", "k", "PERSIST", "EX", "10"],
        &["GETEX", "k", "EX", "10", "PX", "10"],
        &["GETEX", "k", "NX"],
        &["GETEX", "k", "KEEPTTL"],
        &["GETEX", "k", "EX"],
    ] {
        assert_eq!(err(con, bad), "ERR syntax error", "{bad:?}");
    }
    assert_eq!(err(con, &["GETEX", "k", "EX", "0"]), "ERR invalid expire time in 'getex' command");
    assert_eq!(err(con, &["GETEX", "k", "EX", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["GETEX"]), "ERR wrong number of arguments for 'getex' command");
}

#[test]
fn mget_mset_msetnx() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<String>(con, &["MSET", "a", "1", "b", "2"]), "OK");
    assert_eq!(
        ok::<Vec<Option<String>>>(con, &["MGET", "a", "nope", "b"]),
        vec![Some("1".into()), None, Some("2".into())]
    );
    assert_eq!(err(con, &["MSET", "a", "1", "b"]), "ERR wrong number of arguments for 'mset' command");
    assert_eq!(err(con, &["MSETNX", "a", "1", "b"]), "ERR wrong number of arguments for 'msetnx' command");

    assert_eq!(ok::<i64>(con, &["MSETNX", "x", "1", "a", "9"]), 0);
    assert_eq!(ok::<i64>(con, &["EXISTS", "x"]), 0);
    assert_eq!(get(con, "a").as_deref(), Some("1"));
    assert_eq!(ok::<i64>(con, &["MSETNX", "x", "1", "y", "2", "x", "3"]), 1);
    assert_eq!(ok::<Vec<String>>(con, &["MGET", "x", "y"]), vec!["3", "2"]);
}

#[test]
fn append_strlen_getrange_setrange() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<i64>(con, &["APPEND", "s", "Hello"]), 5);
    assert_eq!(ok::<i64>(con, &["APPEND", "s", " World"]), 11);
    assert_eq!(get(con, "s").as_deref(), Some("Hello World"));
    assert_eq!(ok::<i64>(con, &["STRLEN", "s"]), 11);
    assert_eq!(ok::<i64>(con, &["STRLEN", "missing"]), 0);

    assert_eq!(ok::<String>(con, &["GETRANGE", "s", "0", "3"]), "Hell");
    assert_eq!(ok::<String>(con, &["GETRANGE", "s", "-4", "-1"]), "orld");
    assert_eq!(ok::<String>(con, &["GETRANGE", "s", "5", "3"]), "");
    assert_eq!(ok::<String>(con, &["GETRANGE", "s", "-5000", "10000"]), "Hello World");
    assert_eq!(ok::<String>(con, &["GETRANGE", "s", "0", "4294967297"]), "Hello World");
    assert_eq!(ok::<String>(con, &["SUBSTR", "s", "6", "-1"]), "World");
    assert_eq!(ok::<String>(con, &["GETRANGE", "missing", "0", "-1"]), "");
    assert_eq!(err(con, &["GETRANGE", "s", "a", "1"]), "ERR value is not an integer or out of range");

    assert_eq!(ok::<i64>(con, &["SETRANGE", "s", "6", "Redis"]), 11);
    assert_eq!(get(con, "s").as_deref(), Some("Hello Redis"));
    assert_eq!(ok::<i64>(con, &["SETRANGE", "s", "0", ""]), 11);
    assert_eq!(ok::<i64>(con, &["SETRANGE", "s", "13", "!"]), 14);
    assert_eq!(get(con, "s").as_deref(), Some("Hello Redis\0\0!"));
    assert_eq!(ok::<i64>(con, &["SETRANGE", "n", "0", ""]), 0);
    assert_eq!(ok::<i64>(con, &["EXISTS", "n"]), 0);
    assert_eq!(ok::<i64>(con, &["SETRANGE", "n", "1", "foo"]), 4);
    assert_eq!(get(con, "n").as_deref(), Some("\0foo"));

    assert_eq!(err(con, &["SETRANGE", "s", "-1", "x"]), "ERR offset is out of range");
    for offset in ["536870908", "9223372036854775807"] {
        assert_eq!(
            err(con, &["SETRANGE", "s", offset, "world"]),
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        );
        assert_eq!(
            err(con, &["SETRANGE", "fresh", offset, "world"]),
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
        );
    }
    assert_eq!(ok::<i64>(con, &["EXISTS", "fresh"]), 0);
}

#[test]
fn append_respects_proto_max_bulk_len() {
    let server = common::Server::start(&["--proto-max-bulk-len", "1mb"]);
    let con = &mut server.conn();
    let half = "x".repeat(600 * 1024);
    assert_eq!(ok::<i64>(con, &["APPEND", "big", &half]), half.len() as i64);
    assert_eq!(err(con, &["APPEND", "big", &half]), "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_eq!(ok::<i64>(con, &["STRLEN", "big"]), half.len() as i64);
}

#[test]
fn incr_decr() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<i64>(con, &["INCR", "c"]), 1);
    assert_eq!(ok::<i64>(con, &["INCR", "c"]), 2);
    assert_eq!(ok::<i64>(con, &["DECR", "c"]), 1);
    assert_eq!(ok::<i64>(con, &["INCRBY", "c", "17179869184"]), 17179869185);
    assert_eq!(ok::<i64>(con, &["DECRBY", "c", "17179869186"]), -1);
    assert_eq!(get(con, "c").as_deref(), Some("-1"));
    assert_eq!(ok::<i64>(con, &["DECR", "fresh"]), -1);

    for bad in ["abc", " 11", "11 ", "1.5", "+1", "01", ""] {
        ok::<String>(con, &["SET", "s", bad]);
        assert_eq!(err(con, &["INCR", "s"]), "ERR value is not an integer or out of range", "{bad:?}");
    }
    assert_eq!(err(con, &["INCRBY", "c", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["INCRBY", "c", "9223372036854775808"]), "ERR value is not an integer or out of range");

    ok::<String>(con, &["SET", "max", "9223372036854775807"]);
    assert_eq!(err(con, &["INCR", "max"]), "ERR increment or decrement would overflow");
    ok::<String>(con, &["SET", "min", "-9223372036854775808"]);
    assert_eq!(err(con, &["DECR", "min"]), "ERR increment or decrement would overflow");
    assert_eq!(err(con, &["INCRBY", "min", "-1"]), "ERR increment or decrement would overflow");
    ok::<String>(con, &["SET", "zero", "0"]);
    assert_eq!(err(con, &["DECRBY", "zero", "-9223372036854775808"]), "ERR decrement would overflow");
    assert_eq!(get(con, "max").as_deref(), Some("9223372036854775807"));
}

#[test]
fn incrbyfloat() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<String>(con, &["INCRBYFLOAT", "f", "10.5"]), "10.5");
    assert_eq!(ok::<String>(con, &["INCRBYFLOAT", "f", "0.1"]), "10.6");
    assert_eq!(get(con, "f").as_deref(), Some("10.6"));
    assert_eq!(ok::<String>(con, &["INCRBYFLOAT", "f", "-10.6"]), "0");
    assert_eq!(ok::<String>(con, &["INCRBYFLOAT", "f", "5.0e3"]), "5000");
    // Large values are written out in full, never with an exponent.
    assert_eq!(ok::<String>(con, &["INCRBYFLOAT", "e", "1e20"]), "100000000000000000000");
    ok::<String>(con, &["SET", "big", "17179869184"]);
    assert_eq!(ok::<String>(con, &["INCRBYFLOAT", "big", "1.5"]), "17179869185.5");

    ok::<String>(con, &["SET", "g", "1"]);
    assert_eq!(err(con, &["INCRBYFLOAT", "g", "+inf"]), "ERR increment would produce NaN or Infinity");
    assert_eq!(err(con, &["INCRBYFLOAT", "g", "abc"]), "ERR value is not a valid float");
    assert_eq!(err(con, &["INCRBYFLOAT", "g", "nan"]), "ERR value is not a valid float");
    for bad in [" 11", "11 ", "x", "1\u{0}2"] {
        ok::<String>(con, &["SET", "s", bad]);
        assert_eq!(err(con, &["INCRBYFLOAT", "s", "1"]), "ERR value is not a valid float", "{bad:?}");
    }
    assert_eq!(get(con, "g").as_deref(), Some("1"));
}

#[test]
fn setbit_getbit() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();

    assert_eq!(ok::<i64>(con, &["SETBIT", "b", "1", "1"]), 0);
    assert_eq!(get(con, "b").as_deref(), Some("@"));
    assert_eq!(ok::<i64>(con, &["SETBIT", "b", "2", "1"]), 0);
    assert_eq!(ok::<i64>(con, &["SETBIT", "b", "1", "0"]), 1);
    assert_eq!(get(con, "b").as_deref(), Some(" "));
    assert_eq!(ok::<i64>(con, &["GETBIT", "b", "2"]), 1);
    assert_eq!(ok::<i64>(con, &["GETBIT", "b", "1"]), 0);
    assert_eq!(ok::<i64>(con, &["GETBIT", "b", "10000"]), 0);
    assert_eq!(ok::<i64>(con, &["GETBIT", "missing", "0"]), 0);
    assert_eq!(ok::<i64>(con, &["SETBIT", "b", "15", "1"]), 0);
    assert_eq!(ok::<i64>(con, &["STRLEN", "b"]), 2);

    for bad in ["-1", "4294967296", "x"] {
        assert_eq!(err(con, &["SETBIT", "b", bad, "1"]), "ERR bit offset is not an integer or out of range");
    }
    for bad in ["2", "-1", "x"] {
        assert_eq!(err(con, &["SETBIT", "b", "0", bad]), "ERR bit is not an integer or out of range");
    }
}

#[test]
fn lcs() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<String>(con, &["MSET", "a", "ohmytext", "b", "mynewtext"]);

    assert_eq!(ok::<String>(con, &["LCS", "a", "b"]), "mytext");
    assert_eq!(ok::<i64>(con, &["LCS", "a", "b", "LEN"]), 6);
    assert_eq!(ok::<String>(con, &["LCS", "a", "missing"]), "");

    let range = |a: i64, b: i64| Value::Array(vec![Value::Int(a), Value::Int(b)]);
    let reply = run(con, &["LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "2"]).unwrap();
    let expected = Value::Array(vec![
        Value::BulkString(b"matches".to_vec()),
        Value::Array(vec![
            Value::Array(vec![range(4, 7), range(5, 8), Value::Int(4)]),
            Value::Array(vec![range(2, 3), range(0, 1), Value::Int(2)]),
        ]),
        Value::BulkString(b"len".to_vec()),
        Value::Int(6),
    ]);
    assert_eq!(reply, expected);
    let reply = run(con, &["LCS", "a", "b", "IDX", "MINMATCHLEN", "3"]).unwrap();
    let Value::Array(items) = reply else { panic!("not an array") };
    assert_eq!(items[1], Value::Array(vec![Value::Array(vec![range(4, 7), range(5, 8)])]));

    assert_eq!(
        err(con, &["LCS", "a", "b", "IDX", "LEN"]),
        "ERR If you want both the length and indexes, please just use IDX."
    );
    assert_eq!(err(con, &["LCS", "a", "b", "FOO"]), "ERR syntax error");
    assert_eq!(err(con, &["LCS", "a", "b", "MINMATCHLEN", "x"]), "ERR value is not an integer or out of range");
}

#[test]
fn arity_errors() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    assert_all_wrong_arity(
        con,
        &[
            (&["GET"][..], "get"),
            (&["SETNX", "k"], "setnx"),
            (&["SETEX", "k", "1"], "setex"),
            (&["GETDEL"], "getdel"),
            (&["APPEND", "k"], "append"),
            (&["INCRBY", "k"], "incrby"),
            (&["SETRANGE", "k", "0"], "setrange"),
            (&["LCS", "a"], "lcs"),
        ],
    );
}
