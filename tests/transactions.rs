//! Transactions over real TCP: MULTI/EXEC/DISCARD replies and errors, EXECABORT on queueing
//! errors, WATCH failing EXEC for every way a key can change (write by anyone, delete, expiry
//! before and after removal, rename, move, flushes, SWAPDB, TENANT FLUSH, TAG.INVALIDATE,
//! eviction), writes that change nothing leaving WATCH intact as in Redis 7, out-of-memory
//! refusals, and the atomicity of EXEC against a concurrent reader.

mod common;

use common::{Raw, Server};
use std::time::Duration;

const EXECABORT: &str = "-EXECABORT Transaction discarded because of previous errors.";

#[test]
fn multi_exec_queues_and_runs_in_order() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["SET", "k", "1"]), "+QUEUED");
    assert_eq!(c.call(&["INCRBY", "k", "5"]), "+QUEUED");
    assert_eq!(c.call(&["GET", "k"]), "+QUEUED");
    assert_eq!(c.call(&["PING"]), "+QUEUED");
    assert_eq!(c.call(&["EXEC"]), r#"*[+OK,:6,"6",+PONG]"#);
    // An empty transaction is an empty array.
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["EXEC"]), "*[]");
    // CLIENT LIST shows the queue length while in MULTI.
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["SET", "a", "b"]), "+QUEUED");
    let mut other = Raw::connect(&server);
    let list = other.call(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=x") && list.contains("multi=1"), "{list}");
    assert_eq!(c.call(&["DISCARD"]), "+OK");
    assert_eq!(c.call(&["GET", "a"]), "nil");
}

#[test]
fn transaction_state_errors() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    assert_eq!(c.call(&["EXEC"]), "-ERR EXEC without MULTI");
    assert_eq!(c.call(&["DISCARD"]), "-ERR DISCARD without MULTI");
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["MULTI"]), "-ERR MULTI calls can not be nested");
    assert_eq!(c.call(&["WATCH", "x"]), "-ERR WATCH inside MULTI is not allowed");
    // Neither error aborts the transaction.
    assert_eq!(c.call(&["SET", "x", "1"]), "+QUEUED");
    assert_eq!(c.call(&["EXEC"]), "*[+OK]");
    // EXEC refused by its own arity ends the transaction.
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["SET", "x", "2"]), "+QUEUED");
    assert_eq!(
        c.call(&["EXEC", "now"]),
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"
    );
    assert_eq!(c.call(&["EXEC"]), "-ERR EXEC without MULTI");
    assert_eq!(c.call(&["GET", "x"]), r#""1""#);
}

#[test]
fn queueing_errors_abort_exec() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    let cases: &[(&[&str], &str)] = &[
        (&["NOSUCHCMD", "a"], "-ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' "),
        (&["GET"], "-ERR wrong number of arguments for 'get' command"),
        (&["CONFIG", "NOSUCH"], "-ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP."),
        (&["SAVE"], "-ERR Command not allowed inside a transaction"),
    ];
    for (bad, error) in cases {
        assert_eq!(c.call(&["MULTI"]), "+OK");
        assert_eq!(c.call(&["SET", "a", "1"]), "+QUEUED");
        assert_eq!(c.call(bad), *error);
        assert_eq!(c.call(&["SET", "b", "1"]), "+QUEUED");
        assert_eq!(c.call(&["EXEC"]), EXECABORT, "after {bad:?}");
        assert_eq!(c.call(&["EXISTS", "a", "b"]), ":0");
        // The client left MULTI.
        assert_eq!(c.call(&["PING"]), "+PONG");
    }
}

