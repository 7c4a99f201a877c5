//! Sorted set commands over TCP: replies, RESP3 shapes and error texts as Redis 7 gives them,
//! and blocking pops served across connections.

mod common;

use common::{
    assert_all_wrongtype, blocked_clients, bulk_strings, err, ok, run, spawn_command, spawn_resp3_waiter, strings,
    wait_blocked, WRONGTYPE,
};

use redis::{Connection, Value};
use std::thread;
use std::time::{Duration, Instant};

/// Sends commands as RESP on a fresh connection and returns the raw replies.
fn raw(server: &common::Server, commands: &[&[&str]]) -> String {
    let mut bytes = Vec::new();
    for words in commands {
        bytes.extend_from_slice(format!("*{}\r\n", words.len()).as_bytes());
        for w in *words {
            bytes.extend_from_slice(format!("${}\r\n{}\r\n", w.len(), w).as_bytes());
        }
    }
    String::from_utf8(server.raw(&bytes, Duration::from_millis(300))).unwrap()
}

#[test]
fn zadd_options_and_scores() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    assert_eq!(ok::<i64>(con, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]), 3);
    assert_eq!(ok::<i64>(con, &["ZADD", "z", "10", "a", "4", "d"]), 1);
    assert_eq!(ok::<i64>(con, &["ZADD", "z", "CH", "11", "a", "5", "e", "11", "a"]), 2);
    assert_eq!(ok::<i64>(con, &["ZADD", "z", "NX", "100", "a", "6", "f"]), 1);
    assert_eq!(ok::<String>(con, &["ZSCORE", "z", "a"]), "11");
    assert_eq!(ok::<i64>(con, &["ZADD", "z", "XX", "CH", "12", "a", "7", "g"]), 1);
    assert_eq!(ok::<Option<String>>(con, &["ZSCORE", "z", "g"]), None);
    assert_eq!(ok::<i64>(con, &["ZADD", "z", "GT", "CH", "1", "a", "20", "b"]), 1);
    assert_eq!(ok::<String>(con, &["ZSCORE", "z", "a"]), "12");
    assert_eq!(ok::<i64>(con, &["ZADD", "z", "LT", "CH", "1", "a"]), 1);
    assert_eq!(ok::<String>(con, &["ZADD", "z", "INCR", "2.5", "a"]), "3.5");
    assert_eq!(ok::<Option<String>>(con, &["ZADD", "z", "NX", "INCR", "1", "a"]), None);
    assert_eq!(ok::<Option<String>>(con, &["ZADD", "z", "GT", "INCR", "-1", "a"]), None);
    assert_eq!(ok::<String>(con, &["ZINCRBY", "z", "0.1", "a"]), "3.6000000000000001");
    assert_eq!(ok::<String>(con, &["ZINCRBY", "new", "5", "m"]), "5");
    assert_eq!(ok::<i64>(con, &["ZADD", "missing", "XX", "1", "a"]), 0);
    assert_eq!(ok::<i64>(con, &["EXISTS", "missing"]), 0);
    assert_eq!(ok::<i64>(con, &["ZADD", "inf", "inf", "a", "-inf", "b", "1e3", "c"]), 3);
    assert_eq!(strings(con, &["ZRANGE", "inf", "0", "-1", "WITHSCORES"]), ["b", "-inf", "c", "1000", "a", "inf"]);

    assert_eq!(err(con, &["ZADD", "z", "NX", "1"]), "ERR syntax error");
    assert_eq!(err(con, &["ZADD", "z", "1", "a", "2"]), "ERR syntax error");
    assert_eq!(
        err(con, &["ZADD", "z", "NX", "XX", "1", "a"]),
        "ERR XX and NX options at the same time are not compatible"
    );
    assert_eq!(
        err(con, &["ZADD", "z", "GT", "LT", "1", "a"]),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(
        err(con, &["ZADD", "z", "GT", "NX", "1", "a"]),
        "ERR GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(
        err(con, &["ZADD", "z", "INCR", "1", "a", "2", "b"]),
        "ERR INCR option supports a single increment-element pair"
    );
    assert_eq!(err(con, &["ZADD", "z", "x", "a"]), "ERR value is not a valid float");
    assert_eq!(err(con, &["ZADD", "z", "nan", "a"]), "ERR value is not a valid float");
    assert_eq!(err(con, &["ZADD", "z", "", "a"]), "ERR value is not a valid float");
    assert_eq!(err(con, &["ZADD", "z", "1e400", "a"]), "ERR value is not a valid float");
    assert_eq!(err(con, &["ZADD", "z"]), "ERR wrong number of arguments for 'zadd' command");
    assert_eq!(err(con, &["ZINCRBY", "inf", "-inf", "a"]), "ERR resulting score is not a number (NaN)");
    assert_eq!(err(con, &["ZINCRBY", "z", "x", "a"]), "ERR value is not a valid float");
    ok::<()>(con, &["SET", "s", "v"]);
    assert_eq!(err(con, &["ZADD", "s", "1", "a"]), WRONGTYPE);
    assert_eq!(err(con, &["ZINCRBY", "s", "1", "a"]), WRONGTYPE);
}

