//! SORT and SORT_RO over TCP: every option, the error texts, BY/GET with strings and hash
//! fields, STORE (replacing, deleting, waking blocked clients, inside MULTI, under WATCH and
//! tenant quotas) and the keys COMMAND GETKEYS reports.

mod common;

use common::{assert_ok, err, ok, run, spawn_command, strings, wait_blocked, Raw, Server, WRONGTYPE};
use redis::{Connection, Value};

/// Elements with a nil reply kept as `None`.
fn optional(con: &mut Connection, words: &[&str]) -> Vec<Option<String>> {
    ok(con, words)
}

const NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";

#[test]
fn numeric_alpha_desc_and_limit() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["RPUSH", "l", "3", "1.5", "-2", "10", "1e1", "0"]);
    // Equal weights (10 and 1e1) fall back to byte order.
    assert_eq!(strings(con, &["SORT", "l"]), ["-2", "0", "1.5", "3", "10", "1e1"]);
    assert_eq!(strings(con, &["SORT", "l", "DESC"]), ["1e1", "10", "3", "1.5", "0", "-2"]);
    assert_eq!(strings(con, &["SORT", "l", "ALPHA"]), ["-2", "0", "1.5", "10", "1e1", "3"]);
    assert_eq!(strings(con, &["sort", "l", "alpha", "desc", "asc"]), ["-2", "0", "1.5", "10", "1e1", "3"]);
    assert_eq!(strings(con, &["SORT", "l", "LIMIT", "1", "2"]), ["0", "1.5"]);
    assert_eq!(strings(con, &["SORT", "l", "LIMIT", "4", "100"]), ["10", "1e1"]);
    assert_eq!(strings(con, &["SORT", "l", "LIMIT", "-5", "1"]), ["-2"]);
    assert_eq!(strings(con, &["SORT", "l", "LIMIT", "0", "-1"]).len(), 6);
    assert!(strings(con, &["SORT", "l", "LIMIT", "6", "1"]).is_empty());
    assert!(strings(con, &["SORT", "l", "LIMIT", "0", "0"]).is_empty());
    assert_eq!(strings(con, &["SORT", "l", "LIMIT", "2", "9223372036854775807"]).len(), 4);
    // The last LIMIT wins.
    assert_eq!(strings(con, &["SORT", "l", "LIMIT", "0", "1", "LIMIT", "5", "1"]), ["1e1"]);

    ok::<i64>(con, &["SADD", "s", "5", "3", "40", "1"]);
    assert_eq!(strings(con, &["SORT", "s"]), ["1", "3", "5", "40"]);
    assert_eq!(strings(con, &["SORT", "s", "ALPHA", "DESC"]), ["5", "40", "3", "1"]);
    ok::<i64>(con, &["SADD", "names", "bob", "alice", "carol"]);
    assert_eq!(strings(con, &["SORT", "names", "ALPHA"]), ["alice", "bob", "carol"]);

    // A sorted set without BY sorts its members, not its scores.
    ok::<i64>(con, &["ZADD", "z", "1", "30", "2", "10", "3", "20"]);
    assert_eq!(strings(con, &["SORT", "z"]), ["10", "20", "30"]);
    assert_eq!(strings(con, &["SORT", "z", "DESC", "LIMIT", "0", "2"]), ["30", "20"]);

    // A missing key sorts as empty, with or without options.
    assert!(strings(con, &["SORT", "nokey"]).is_empty());
    assert!(strings(con, &["SORT", "nokey", "BY", "w_*", "GET", "#", "LIMIT", "0", "5"]).is_empty());
    assert!(strings(con, &["SORT_RO", "nokey", "ALPHA"]).is_empty());
}

