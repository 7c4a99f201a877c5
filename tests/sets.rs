//! Set commands over TCP: every command with its replies and error cases, the intset /
//! listpack / hashtable encodings and their thresholds, RESP3 set replies, SSCAN, keyspace
//! events, and the generic key commands (TYPE, COPY, RENAME, SCAN TYPE, DEL, expiry) on sets.

mod common;

use common::{
    assert_all_wrong_arity, assert_all_wrongtype, err, ok, run, used_memory, KeyEvents, Raw, Server, WRONGTYPE,
};
use redis::{Connection, Value};
use std::collections::HashSet;

use std::time::Duration;

/// The reply as a sorted list of strings (SMEMBERS, SINTER ...).
fn sorted(con: &mut Connection, args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ok(con, args);
    v.sort();
    v
}

fn strings(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn encoding(con: &mut Connection, key: &str) -> String {
    ok(con, &["OBJECT", "ENCODING", key])
}

#[test]
fn sadd_scard_sismember_smismember_smembers() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(ok::<i64>(&mut con, &["SADD", "s", "foo"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["SADD", "s", "bar", "foo", "bar"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["SCARD", "s"]), 2);
    assert_eq!(ok::<i64>(&mut con, &["SCARD", "nokey"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["SISMEMBER", "s", "foo"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["SISMEMBER", "s", "baz"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["SISMEMBER", "nokey", "foo"]), 0);
    assert_eq!(ok::<Vec<i64>>(&mut con, &["SMISMEMBER", "s", "foo", "baz", "bar"]), [1, 0, 1]);
    assert_eq!(ok::<Vec<i64>>(&mut con, &["SMISMEMBER", "nokey", "a", "b"]), [0, 0]);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "s"]), strings(&["bar", "foo"]));
    assert_eq!(sorted(&mut con, &["SMEMBERS", "nokey"]), Vec::<String>::new());
    // Integers keep their text; "012" and "-0" are not integers.
    assert_eq!(ok::<i64>(&mut con, &["SADD", "n", "-5", "3", "012", "-0", "9223372036854775808"]), 5);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "n"]), strings(&["-5", "3", "012", "-0", "9223372036854775808"]));
    assert_eq!(ok::<i64>(&mut con, &["SISMEMBER", "n", "12"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["SISMEMBER", "n", "012"]), 1);
    // A binary member.
    assert_eq!(ok::<i64>(&mut con, &["SADD", "b", "a\0b", ""]), 2);
    assert_eq!(ok::<i64>(&mut con, &["SISMEMBER", "b", ""]), 1);
    assert_eq!(ok::<i64>(&mut con, &["SISMEMBER", "b", "a\0b"]), 1);
}

#[test]
fn wrong_type_and_arity_errors() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: () = ok(&mut con, &["SET", "str", "x"]);
    let _: () = ok(&mut con, &["SADD", "s", "a"]);
    assert_all_wrongtype(
        &mut con,
        &[
            &["SADD", "str", "a"],
            &["SREM", "str", "a"],
            &["SMEMBERS", "str"],
            &["SISMEMBER", "str", "a"],
            &["SMISMEMBER", "str", "a"],
            &["SCARD", "str"],
            &["SPOP", "str"],
            &["SPOP", "str", "2"],
            &["SPOP", "str", "0"],
            &["SRANDMEMBER", "str"],
            &["SRANDMEMBER", "str", "2"],
            &["SMOVE", "str", "s", "a"],
            &["SMOVE", "s", "str", "a"],
            &["SINTER", "s", "str"],
            &["SINTER", "nokey", "str"],
            &["SINTERCARD", "2", "nokey", "str"],
            &["SUNION", "str", "s"],
            &["SDIFF", "nokey", "str"],
            &["SINTERSTORE", "d", "s", "str"],
            &["SUNIONSTORE", "d", "str"],
            &["SDIFFSTORE", "d", "s", "str"],
            &["SSCAN", "str", "0"],
            &["SSCAN", "str", "0", "COUNT", "x"],
        ],
    );
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "d"]), 0, "a failed STORE leaves the destination alone");
    // SMOVE from a missing source answers 0 before looking at the destination's type.
    assert_eq!(ok::<i64>(&mut con, &["SMOVE", "nokey", "str", "a"]), 0);
    // MGET reads a set as a missing string.
    assert_eq!(ok::<Vec<Option<String>>>(&mut con, &["MGET", "s", "str"]), [None, Some("x".into())]);
    assert_eq!(err(&mut con, &["GET", "s"]), WRONGTYPE);

    assert_all_wrong_arity(
        &mut con,
        &[
            (&["SADD", "s"][..], "sadd"),
            (&["SREM", "s"], "srem"),
            (&["SMEMBERS"], "smembers"),
            (&["SISMEMBER", "s"], "sismember"),
            (&["SMISMEMBER", "s"], "smismember"),
            (&["SCARD", "s", "x"], "scard"),
            (&["SPOP"], "spop"),
            (&["SRANDMEMBER"], "srandmember"),
            (&["SMOVE", "a", "b"], "smove"),
            (&["SINTER"], "sinter"),
            (&["SINTERCARD", "1"], "sintercard"),
            (&["SINTERSTORE", "d"], "sinterstore"),
            (&["SSCAN", "s"], "sscan"),
        ],
    );
    assert_eq!(err(&mut con, &["SPOP", "s", "1", "2"]), "ERR syntax error");
    assert_eq!(err(&mut con, &["SRANDMEMBER", "s", "1", "2"]), "ERR syntax error");
}