#[test]
fn reads_counts_and_ranks() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(ok::<i64>(con, &["ZCARD", "z"]), 4);
    assert_eq!(ok::<i64>(con, &["ZCARD", "none"]), 0);
    assert_eq!(
        ok::<Vec<Option<String>>>(con, &["ZMSCORE", "z", "a", "x", "d"]),
        [Some("1".into()), None, Some("4".into())]
    );
    assert_eq!(ok::<Vec<Option<String>>>(con, &["ZMSCORE", "none", "a"]), [None]);
    assert_eq!(ok::<i64>(con, &["ZCOUNT", "z", "2", "3"]), 2);
    assert_eq!(ok::<i64>(con, &["ZCOUNT", "z", "(2", "+inf"]), 2);
    assert_eq!(ok::<i64>(con, &["ZCOUNT", "z", "-inf", "(1"]), 0);
    assert_eq!(ok::<i64>(con, &["ZCOUNT", "z", "3", "2"]), 0);
    assert_eq!(err(con, &["ZCOUNT", "z", "a", "2"]), "ERR min or max is not a float");
    assert_eq!(ok::<i64>(con, &["ZRANK", "z", "c"]), 2);
    assert_eq!(ok::<i64>(con, &["ZREVRANK", "z", "c"]), 1);
    assert_eq!(ok::<Option<i64>>(con, &["ZRANK", "z", "x"]), None);
    let with: (i64, String) = ok(con, &["ZRANK", "z", "d", "WITHSCORE"]);
    assert_eq!(with, (3, "4".into()));
    let with: (i64, String) = ok(con, &["ZREVRANK", "z", "d", "withscore"]);
    assert_eq!(with, (0, "4".into()));
    assert_eq!(err(con, &["ZRANK", "z", "d", "WITHSCORES"]), "ERR syntax error");

    ok::<i64>(con, &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"]);
    assert_eq!(ok::<i64>(con, &["ZLEXCOUNT", "lex", "-", "+"]), 5);
    assert_eq!(ok::<i64>(con, &["ZLEXCOUNT", "lex", "[b", "(d"]), 2);
    assert_eq!(ok::<i64>(con, &["ZLEXCOUNT", "lex", "+", "-"]), 0);
    assert_eq!(err(con, &["ZLEXCOUNT", "lex", "b", "[d"]), "ERR min or max not valid string range item");

    ok::<()>(con, &["SET", "s", "v"]);
    assert_all_wrongtype(
        con,
        &[
            &["ZCARD", "s"],
            &["ZSCORE", "s", "a"],
            &["ZMSCORE", "s", "a"],
            &["ZCOUNT", "s", "0", "1"],
            &["ZRANK", "s", "a"],
            &["ZRANGE", "s", "0", "-1"],
            &["ZRANDMEMBER", "s"],
            &["ZSCAN", "s", "0"],
        ],
    );
}