#[test]
fn errors() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    ok::<String>(con, &["SET", "str", "x"]);
    ok::<i64>(con, &["HSET", "h", "f", "v"]);
    assert_eq!(err(con, &["SORT", "str"]), WRONGTYPE);
    assert_eq!(err(con, &["SORT", "h", "ALPHA"]), WRONGTYPE);
    assert_eq!(err(con, &["SORT_RO", "str"]), WRONGTYPE);
    assert_eq!(err(con, &["SORT"]), "ERR wrong number of arguments for 'sort' command");
    assert_eq!(err(con, &["SORT_RO"]), "ERR wrong number of arguments for 'sort_ro' command");
    // Option errors come before the type check, as in Redis.
    assert_eq!(err(con, &["SORT", "str", "bogus"]), "ERR syntax error");
    assert_eq!(err(con, &["SORT", "l", "LIMIT", "1"]), "ERR syntax error");
    assert_eq!(err(con, &["SORT", "l", "BY"]), "ERR syntax error");
    assert_eq!(err(con, &["SORT", "l", "GET"]), "ERR syntax error");
    assert_eq!(err(con, &["SORT", "l", "STORE"]), "ERR syntax error");
    assert_eq!(err(con, &["SORT", "l", "LIMIT", "x", "1"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["SORT", "l", "LIMIT", "0", "1.5"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["SORT_RO", "l", "STORE", "dst"]), "ERR syntax error");

    ok::<i64>(con, &["SADD", "bad", "1", "2", "not-a-double"]);
    assert_eq!(err(con, &["SORT", "bad"]), NOT_DOUBLE);
    assert_eq!(strings(con, &["SORT", "bad", "ALPHA"]), ["1", "2", "not-a-double"]);
    ok::<i64>(con, &["RPUSH", "nan", "1", "nan"]);
    assert_eq!(err(con, &["SORT", "nan"]), NOT_DOUBLE);
    // An erroring sort stores nothing: the destination keeps what it held.
    assert_ok(con, &["SET", "dst", "kept"]);
    assert_eq!(err(con, &["SORT", "bad", "STORE", "dst"]), NOT_DOUBLE);
    assert_eq!(ok::<String>(con, &["GET", "dst"]), "kept");
}

#[test]
fn by_and_get_with_strings_and_hash_fields() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["RPUSH", "ids", "1", "2", "3", "4"]);
    ok::<String>(con, &["MSET", "w_1", "40", "w_2", "10", "w_3", "30", "name_1", "one", "name_3", "three"]);
    for (id, age) in [("1", "3"), ("2", "1"), ("3", "2"), ("4", "0.5")] {
        ok::<i64>(con, &["HSET", &format!("user:{id}"), "age", age, "nick", &format!("u{id}")]);
    }
    // w_4 is missing: weight 0.
    assert_eq!(strings(con, &["SORT", "ids", "BY", "w_*"]), ["4", "2", "3", "1"]);
    assert_eq!(strings(con, &["SORT", "ids", "BY", "w_*", "DESC", "LIMIT", "0", "2"]), ["1", "3"]);
    assert_eq!(strings(con, &["SORT", "ids", "BY", "user:*->age"]), ["4", "2", "3", "1"]);
    assert_eq!(strings(con, &["SORT", "ids", "BY", "user:*->nick", "ALPHA", "DESC"]), ["4", "3", "2", "1"]);
    // ALPHA BY with a missing weight puts that element first.
    assert_eq!(strings(con, &["SORT", "ids", "BY", "name_*", "ALPHA"]), ["2", "4", "1", "3"]);

    assert_eq!(
        optional(con, &["SORT", "ids", "BY", "w_*", "GET", "#", "GET", "name_*", "GET", "user:*->nick"]),
        [
            Some("4"),
            None,
            Some("u4"),
            Some("2"),
            None,
            Some("u2"),
            Some("3"),
            Some("three"),
            Some("u3"),
            Some("1"),
            Some("one"),
            Some("u1"),
        ]
        .map(|v| v.map(String::from))
    );
    // A GET without `*` names no key; a missing field, a hash read as a string and a string
    // read as a hash are all nil.
    ok::<String>(con, &["SET", "fixed", "x"]);
    assert_eq!(optional(con, &["SORT", "ids", "LIMIT", "0", "1", "GET", "fixed"]), [None]);
    assert_eq!(optional(con, &["SORT", "ids", "LIMIT", "0", "1", "GET", "user:*->none"]), [None]);
    assert_eq!(optional(con, &["SORT", "ids", "LIMIT", "0", "1", "GET", "user:*"]), [None]);
    assert_eq!(optional(con, &["SORT", "ids", "LIMIT", "0", "1", "GET", "w_*->f"]), [None]);
    // A pattern ending in `->` names a key with `->` in it.
    ok::<String>(con, &["SET", "x:1->", "arrow"]);
    assert_eq!(optional(con, &["SORT", "ids", "LIMIT", "0", "1", "GET", "x:*->"]), [Some("arrow".into())]);
    // Only the first `*` is substituted.
    ok::<String>(con, &["SET", "a_1_*", "star"]);
    assert_eq!(optional(con, &["SORT", "ids", "LIMIT", "0", "1", "GET", "a_*_*"]), [Some("star".into())]);

    // A non-numeric weight fails a numeric sort.
    ok::<String>(con, &["SET", "w_4", "heavy"]);
    assert_eq!(err(con, &["SORT", "ids", "BY", "w_*"]), NOT_DOUBLE);
    assert_eq!(strings(con, &["SORT", "ids", "BY", "w_*", "ALPHA"]), ["2", "3", "1", "4"]);
}