#[test]
fn runtime_error_fails_only_that_command() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    c.call(&["SET", "s", "text"]);
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["INCR", "s"]), "+QUEUED");
    assert_eq!(c.call(&["SET", "t", "1"]), "+QUEUED");
    assert_eq!(c.call(&["SELECT", "99"]), "+QUEUED");
    assert_eq!(c.call(&["INCR", "t"]), "+QUEUED");
    assert_eq!(
        c.call(&["EXEC"]),
        "*[-ERR value is not an integer or out of range,+OK,-ERR DB index is out of range,:2]"
    );
    // Errors inside EXEC count for their commands, not for EXEC.
    let stats = c.call(&["INFO", "commandstats"]);
    let exec = stats.split("\\r\\n").find(|l| l.starts_with("cmdstat_exec:")).expect("exec stats");
    assert!(exec.starts_with("cmdstat_exec:calls=1,") && exec.contains("failed_calls=0"), "{exec}");
}

#[test]
fn watch_unchanged_key_lets_exec_run() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    c.call(&["SET", "x", "1"]);
    assert_eq!(c.call(&["WATCH", "x", "y", "x"]), "+OK");
    // Reads do not count as changes.
    c.call(&["GET", "x"]);
    c.call(&["EXISTS", "y"]);
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["INCR", "x"]), "+QUEUED");
    assert_eq!(c.call(&["EXEC"]), "*[:2]");
    // EXEC unwatched everything: the transaction's own write does not fail the next one.
    assert_eq!(exec_after_ping(&mut c), "*[+PONG]");
}

/// WATCH `key` on a fresh connection, run `change` on `by`, then EXEC: the reply.
fn exec_after(server: &Server, setup: &[&[&str]], watch: &[&str], change: &[&[&str]], same_client: bool) -> String {
    let mut c = Raw::connect(server);
    let mut other = Raw::connect(server);
    c.call(&["FLUSHALL"]);
    for cmd in setup {
        let reply = c.call(cmd);
        assert!(!reply.starts_with('-'), "setup {cmd:?}: {reply}");
    }
    let mut w = vec!["WATCH"];
    w.extend_from_slice(watch);
    assert_eq!(c.call(&w), "+OK");
    for cmd in change {
        let by = if same_client { &mut c } else { &mut other };
        let reply = by.call(cmd);
        assert!(!reply.starts_with('-'), "{cmd:?}: {reply}");
    }
    exec_after_ping(&mut c)
}

/// (what the case shows, commands before WATCH, commands by another client after WATCH).
type Case<'a> = (&'a str, &'a [&'a [&'a str]], &'a [&'a [&'a str]]);

#[test]
fn watch_fails_exec_on_every_kind_of_change() {
    let server = Server::start(&[]);
    let set_x: &[&[&str]] = &[&["SET", "x", "1"]];
    let changes: &[Case] = &[
        ("overwrite", set_x, &[&["SET", "x", "1"]]),
        ("create", &[], &[&["SET", "x", "1"]]),
        ("in place", set_x, &[&["APPEND", "x", "2"]]),
        ("delete", set_x, &[&["DEL", "x"]]),
        ("expire", set_x, &[&["EXPIRE", "x", "100"]]),
        ("persist", &[&["SET", "x", "1", "EX", "100"]], &[&["PERSIST", "x"]]),
        ("rename away", set_x, &[&["RENAME", "x", "y"]]),
        ("rename onto", &[&["SET", "y", "2"]], &[&["RENAME", "y", "x"]]),
        ("move", set_x, &[&["MOVE", "x", "3"]]),
        ("flushdb", set_x, &[&["FLUSHDB"]]),
        ("flushall", set_x, &[&["FLUSHALL"]]),
        ("swapdb existing", set_x, &[&["SWAPDB", "0", "1"]]),
        ("swapdb incoming", &[&["SELECT", "1"], &["SET", "x", "1"], &["SELECT", "0"]], &[&["SWAPDB", "0", "1"]]),
        ("tenant flush", &[&["SET", "acme:x", "1"]], &[&["TENANT", "FLUSH", "acme"]]),
        ("tag invalidate", &[&["TAG.SET", "x", "1", "TAGS", "plan"]], &[&["TAG.INVALIDATE", "plan"]]),
        ("tag add", set_x, &[&["TAG.ADD", "x", "plan"]]),
    ];
    for (what, setup, change) in changes {
        let watch: &[&str] = if *what == "tenant flush" { &["acme:x"] } else { &["x"] };
        for same_client in [false, true] {
            assert_eq!(
                exec_after(&server, setup, watch, change, same_client),
                "nil",
                "{what}, same client {same_client}"
            );
        }
    }
}

