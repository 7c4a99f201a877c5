//! List commands over TCP: replies, error texts and keyspace behaviour as Redis 7 gives them,
//! and blocking pops served across connections.

mod common;

use common::{
    assert_all_wrongtype, blocked_clients, bulk_strings, err, ok, run, spawn_command, spawn_resp3_waiter, wait_blocked,
    WRONGTYPE,
};

use redis::{Connection, Value};
use std::thread;
use std::time::{Duration, Instant};

fn range(con: &mut Connection, key: &str) -> Vec<String> {
    ok(con, &["LRANGE", key, "0", "-1"])
}

#[test]
fn push_pop_and_length() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    assert_eq!(ok::<i64>(con, &["LPUSH", "l", "b", "a"]), 2);
    assert_eq!(ok::<i64>(con, &["RPUSH", "l", "c", "d", "e"]), 5);
    assert_eq!(range(con, "l"), ["a", "b", "c", "d", "e"]);
    assert_eq!(ok::<i64>(con, &["LLEN", "l"]), 5);
    assert_eq!(ok::<i64>(con, &["LLEN", "nokey"]), 0);
    assert_eq!(ok::<i64>(con, &["LPUSHX", "nokey", "x"]), 0);
    assert_eq!(ok::<i64>(con, &["RPUSHX", "nokey", "x"]), 0);
    assert_eq!(ok::<i64>(con, &["EXISTS", "nokey"]), 0);
    assert_eq!(ok::<i64>(con, &["LPUSHX", "l", "z"]), 6);
    assert_eq!(ok::<i64>(con, &["RPUSHX", "l", "y", "w"]), 8);
    assert_eq!(ok::<String>(con, &["LPOP", "l"]), "z");
    assert_eq!(ok::<String>(con, &["RPOP", "l"]), "w");
    assert_eq!(ok::<Vec<String>>(con, &["LPOP", "l", "2"]), ["a", "b"]);
    assert_eq!(ok::<Vec<String>>(con, &["RPOP", "l", "2"]), ["y", "e"]);
    assert_eq!(run(con, &["LPOP", "l", "0"]).unwrap(), Value::Array(vec![]));
    assert_eq!(ok::<Vec<String>>(con, &["RPOP", "l", "10"]), ["d", "c"]);
    assert_eq!(ok::<i64>(con, &["EXISTS", "l"]), 0, "an emptied list is deleted");
    assert_eq!(run(con, &["LPOP", "l"]).unwrap(), Value::Nil);
    assert_eq!(run(con, &["LPOP", "l", "3"]).unwrap(), Value::Nil);
    assert_eq!(err(con, &["LPOP", "l", "-1"]), "ERR value is out of range, must be positive");
    assert_eq!(err(con, &["LPOP", "l", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["LPOP", "l", "1", "1"]), "ERR wrong number of arguments for 'lpop' command");
    assert_eq!(err(con, &["RPUSH", "l"]), "ERR wrong number of arguments for 'rpush' command");

    ok::<String>(con, &["SET", "s", "v"]);
    assert_all_wrongtype(
        con,
        &[
            &["LPUSH", "s", "x"],
            &["RPUSHX", "s", "x"],
            &["LPOP", "s"],
            &["RPOP", "s", "2"],
            &["LLEN", "s"],
            &["LRANGE", "s", "0", "-1"],
            &["LINDEX", "s", "0"],
            &["LSET", "s", "0", "x"],
            &["LINSERT", "s", "BEFORE", "a", "b"],
            &["LREM", "s", "0", "x"],
            &["LTRIM", "s", "0", "1"],
            &["LPOS", "s", "x"],
            &["LMOVE", "s", "d", "LEFT", "LEFT"],
            &["LMPOP", "1", "s", "LEFT"],
            &["BLPOP", "s", "0"],
        ],
    );
}