#[test]
fn srem_deletes_the_emptied_set() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(ok::<i64>(&mut con, &["SREM", "nokey", "a"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["SADD", "s", "a", "b", "c", "d"]), 4);
    assert_eq!(ok::<i64>(&mut con, &["SREM", "s", "k", "k"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["SREM", "s", "b", "d", "x", "b"]), 2);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "s"]), strings(&["a", "c"]));
    assert_eq!(ok::<i64>(&mut con, &["SADD", "i", "1", "2", "3"]), 3);
    assert_eq!(ok::<i64>(&mut con, &["SREM", "i", "1", "2", "3", "4", "5"]), 3);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "i"]), 0);
}

#[test]
fn encodings_follow_redis_thresholds() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: i64 = ok(&mut con, &["SADD", "i", "1", "2", "3"]);
    assert_eq!(encoding(&mut con, "i"), "intset");
    let _: i64 = ok(&mut con, &["SADD", "i", "a"]);
    assert_eq!(encoding(&mut con, "i"), "listpack");
    let _: i64 = ok(&mut con, &["SADD", "s", "foo"]);
    assert_eq!(encoding(&mut con, "s"), "listpack");
    let long = "x".repeat(65);
    let _: i64 = ok(&mut con, &["SADD", "s", &long]);
    assert_eq!(encoding(&mut con, "s"), "hashtable");

    // 512 integers stay an intset; the 513th makes a hash table.
    let ints: Vec<String> = (0..512).map(|i| i.to_string()).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(ints.iter().map(String::as_str));
    assert_eq!(ok::<i64>(&mut con, &args), 512);
    assert_eq!(encoding(&mut con, "big"), "intset");
    let _: i64 = ok(&mut con, &["SADD", "big", "512"]);
    assert_eq!(encoding(&mut con, "big"), "hashtable");

    // 128 strings fit a listpack, 129 do not; one SADD of many goes straight to a table.
    let words: Vec<String> = (0..129).map(|i| format!("w{i}")).collect();
    let mut args = vec!["SADD", "lp"];
    args.extend(words[..128].iter().map(String::as_str));
    let _: i64 = ok(&mut con, &args);
    assert_eq!(encoding(&mut con, "lp"), "listpack");
    let _: i64 = ok(&mut con, &["SADD", "lp", &words[128]]);
    assert_eq!(encoding(&mut con, "lp"), "hashtable");
    let mut args = vec!["SADD", "direct"];
    args.extend(words.iter().map(String::as_str));
    let _: i64 = ok(&mut con, &args);
    assert_eq!(encoding(&mut con, "direct"), "hashtable");

    // The thresholds are configurable.
    let _: () = ok(&mut con, &["CONFIG", "SET", "set-max-intset-entries", "2"]);
    let _: i64 = ok(&mut con, &["SADD", "small", "1", "2"]);
    assert_eq!(encoding(&mut con, "small"), "intset");
    let _: i64 = ok(&mut con, &["SADD", "small", "3"]);
    assert_eq!(encoding(&mut con, "small"), "hashtable");
    let _: () = ok(&mut con, &["CONFIG", "SET", "set-max-listpack-entries", "1"]);
    let _: i64 = ok(&mut con, &["SADD", "tiny", "a", "b"]);
    assert_eq!(encoding(&mut con, "tiny"), "hashtable");
    assert_eq!(sorted(&mut con, &["SMEMBERS", "tiny"]), strings(&["a", "b"]));
}