#[test]
fn watch_ignores_changes_that_do_not_touch_the_key() {
    let server = Server::start(&[]);
    let none: &[&[&str]] = &[];
    let cases: &[Case] = &[
        ("other key", &[&["SET", "x", "1"]], &[&["SET", "y", "1"], &["DEL", "z"]]),
        ("same key in another db", &[&["SET", "x", "1"]], &[&["SELECT", "1"], &["SET", "x", "2"]]),
        ("flushdb of a missing key", none, &[&["FLUSHDB"]]),
        ("flushall of a missing key", none, &[&["FLUSHALL"]]),
        ("delete of a missing key", none, &[&["DEL", "x"]]),
        (
            "other tenant flushed",
            &[&["SET", "acme:x", "1"], &["SET", "globex:x", "1"]],
            &[&["TENANT", "FLUSH", "globex"]],
        ),
        ("swapdb of missing keys", none, &[&["SWAPDB", "0", "1"]]),
    ];
    for (what, setup, change) in cases {
        let watch: &[&str] = if what.contains("tenant") { &["acme:x"] } else { &["x"] };
        assert_eq!(exec_after(&server, setup, watch, change, false), "*[+PONG]", "{what}");
    }
}

#[test]
fn watch_ignores_writes_that_change_nothing() {
    let server = Server::start(&[]);
    let none: &[&[&str]] = &[];
    let set: &[&[&str]] = &[&["SADD", "x", "a", "b"]];
    let hash: &[&[&str]] = &[&["HSET", "x", "f", "1"]];
    let zset: &[&[&str]] = &[&["ZADD", "x", "1", "a", "2", "b"]];
    let list: &[&[&str]] = &[&["RPUSH", "x", "a", "b"]];
    let string: &[&[&str]] = &[&["SET", "x", "1"]];
    // Each write below runs (no error) but leaves `x` as it was: Redis calls no
    // signalModifiedKey for it, so the transaction watching `x` goes on.
    let noops: &[Case] = &[
        ("SADD of a present member", set, &[&["SADD", "x", "a"]]),
        ("SREM of an absent member", set, &[&["SREM", "x", "c"]]),
        ("SREM on a missing key", none, &[&["SREM", "x", "c"]]),
        ("SPOP of none", set, &[&["SPOP", "x", "0"]]),
        ("SMOVE of an absent member", set, &[&["SMOVE", "x", "y", "c"]]),
        ("SMOVE into a set that has it", &[&["SADD", "x", "a"], &["SADD", "y", "a"]], &[&["SMOVE", "y", "x", "a"]]),
        ("HDEL of an absent field", hash, &[&["HDEL", "x", "g"]]),
        ("HSETNX of a present field", hash, &[&["HSETNX", "x", "f", "2"]]),
        ("ZADD XX of an absent member", zset, &[&["ZADD", "x", "XX", "5", "c"]]),
        ("ZADD XX on a missing key", none, &[&["ZADD", "x", "XX", "5", "c"]]),
        ("ZADD NX of a present member", zset, &[&["ZADD", "x", "NX", "5", "a"]]),
        ("ZADD of the same score", zset, &[&["ZADD", "x", "1", "a"]]),
        ("ZADD GT of a lower score", zset, &[&["ZADD", "x", "GT", "CH", "0", "a"]]),
        ("ZINCRBY XX of an absent member", zset, &[&["ZADD", "x", "XX", "INCR", "5", "c"]]),
        ("ZREM of absent members", zset, &[&["ZREM", "x", "c", "d"]]),
        ("ZREMRANGEBYSCORE of an empty range", zset, &[&["ZREMRANGEBYSCORE", "x", "5", "9"]]),
        ("ZREMRANGEBYRANK of an empty range", zset, &[&["ZREMRANGEBYRANK", "x", "5", "9"]]),
        ("ZPOPMIN of none", zset, &[&["ZPOPMIN", "x", "0"]]),
        ("LREM of an absent element", list, &[&["LREM", "x", "0", "c"]]),
        ("LINSERT without the pivot", list, &[&["LINSERT", "x", "BEFORE", "c", "d"]]),
        ("LPOP of none", list, &[&["LPOP", "x", "0"]]),
        ("LPUSHX on a missing key", none, &[&["LPUSHX", "x", "a"]]),
        ("EXPIRE on a missing key", none, &[&["EXPIRE", "x", "100"]]),
        ("EXPIRE NX on a key with a TTL", &[&["SET", "x", "1", "EX", "100"]], &[&["EXPIRE", "x", "200", "NX"]]),
        ("EXPIRE XX on a key without one", string, &[&["EXPIRE", "x", "200", "XX"]]),
        ("PERSIST of a key without a TTL", string, &[&["PERSIST", "x"]]),
        ("GETEX PERSIST of a key without a TTL", string, &[&["GETEX", "x", "PERSIST"]]),
        ("SETBIT of a bit already set", &[&["SETBIT", "x", "7", "1"]], &[&["SETBIT", "x", "7", "1"]]),
        ("SETRANGE of nothing", string, &[&["SETRANGE", "x", "0", ""]]),
    ];
    for (what, setup, change) in noops {
        for same_client in [false, true] {
            assert_eq!(
                exec_after(&server, setup, &["x"], change, same_client),
                "*[+PONG]",
                "{what}, same client {same_client}"
            );
        }
    }
    // The same commands when they do change `x`, and the writes Redis counts as changes even
    // when the value stays the same: EXEC fails.
    let changes: &[Case] = &[
        ("SADD of a new member", set, &[&["SADD", "x", "c"]]),
        ("SREM of a present member", set, &[&["SREM", "x", "a"]]),
        ("SREM of the last members", set, &[&["SREM", "x", "a", "b"]]),
        ("SPOP", set, &[&["SPOP", "x"]]),
        ("SMOVE out", set, &[&["SMOVE", "x", "y", "a"]]),
        ("SMOVE in", &[&["SADD", "x", "a"], &["SADD", "y", "b"]], &[&["SMOVE", "y", "x", "b"]]),
        ("HDEL of a present field", hash, &[&["HDEL", "x", "f"]]),
        ("HSETNX of a new field", hash, &[&["HSETNX", "x", "g", "2"]]),
        ("HSET of the same value", hash, &[&["HSET", "x", "f", "1"]]),
        ("HINCRBY 0", hash, &[&["HINCRBY", "x", "f", "0"]]),
        ("ZADD XX of a new score", zset, &[&["ZADD", "x", "XX", "5", "a"]]),
        ("ZADD NX of a new member", zset, &[&["ZADD", "x", "NX", "5", "c"]]),
        ("ZADD on a missing key", none, &[&["ZADD", "x", "1", "a"]]),
        ("ZREM of a present member", zset, &[&["ZREM", "x", "c", "a"]]),
        ("ZREMRANGEBYSCORE", zset, &[&["ZREMRANGEBYSCORE", "x", "0", "1"]]),
        ("ZPOPMIN", zset, &[&["ZPOPMIN", "x"]]),
        ("LREM of a present element", list, &[&["LREM", "x", "0", "a"]]),
        ("LINSERT", list, &[&["LINSERT", "x", "BEFORE", "a", "d"]]),
        ("LSET of the same value", list, &[&["LSET", "x", "0", "a"]]),
        ("LTRIM of the whole list", list, &[&["LTRIM", "x", "0", "-1"]]),
        ("LMOVE onto itself", list, &[&["LMOVE", "x", "x", "LEFT", "RIGHT"]]),
        ("EXPIRE", string, &[&["EXPIRE", "x", "100"]]),
        ("EXPIRE to the same time", &[&["SET", "x", "1", "EXAT", "4000000000"]], &[&["EXPIREAT", "x", "4000000000"]]),
        ("PERSIST of a key with a TTL", &[&["SET", "x", "1", "EX", "100"]], &[&["PERSIST", "x"]]),
        ("SETBIT of a bit that flips", &[&["SETBIT", "x", "7", "1"]], &[&["SETBIT", "x", "7", "0"]]),
        ("SETBIT that only grows the string", &[&["SETBIT", "x", "7", "1"]], &[&["SETBIT", "x", "15", "0"]]),
        ("INCRBY 0", string, &[&["INCRBY", "x", "0"]]),
        ("APPEND of nothing", string, &[&["APPEND", "x", ""]]),
        ("SETRANGE of the same bytes", string, &[&["SETRANGE", "x", "0", "1"]]),
    ];
    for (what, setup, change) in changes {
        assert_eq!(exec_after(&server, setup, &["x"], change, false), "nil", "{what}");
    }
}