#[test]
fn ranges_indexes_and_edits() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["RPUSH", "l", "0", "1", "2", "3", "4", "5"]);
    assert_eq!(ok::<Vec<String>>(con, &["LRANGE", "l", "1", "-2"]), ["1", "2", "3", "4"]);
    assert_eq!(ok::<Vec<String>>(con, &["LRANGE", "l", "-100", "1"]), ["0", "1"]);
    assert_eq!(ok::<Vec<String>>(con, &["LRANGE", "l", "4", "100"]), ["4", "5"]);
    assert!(ok::<Vec<String>>(con, &["LRANGE", "l", "3", "1"]).is_empty());
    assert!(ok::<Vec<String>>(con, &["LRANGE", "nokey", "0", "-1"]).is_empty());
    assert_eq!(err(con, &["LRANGE", "l", "a", "1"]), "ERR value is not an integer or out of range");

    assert_eq!(ok::<String>(con, &["LINDEX", "l", "-1"]), "5");
    assert_eq!(run(con, &["LINDEX", "l", "6"]).unwrap(), Value::Nil);
    assert_eq!(run(con, &["LINDEX", "nokey", "0"]).unwrap(), Value::Nil);

    assert_eq!(ok::<String>(con, &["LSET", "l", "-1", "five"]), "OK");
    assert_eq!(err(con, &["LSET", "l", "6", "x"]), "ERR index out of range");
    assert_eq!(err(con, &["LSET", "nokey", "0", "x"]), "ERR no such key");

    assert_eq!(ok::<i64>(con, &["LINSERT", "l", "BEFORE", "0", "a"]), 7);
    assert_eq!(ok::<i64>(con, &["LINSERT", "l", "after", "five", "z"]), 8);
    assert_eq!(ok::<i64>(con, &["LINSERT", "l", "AFTER", "missing", "z"]), -1);
    assert_eq!(ok::<i64>(con, &["LINSERT", "nokey", "AFTER", "0", "z"]), 0);
    assert_eq!(err(con, &["LINSERT", "l", "MIDDLE", "0", "z"]), "ERR syntax error");
    assert_eq!(range(con, "l"), ["a", "0", "1", "2", "3", "4", "five", "z"]);

    assert_eq!(ok::<String>(con, &["LTRIM", "l", "1", "-2"]), "OK");
    assert_eq!(range(con, "l"), ["0", "1", "2", "3", "4", "five"]);
    ok::<String>(con, &["LTRIM", "l", "5", "1"]);
    assert_eq!(ok::<i64>(con, &["EXISTS", "l"]), 0, "an empty trim deletes the key");

    ok::<i64>(con, &["RPUSH", "r", "a", "b", "a", "c", "a", "a"]);
    assert_eq!(ok::<i64>(con, &["LREM", "r", "1", "a"]), 1);
    assert_eq!(ok::<i64>(con, &["LREM", "r", "-2", "a"]), 2);
    assert_eq!(range(con, "r"), ["b", "a", "c"]);
    assert_eq!(ok::<i64>(con, &["LREM", "r", "0", "x"]), 0);
    assert_eq!(ok::<i64>(con, &["LREM", "r", "0", "a"]), 1);
    assert_eq!(ok::<i64>(con, &["LREM", "nokey", "0", "a"]), 0);
}

#[test]
fn lpos_options() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
    assert_eq!(ok::<i64>(con, &["LPOS", "l", "c"]), 2);
    assert_eq!(ok::<i64>(con, &["LPOS", "l", "c", "RANK", "2"]), 6);
    assert_eq!(ok::<i64>(con, &["LPOS", "l", "c", "RANK", "-1"]), 7);
    assert_eq!(run(con, &["LPOS", "l", "c", "RANK", "4"]).unwrap(), Value::Nil);
    assert_eq!(ok::<Vec<i64>>(con, &["LPOS", "l", "c", "COUNT", "0"]), [2, 6, 7]);
    assert_eq!(ok::<Vec<i64>>(con, &["LPOS", "l", "c", "COUNT", "2", "RANK", "-1"]), [7, 6]);
    assert_eq!(ok::<Vec<i64>>(con, &["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"]), [2, 6]);
    assert_eq!(ok::<Vec<i64>>(con, &["LPOS", "l", "x", "COUNT", "0"]), Vec::<i64>::new());
    assert_eq!(run(con, &["LPOS", "l", "x"]).unwrap(), Value::Nil);
    assert_eq!(run(con, &["LPOS", "nokey", "x"]).unwrap(), Value::Nil);
    assert_eq!(ok::<Vec<i64>>(con, &["LPOS", "nokey", "x", "COUNT", "1"]), Vec::<i64>::new());
    assert!(err(con, &["LPOS", "l", "c", "RANK", "0"]).starts_with("ERR RANK can't be zero"));
    assert_eq!(err(con, &["LPOS", "l", "c", "COUNT", "-1"]), "ERR COUNT can't be negative");
    assert_eq!(err(con, &["LPOS", "l", "c", "MAXLEN", "-1"]), "ERR MAXLEN can't be negative");
    assert_eq!(err(con, &["LPOS", "l", "c", "RANK"]), "ERR syntax error");
    assert_eq!(err(con, &["LPOS", "l", "c", "FOO", "1"]), "ERR syntax error");
}