#[test]
fn by_constant_keeps_the_source_order() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["LPUSH", "l", "2", "1", "4", "3", "5"]);
    assert_eq!(strings(con, &["SORT", "l", "BY", "nosort"]), ["5", "3", "4", "1", "2"]);
    assert_eq!(strings(con, &["SORT", "l", "BY", "nosort", "DESC"]), ["2", "1", "4", "3", "5"]);
    assert_eq!(strings(con, &["SORT", "l", "BY", "nosort", "LIMIT", "1", "2"]), ["3", "4"]);
    assert_eq!(strings(con, &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"]), ["1", "4"]);
    assert_eq!(strings(con, &["SORT_RO", "l", "BY", "nosort", "LIMIT", "4", "10"]), ["2"]);
    assert!(strings(con, &["SORT", "l", "BY", "nosort", "LIMIT", "5", "10"]).is_empty());

    ok::<i64>(con, &["ZADD", "z", "1", "a", "5", "b", "2", "c", "10", "d", "3", "e"]);
    assert_eq!(strings(con, &["SORT", "z", "BY", "nosort"]), ["a", "c", "e", "b", "d"]);
    assert_eq!(strings(con, &["SORT", "z", "BY", "nosort", "DESC"]), ["d", "b", "e", "c", "a"]);
    assert_eq!(strings(con, &["SORT", "z", "BY", "nosort", "LIMIT", "1", "3"]), ["c", "e", "b"]);
    assert_eq!(strings(con, &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "3"]), ["b", "e", "c"]);
    assert_eq!(strings(con, &["SORT", "z", "BY", "nosort", "LIMIT", "-10", "100"]), ["a", "c", "e", "b", "d"]);
    assert_eq!(strings(con, &["SORT", "z", "ALPHA", "DESC"]), ["e", "d", "c", "b", "a"]);
    assert_eq!(strings(con, &["SORT", "z", "BY", "nosort", "GET", "#"]), ["a", "c", "e", "b", "d"]);

    // A set has no order: stored, it is sorted byte-wise instead.
    ok::<i64>(con, &["SADD", "s", "b", "aa", "a", "c"]);
    assert_eq!(strings(con, &["SORT", "s", "BY", "nosort"]).len(), 4);
    assert_eq!(ok::<i64>(con, &["SORT", "s", "BY", "nosort", "STORE", "dst"]), 4);
    assert_eq!(strings(con, &["LRANGE", "dst", "0", "-1"]), ["a", "aa", "b", "c"]);
}