#[test]
fn watch_ignores_failed_increments_of_a_hash_field() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    let mut other = Raw::connect(&server);
    c.call(&["HSET", "x", "f", "text", "n", "9223372036854775807"]);
    assert_eq!(c.call(&["WATCH", "x", "y"]), "+OK");
    assert_eq!(other.call(&["HINCRBY", "x", "f", "1"]), "-ERR hash value is not an integer");
    assert_eq!(other.call(&["HINCRBY", "x", "n", "1"]), "-ERR increment or decrement would overflow");
    assert_eq!(other.call(&["HINCRBYFLOAT", "x", "f", "1"]), "-ERR hash value is not a float");
    // A missing key is not created by a write that adds nothing.
    assert_eq!(other.call(&["ZADD", "y", "XX", "1", "a"]), ":0");
    assert_eq!(other.call(&["EXISTS", "y"]), ":0");
    assert_eq!(exec_after_ping(&mut c), "*[+PONG]");
    assert_eq!(c.call(&["WATCH", "x"]), "+OK");
    assert_eq!(other.call(&["HINCRBYFLOAT", "x", "g", "1.5"]), r#""1.5""#);
    assert_eq!(exec_after_ping(&mut c), "nil");
}

#[test]
fn watch_and_expiry_follow_redis_7() {
    let server = Server::start(&["--hz", "1"]);
    let mut c = Raw::connect(&server);
    // A live key whose time passes fails EXEC, even while nothing has removed it yet.
    c.call(&["SET", "x", "1", "PX", "100"]);
    assert_eq!(c.call(&["WATCH", "x"]), "+OK");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(exec_after_ping(&mut c), "nil");
    // ... and when it was removed by a read in between.
    c.call(&["SET", "x", "1", "PX", "100"]);
    assert_eq!(c.call(&["WATCH", "x"]), "+OK");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(c.call(&["GET", "x"]), "nil");
    assert_eq!(exec_after_ping(&mut c), "nil");
    // A key that had already expired when watched (hz 1 leaves it stored for a while; were
    // it removed already, the outcomes below would be the same): its removal is no change ...
    c.call(&["SET", "x", "1", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c.call(&["WATCH", "x"]), "+OK");
    assert_eq!(c.call(&["GET", "x"]), "nil");
    assert_eq!(exec_after_ping(&mut c), "*[+PONG]");
    // ... but writing it again is.
    c.call(&["SET", "x", "1", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c.call(&["WATCH", "x"]), "+OK");
    assert_eq!(c.call(&["SET", "x", "2"]), "+OK");
    assert_eq!(exec_after_ping(&mut c), "nil");
}

#[test]
fn watch_fails_exec_when_the_key_is_evicted() {
    let server = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = Raw::connect(&server);
    assert_eq!(c.call(&["TENANT", "SETLIMIT", "acme", "MAXKEYS", "1", "ONLIMIT", "evict"]), "+OK");
    c.call(&["SET", "acme:a", "1"]);
    assert_eq!(c.call(&["WATCH", "acme:a"]), "+OK");
    let mut other = Raw::connect(&server);
    assert_eq!(other.call(&["SET", "acme:b", "1"]), "+OK");
    assert_eq!(other.call(&["EXISTS", "acme:a"]), ":0", "acme:a was the one key to evict");
    assert_eq!(exec_after_ping(&mut c), "nil");
}

#[test]
fn unwatch_discard_and_reset_forget_watches() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    let mut other = Raw::connect(&server);
    for forget in [&["UNWATCH"][..], &["MULTI"], &["RESET"]] {
        assert_eq!(c.call(&["WATCH", "x"]), "+OK");
        other.call(&["SET", "x", "1"]);
        if forget == ["MULTI"] {
            // DISCARD clears the dirty flag and the watches.
            assert_eq!(c.call(&["MULTI"]), "+OK");
            assert_eq!(c.call(&["DISCARD"]), "+OK");
        } else {
            c.call(forget);
        }
        other.call(&["SET", "x", "2"]);
        assert_eq!(exec_after_ping(&mut c), "*[+PONG]", "after {forget:?}");
    }
    // A failed EXEC unwatches too.
    assert_eq!(c.call(&["WATCH", "x"]), "+OK");
    other.call(&["SET", "x", "3"]);
    assert_eq!(exec_after_ping(&mut c), "nil");
    other.call(&["SET", "x", "4"]);
    assert_eq!(exec_after_ping(&mut c), "*[+PONG]");
}

#[test]
fn failed_watch_is_a_resp3_null() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    assert!(c.call(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(c.call(&["WATCH", "x"]), "+OK");
    c.call(&["SET", "x", "1"]);
    assert_eq!(exec_after_ping(&mut c), "_");
}

#[test]
fn out_of_memory_refuses_queueing_and_exec_but_not_reads() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    let mut admin = Raw::connect(&server);
    let oom = "OOM command not allowed when used memory > 'maxmemory'.";
    c.call(&["SET", "x", "v"]);

    // Out of memory while queueing: refused, and EXEC aborts.
    admin.call(&["CONFIG", "SET", "maxmemory", "1"]);
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["SET", "y", "1"]), format!("-{oom}"));
    assert_eq!(c.call(&["EXEC"]), EXECABORT);
    // DISCARD is never refused.
    assert_eq!(c.call(&["MULTI"]), "+OK");
    let _ = c.call(&["SET", "y", "1"]);
    assert_eq!(c.call(&["DISCARD"]), "+OK");
    admin.call(&["CONFIG", "SET", "maxmemory", "0"]);

    // Out of memory by EXEC time: a transaction that may grow memory is refused whole ...
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["SET", "y", "1"]), "+QUEUED");
    assert_eq!(c.call(&["GET", "x"]), "+QUEUED");
    admin.call(&["CONFIG", "SET", "maxmemory", "1"]);
    assert_eq!(c.call(&["EXEC"]), format!("-EXECABORT Transaction discarded because of: {oom}"));
    assert_eq!(c.call(&["EXISTS", "y"]), ":0");
    admin.call(&["CONFIG", "SET", "maxmemory", "0"]);
    // ... while a read-only one runs.
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["GET", "x"]), "+QUEUED");
    admin.call(&["CONFIG", "SET", "maxmemory", "1"]);
    assert_eq!(c.call(&["EXEC"]), r#"*["v"]"#);
    admin.call(&["CONFIG", "SET", "maxmemory", "0"]);
}