#[test]
fn spop_forms() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(ok::<Option<String>>(&mut con, &["SPOP", "nokey"]), None);
    assert_eq!(ok::<Vec<String>>(&mut con, &["SPOP", "nokey", "3"]), Vec::<String>::new());
    assert_eq!(err(&mut con, &["SPOP", "s", "-1"]), "ERR value is out of range, must be positive");
    assert_eq!(err(&mut con, &["SPOP", "s", "x"]), "ERR value is out of range, must be positive");
    for members in [strings(&["a", "b", "c"]), strings(&["1", "2", "3"]), (0..300).map(|i| format!("m{i}")).collect()] {
        let mut args = vec!["SADD", "s"];
        args.extend(members.iter().map(String::as_str));
        let _: i64 = ok(&mut con, &args);
        let n = members.len();
        let one: String = ok(&mut con, &["SPOP", "s"]);
        assert!(members.contains(&one));
        assert_eq!(ok::<Vec<String>>(&mut con, &["SPOP", "s", "0"]), Vec::<String>::new());
        let some: Vec<String> = ok(&mut con, &["SPOP", "s", "1"]);
        assert_eq!(some.len(), 1);
        let rest: Vec<String> = ok(&mut con, &["SPOP", "s", "1000"]);
        assert_eq!(rest.len(), n - 2);
        let all: HashSet<String> = rest.into_iter().chain(some).chain([one]).collect();
        assert_eq!(all.len(), n);
        assert_eq!(ok::<i64>(&mut con, &["EXISTS", "s"]), 0);
    }
    // Popping most of a big set keeps the rest intact.
    let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(members.iter().map(String::as_str));
    let _: i64 = ok(&mut con, &args);
    let popped: HashSet<String> = ok(&mut con, &["SPOP", "big", "900"]);
    assert_eq!(popped.len(), 900);
    let left: HashSet<String> = ok(&mut con, &["SMEMBERS", "big"]);
    assert_eq!(left.len(), 100);
    assert!(left.is_disjoint(&popped));
}