#[test]
fn zrange_forms() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
    assert_eq!(strings(con, &["ZRANGE", "z", "0", "-1"]), ["a", "b", "c", "d", "e"]);
    assert_eq!(strings(con, &["ZRANGE", "z", "-2", "100"]), ["d", "e"]);
    assert_eq!(strings(con, &["ZRANGE", "z", "3", "1"]), Vec::<String>::new());
    assert_eq!(strings(con, &["ZRANGE", "z", "0", "1", "REV", "WITHSCORES"]), ["e", "5", "d", "4"]);
    assert_eq!(strings(con, &["ZREVRANGE", "z", "1", "2"]), ["d", "c"]);
    assert_eq!(strings(con, &["ZRANGE", "z", "(1", "3", "BYSCORE"]), ["b", "c"]);
    assert_eq!(strings(con, &["ZRANGE", "z", "+inf", "(3", "BYSCORE", "REV", "LIMIT", "1", "5"]), ["d"]);
    assert_eq!(strings(con, &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2"]), ["b", "c"]);
    assert_eq!(strings(con, &["ZRANGEBYSCORE", "z", "2", "4", "WITHSCORES"]), ["b", "2", "c", "3", "d", "4"]);
    assert_eq!(strings(con, &["ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "-1", "2"]), Vec::<String>::new());
    assert_eq!(strings(con, &["ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "3", "-1"]), ["d", "e"]);
    assert_eq!(strings(con, &["ZREVRANGEBYSCORE", "z", "4", "2"]), ["d", "c", "b"]);
    assert_eq!(strings(con, &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "0", "2"]), ["e", "d"]);
    assert_eq!(strings(con, &["ZRANGE", "none", "0", "-1"]), Vec::<String>::new());

    ok::<i64>(con, &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"]);
    assert_eq!(strings(con, &["ZRANGEBYLEX", "lex", "[b", "+"]), ["b", "c", "d"]);
    assert_eq!(strings(con, &["ZRANGEBYLEX", "lex", "-", "(c", "LIMIT", "1", "1"]), ["b"]);
    assert_eq!(strings(con, &["ZREVRANGEBYLEX", "lex", "+", "(b"]), ["d", "c"]);
    assert_eq!(strings(con, &["ZRANGE", "lex", "[a", "[b", "BYLEX"]), ["a", "b"]);
    assert_eq!(strings(con, &["ZRANGE", "lex", "[c", "-", "BYLEX", "REV"]), ["c", "b", "a"]);

    assert_eq!(
        err(con, &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"]),
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    assert_eq!(
        err(con, &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"]),
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    );
    assert_eq!(err(con, &["ZREVRANGE", "z", "0", "-1", "BYSCORE"]), "ERR syntax error");
    assert_eq!(err(con, &["ZRANGEBYSCORE", "z", "0", "-1", "REV"]), "ERR syntax error");
    assert_eq!(err(con, &["ZRANGEBYSCORE", "z", "x", "1"]), "ERR min or max is not a float");
    assert_eq!(err(con, &["ZRANGEBYSCORE", "z", "1", "nan"]), "ERR min or max is not a float");
    assert_eq!(err(con, &["ZRANGEBYLEX", "z", "a", "+"]), "ERR min or max not valid string range item");
    assert_eq!(err(con, &["ZRANGE", "z", "a", "1"]), "ERR value is not an integer or out of range");

    assert_eq!(ok::<i64>(con, &["ZRANGESTORE", "dst", "z", "1", "3", "BYSCORE", "LIMIT", "1", "5"]), 2);
    assert_eq!(strings(con, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]), ["b", "2", "c", "3"]);
    assert_eq!(ok::<i64>(con, &["ZRANGESTORE", "dst", "z", "10", "20", "BYSCORE"]), 0);
    assert_eq!(ok::<i64>(con, &["EXISTS", "dst"]), 0);
    assert_eq!(err(con, &["ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"]), "ERR syntax error");
}

#[test]
fn removals_and_pops() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"]);
    assert_eq!(ok::<i64>(con, &["ZREM", "z", "a", "x", "b"]), 2);
    assert_eq!(ok::<i64>(con, &["ZREMRANGEBYSCORE", "z", "(3", "4"]), 1);
    assert_eq!(ok::<i64>(con, &["ZREMRANGEBYRANK", "z", "-1", "-1"]), 1);
    assert_eq!(strings(con, &["ZRANGE", "z", "0", "-1"]), ["c", "e"]);
    assert_eq!(err(con, &["ZREMRANGEBYSCORE", "z", "x", "1"]), "ERR min or max is not a float");
    assert_eq!(err(con, &["ZREMRANGEBYRANK", "z", "x", "1"]), "ERR value is not an integer or out of range");
    assert_eq!(ok::<i64>(con, &["ZREM", "z", "c", "e"]), 2);
    assert_eq!(ok::<i64>(con, &["EXISTS", "z"]), 0, "an emptied set is deleted");

    ok::<i64>(con, &["ZADD", "lex", "0", "a", "0", "b", "0", "c"]);
    assert_eq!(ok::<i64>(con, &["ZREMRANGEBYLEX", "lex", "(a", "+"]), 2);
    assert_eq!(err(con, &["ZREMRANGEBYLEX", "lex", "a", "+"]), "ERR min or max not valid string range item");

    ok::<i64>(con, &["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(strings(con, &["ZPOPMIN", "p"]), ["a", "1"]);
    assert_eq!(strings(con, &["ZPOPMAX", "p", "2"]), ["d", "4", "c", "3"]);
    assert_eq!(strings(con, &["ZPOPMIN", "p", "0"]), Vec::<String>::new());
    assert_eq!(strings(con, &["ZPOPMIN", "none"]), Vec::<String>::new());
    assert_eq!(err(con, &["ZPOPMIN", "p", "-1"]), "ERR value is out of range, must be positive");
    assert_eq!(err(con, &["ZPOPMIN", "p", "1", "2"]), "ERR syntax error");
    assert_eq!(strings(con, &["ZPOPMAX", "p", "10"]), ["b", "2"]);
    assert_eq!(ok::<i64>(con, &["EXISTS", "p"]), 0);

    ok::<i64>(con, &["ZADD", "m2", "1", "a", "2", "b", "3", "c"]);
    let popped: (String, Vec<(String, String)>) = ok(con, &["ZMPOP", "2", "m1", "m2", "MAX", "COUNT", "2"]);
    assert_eq!(popped, ("m2".into(), vec![("c".into(), "3".into()), ("b".into(), "2".into())]));
    assert_eq!(ok::<Option<Vec<String>>>(con, &["ZMPOP", "1", "m1", "MIN"]), None);
    assert_eq!(err(con, &["ZMPOP", "0", "m1", "MIN"]), "ERR numkeys should be greater than 0");
    assert_eq!(err(con, &["ZMPOP", "1", "m1", "MIN", "COUNT", "0"]), "ERR count should be greater than 0");
    assert_eq!(err(con, &["ZMPOP", "1", "m1", "LEFT"]), "ERR syntax error");
    assert_eq!(err(con, &["ZMPOP", "3", "m1", "MIN"]), "ERR syntax error");
    ok::<()>(con, &["SET", "s", "v"]);
    assert_eq!(err(con, &["ZMPOP", "2", "m1", "s", "MIN"]), WRONGTYPE);
    assert_eq!(err(con, &["ZPOPMIN", "s"]), WRONGTYPE);
    assert_eq!(err(con, &["ZREM", "s", "a"]), WRONGTYPE);
    assert_eq!(err(con, &["ZREMRANGEBYRANK", "s", "0", "1"]), WRONGTYPE);
}

#[test]
fn random_members() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    let one: String = ok(con, &["ZRANDMEMBER", "z"]);
    assert!(["a", "b", "c"].contains(&one.as_str()));
    let mut distinct = strings(con, &["ZRANDMEMBER", "z", "2"]);
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 2);
    assert_eq!(strings(con, &["ZRANDMEMBER", "z", "10"]).len(), 3);
    assert_eq!(strings(con, &["ZRANDMEMBER", "z", "-10"]).len(), 10);
    let pairs = strings(con, &["ZRANDMEMBER", "z", "-4", "WITHSCORES"]);
    assert_eq!(pairs.len(), 8);
    for p in pairs.chunks(2) {
        assert_eq!(ok::<String>(con, &["ZSCORE", "z", &p[0]]), p[1]);
    }
    assert_eq!(strings(con, &["ZRANDMEMBER", "z", "0"]), Vec::<String>::new());
    assert_eq!(ok::<Option<String>>(con, &["ZRANDMEMBER", "none"]), None);
    assert_eq!(err(con, &["ZRANDMEMBER", "z", "1", "x"]), "ERR syntax error");
    assert!(err(con, &["ZRANDMEMBER", "z", "-9223372036854775808"]).starts_with("ERR value is out of range"));
}

#[test]
fn set_operations() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    ok::<i64>(con, &["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
    assert_eq!(strings(con, &["ZUNION", "2", "a", "b", "WITHSCORES"]), ["x", "1", "y", "12", "z", "23", "w", "30"]);
    assert_eq!(strings(con, &["ZINTER", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"]), ["y", "10", "z", "20"]);
    assert_eq!(strings(con, &["ZINTER", "2", "a", "b", "WEIGHTS", "2", "0.5", "WITHSCORES"]), ["y", "9", "z", "16"]);
    assert_eq!(strings(con, &["ZDIFF", "2", "a", "b", "WITHSCORES"]), ["x", "1"]);
    assert_eq!(strings(con, &["ZUNION", "2", "a", "none", "AGGREGATE", "MIN"]), ["x", "y", "z"]);
    assert_eq!(ok::<i64>(con, &["ZINTERCARD", "2", "a", "b"]), 2);
    assert_eq!(ok::<i64>(con, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]), 1);
    assert_eq!(ok::<i64>(con, &["ZINTERCARD", "2", "a", "none"]), 0);
    assert_eq!(ok::<i64>(con, &["ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "-1"]), 4);
    assert_eq!(
        strings(con, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        ["w", "-30", "z", "-17", "y", "-8", "x", "1"]
    );
    assert_eq!(ok::<i64>(con, &["ZINTERSTORE", "dst", "2", "a", "b"]), 2);
    assert_eq!(ok::<i64>(con, &["ZDIFFSTORE", "dst", "2", "a", "a"]), 0);
    assert_eq!(ok::<i64>(con, &["EXISTS", "dst"]), 0);
    ok::<i64>(con, &["ZADD", "inf", "inf", "x"]);
    ok::<i64>(con, &["ZADD", "ninf", "-inf", "x"]);
    assert_eq!(strings(con, &["ZUNION", "2", "inf", "ninf", "WITHSCORES"]), ["x", "0"]);
    assert_eq!(strings(con, &["ZUNION", "1", "inf", "WEIGHTS", "0", "WITHSCORES"]), ["x", "0"]);

    assert_eq!(err(con, &["ZUNION", "0", "a"]), "ERR at least 1 input key is needed for 'zunion' command");
    assert_eq!(
        err(con, &["ZINTERSTORE", "d", "0", "a"]),
        "ERR at least 1 input key is needed for 'zinterstore' command"
    );
    assert_eq!(err(con, &["ZUNION", "3", "a", "b"]), "ERR syntax error");
    assert_eq!(err(con, &["ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"]), "ERR weight value is not a float");
    assert_eq!(err(con, &["ZUNION", "2", "a", "b", "AGGREGATE", "AVG"]), "ERR syntax error");
    assert_eq!(err(con, &["ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"]), "ERR syntax error");
    assert_eq!(err(con, &["ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"]), "ERR syntax error");
    assert_eq!(err(con, &["ZINTERCARD", "1", "a", "LIMIT", "-1"]), "ERR LIMIT can't be negative");
    assert_eq!(err(con, &["ZINTERCARD", "1", "a", "WITHSCORES"]), "ERR syntax error");
    ok::<()>(con, &["SET", "s", "v"]);
    assert_eq!(err(con, &["ZUNION", "2", "a", "s"]), WRONGTYPE);
    assert_eq!(err(con, &["ZINTERCARD", "2", "s", "a"]), WRONGTYPE);
}

#[test]
fn scan_small_and_big() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "small", "1", "foo", "2", "fab", "3.5", "bar"]);
    let (cursor, items): (String, Vec<String>) = ok(con, &["ZSCAN", "small", "0", "MATCH", "f*"]);
    assert_eq!(cursor, "0");
    assert_eq!(items, ["foo", "1", "fab", "2"]);
    let (cursor, items): (String, Vec<String>) = ok(con, &["ZSCAN", "none", "0"]);
    assert_eq!((cursor.as_str(), items.len()), ("0", 0));
    assert_eq!(err(con, &["ZSCAN", "small", "x"]), "ERR invalid cursor");
    assert_eq!(err(con, &["ZSCAN", "small", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(err(con, &["ZSCAN", "small", "0", "TYPE", "zset"]), "ERR syntax error");

    let mut args = vec!["ZADD".to_string(), "big".into()];
    for i in 0..1000 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    ok::<i64>(con, &words);
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "big"]), "skiplist");
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    for round in 0..10_000 {
        let (next, items): (String, Vec<String>) = ok(con, &["ZSCAN", "big", &cursor, "COUNT", "20"]);
        for pair in items.chunks(2) {
            assert_eq!(format!("m{}", pair[1]), pair[0]);
            seen.insert(pair[0].clone());
        }
        // Members come and go while the scan runs; the ones that stay must all be seen.
        let extra = format!("extra{round}");
        ok::<i64>(con, &["ZADD", "big", "-1", &extra]);
        ok::<i64>(con, &["ZREM", "big", &extra]);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(cursor, "0");
    assert_eq!((0..1000).filter(|i| seen.contains(&format!("m{i}"))).count(), 1000);
}

#[test]
fn encodings_and_generic_key_commands() {
    let server = common::Server::start(&["--zset-max-listpack-entries", "4", "--zset-max-listpack-value", "8"]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "z"]), "listpack");
    ok::<i64>(con, &["ZADD", "z", "5", "e"]);
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "z"]), "skiplist");
    ok::<i64>(con, &["ZADD", "long", "1", "a-member-longer-than-8"]);
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "long"]), "skiplist");
    // Stored results take the encoding their size calls for.
    ok::<i64>(con, &["ZRANGESTORE", "part", "z", "0", "1"]);
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "part"]), "listpack");

    assert_eq!(ok::<String>(con, &["TYPE", "z"]), "zset");
    ok::<()>(con, &["SET", "str", "v"]);
    let (_, keys): (String, Vec<String>) = ok(con, &["SCAN", "0", "TYPE", "zset", "COUNT", "100"]);
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, ["long", "part", "z"]);
    assert_eq!(ok::<i64>(con, &["COPY", "z", "z2"]), 1);
    ok::<i64>(con, &["ZADD", "z2", "100", "a"]);
    assert_eq!(ok::<String>(con, &["ZSCORE", "z", "a"]), "1", "a copy is independent");
    assert_eq!(ok::<String>(con, &["ZSCORE", "z2", "a"]), "100");
    ok::<()>(con, &["RENAME", "z2", "z3"]);
    assert_eq!(ok::<i64>(con, &["ZCARD", "z3"]), 5);
    assert_eq!(ok::<i64>(con, &["EXISTS", "z2"]), 0);
    assert_eq!(ok::<i64>(con, &["DEL", "z3", "part"]), 2);
    assert_eq!(ok::<i64>(con, &["PEXPIRE", "z", "50"]), 1);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(ok::<i64>(con, &["ZCARD", "z"]), 0);
    assert_eq!(ok::<i64>(con, &["EXISTS", "z"]), 0);
}

#[test]
fn resp3_doubles_and_pairs() {
    let server = common::Server::start(&[]);
    let out = raw(
        &server,
        &[
            &["HELLO", "3"],
            &["ECHO", "start"],
            &["ZADD", "z", "1.5", "a", "2", "b"],
            &["ZSCORE", "z", "a"],
            &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            &["ZPOPMIN", "z"],
            &["ZADD", "z", "1", "a"],
            &["ZPOPMAX", "z", "1"],
            &["ZMSCORE", "z", "a", "x"],
            &["ZINCRBY", "z", "inf", "a"],
        ],
    );
    let marker = "$5\r\nstart\r\n";
    let after_hello = &out[out.find(marker).expect("ECHO reply") + marker.len()..];
    assert_eq!(
        after_hello,
        ":2\r\n,1.5\r\n*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\na\r\n,1.5\r\n:1\r\n\
         *1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n,1\r\n_\r\n,inf\r\n"
    );
    // RESP2: scores are bulk strings, pairs are flat.
    let out = raw(&server, &[&["ZADD", "r", "0.1", "a"], &["ZRANGE", "r", "0", "-1", "WITHSCORES"]]);
    assert_eq!(out, ":1\r\n*2\r\n$1\r\na\r\n$19\r\n0.10000000000000001\r\n");
}

/// A sliding-window rate limiter as applications build it: each request is a member scored by
/// its timestamp; a transaction drops the entries older than the window, adds the new one and
/// counts what is left.
#[test]
fn sliding_window_rate_limiter() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let window_ms = 1000i64;
    let limit = 5;
    let mut allowed = 0;
    let request = |con: &mut Connection, now_ms: i64, id: i64| -> bool {
        let (_, _, count, _): (i64, i64, i64, i64) = redis::pipe()
            .atomic()
            .cmd("ZREMRANGEBYSCORE")
            .arg("rl:user1")
            .arg("-inf")
            .arg(format!("({}", now_ms - window_ms))
            .cmd("ZADD")
            .arg("rl:user1")
            .arg(now_ms)
            .arg(format!("req-{id}"))
            .cmd("ZCARD")
            .arg("rl:user1")
            .cmd("PEXPIRE")
            .arg("rl:user1")
            .arg(window_ms)
            .query(con)
            .expect("EXEC");
        count <= limit
    };
    // Eight requests 100 ms apart: the first five pass, the next three are over the limit.
    for i in 0..8 {
        if request(con, 10_000 + i * 100, i) {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 5);
    // 1.5 s later the early requests left the window.
    assert!(request(con, 11_500, 100));
    assert_eq!(ok::<i64>(con, &["ZCOUNT", "rl:user1", "10500", "+inf"]), 4);
    assert_eq!(strings(con, &["ZRANGE", "rl:user1", "0", "0"]), ["req-5"]);
    let ttl: i64 = ok(con, &["PTTL", "rl:user1"]);
    assert!(ttl > 0 && ttl <= window_ms);
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn blocking_pops_answer_at_once_when_a_set_exists() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(strings(con, &["BZPOPMIN", "missing", "z", "0"]), ["z", "a", "1"]);
    assert_eq!(strings(con, &["BZPOPMAX", "z", "0"]), ["z", "c", "3"]);
    let v = run(con, &["BZMPOP", "0", "2", "missing", "z", "MIN", "COUNT", "5"]).unwrap();
    assert_eq!(v, Value::Array(vec![bulk("z"), Value::Array(vec![Value::Array(vec![bulk("b"), bulk("2")])])]));
    assert_eq!(ok::<i64>(con, &["EXISTS", "z"]), 0);

    ok::<String>(con, &["SET", "s", "x"]);
    assert_eq!(err(con, &["BZPOPMIN", "s", "0"]), WRONGTYPE);
    assert_eq!(err(con, &["BZMPOP", "0", "1", "s", "MAX"]), WRONGTYPE);
    assert_eq!(err(con, &["BZPOPMIN", "z", "abc"]), "ERR timeout is not a float or out of range");
    assert_eq!(err(con, &["BZPOPMAX", "z", "-1"]), "ERR timeout is negative");
    assert_eq!(err(con, &["BZMPOP", "0", "0", "z", "MIN"]), "ERR numkeys should be greater than 0");
    assert_eq!(err(con, &["BZMPOP", "0", "1", "z", "LEFT"]), "ERR syntax error");
    assert_eq!(err(con, &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "0"]), "ERR count should be greater than 0");
    // The pop's arguments are checked before the timeout.
    assert_eq!(err(con, &["BZMPOP", "x", "1", "z", "MIN", "COUNT", "0"]), "ERR count should be greater than 0");
    assert_eq!(err(con, &["BZMPOP", "x", "1", "z", "MIN"]), "ERR timeout is not a float or out of range");
    assert_eq!(err(con, &["BZPOPMIN", "z"]), "ERR wrong number of arguments for 'bzpopmin' command");
    assert_eq!(err(con, &["BZMPOP", "0", "1", "z"]), "ERR wrong number of arguments for 'bzmpop' command");
}