#[test]
fn tenant_quota_is_checked_for_the_whole_transaction_at_exec() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    assert_eq!(c.call(&["TENANT", "SETLIMIT", "acme", "MAXKEYS", "2", "ONLIMIT", "reject"]), "+OK");
    c.call(&["SET", "acme:a", "1"]);
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["SET", "acme:b", "1"]), "+QUEUED");
    assert_eq!(c.call(&["SET", "acme:c", "1"]), "+QUEUED");
    assert_eq!(c.call(&["SET", "globex:a", "1"]), "+QUEUED");
    assert_eq!(
        c.call(&["EXEC"]),
        "-EXECABORT Transaction discarded because of: OOM command not allowed when tenant 'acme' is over its quota"
    );
    // Nothing ran, not even the other tenant's write.
    assert_eq!(c.call(&["EXISTS", "acme:b", "acme:c", "globex:a"]), ":0");
    // Within the quota the transaction runs.
    assert_eq!(c.call(&["MULTI"]), "+OK");
    assert_eq!(c.call(&["SET", "acme:b", "1"]), "+QUEUED");
    assert_eq!(c.call(&["SET", "acme:a", "2"]), "+QUEUED");
    assert_eq!(c.call(&["EXEC"]), "*[+OK,+OK]");
}

/// While one client runs a transaction of many INCRs, another client's reads never see a
/// value in the middle of one: EXEC holds the keyspace for its whole run.
#[test]
fn exec_is_atomic_for_other_clients() {
    const INCRS: usize = 500;
    const ROUNDS: usize = 20;
    let server = Server::start(&[]);
    let mut setup = Raw::connect(&server);
    setup.call(&["SET", "counter", "0"]);
    let port = server.port;
    let reader = std::thread::spawn(move || {
        let mut client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let mut seen = Vec::new();
        for _ in 0..2000 {
            let v: i64 = redis::cmd("GET").arg("counter").query(&mut client).unwrap();
            seen.push(v);
            if v == (INCRS * ROUNDS) as i64 {
                break;
            }
        }
        seen
    });
    let mut writer = Raw::connect(&server);
    for _ in 0..ROUNDS {
        // Queued in one batch, then EXEC on its own: the INCRs run inside EXEC, not as a
        // pipelined batch.
        let mut batch = String::from("MULTI\r\n");
        for _ in 0..INCRS {
            batch.push_str("INCR counter\r\n");
        }
        writer.send_raw(batch.as_bytes());
        assert_eq!(writer.read(), "+OK");
        for _ in 0..INCRS {
            assert_eq!(writer.read(), "+QUEUED");
        }
        writer.send(&["EXEC"]);
        let exec = writer.read();
        assert!(exec.starts_with("*[:"), "{exec}");
    }
    let seen = reader.join().unwrap();
    assert!(!seen.is_empty());
    for v in seen {
        assert_eq!(v % INCRS as i64, 0, "a reader saw {v}, in the middle of a transaction");
    }
}

