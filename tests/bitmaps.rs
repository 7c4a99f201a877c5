//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO) against
//! the real binary: a seeded random mix run on tenantcache and on Debian's redis-server must
//! get the same reply to every command and leave the same strings (the redis-server half is
//! skipped, with a message, where it is not installed; rerun a failure with the printed
//! `BITMAPS_SEED`); and errors, events and WATCH are Redis's.

mod common;

use common::*;
use redis::{Connection, Value};

const KEYS: &[&str] = &["a", "b", "c", "empty"];

/// One random bitmap command over a few short keys, with ranges, offsets and field types
/// that reach the edges (negative indexes, BIT units, `#n` offsets, every overflow rule).
fn random_command(r: &mut Rng) -> Vec<String> {
    let key = |r: &mut Rng| r.pick(KEYS).to_string();
    let index = |r: &mut Rng| (r.below(80) as i64 - 40).to_string();
    let unit = |r: &mut Rng| r.pick(&["BYTE", "BIT"]).to_string();
    let ty = |r: &mut Rng| {
        let bits = 1 + r.below(64);
        if r.below(2) == 0 || bits == 64 {
            format!("i{bits}")
        } else {
            format!("u{bits}")
        }
    };
    let offset = |r: &mut Rng| if r.below(4) == 0 { format!("#{}", r.below(12)) } else { r.below(200).to_string() };
    let value = |r: &mut Rng| match r.below(4) {
        0 => (r.next() as i64).to_string(),
        1 => (r.below(600) as i64 - 300).to_string(),
        _ => r.below(300).to_string(),
    };
    let mut c: Vec<String> = match r.below(9) {
        0 => vec!["SETBIT".into(), key(r), r.below(160).to_string(), r.below(2).to_string()],
        1 => vec!["GETBIT".into(), key(r), r.below(200).to_string()],
        2 => match r.below(3) {
            0 => vec!["BITCOUNT".into(), key(r)],
            1 => vec!["BITCOUNT".into(), key(r), index(r), index(r)],
            _ => vec!["BITCOUNT".into(), key(r), index(r), index(r), unit(r)],
        },
        3 => match r.below(4) {
            0 => vec!["BITPOS".into(), key(r), r.below(2).to_string()],
            1 => vec!["BITPOS".into(), key(r), r.below(2).to_string(), index(r)],
            2 => vec!["BITPOS".into(), key(r), r.below(2).to_string(), index(r), index(r)],
            _ => vec!["BITPOS".into(), key(r), r.below(2).to_string(), index(r), index(r), unit(r)],
        },
        4 => {
            let op = r.pick(&["AND", "OR", "XOR", "NOT"]).to_string();
            let sources = if op == "NOT" { 1 } else { 1 + r.below(3) };
            let mut c = vec!["BITOP".into(), op, key(r)];
            c.extend((0..sources).map(|_| key(r)));
            c
        }
        5 => vec!["SET".into(), key(r), r.pick(&["", "foobar", "\u{7f}\u{1}", "12345"]).into()],
        6 => vec!["GET".into(), key(r)],
        _ => {
            let mut c = vec![if r.below(5) == 0 { "BITFIELD_RO" } else { "BITFIELD" }.to_string(), key(r)];
            for _ in 0..1 + r.below(4) {
                match r.below(4) {
                    0 => c.extend(["GET".into(), ty(r), offset(r)]),
                    1 => c.extend(["SET".into(), ty(r), offset(r), value(r)]),
                    2 => c.extend(["INCRBY".into(), ty(r), offset(r), value(r)]),
                    _ => c.extend(["OVERFLOW".into(), r.pick(&["WRAP", "SAT", "FAIL"]).into()]),
                }
            }
            c
        }
    };
    // Now and then a malformed one, which both must refuse alike.
    if r.below(25) == 0 {
        c.push("extra".into());
    }
    c
}

fn send(con: &mut Connection, words: &[String]) -> Result<Value, String> {
    let mut cmd = redis::cmd(&words[0]);
    for w in &words[1..] {
        cmd.arg(w.as_str());
    }
    cmd.query::<Value>(con).map_err(|e| format!("{e}"))
}

/// The reply with the error text only (the client library words the error kind its own way).
fn comparable(reply: Result<Value, String>) -> String {
    match reply {
        Ok(v) => format!("{v:?}"),
        Err(e) => e.rsplit_once(": ").map_or(e.clone(), |(_, detail)| detail.to_string()),
    }
}