#[test]
fn moves_and_multi_pops() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["RPUSH", "src", "a", "b", "c"]);
    assert_eq!(ok::<String>(con, &["LMOVE", "src", "dst", "LEFT", "RIGHT"]), "a");
    assert_eq!(ok::<String>(con, &["RPOPLPUSH", "src", "dst"]), "c");
    assert_eq!(range(con, "dst"), ["c", "a"]);
    assert_eq!(ok::<String>(con, &["LMOVE", "dst", "dst", "LEFT", "RIGHT"]), "c");
    assert_eq!(range(con, "dst"), ["a", "c"]);
    assert_eq!(run(con, &["LMOVE", "nokey", "dst", "LEFT", "RIGHT"]).unwrap(), Value::Nil);
    assert_eq!(err(con, &["LMOVE", "src", "dst", "UP", "RIGHT"]), "ERR syntax error");
    ok::<String>(con, &["SET", "str", "x"]);
    assert_eq!(err(con, &["LMOVE", "src", "str", "LEFT", "LEFT"]), WRONGTYPE);
    assert_eq!(range(con, "src"), ["b"], "nothing moves when the target has the wrong type");
    assert_eq!(ok::<String>(con, &["RPOPLPUSH", "src", "dst"]), "b");
    assert_eq!(ok::<i64>(con, &["EXISTS", "src"]), 0);

    ok::<i64>(con, &["RPUSH", "m2", "1", "2", "3"]);
    let v = run(con, &["LMPOP", "2", "m1", "m2", "RIGHT", "COUNT", "2"]).unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            Value::BulkString(b"m2".to_vec()),
            Value::Array(vec![Value::BulkString(b"3".to_vec()), Value::BulkString(b"2".to_vec())]),
        ])
    );
    assert_eq!(run(con, &["LMPOP", "1", "m1", "LEFT"]).unwrap(), Value::Nil);
    assert_eq!(err(con, &["LMPOP", "0", "m1", "LEFT"]), "ERR numkeys should be greater than 0");
    assert_eq!(err(con, &["LMPOP", "1", "m1", "LEFT", "COUNT", "0"]), "ERR count should be greater than 0");
    assert_eq!(err(con, &["LMPOP", "1", "m1", "LEFT", "COUNT", "1", "COUNT", "2"]), "ERR syntax error");
    assert_eq!(err(con, &["LMPOP", "2", "m1", "LEFT"]), "ERR syntax error");
    assert_eq!(err(con, &["LMPOP", "1", "m1", "UP"]), "ERR syntax error");
}

#[test]
fn keyspace_commands_on_lists() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<String>(con, &["CONFIG", "SET", "list-max-listpack-size", "4"]);
    ok::<i64>(con, &["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(ok::<String>(con, &["TYPE", "l"]), "list");
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "l"]), "listpack");
    ok::<i64>(con, &["RPUSH", "l", "d", "e"]);
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "l"]), "quicklist");
    ok::<Vec<String>>(con, &["RPOP", "l", "3"]);
    assert_eq!(ok::<String>(con, &["OBJECT", "ENCODING", "l"]), "listpack");

    assert_eq!(ok::<i64>(con, &["COPY", "l", "copy"]), 1);
    ok::<i64>(con, &["RPUSH", "copy", "z"]);
    assert_eq!(range(con, "l"), ["a", "b"], "a copy is independent");
    assert_eq!(ok::<String>(con, &["RENAME", "copy", "renamed"]), "OK");
    assert_eq!(range(con, "renamed"), ["a", "b", "z"]);
    ok::<String>(con, &["SET", "str", "v"]);
    let (_, keys): (u64, Vec<String>) = ok(con, &["SCAN", "0", "TYPE", "list", "COUNT", "100"]);
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, ["l", "renamed"]);
    assert_eq!(ok::<i64>(con, &["DEL", "renamed"]), 1);
    ok::<i64>(con, &["PEXPIRE", "l", "50"]);
    thread::sleep(Duration::from_millis(80));
    assert_eq!(ok::<i64>(con, &["LLEN", "l"]), 0, "an expired list is gone");
    assert_eq!(ok::<i64>(con, &["EXISTS", "l"]), 0);

    // Memory follows the list up and down.
    let before: i64 = ok(con, &["MEMORY", "USAGE", "str"]);
    assert!(before > 0);
    let big: Vec<String> = (0..1000).map(|i| format!("element-{i:04}")).collect();
    let mut cmd = redis::cmd("RPUSH");
    cmd.arg("big").arg(&big);
    let _: i64 = cmd.query(con).unwrap();
    let full: i64 = ok(con, &["MEMORY", "USAGE", "big"]);
    assert!(full > 1000 * 16, "{full}");
    ok::<String>(con, &["LTRIM", "big", "0", "9"]);
    let trimmed: i64 = ok(con, &["MEMORY", "USAGE", "big"]);
    assert!(trimmed < full / 4, "{trimmed} vs {full}");
}