#[test]
fn redis_crate_transactions_and_watch_retry() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    // An atomic pipeline is MULTI ... EXEC.
    let (a, b): (i64, String) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("k")
        .arg(10)
        .ignore()
        .cmd("INCRBY")
        .arg("k")
        .arg(5)
        .cmd("GET")
        .arg("k")
        .query(&mut con)
        .unwrap();
    assert_eq!((a, b.as_str()), (15, "15"));
    // The crate's WATCH/MULTI helper retries until no one else touched the key.
    let mut other = server.conn();
    let mut attempts = 0;
    let doubled: (i64,) = redis::transaction(&mut con, &["k"], |con, pipe| {
        attempts += 1;
        let v: i64 = redis::cmd("GET").arg("k").query(con)?;
        if attempts == 1 {
            let _: () = redis::cmd("INCR").arg("k").query(&mut other)?;
        }
        pipe.cmd("SET").arg("k").arg(v * 2).ignore().cmd("GET").arg("k").query(con)
    })
    .unwrap();
    assert_eq!(attempts, 2);
    assert_eq!(doubled, (32,));
}

/// Runs MULTI, PING, EXEC on `raw`; returns EXEC's reply.
fn exec_after_ping(raw: &mut Raw) -> String {
    assert_eq!(raw.call(&["MULTI"]), "+OK");
    assert_eq!(raw.call(&["PING"]), "+QUEUED");
    raw.call(&["EXEC"])
}