#[test]
fn blocking_pops_time_out_with_a_null() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let started = Instant::now();
    assert_eq!(run(con, &["BZPOPMIN", "empty", "0.2"]).unwrap(), Value::Nil);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(run(con, &["BZPOPMAX", "empty", "0.05"]).unwrap(), Value::Nil);
    assert_eq!(run(con, &["BZMPOP", "0.05", "1", "empty", "MAX"]).unwrap(), Value::Nil);
    assert_eq!(blocked_clients(con), 0);
    let (a, b): (Value, String) =
        redis::pipe().cmd("BZPOPMIN").arg("empty").arg("0.05").cmd("PING").query(con).unwrap();
    assert_eq!((a, b.as_str()), (Value::Nil, "PONG"));
}

#[test]
fn waiters_are_served_in_arrival_order_by_another_client() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let first = spawn_command(&server, &["BZPOPMIN", "other", "z", "5"]);
    wait_blocked(con, 1);
    let second = spawn_command(&server, &["BZPOPMAX", "z", "5"]);
    wait_blocked(con, 2);
    let third = spawn_command(&server, &["BZMPOP", "5", "1", "z", "MIN", "COUNT", "2"]);
    wait_blocked(con, 3);
    ok::<i64>(con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
    assert_eq!(bulk_strings(first.join().unwrap().unwrap()), ["z", "a", "1"]);
    assert_eq!(bulk_strings(second.join().unwrap().unwrap()), ["z", "e", "5"]);
    let v = third.join().unwrap().unwrap();
    let pair = |m: &str, s: &str| Value::Array(vec![bulk(m), bulk(s)]);
    assert_eq!(v, Value::Array(vec![bulk("z"), Value::Array(vec![pair("b", "2"), pair("c", "3")])]));
    assert_eq!(strings(con, &["ZRANGE", "z", "0", "-1"]), ["d"]);
    assert_eq!(blocked_clients(con), 0);
}