#[test]
fn blocking_pop_returns_at_once_when_data_exists() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    ok::<i64>(con, &["RPUSH", "b", "x", "y"]);
    assert_eq!(bulk_strings(run(con, &["BLPOP", "a", "b", "0"]).unwrap()), ["b", "x"]);
    assert_eq!(bulk_strings(run(con, &["BRPOP", "a", "b", "0"]).unwrap()), ["b", "y"]);
    assert_eq!(err(con, &["BLPOP", "a", "-1"]), "ERR timeout is negative");
    assert_eq!(err(con, &["BLPOP", "a", "abc"]), "ERR timeout is not a float or out of range");
    assert_eq!(err(con, &["BLMPOP", "x", "1", "a", "LEFT"]), "ERR timeout is not a float or out of range");
    assert_eq!(err(con, &["BLMOVE", "a", "b", "LEFT", "LEFT", "-0.5"]), "ERR timeout is negative");
}

#[test]
fn blocking_pop_times_out_with_null() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let started = Instant::now();
    assert_eq!(run(con, &["BLPOP", "empty", "0.2"]).unwrap(), Value::Nil);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(run(con, &["BLMOVE", "empty", "d", "LEFT", "LEFT", "0.05"]).unwrap(), Value::Nil);
    assert_eq!(run(con, &["BLMPOP", "0.05", "1", "empty", "LEFT"]).unwrap(), Value::Nil);
    assert_eq!(blocked_clients(con), 0);
    // The connection works on after a timeout, pipelined commands included.
    let (a, b): (Value, String) = redis::pipe().cmd("BRPOP").arg("empty").arg("0.05").cmd("PING").query(con).unwrap();
    assert_eq!((a, b.as_str()), (Value::Nil, "PONG"));
}

#[test]
fn waiters_are_served_in_arrival_order() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let mut waiters = Vec::new();
    for i in 0..3 {
        waiters.push(spawn_command(&server, &["BLPOP", "other", "q", "5"]));
        wait_blocked(con, i + 1);
    }
    let list: String = ok(con, &["CLIENT", "LIST"]);
    assert_eq!(list.lines().filter(|l| l.contains("flags=b ")).count(), 3, "{list}");
    assert_eq!(ok::<i64>(con, &["RPUSH", "q", "first", "second", "third", "fourth"]), 4);
    let got: Vec<Vec<String>> = waiters.into_iter().map(|w| bulk_strings(w.join().unwrap().unwrap())).collect();
    assert_eq!(got, [["q", "first"], ["q", "second"], ["q", "third"]]);
    assert_eq!(range(con, "q"), ["fourth"]);
    assert_eq!(blocked_clients(con), 0);
}

#[test]
fn push_inside_multi_wakes_waiter_after_exec() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let waiter = spawn_command(&server, &["BRPOP", "k", "5"]);
    wait_blocked(con, 1);
    ok::<String>(con, &["MULTI"]);
    ok::<String>(con, &["RPUSH", "k", "a", "b"]);
    ok::<String>(con, &["RPOP", "k"]);
    let replies: Vec<Value> = ok(con, &["EXEC"]);
    assert_eq!(replies, [Value::Int(2), Value::BulkString(b"b".to_vec())]);
    assert_eq!(bulk_strings(waiter.join().unwrap().unwrap()), ["k", "a"]);
    assert_eq!(ok::<i64>(con, &["EXISTS", "k"]), 0);

    // A push undone inside the same transaction wakes nobody.
    let waiter = spawn_command(&server, &["BLPOP", "k", "5"]);
    wait_blocked(con, 1);
    ok::<String>(con, &["MULTI"]);
    ok::<String>(con, &["LPUSH", "k", "gone"]);
    ok::<String>(con, &["DEL", "k"]);
    ok::<Vec<Value>>(con, &["EXEC"]);
    assert_eq!(blocked_clients(con), 1);
    ok::<i64>(con, &["LPUSH", "k", "later"]);
    assert_eq!(bulk_strings(waiter.join().unwrap().unwrap()), ["k", "later"]);

    // Inside MULTI a blocking pop on an empty list answers null at once.
    ok::<String>(con, &["MULTI"]);
    ok::<String>(con, &["BLPOP", "none", "0"]);
    ok::<String>(con, &["BLMOVE", "none", "x", "LEFT", "LEFT", "0"]);
    let replies: Vec<Value> = ok(con, &["EXEC"]);
    assert_eq!(replies, [Value::Nil, Value::Nil]);
}