#[test]
fn srandmember_forms() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(ok::<Option<String>>(&mut con, &["SRANDMEMBER", "nokey"]), None);
    assert_eq!(ok::<Vec<String>>(&mut con, &["SRANDMEMBER", "nokey", "5"]), Vec::<String>::new());
    assert_eq!(
        err(&mut con, &["SRANDMEMBER", "s", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(err(&mut con, &["SRANDMEMBER", "s", "1.5"]), "ERR value is not an integer or out of range");
    for members in [
        (0..50).map(|i| i.to_string()).collect::<Vec<_>>(),
        (0..50).map(|i| format!("m{i}")).collect(),
        (0..500).map(|i| format!("m{i}")).collect(),
    ] {
        let _: i64 = ok(&mut con, &["DEL", "s"]);
        let mut args = vec!["SADD", "s"];
        args.extend(members.iter().map(String::as_str));
        let _: i64 = ok(&mut con, &args);
        let all: HashSet<String> = members.iter().cloned().collect();
        let one: String = ok(&mut con, &["SRANDMEMBER", "s"]);
        assert!(all.contains(&one));
        assert_eq!(ok::<Vec<String>>(&mut con, &["SRANDMEMBER", "s", "0"]), Vec::<String>::new());
        // Negative: exactly |count| members, repeats allowed, eventually every member.
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let batch: Vec<String> = ok(&mut con, &["SRANDMEMBER", "s", "-100"]);
            assert_eq!(batch.len(), 100);
            assert!(batch.iter().all(|m| all.contains(m)));
            seen.extend(batch);
            if seen.len() == all.len() {
                break;
            }
        }
        assert_eq!(seen.len(), all.len());
        // Positive: distinct members; the whole set when count reaches its size.
        let n = members.len();
        for count in [n - 5, 5, n, n + 10] {
            let batch: Vec<String> = ok(&mut con, &["SRANDMEMBER", "s", &count.to_string()]);
            let distinct: HashSet<&String> = batch.iter().collect();
            assert_eq!(batch.len(), count.min(n));
            assert_eq!(distinct.len(), batch.len());
            assert!(batch.iter().all(|m| all.contains(m)));
        }
        assert_eq!(ok::<i64>(&mut con, &["SCARD", "s"]), n as i64, "SRANDMEMBER changes nothing");
    }
}

#[test]
fn smove_cases() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: i64 = ok(&mut con, &["SADD", "src", "1", "a", "b"]);
    let _: i64 = ok(&mut con, &["SADD", "ints", "2", "3", "4"]);
    assert_eq!(ok::<i64>(&mut con, &["SMOVE", "src", "ints", "a"]), 1);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "src"]), strings(&["1", "b"]));
    assert_eq!(sorted(&mut con, &["SMEMBERS", "ints"]), strings(&["2", "3", "4", "a"]));
    assert_eq!(ok::<i64>(&mut con, &["SMOVE", "src", "ints", "nope"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["SMOVE", "nokey", "ints", "a"]), 0);
    // Same key: 1 if the member is there, nothing moves.
    assert_eq!(ok::<i64>(&mut con, &["SMOVE", "src", "src", "b"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["SMOVE", "src", "src", "x"]), 0);
    // Already in the destination: still removed from the source.
    let _: i64 = ok(&mut con, &["SADD", "ints", "b"]);
    assert_eq!(ok::<i64>(&mut con, &["SMOVE", "src", "ints", "b"]), 1);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "src"]), strings(&["1"]));
    // The last member leaves: the source is deleted, a new destination is created as an intset.
    assert_eq!(ok::<i64>(&mut con, &["SMOVE", "src", "new", "1"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "src"]), 0);
    assert_eq!(encoding(&mut con, "new"), "intset");
    assert_eq!(sorted(&mut con, &["SMEMBERS", "new"]), strings(&["1"]));
}

#[test]
fn intersections_unions_differences() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    for (encoding_marker, expect) in [("200", "intset"), ("foo", "hashtable")] {
        let _: i64 = ok(&mut con, &["DEL", "s1", "s2", "s3", "s4", "s5", "res"]);
        for i in 0..200 {
            let _: i64 = ok(&mut con, &["SADD", "s1", &i.to_string()]);
            let _: i64 = ok(&mut con, &["SADD", "s2", &(i + 195).to_string()]);
        }
        let _: i64 = ok(&mut con, &["SADD", "s3", "199", "195", "1000", "2000"]);
        for i in 5..200 {
            let _: i64 = ok(&mut con, &["SADD", "s4", &i.to_string()]);
        }
        let _: i64 = ok(&mut con, &["SADD", "s5", "0"]);
        for k in ["s1", "s2", "s3", "s4", "s5"] {
            let _: i64 = ok(&mut con, &["SADD", k, encoding_marker]);
        }
        assert_eq!(encoding(&mut con, "s1"), expect);
        let inter = strings(&["195", "196", "197", "198", "199", encoding_marker]);
        assert_eq!(sorted(&mut con, &["SINTER", "s1", "s2"]), inter);
        assert_eq!(ok::<i64>(&mut con, &["SINTERSTORE", "res", "s1", "s2"]), 6);
        assert_eq!(sorted(&mut con, &["SMEMBERS", "res"]), inter);
        assert_eq!(encoding(&mut con, "res"), if expect == "intset" { "intset" } else { "listpack" });
        assert_eq!(ok::<i64>(&mut con, &["SINTERCARD", "2", "s1", "s2"]), 6);
        assert_eq!(ok::<i64>(&mut con, &["SINTERCARD", "2", "s1", "s2", "LIMIT", "0"]), 6);
        assert_eq!(ok::<i64>(&mut con, &["SINTERCARD", "2", "s1", "s2", "limit", "3"]), 3);
        assert_eq!(ok::<i64>(&mut con, &["SINTERCARD", "3", "s1", "s2", "s3", "LIMIT", "10"]), 3);
        assert_eq!(sorted(&mut con, &["SINTER", "s1", "s2", "s3"]), strings(&["195", "199", encoding_marker]));
        let union: Vec<String> = {
            let mut u: HashSet<String> = (0..395).map(|i| i.to_string()).collect();
            u.insert(encoding_marker.to_string());
            let mut v: Vec<String> = u.into_iter().collect();
            v.sort();
            v
        };
        assert_eq!(sorted(&mut con, &["SUNION", "nokey", "s1", "s2", "nokey2"]), union);
        assert_eq!(ok::<i64>(&mut con, &["SUNIONSTORE", "res", "s1", "s2"]), union.len() as i64);
        assert_eq!(sorted(&mut con, &["SMEMBERS", "res"]), union);
        // 396 integers still fit an intset.
        assert_eq!(encoding(&mut con, "res"), expect);
        assert_eq!(sorted(&mut con, &["SDIFF", "s1", "s4"]), strings(&["0", "1", "2", "3", "4"]));
        assert_eq!(sorted(&mut con, &["SDIFF", "s1", "s4", "s5"]), strings(&["1", "2", "3", "4"]));
        assert_eq!(ok::<i64>(&mut con, &["SDIFFSTORE", "res", "s1", "s4", "s5"]), 4);
        assert_eq!(encoding(&mut con, "res"), "intset");
        let s1 = sorted(&mut con, &["SMEMBERS", "s1"]);
        assert_eq!(sorted(&mut con, &["SINTER", "s1", "s1", "s1"]), s1);
        assert_eq!(sorted(&mut con, &["SUNION", "s1", "s1"]), s1);
        assert_eq!(sorted(&mut con, &["SDIFF", "s1", "s1"]), Vec::<String>::new());
    }
    // Missing keys are empty sets.
    assert_eq!(sorted(&mut con, &["SINTER", "s1", "nokey"]), Vec::<String>::new());
    assert_eq!(sorted(&mut con, &["SDIFF", "nokey", "s1"]), Vec::<String>::new());
    assert_eq!(ok::<i64>(&mut con, &["SINTERCARD", "1", "nokey", "LIMIT", "10"]), 0);
    assert_eq!(sorted(&mut con, &["SUNION", "nokey"]), Vec::<String>::new());
}