#[test]
fn random_bit_commands_reply_as_redis_server_does() {
    if !redis_server_present() {
        return;
    }
    let seed = seed_from_env("BITMAPS_SEED");
    let rounds: usize = std::env::var("BITMAPS_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    println!("randomized bitmap test: BITMAPS_SEED={seed} BITMAPS_ROUNDS={rounds}");
    let mut r = Rng(seed);
    let redis = RedisServer::start(&[]);
    let ours = Server::start(&[]);
    let (mut rs, mut tc) = (redis.conn(), ours.conn());
    for con in [&mut rs, &mut tc] {
        assert_ok(con, &["SET", "empty", ""]);
    }
    for i in 0..rounds {
        let words = random_command(&mut r);
        let (theirs, mine) = (comparable(send(&mut rs, &words)), comparable(send(&mut tc, &words)));
        assert_eq!(mine, theirs, "command {i} {words:?} (BITMAPS_SEED={seed})");
        // After a write, the key it wrote must hold the same bytes on both.
        let written = match words[0].as_str() {
            "SETBIT" | "BITFIELD" | "SET" => Some(&words[1]),
            "BITOP" => Some(&words[2]),
            _ => None,
        };
        if let Some(key) = written {
            let get =
                |con: &mut Connection| -> Option<Vec<u8>> { redis::cmd("GET").arg(key.as_str()).query(con).unwrap() };
            assert_eq!(get(&mut tc), get(&mut rs), "{key} after command {i} {words:?} (BITMAPS_SEED={seed})");
        }
    }
    for key in KEYS {
        let get = |con: &mut Connection| -> Option<Vec<u8>> { redis::cmd("GET").arg(*key).query(con).unwrap() };
        assert_eq!(get(&mut tc), get(&mut rs), "{key} at the end (BITMAPS_SEED={seed})");
    }
}

#[test]
fn errors_are_redis_s_and_change_nothing() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: i64 = redis::cmd("RPUSH").arg("list").arg("x").query(&mut con).unwrap();
    assert_ok(&mut con, &["SET", "s", "x"]);
    assert_all_wrongtype(
        &mut con,
        &[
            &["SETBIT", "list", "1", "1"],
            &["GETBIT", "list", "1"],
            &["BITCOUNT", "list"],
            &["BITPOS", "list", "1"],
            &["BITOP", "AND", "dest", "list"],
            &["BITFIELD", "list", "GET", "u8", "0"],
            &["BITFIELD_RO", "list", "GET", "u8", "0"],
        ],
    );
    let cases: &[(&[&str], &str)] = &[
        (&["SETBIT", "k", "-1", "1"], "ERR bit offset is not an integer or out of range"),
        (&["SETBIT", "k", "4294967296", "1"], "ERR bit offset is not an integer or out of range"),
        (&["SETBIT", "k", "0", "2"], "ERR bit is not an integer or out of range"),
        (&["BITPOS", "k", "2"], "ERR The bit argument must be 1 or 0."),
        (&["BITCOUNT", "s", "0"], "ERR syntax error"),
        (&["BITPOS", "s", "1", "0", "1", "BITS"], "ERR syntax error"),
        (&["BITOP", "NAND", "d", "k"], "ERR syntax error"),
        (&["BITOP", "NOT", "d", "k", "k"], "ERR BITOP NOT must be called with a single source key."),
        (
            &["BITFIELD", "k", "GET", "u64", "0"],
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        ),
        (&["BITFIELD", "k", "OVERFLOW", "CLAMP"], "ERR Invalid OVERFLOW type specified"),
        (&["BITFIELD", "k", "SET", "u8", "0", "x"], "ERR value is not an integer or out of range"),
        (&["BITFIELD_RO", "k", "SET", "u8", "0", "1"], "ERR BITFIELD_RO only supports the GET subcommand"),
    ];
    for (words, message) in cases {
        assert_eq!(err(&mut con, words), *message, "{words:?}");
    }
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "k", "d"]), 0, "a refused command writes nothing");
    assert_eq!(ok::<String>(&mut con, &["GET", "s"]), "x");
}

#[test]
fn writes_raise_redis_s_events_and_touch_watches() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut con = server.conn();
    let mut events = KeyEvents::subscribe(&server, "__keyevent@*__:*");
    assert_eq!(ok::<i64>(&mut con, &["SETBIT", "k", "7", "1"]), 0);
    // Setting a bit to what it is, or a field to its value, changes nothing: no event.
    assert_eq!(ok::<i64>(&mut con, &["SETBIT", "k", "7", "1"]), 1);
    assert_eq!(ok::<Vec<i64>>(&mut con, &["BITFIELD", "k", "SET", "u8", "0", "1"]), [1]);
    assert_eq!(ok::<Vec<i64>>(&mut con, &["BITFIELD", "k", "INCRBY", "u8", "0", "1"]), [2]);
    assert_eq!(ok::<i64>(&mut con, &["BITOP", "NOT", "dest", "k"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["BITOP", "AND", "dest", "missing"]), 0);
    let seen: Vec<(String, String)> = events.next(4).into_iter().map(|(e, k, _)| (e, k)).collect();
    let expected = [("setbit", "k"), ("setbit", "k"), ("set", "dest"), ("del", "dest")];
    assert_eq!(seen, expected.map(|(e, k)| (e.to_string(), k.to_string())));

    // WATCH sees a bitfield write from another client, and not a read.
    let mut other = server.conn();
    assert_ok(&mut con, &["WATCH", "k"]);
    let _: Vec<i64> = redis::cmd("BITFIELD_RO").arg("k").arg("GET").arg("u8").arg("0").query(&mut other).unwrap();
    assert_ok(&mut con, &["MULTI"]);
    let _: Value = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_ne!(ok::<Value>(&mut con, &["EXEC"]), Value::Nil, "a read leaves the watch alone");
    assert_ok(&mut con, &["WATCH", "k"]);
    let _: Vec<i64> =
        redis::cmd("BITFIELD").arg("k").arg("INCRBY").arg("u8").arg("0").arg("1").query(&mut other).unwrap();
    assert_ok(&mut con, &["MULTI"]);
    let _: Value = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(ok::<Value>(&mut con, &["EXEC"]), Value::Nil, "the write aborts the transaction");
}