#[test]
fn store_replaces_or_deletes_the_destination() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = Raw::connect(&server);
    assert_eq!(sub.call(&["PSUBSCRIBE", "__keyevent@0__:*"]), r#"*["psubscribe","__keyevent@0__:*",:1]"#);
    let mut expect = |event: &str, key: &str| {
        assert_eq!(sub.read(), format!(r#"*["pmessage","__keyevent@0__:*","__keyevent@0__:{event}","{key}"]"#));
    };
    let con = &mut server.conn();
    ok::<i64>(con, &["RPUSH", "src", "3", "1", "2"]);
    expect("rpush", "src");
    ok::<String>(con, &["SET", "dst", "a string", "EX", "100"]);
    expect("set", "dst");
    expect("expire", "dst");
    assert_eq!(ok::<i64>(con, &["SORT", "src", "STORE", "dst"]), 3);
    expect("sortstore", "dst");
    assert_eq!(strings(con, &["LRANGE", "dst", "0", "-1"]), ["1", "2", "3"]);
    assert_eq!(ok::<String>(con, &["TYPE", "dst"]), "list");
    assert_eq!(ok::<i64>(con, &["TTL", "dst"]), -1, "the stored list has no TTL");

    // With GET, STORE keeps every looked-up value (missing ones as empty strings) and counts
    // them all.
    ok::<String>(con, &["SET", "n_1", "one"]);
    expect("set", "n_1");
    assert_eq!(ok::<i64>(con, &["SORT", "src", "GET", "#", "GET", "n_*", "STORE", "dst"]), 6);
    expect("sortstore", "dst");
    assert_eq!(strings(con, &["LRANGE", "dst", "0", "-1"]), ["1", "one", "2", "", "3", ""]);

    // The source may be the destination.
    assert_eq!(ok::<i64>(con, &["SORT", "src", "DESC", "STORE", "src"]), 3);
    expect("sortstore", "src");
    assert_eq!(strings(con, &["LRANGE", "src", "0", "-1"]), ["3", "2", "1"]);

    // An empty result deletes the destination (an event only if it existed) and creates none.
    assert_eq!(ok::<i64>(con, &["SORT", "src", "LIMIT", "10", "10", "STORE", "dst"]), 0);
    expect("del", "dst");
    assert_eq!(ok::<i64>(con, &["EXISTS", "dst"]), 0);
    assert_eq!(ok::<i64>(con, &["SORT", "nokey", "STORE", "dst"]), 0);
    ok::<String>(con, &["SET", "marker", "1"]);
    expect("set", "marker");

    // The last STORE wins.
    assert_eq!(ok::<i64>(con, &["SORT", "src", "STORE", "x", "STORE", "y"]), 3);
    expect("sortstore", "y");
    assert_eq!(ok::<i64>(con, &["EXISTS", "x"]), 0);
}

#[test]
fn store_serves_a_blocked_client() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    let waiter = spawn_command(&server, &["BLPOP", "dst", "5"]);
    wait_blocked(con, 1);
    ok::<i64>(con, &["RPUSH", "src", "hello", "hola", "aguacate", "konichiwa", "zanzibar"]);
    assert_eq!(ok::<i64>(con, &["SORT", "src", "ALPHA", "STORE", "dst"]), 5);
    let served: Vec<String> = redis::from_redis_value(&waiter.join().unwrap().unwrap()).unwrap();
    assert_eq!(served, ["dst", "aguacate"]);
    assert_eq!(strings(con, &["LRANGE", "dst", "0", "-1"]), ["hello", "hola", "konichiwa", "zanzibar"]);
    wait_blocked(con, 0);
}

#[test]
fn store_in_multi_and_under_watch() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["RPUSH", "src", "b", "a"]);
    ok::<String>(con, &["MULTI"]);
    assert_eq!(ok::<String>(con, &["SORT", "src", "ALPHA", "STORE", "dst"]), "QUEUED");
    assert_eq!(ok::<String>(con, &["SORT_RO", "dst", "BY", "nosort", "DESC"]), "QUEUED");
    let replies: Vec<Value> = ok(con, &["EXEC"]);
    assert_eq!(
        replies,
        [Value::Int(2), Value::Array(vec![Value::BulkString(b"b".to_vec()), Value::BulkString(b"a".to_vec())])]
    );

    // Deleting a watched key with an empty result fails the transaction.
    ok::<String>(con, &["WATCH", "dst"]);
    assert_eq!(ok::<i64>(con, &["SORT", "emptylist", "STORE", "dst"]), 0);
    ok::<String>(con, &["MULTI"]);
    ok::<String>(con, &["PING"]);
    assert_eq!(run(con, &["EXEC"]).unwrap(), Value::Nil);

    // A plain SORT is a read and leaves a WATCH intact.
    ok::<String>(con, &["WATCH", "src"]);
    assert_eq!(strings(con, &["SORT", "src", "ALPHA"]), ["a", "b"]);
    ok::<String>(con, &["MULTI"]);
    ok::<String>(con, &["PING"]);
    assert_eq!(ok::<Vec<String>>(con, &["EXEC"]), ["PONG"]);
}