#[test]
fn store_commands_replace_or_delete_the_destination() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: i64 = ok(&mut con, &["SADD", "a", "x", "y", "z"]);
    let _: i64 = ok(&mut con, &["SADD", "b", "y"]);
    // A destination of another type, with a TTL, is replaced and loses the TTL.
    let _: () = ok(&mut con, &["SET", "dst", "old", "EX", "100"]);
    assert_eq!(ok::<i64>(&mut con, &["SDIFFSTORE", "dst", "a", "b"]), 2);
    assert_eq!(ok::<String>(&mut con, &["TYPE", "dst"]), "set");
    assert_eq!(ok::<i64>(&mut con, &["TTL", "dst"]), -1);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "dst"]), strings(&["x", "z"]));
    // The destination may be a source.
    assert_eq!(ok::<i64>(&mut con, &["SUNIONSTORE", "dst", "dst", "b"]), 3);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "dst"]), strings(&["x", "y", "z"]));
    // An empty result deletes the destination.
    for args in [
        &["SINTERSTORE", "dst", "a", "nokey"][..],
        &["SUNIONSTORE", "dst", "nokey1", "nokey2"],
        &["SDIFFSTORE", "dst", "b", "a"],
    ] {
        let _: () = ok(&mut con, &["SET", "dst", "v"]);
        assert_eq!(ok::<i64>(&mut con, args), 0, "{args:?}");
        assert_eq!(ok::<i64>(&mut con, &["EXISTS", "dst"]), 0, "{args:?}");
    }
}

#[test]
fn sintercard_argument_errors() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let numkeys = "ERR numkeys should be greater than 0";
    assert_eq!(err(&mut con, &["SINTERCARD", "0", "s"]), numkeys);
    assert_eq!(err(&mut con, &["SINTERCARD", "a", "s"]), numkeys);
    assert_eq!(err(&mut con, &["SINTERCARD", "-1", "s"]), numkeys);
    let too_many = "ERR Number of keys can't be greater than number of args";
    assert_eq!(err(&mut con, &["SINTERCARD", "2", "s"]), too_many);
    assert_eq!(err(&mut con, &["SINTERCARD", "1", "s", "t"]), "ERR syntax error");
    assert_eq!(err(&mut con, &["SINTERCARD", "1", "s", "LIMIT"]), "ERR syntax error");
    assert_eq!(err(&mut con, &["SINTERCARD", "1", "s", "LIMIT", "-1"]), "ERR LIMIT can't be negative");
    assert_eq!(err(&mut con, &["SINTERCARD", "1", "s", "LIMIT", "a"]), "ERR LIMIT can't be negative");
    // Options are checked before the keys' types.
    let _: () = ok(&mut con, &["SET", "str", "x"]);
    assert_eq!(err(&mut con, &["SINTERCARD", "1", "str", "LIMIT", "-1"]), "ERR LIMIT can't be negative");
}