#[test]
fn every_way_of_creating_a_set_wakes_waiters() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "src", "1", "a", "2", "b"]);
    let cases: &[&[&str]] = &[
        &["ZINCRBY", "w", "7", "m"],
        &["ZUNIONSTORE", "w", "1", "src"],
        &["ZINTERSTORE", "w", "1", "src"],
        &["ZDIFFSTORE", "w", "1", "src"],
        &["ZRANGESTORE", "w", "src", "0", "0"],
        &["COPY", "src", "w"],
    ];
    for case in cases {
        let waiter = spawn_command(&server, &["BZPOPMIN", "w", "5"]);
        wait_blocked(con, 1);
        run(con, case).unwrap();
        let got = bulk_strings(waiter.join().unwrap().unwrap());
        assert_eq!(got[0], "w", "{case:?}");
        ok::<i64>(con, &["DEL", "w"]);
    }
    // RENAME and MOVE carry the set to the watched key.
    let waiter = spawn_command(&server, &["BZPOPMAX", "w", "5"]);
    wait_blocked(con, 1);
    ok::<String>(con, &["RENAME", "src", "w"]);
    assert_eq!(bulk_strings(waiter.join().unwrap().unwrap()), ["w", "b", "2"]);
    let mut other_db = server.conn();
    ok::<String>(&mut other_db, &["SELECT", "1"]);
    let waiter = thread::spawn(move || run(&mut other_db, &["BZPOPMIN", "w", "5"]));
    wait_blocked(con, 1);
    ok::<i64>(con, &["MOVE", "w", "1"]);
    assert_eq!(bulk_strings(waiter.join().unwrap().unwrap()), ["w", "a", "1"]);
}