#[test]
fn command_getkeys_and_info() {
    let server = Server::start(&[]);
    let con = &mut server.conn();
    let keys = |con: &mut Connection, line: &[&str]| -> Vec<String> {
        let mut words = vec!["COMMAND", "GETKEYS"];
        words.extend_from_slice(line);
        ok(con, &words)
    };
    assert_eq!(keys(con, &["SORT", "abc"]), ["abc"]);
    assert_eq!(keys(con, &["SORT", "abc", "STORE", "def"]), ["abc", "def"]);
    assert_eq!(keys(con, &["SORT", "abc", "STORE", "invalid", "STORE", "stillbad", "STORE", "def"]), ["abc", "def"]);
    assert_eq!(keys(con, &["SORT", "abc", "GET", "store", "BY", "store", "LIMIT", "0", "1"]), ["abc"]);
    assert_eq!(keys(con, &["SORT_RO", "abc"]), ["abc"]);

    let info: Vec<Value> = ok(con, &["COMMAND", "INFO", "sort", "sort_ro"]);
    let flags = |v: &Value| -> Vec<String> {
        let Value::Array(fields) = v else { panic!("{v:?}") };
        redis::from_redis_value(&fields[2]).unwrap()
    };
    assert_eq!(flags(&info[0]), ["write", "denyoom", "movablekeys"]);
    assert_eq!(flags(&info[1]), ["readonly", "movablekeys"]);
}

#[test]
fn store_destination_counts_against_its_tenant() {
    let server = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let con = &mut server.conn();
    ok::<String>(con, &["TENANT", "SETLIMIT", "acme", "MAXKEYS", "2", "ONLIMIT", "reject"]);
    ok::<i64>(con, &["RPUSH", "acme:l", "2", "1"]);
    ok::<String>(con, &["SET", "acme:x", "v"]);
    ok::<i64>(con, &["RPUSH", "other:l", "b", "a"]);
    // Reading a tenant at its quota is fine, and so is storing into another tenant.
    assert_eq!(strings(con, &["SORT", "acme:l"]), ["1", "2"]);
    assert_eq!(ok::<i64>(con, &["SORT", "acme:l", "STORE", "other:dst"]), 2);
    // A new key for the full tenant is refused, whoever the source belongs to.
    let refused = err(con, &["SORT", "other:l", "ALPHA", "STORE", "acme:new"]);
    assert!(refused.starts_with("OOM") && refused.contains("tenant 'acme'"), "{refused}");
    assert_eq!(ok::<i64>(con, &["EXISTS", "acme:new"]), 0);
    // Overwriting one of its keys is not a new key.
    assert_eq!(ok::<i64>(con, &["SORT", "other:l", "ALPHA", "STORE", "acme:x"]), 2);
    assert_eq!(strings(con, &["LRANGE", "acme:x", "0", "-1"]), ["a", "b"]);
}