#[test]
fn sscan_compact_and_hashtable() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(ok::<(String, Vec<String>)>(&mut con, &["SSCAN", "nokey", "0"]), ("0".into(), vec![]));
    // A missing key ends the scan before the options are checked, as in Redis.
    assert_eq!(ok::<(String, Vec<String>)>(&mut con, &["SSCAN", "nokey", "0", "COUNT", "0"]).0, "0");
    assert_eq!(err(&mut con, &["SSCAN", "nokey", "x"]), "ERR invalid cursor");
    let _: i64 = ok(&mut con, &["SADD", "small", "foo", "fab", "fiz", "foobar", "1", "2", "3", "4"]);
    let (cursor, mut found): (String, Vec<String>) =
        ok(&mut con, &["SSCAN", "small", "0", "MATCH", "foo*", "COUNT", "1"]);
    found.sort();
    assert_eq!((cursor.as_str(), found), ("0", strings(&["foo", "foobar"])));
    let _: i64 = ok(&mut con, &["SADD", "ints", "10", "11", "20"]);
    let (_, mut found): (String, Vec<String>) = ok(&mut con, &["SSCAN", "ints", "0", "MATCH", "1*"]);
    found.sort();
    assert_eq!(found, strings(&["10", "11"]));
    assert_eq!(err(&mut con, &["SSCAN", "small", "0", "COUNT", "0"]), "ERR syntax error");
    assert_eq!(err(&mut con, &["SSCAN", "small", "0", "COUNT", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut con, &["SSCAN", "small", "0", "TYPE", "set"]), "ERR syntax error");
    assert_eq!(err(&mut con, &["SSCAN", "small", "0", "MATCH"]), "ERR syntax error");

    // A hash table is walked in steps; members present throughout are all returned even while
    // others come and go.
    let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(members.iter().map(String::as_str));
    let _: i64 = ok(&mut con, &args);
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut steps = 0;
    loop {
        let (next, batch): (String, Vec<String>) = ok(&mut con, &["SSCAN", "big", &cursor, "COUNT", "20"]);
        assert!(batch.len() <= 20);
        seen.extend(batch);
        let _: i64 = ok(&mut con, &["SREM", "big", &format!("m{}", steps * 7)]);
        let _: i64 = ok(&mut con, &["SADD", "big", &format!("new{steps}")]);
        steps += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
        assert!(steps < 1000, "SSCAN does not finish");
    }
    assert!(steps > 10, "a hash table is scanned in several steps");
    for m in &members {
        if ok::<i64>(&mut con, &["SISMEMBER", "big", m]) == 1 {
            assert!(seen.contains(m), "{m} missed");
        }
    }
}