#[test]
fn list_and_set_waiters_on_one_key_wait_for_their_kind() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let list_waiter = spawn_command(&server, &["BLPOP", "k", "5"]);
    wait_blocked(con, 1);
    let zset_waiter = spawn_command(&server, &["BZPOPMIN", "k", "5"]);
    wait_blocked(con, 2);
    ok::<i64>(con, &["ZADD", "k", "1", "a"]);
    assert_eq!(bulk_strings(zset_waiter.join().unwrap().unwrap()), ["k", "a", "1"]);
    assert_eq!(blocked_clients(con), 1, "the list waiter still waits");
    ok::<i64>(con, &["RPUSH", "k", "x"]);
    assert_eq!(bulk_strings(list_waiter.join().unwrap().unwrap()), ["k", "x"]);
}

#[test]
fn inside_multi_blocking_pops_do_not_block() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<String>(con, &["MULTI"]);
    ok::<String>(con, &["BZPOPMIN", "none", "0"]);
    ok::<String>(con, &["BZMPOP", "0", "1", "none", "MIN"]);
    ok::<String>(con, &["ZADD", "z", "1", "a"]);
    ok::<String>(con, &["BZPOPMAX", "z", "0"]);
    let replies: Vec<Value> = ok(con, &["EXEC"]);
    assert_eq!(replies, [Value::Nil, Value::Nil, Value::Int(1), Value::Array(vec![bulk("z"), bulk("a"), bulk("1")])]);

    // A set created and popped inside one transaction leaves the waiter blocked; EXEC that
    // leaves a set wakes it.
    let waiter = spawn_command(&server, &["BZPOPMIN", "z", "5"]);
    wait_blocked(con, 1);
    ok::<String>(con, &["MULTI"]);
    ok::<String>(con, &["ZADD", "z", "1", "a", "2", "b"]);
    ok::<String>(con, &["ZPOPMIN", "z"]);
    ok::<Vec<Value>>(con, &["EXEC"]);
    assert_eq!(bulk_strings(waiter.join().unwrap().unwrap()), ["z", "b", "2"]);
}