#[test]
fn blmove_moves_for_the_waiter_and_wakes_the_next() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    // A waiter on the target list is served by the element BLMOVE moves there.
    let mover = spawn_command(&server, &["BLMOVE", "src", "dst", "RIGHT", "LEFT", "5"]);
    wait_blocked(con, 1);
    let target_waiter = spawn_command(&server, &["BLMPOP", "5", "1", "dst", "LEFT", "COUNT", "5"]);
    wait_blocked(con, 2);
    ok::<i64>(con, &["RPUSH", "src", "x", "y"]);
    let moved: String = redis::from_redis_value(&mover.join().unwrap().unwrap()).unwrap();
    assert_eq!(moved, "y");
    let v = target_waiter.join().unwrap().unwrap();
    assert_eq!(
        v,
        Value::Array(vec![Value::BulkString(b"dst".to_vec()), Value::Array(vec![Value::BulkString(b"y".to_vec())])])
    );
    assert_eq!(range(con, "src"), ["x"]);
    assert_eq!(ok::<i64>(con, &["EXISTS", "dst"]), 0);

    // RENAME of a list into a watched key wakes the waiter too.
    let waiter = spawn_command(&server, &["BRPOPLPUSH", "watched", "out", "5"]);
    wait_blocked(con, 1);
    ok::<String>(con, &["RENAME", "src", "watched"]);
    let moved: String = redis::from_redis_value(&waiter.join().unwrap().unwrap()).unwrap();
    assert_eq!(moved, "x");
    assert_eq!(range(con, "out"), ["x"]);
}

#[test]
fn kill_unblock_and_disconnect_remove_waiters() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();

    let mut victim = server.conn();
    let id: i64 = ok(&mut victim, &["CLIENT", "ID"]);
    let waiter = thread::spawn(move || run(&mut victim, &["BLPOP", "k", "0"]));
    wait_blocked(con, 1);
    assert_eq!(ok::<i64>(con, &["CLIENT", "KILL", "ID", &id.to_string()]), 1);
    assert!(waiter.join().unwrap().is_err());
    wait_blocked(con, 0);
    ok::<i64>(con, &["RPUSH", "k", "kept"]);
    assert_eq!(range(con, "k"), ["kept"], "a killed waiter takes nothing");
    ok::<i64>(con, &["DEL", "k"]);

    let mut blocked = server.conn();
    let id: i64 = ok(&mut blocked, &["CLIENT", "ID"]);
    let id = id.to_string();
    let waiter = thread::spawn(move || {
        let first = run(&mut blocked, &["BLPOP", "k", "0"]);
        let second = run(&mut blocked, &["BLPOP", "k", "0"]);
        (first, second)
    });
    wait_blocked(con, 1);
    assert_eq!(ok::<i64>(con, &["CLIENT", "UNBLOCK", &id, "TIMEOUT"]), 1);
    wait_blocked(con, 1);
    assert_eq!(ok::<i64>(con, &["CLIENT", "UNBLOCK", &id, "ERROR"]), 1);
    let (first, second) = waiter.join().unwrap();
    assert_eq!(first.unwrap(), Value::Nil);
    let e = second.unwrap_err();
    assert_eq!(e.code(), Some("UNBLOCKED"));
    assert_eq!(ok::<i64>(con, &["CLIENT", "UNBLOCK", &id]), 0);
    assert_eq!(err(con, &["CLIENT", "UNBLOCK", "abc"]), "ERR value is not an integer or out of range");
    assert_eq!(err(con, &["CLIENT", "UNBLOCK", &id, "MAYBE"]), "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");

    // A waiter that disconnects is forgotten.
    let out = server.raw(b"BLPOP k 0\r\n", Duration::from_millis(100));
    assert!(out.is_empty());
    wait_blocked(con, 0);
    ok::<i64>(con, &["RPUSH", "k", "still"]);
    assert_eq!(range(con, "k"), ["still"]);
}

#[test]
fn resp3_waiter_gets_resp3_reply() {
    let server = common::Server::start(&[]);
    let con = &mut server.conn();
    let handle = spawn_resp3_waiter(&server, b"BLPOP k 0.1\r\nBLPOP k 5\r\n", b"$1\r\nv\r\n");
    // Only the second BLPOP waits when the value arrives.
    thread::sleep(Duration::from_millis(150));
    wait_blocked(con, 1);
    ok::<i64>(con, &["RPUSH", "k", "v"]);
    assert_eq!(handle.join().unwrap(), b"_\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
}