#[test]
fn resp3_replies() {
    let server = Server::start(&[]);
    let mut raw = Raw::connect(&server);
    assert!(raw.call(&["HELLO", "3"]).starts_with("%["));
    assert_eq!(raw.call(&["SADD", "s", "b", "a"]), ":2");
    assert_eq!(raw.call(&["SMEMBERS", "s"]), r#"~["b","a"]"#);
    assert_eq!(raw.call(&["SMEMBERS", "nokey"]), "~[]");
    assert_eq!(raw.call(&["SINTER", "s", "nokey"]), "~[]");
    assert_eq!(raw.call(&["SUNION", "s"]), r#"~["b","a"]"#);
    assert_eq!(raw.call(&["SDIFF", "s", "nokey"]), r#"~["b","a"]"#);
    assert_eq!(raw.call(&["SMISMEMBER", "s", "a", "x"]), "*[:1,:0]");
    assert_eq!(raw.call(&["SPOP", "nokey"]), "_");
    assert_eq!(raw.call(&["SPOP", "nokey", "2"]), "~[]");
    assert_eq!(raw.call(&["SRANDMEMBER", "nokey"]), "_");
    assert_eq!(raw.call(&["SRANDMEMBER", "nokey", "2"]), "*[]");
    assert_eq!(raw.call(&["SRANDMEMBER", "s", "0"]), "*[]");
    assert!(raw.call(&["SRANDMEMBER", "s", "-3"]).starts_with("*["));
    assert_eq!(raw.call(&["SSCAN", "s", "0"]), r#"*["0",*["b","a"]]"#);
    assert_eq!(raw.call(&["SADD", "i", "3", "1", "2"]), ":3");
    assert_eq!(raw.call(&["SMEMBERS", "i"]), r#"~["1","2","3"]"#);
    let popped = raw.call(&["SPOP", "i", "2"]);
    assert!(popped.starts_with("~[") && popped.matches(',').count() == 1, "{popped}");

    // RESP2 nulls and empty replies.
    let mut raw2 = Raw::connect(&server);
    assert_eq!(raw2.call(&["SPOP", "nokey"]), "nil");
    assert_eq!(raw2.call(&["SPOP", "nokey", "1"]), "*[]");
    assert_eq!(raw2.call(&["SRANDMEMBER", "nokey", "1"]), "*[]");
    assert_eq!(raw2.call(&["SMEMBERS", "i"]).chars().next(), Some('*'));
}

#[test]
fn generic_key_commands_on_sets() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: i64 = ok(&mut con, &["SADD", "s", "a", "b"]);
    let _: i64 = ok(&mut con, &["SADD", "i", "1", "2"]);
    let _: () = ok(&mut con, &["SET", "str", "x"]);
    assert_eq!(ok::<String>(&mut con, &["TYPE", "s"]), "set");
    // COPY keeps the value and the encoding, and the copy is independent.
    assert_eq!(ok::<i64>(&mut con, &["COPY", "i", "i2"]), 1);
    assert_eq!(encoding(&mut con, "i2"), "intset");
    let _: i64 = ok(&mut con, &["SADD", "i2", "3"]);
    assert_eq!(ok::<i64>(&mut con, &["SCARD", "i"]), 2);
    assert_eq!(ok::<i64>(&mut con, &["SCARD", "i2"]), 3);
    let _: () = ok(&mut con, &["RENAME", "s", "t"]);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "t"]), strings(&["a", "b"]));
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "s"]), 0);
    let mut sets: Vec<String> = {
        let (_, keys): (String, Vec<String>) = ok(&mut con, &["SCAN", "0", "TYPE", "set", "COUNT", "100"]);
        keys
    };
    sets.sort();
    assert_eq!(sets, strings(&["i", "i2", "t"]));
    assert_eq!(ok::<i64>(&mut con, &["DEL", "t", "i2"]), 2);
    // Expiry.
    assert_eq!(ok::<i64>(&mut con, &["PEXPIRE", "i", "50"]), 1);
    assert!(ok::<i64>(&mut con, &["PTTL", "i"]) > 0);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(ok::<i64>(&mut con, &["SCARD", "i"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "i"]), 0);
    // Writes to an expired set start a new one.
    let _: i64 = ok(&mut con, &["SADD", "e", "x"]);
    let _: i64 = ok(&mut con, &["PEXPIRE", "e", "20"]);
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(ok::<i64>(&mut con, &["SADD", "e", "y"]), 1);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "e"]), strings(&["y"]));
    assert_eq!(ok::<i64>(&mut con, &["TTL", "e"]), -1);
}

#[test]
fn memory_follows_the_members() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    // The database's table exists before the measure starts.
    let _: () = ok(&mut con, &["SET", "anchor", "x"]);
    let before = used_memory(&mut con);
    let members: Vec<String> = (0..10_000).map(|i| format!("member:{i:06}")).collect();
    for chunk in members.chunks(1000) {
        let mut args = vec!["SADD", "big"];
        args.extend(chunk.iter().map(String::as_str));
        let _: i64 = ok(&mut con, &args);
    }
    let grown = used_memory(&mut con);
    assert!(grown - before > 10_000 * 16, "{before} -> {grown}");
    for chunk in members[..9000].chunks(1000) {
        let mut args = vec!["SREM", "big"];
        args.extend(chunk.iter().map(String::as_str));
        let _: i64 = ok(&mut con, &args);
    }
    let shrunk = used_memory(&mut con);
    assert!(shrunk < grown - 9000 * 16, "{grown} -> {shrunk}");
    let _: i64 = ok(&mut con, &["DEL", "big"]);
    assert_eq!(used_memory(&mut con), before);
}