#[test]
fn resp3_waiter_gets_a_double_score() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let handle = spawn_resp3_waiter(&server, b"BZPOPMAX z 5\r\n", b",1.5\r\n");
    wait_blocked(con, 1);
    ok::<i64>(con, &["ZADD", "z", "1.5", "m"]);
    assert_eq!(handle.join().unwrap(), b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n,1.5\r\n");
}

#[test]
fn plain_sets_are_inputs_scoring_one() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    ok::<i64>(con, &["SADD", "ints", "1", "2"]);
    ok::<i64>(con, &["SADD", "s", "b", "c", "d"]);
    assert_eq!(
        strings(con, &["ZUNION", "2", "z", "s", "WEIGHTS", "1", "10", "WITHSCORES"]),
        ["a", "1", "d", "10", "b", "12", "c", "13"]
    );
    assert_eq!(strings(con, &["ZINTER", "2", "s", "z", "AGGREGATE", "MAX", "WITHSCORES"]), ["b", "2", "c", "3"]);
    assert_eq!(strings(con, &["ZDIFF", "2", "s", "z", "WITHSCORES"]), ["d", "1"]);
    assert_eq!(
        strings(con, &["ZUNION", "2", "ints", "s", "WITHSCORES"]),
        ["1", "1", "2", "1", "b", "1", "c", "1", "d", "1"]
    );
    assert_eq!(ok::<i64>(con, &["ZINTERCARD", "2", "z", "s"]), 2);
    assert_eq!(ok::<i64>(con, &["ZUNIONSTORE", "dst", "2", "s", "ints"]), 5);
    assert_eq!(ok::<String>(con, &["TYPE", "dst"]), "zset");
    assert_eq!(ok::<i64>(con, &["ZINTERSTORE", "dst", "1", "s"]), 3);
    assert_eq!(strings(con, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]), ["b", "1", "c", "1", "d", "1"]);
    assert_eq!(ok::<i64>(con, &["ZDIFFSTORE", "dst", "2", "s", "z"]), 1);
    // Other kinds are still refused.
    ok::<i64>(con, &["RPUSH", "l", "a"]);
    assert_eq!(err(con, &["ZUNION", "2", "z", "l"]), WRONGTYPE);
    assert_eq!(err(con, &["ZINTERSTORE", "dst", "2", "s", "l"]), WRONGTYPE);
}