/// The next `n` keyevents as "event key" strings.
fn next_keyevents(events: &mut KeyEvents, n: usize) -> Vec<String> {
    events.next(n).into_iter().map(|(event, key, _)| format!("{event} {key}")).collect()
}

#[test]
fn keyspace_events() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut events = KeyEvents::subscribe(&server, "__keyevent*__:*");
    let mut con = server.conn();
    let _: i64 = ok(&mut con, &["SADD", "s", "a", "b", "c"]);
    let _: i64 = ok(&mut con, &["SADD", "s", "a"]); // nothing added: no event
    let _: i64 = ok(&mut con, &["SREM", "s", "zz"]); // nothing removed: no event
    let _: i64 = ok(&mut con, &["SREM", "s", "a"]);
    let _: i64 = ok(&mut con, &["SADD", "p", "only"]);
    let _: String = ok(&mut con, &["SPOP", "p"]);
    let _: i64 = ok(&mut con, &["SMOVE", "s", "d", "b"]);
    let _: i64 = ok(&mut con, &["SADD", "s", "b"]);
    let _: i64 = ok(&mut con, &["SMOVE", "s", "d", "b"]); // already in d: no sadd
    let _: i64 = ok(&mut con, &["SMOVE", "s", "d", "c"]);
    assert_eq!(
        next_keyevents(&mut events, 12),
        [
            "sadd s", "srem s", "sadd p", "spop p", "del p", "srem s", "sadd d", "sadd s", "srem s", "srem s", "del s",
            "sadd d"
        ]
    );
    let _: i64 = ok(&mut con, &["SADD", "x", "1", "2"]);
    let _: i64 = ok(&mut con, &["SINTERSTORE", "r", "x", "d"]); // empty, r missing: no event
    let _: i64 = ok(&mut con, &["SUNIONSTORE", "r", "x", "d"]);
    let _: i64 = ok(&mut con, &["SDIFFSTORE", "r", "x", "d"]);
    let _: i64 = ok(&mut con, &["SINTERSTORE", "r", "x", "nokey"]);
    let _: Vec<String> = ok(&mut con, &["SPOP", "x", "5"]);
    let _: i64 = ok(&mut con, &["SREM", "d", "b", "c"]);
    let _: i64 = ok(&mut con, &["SADD", "end", "1"]);
    assert_eq!(
        next_keyevents(&mut events, 9),
        ["sadd x", "sunionstore r", "sdiffstore r", "del r", "spop x", "del x", "srem d", "del d", "sadd end"]
    );
}

#[test]
fn smove_of_a_member_the_destination_holds_leaves_it_untouched() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let mut other = server.conn();
    ok::<i64>(&mut con, &["SADD", "src", "a", "b"]);
    ok::<i64>(&mut con, &["SADD", "dst", "a"]);
    ok::<String>(&mut con, &["WATCH", "dst"]);
    ok::<String>(&mut con, &["MULTI"]);
    ok::<String>(&mut con, &["SADD", "dst", "c"]);
    assert_eq!(ok::<i64>(&mut other, &["SMOVE", "src", "dst", "a"]), 1);
    // The destination did not change, so the transaction runs.
    assert_eq!(ok::<Vec<i64>>(&mut con, &["EXEC"]), [1]);
    assert_eq!(sorted(&mut con, &["SMEMBERS", "dst"]), strings(&["a", "c"]));
    assert_eq!(sorted(&mut con, &["SMEMBERS", "src"]), strings(&["b"]));

    // A member that is new to the destination does change it.
    ok::<String>(&mut con, &["WATCH", "dst"]);
    ok::<String>(&mut con, &["MULTI"]);
    ok::<String>(&mut con, &["SCARD", "dst"]);
    assert_eq!(ok::<i64>(&mut other, &["SMOVE", "src", "dst", "b"]), 1);
    assert_eq!(run(&mut con, &["EXEC"]).unwrap(), Value::Nil);
}
