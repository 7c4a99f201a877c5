//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) against the real
//! binary: a seeded random mix run on tenantcache and on Debian's redis-server must get the
//! same reply to every command and leave the same bytes in every key — sparse, dense and
//! across promotion (the redis-server half is skipped, with a message, where it is not
//! installed; rerun a failure with the printed `HLL_SEED`); DUMP payloads and RDB snapshots
//! move both ways; corrupt values, other strings and other types get Redis's errors; events
//! and WATCH are Redis's; the append-only file gives back the same bytes (PFCOUNT's stored
//! cardinality included); CLIENT PAUSE WRITE holds PFCOUNT.

mod common;

use common::*;
use redis::{Connection, Value};

const KEYS: &[&str] = &["h1", "h2", "h3", "h4"];

/// Elements drawn from a pool large enough that some keys turn dense.
fn element(r: &mut Rng) -> String {
    match r.below(4) {
        0 => format!("e{}", r.below(50)),
        1 => format!("{}", r.next()),
        _ => format!("x:{}", r.below(20_000)),
    }
}

/// One random HyperLogLog command over a few keys: small and large PFADDs (large ones
/// promote), PFCOUNT of one or several keys, PFMERGE, the PFDEBUG subcommands, and now and
/// then a plain SET or DEL so that type errors and fresh keys come up.
fn random_command(r: &mut Rng) -> Vec<String> {
    let key = |r: &mut Rng| r.pick(KEYS).to_string();
    match r.below(20) {
        0..=7 => {
            let n = match r.below(10) {
                0 => 0,
                1 => 200 + r.below(800),
                _ => 1 + r.below(20),
            };
            let mut c = vec!["PFADD".into(), key(r)];
            c.extend((0..n).map(|_| element(r)));
            c
        }
        8..=11 => {
            let mut c = vec!["PFCOUNT".into(), key(r)];
            c.extend((0..r.below(3)).map(|_| key(r)));
            c
        }
        12..=13 => {
            let mut c = vec!["PFMERGE".into(), key(r)];
            c.extend((0..r.below(4)).map(|_| key(r)));
            c
        }
        14 => vec!["PFDEBUG".into(), r.pick(&["ENCODING", "DECODE", "TODENSE", "GETREG", "NOPE"]).into(), key(r)],
        15 => vec!["GET".into(), key(r)],
        16 => vec!["DEL".into(), key(r)],
        17 if r.below(4) == 0 => vec!["SET".into(), key(r), r.pick(&["plain", "HYLL", ""]).into()],
        _ => {
            vec!["CONFIG".into(), "SET".into(), "hll-sparse-max-bytes".into(), r.pick(&["300", "3000", "1000"]).into()]
        }
    }
}

fn send(con: &mut Connection, words: &[String]) -> Result<Value, String> {
    let mut cmd = redis::cmd(&words[0]);
    for w in &words[1..] {
        cmd.arg(w.as_str());
    }
    cmd.query::<Value>(con).map_err(|e| format!("{e}"))
}

/// The reply with the error text only (the client library words the error kind its own way).
/// A command given as words, as byte strings.
fn words(w: &[&str]) -> Vec<Vec<u8>> {
    w.iter().map(|w| w.as_bytes().to_vec()).collect()
}

fn send_bytes(con: &mut Connection, words: &[Vec<u8>]) -> Result<Value, String> {
    let mut cmd = redis::cmd(std::str::from_utf8(&words[0]).expect("a command name"));
    for w in &words[1..] {
        cmd.arg(w.as_slice());
    }
    cmd.query::<Value>(con).map_err(|e| format!("{e}"))
}

/// Long replies (PFDEBUG GETREG) are shortened to their length and a digest, to keep a
/// failure's message readable.
fn comparable(reply: Result<Value, String>) -> String {
    let text = match reply {
        Ok(v) => format!("{v:?}"),
        Err(e) => e.rsplit_once(": ").map_or(e.clone(), |(_, detail)| detail.to_string()),
    };
    if text.len() <= 200 {
        return text;
    }
    let digest = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    format!("{}... ({} characters, digest {digest:016x})", &text[..120], text.len())
}

fn get(con: &mut Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(key).query(con).unwrap_or(None)
}

#[test]
fn random_hll_commands_reply_and_store_as_redis_server_does() {
    if !redis_server_present() {
        return;
    }
    let seed = seed_from_env("HLL_SEED");
    let rounds: usize = std::env::var("HLL_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1500);
    println!("randomized HyperLogLog test: HLL_SEED={seed} HLL_ROUNDS={rounds}");
    let mut r = Rng(seed);
    let redis = RedisServer::start(&[]);
    let ours = Server::start(&[]);
    let (mut rs, mut tc) = (redis.conn(), ours.conn());
    let (mut sparse_seen, mut dense_seen) = (0, 0);
    for i in 0..rounds {
        let words = random_command(&mut r);
        let (theirs, mine) = (comparable(send(&mut rs, &words)), comparable(send(&mut tc, &words)));
        assert_eq!(mine, theirs, "command {i} {words:?} (HLL_SEED={seed})");
        if words[0] == "PFDEBUG" && words[1] == "ENCODING" {
            sparse_seen += (mine.contains("sparse")) as usize;
            dense_seen += (mine.contains("dense")) as usize;
        }
        // Every key a command may have written (PFCOUNT stores its cache) holds the same bytes.
        for key in words.iter().filter(|w| KEYS.contains(&w.as_str())) {
            assert_eq!(get(&mut tc, key), get(&mut rs, key), "{key} after command {i} {words:?} (HLL_SEED={seed})");
        }
    }
    for key in KEYS {
        assert_eq!(get(&mut tc, key), get(&mut rs, key), "{key} at the end (HLL_SEED={seed})");
    }
    println!("PFDEBUG ENCODING saw {sparse_seen} sparse and {dense_seen} dense values");
}

#[test]
fn corrupted_values_are_handled_as_redis_server_does() {
    if !redis_server_present() {
        return;
    }
    let seed = seed_from_env("HLL_SEED");
    println!("randomized corruption test: HLL_SEED={seed}");
    let mut r = Rng(seed);
    let redis = RedisServer::start(&[]);
    let ours = Server::start(&[]);
    let (mut rs, mut tc) = (redis.conn(), ours.conn());
    for round in 0..300 {
        let mut fill = vec!["PFADD".to_string(), "h".into()];
        fill.extend((0..r.below(300)).map(|_| element(&mut r)));
        let mut script: Vec<Vec<Vec<u8>>> =
            vec![words(&["DEL", "h", "d"]), fill.into_iter().map(String::into_bytes).collect()];
        // One to five random bytes (any of the 256) anywhere in the value, as the TCL fuzzer
        // does.
        let len = 16 + 2 + r.below(300);
        for _ in 0..1 + r.below(5) {
            let at = r.below(len).to_string();
            script.push(vec![b"SETRANGE".to_vec(), b"h".to_vec(), at.into_bytes(), vec![r.below(256) as u8]]);
        }
        for _ in 0..3 {
            let (e1, e2) = (element(&mut r), element(&mut r));
            script.push(match r.below(6) {
                0 => words(&["PFCOUNT", "h"]),
                1 => words(&["PFCOUNT", "h", "d"]),
                2 => words(&["PFADD", "h", &e1, &e2]),
                3 => words(&["PFMERGE", "d", "h"]),
                4 => words(&["PFDEBUG", r.pick(&["TODENSE", "DECODE", "GETREG"]), "h"]),
                _ => words(&["PFADD", "h"]),
            });
        }
        for (i, command) in script.iter().enumerate() {
            let before = get(&mut tc, "h");
            let (theirs, mine) = (comparable(send_bytes(&mut rs, command)), comparable(send_bytes(&mut tc, command)));
            let shown: Vec<String> = command.iter().map(|w| String::from_utf8_lossy(w).into_owned()).collect();
            assert_eq!(mine, theirs, "round {round} command {i} {shown:?} on {before:x?} (HLL_SEED={seed})");
            for key in ["h", "d"] {
                assert_eq!(
                    get(&mut tc, key),
                    get(&mut rs, key),
                    "{key} after round {round} {shown:?} (HLL_SEED={seed})"
                );
            }
        }
    }
}

#[test]
fn promotion_and_counts_follow_redis_server_step_by_step() {
    if !redis_server_present() {
        return;
    }
    let redis = RedisServer::start(&[]);
    let ours = Server::start(&[]);
    let (mut rs, mut tc) = (redis.conn(), ours.conn());
    let mut promoted_at = None;
    // One element at a time through promotion: every value on the way is Redis's.
    for i in 0..4000 {
        let words = vec!["PFADD".to_string(), "k".into(), format!("member:{i}")];
        assert_eq!(comparable(send(&mut tc, &words)), comparable(send(&mut rs, &words)), "PFADD {i}");
        if i % 7 == 0 {
            let words = vec!["PFCOUNT".to_string(), "k".into()];
            assert_eq!(comparable(send(&mut tc, &words)), comparable(send(&mut rs, &words)), "PFCOUNT {i}");
        }
        assert_eq!(get(&mut tc, "k"), get(&mut rs, "k"), "value after {i} elements");
        let encoding: String = ok(&mut tc, &["PFDEBUG", "ENCODING", "k"]);
        if encoding == "dense" && promoted_at.is_none() {
            promoted_at = Some(i);
        }
    }
    let at = promoted_at.expect("a promotion to dense");
    assert!((500..3000).contains(&at), "promoted after {at} elements");
    // The estimate is close: the exact figure is Redis's, compared above.
    let card: i64 = ok(&mut tc, &["PFCOUNT", "k"]);
    assert!((3800..4200).contains(&card), "{card}");
}

#[test]
fn dump_payloads_move_both_ways_and_count_alike() {
    if !redis_server_present() {
        return;
    }
    let redis = RedisServer::start(&[]);
    let ours = Server::start(&[]);
    let (mut rs, mut tc) = (redis.conn(), ours.conn());
    let elements = |n: usize, tag: &str| -> Vec<String> { (0..n).map(|i| format!("{tag}{i}")).collect() };
    // A sparse and a dense value from each side.
    for (con, tag) in [(&mut rs, "r"), (&mut tc, "t")] {
        for (key, n) in [("small", 50), ("large", 20_000)] {
            let mut cmd = redis::cmd("PFADD");
            cmd.arg(format!("{tag}-{key}")).arg(elements(n, tag));
            let _: i64 = cmd.query(con).unwrap();
        }
    }
    for tag in ["r", "t"] {
        let (from, to) = if tag == "r" { (&mut rs, &mut tc) } else { (&mut tc, &mut rs) };
        for key in ["small", "large"] {
            let key = format!("{tag}-{key}");
            let payload: Vec<u8> = redis::cmd("DUMP").arg(&key).query(from).unwrap();
            let copy = format!("{key}-copy");
            let _: () = redis::cmd("RESTORE").arg(&copy).arg(0).arg(payload).query(to).unwrap();
            let (a, b): (i64, i64) = (ok(from, &["PFCOUNT", &key]), ok(to, &["PFCOUNT", &copy]));
            assert_eq!(a, b, "{key} counts alike on both servers");
            assert_eq!(get(from, &key), get(to, &copy), "{key} keeps its bytes");
            let (ea, eb): (String, String) =
                (ok(from, &["PFDEBUG", "ENCODING", &key]), ok(to, &["PFDEBUG", "ENCODING", &copy]));
            assert_eq!(ea, eb);
        }
    }
    // A value written with SET from the other server's GET is just as good.
    let raw = get(&mut rs, "r-large").unwrap();
    let _: () = redis::cmd("SET").arg("from-get").arg(raw).query(&mut tc).unwrap();
    let (a, b): (i64, i64) = (ok(&mut rs, &["PFCOUNT", "r-large"]), ok(&mut tc, &["PFCOUNT", "from-get"]));
    assert_eq!(a, b);
    for key in ["r-large-copy", "t-small"] {
        assert_eq!(ok::<String>(&mut tc, &["OBJECT", "ENCODING", key]), "raw", "{key}");
    }
    let _: i64 = ok(&mut rs, &["PFADD", "tiny", "a"]);
    assert_eq!(ok::<String>(&mut rs, &["OBJECT", "ENCODING", "tiny"]), "raw", "as redis-server has it");
    assert_eq!(ok::<String>(&mut tc, &["TYPE", "r-large-copy"]), "string");
}

#[test]
fn errors_are_redis_s() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: i64 = redis::cmd("RPUSH").arg("list").arg("x").query(&mut con).unwrap();
    assert_ok(&mut con, &["SET", "plain", "not a hyperloglog"]);
    assert_all_wrongtype(
        &mut con,
        &[&["PFADD", "list", "a"], &["PFCOUNT", "list"], &["PFCOUNT", "x", "list"], &["PFMERGE", "d", "list"]],
    );
    let not_hll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
    for words in [
        &["PFADD", "plain", "a"][..],
        &["PFCOUNT", "plain"],
        &["PFCOUNT", "missing", "plain"],
        &["PFMERGE", "d", "plain"],
        &["PFMERGE", "plain", "missing"],
        &["PFDEBUG", "ENCODING", "plain"],
    ] {
        assert_eq!(err(&mut con, words), not_hll, "{words:?}");
    }
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "d"]), 0, "a refused PFMERGE creates nothing");

    // A sparse value with bytes after its last register, a broken magic, a bad encoding and
    // a dense header on a sparse length, as the TCL suite corrupts them.
    let corrupt = "INVALIDOBJ Corrupted HLL object detected";
    assert_eq!(ok::<i64>(&mut con, &["PFADD", "h", "a", "b", "c"]), 1);
    let _: i64 = ok(&mut con, &["APPEND", "h", "hello"]);
    assert_eq!(err(&mut con, &["PFCOUNT", "h"]), corrupt);
    assert_eq!(err(&mut con, &["PFCOUNT", "h", "h"]), corrupt);
    assert_eq!(err(&mut con, &["PFMERGE", "d", "h"]), corrupt);
    assert_eq!(err(&mut con, &["PFDEBUG", "TODENSE", "h"]), corrupt);
    for (offset, byte, message) in [("0", "0123", not_hll), ("4", "x", not_hll), ("4", "\0", not_hll)] {
        let _: i64 = ok(&mut con, &["DEL", "h"]);
        assert_eq!(ok::<i64>(&mut con, &["PFADD", "h", "a", "b", "c"]), 1);
        let _: i64 = ok(&mut con, &["SETRANGE", "h", offset, byte]);
        assert_eq!(err(&mut con, &["PFCOUNT", "h"]), message, "SETRANGE {offset}");
    }

    let cases: &[(&[&str], &str)] = &[
        (&["PFDEBUG", "ENCODING", "missing"], "ERR The specified key does not exist"),
        (&["PFDEBUG", "NOPE", "missing"], "ERR The specified key does not exist"),
        (&["PFDEBUG", "NOPE", "hll"], "ERR Unknown PFDEBUG subcommand 'NOPE'"),
        (&["PFDEBUG", "DECODE", "dense"], "ERR HLL encoding is not sparse"),
    ];
    assert_eq!(ok::<i64>(&mut con, &["PFADD", "hll", "a"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["PFADD", "dense", "a"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["PFDEBUG", "TODENSE", "dense"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["PFDEBUG", "TODENSE", "dense"]), 0);
    for (words, message) in cases {
        assert_eq!(err(&mut con, words), *message, "{words:?}");
    }
    assert_all_wrong_arity(&mut con, &[(&["PFADD"], "pfadd"), (&["PFCOUNT"], "pfcount"), (&["PFMERGE"], "pfmerge")]);
    assert_eq!(ok::<String>(&mut con, &["PFSELFTEST"]), "OK");
}

#[test]
fn the_sparse_limit_is_a_config_directive() {
    let server = Server::start(&["--hll-sparse-max-bytes", "200"]);
    let mut con = server.conn();
    assert_eq!(strings(&mut con, &["CONFIG", "GET", "hll-sparse-max-bytes"]), ["hll-sparse-max-bytes", "200"]);
    let mut cmd = redis::cmd("PFADD");
    cmd.arg("k").arg((0..100).map(|i| i.to_string()).collect::<Vec<_>>());
    let _: i64 = cmd.query(&mut con).unwrap();
    assert_eq!(ok::<String>(&mut con, &["PFDEBUG", "ENCODING", "k"]), "dense", "promoted past 200 bytes");
    assert_ok(&mut con, &["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]);
    let _: i64 = cmd.arg("again").query(&mut con).unwrap();
    let mut cmd = redis::cmd("PFADD");
    cmd.arg("k2").arg((0..100).map(|i| i.to_string()).collect::<Vec<_>>());
    let _: i64 = cmd.query(&mut con).unwrap();
    assert_eq!(ok::<String>(&mut con, &["PFDEBUG", "ENCODING", "k2"]), "sparse");
}

#[test]
fn writes_raise_redis_s_events_and_touch_watches() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut con = server.conn();
    let mut events = KeyEvents::subscribe(&server, "__keyevent@*__:*");
    assert_eq!(ok::<i64>(&mut con, &["PFADD", "h", "a"]), 1);
    // Nothing new: no change, no event.
    assert_eq!(ok::<i64>(&mut con, &["PFADD", "h", "a"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["PFADD", "h", "b"]), 1);
    assert_ok(&mut con, &["PFMERGE", "m", "h"]);
    // PFMERGE announces itself as pfadd, as Redis does.
    let seen: Vec<(String, String)> = events.next(3).into_iter().map(|(e, k, _)| (e, k)).collect();
    let expected = [("pfadd", "h"), ("pfadd", "h"), ("pfadd", "m")];
    assert_eq!(seen, expected.map(|(e, k)| (e.to_string(), k.to_string())));

    // PFCOUNT storing its cache is a change WATCH sees; answering from the cache is not.
    let mut other = server.conn();
    assert_eq!(ok::<i64>(&mut con, &["PFADD", "w", "x"]), 1);
    assert_ok(&mut con, &["WATCH", "w"]);
    assert_eq!(ok::<i64>(&mut other, &["PFCOUNT", "w"]), 1);
    assert_ok(&mut con, &["MULTI"]);
    let _: Value = redis::cmd("GET").arg("w").query(&mut con).unwrap();
    assert_eq!(ok::<Value>(&mut con, &["EXEC"]), Value::Nil, "the cache write aborts the transaction");
    assert_ok(&mut con, &["WATCH", "w"]);
    assert_eq!(ok::<i64>(&mut other, &["PFCOUNT", "w"]), 1);
    assert_eq!(ok::<i64>(&mut other, &["PFADD", "w", "x"]), 0);
    assert_ok(&mut con, &["MULTI"]);
    let _: Value = redis::cmd("GET").arg("w").query(&mut con).unwrap();
    assert_ne!(ok::<Value>(&mut con, &["EXEC"]), Value::Nil, "a cached count and a no-op add change nothing");
}

#[test]
fn the_append_only_file_gives_back_the_same_bytes() {
    let dir = ScratchDir::new("hll-aof");
    let args = ["--dir", dir.path(), "--save", "", "--appendonly", "yes", "--appendfsync", "always"];
    let mut before = Vec::new();
    {
        let server = Server::start(&args);
        let mut con = server.conn();
        let mut cmd = redis::cmd("PFADD");
        cmd.arg("big").arg((0..5000).map(|i| format!("e{i}")).collect::<Vec<_>>());
        let _: i64 = cmd.query(&mut con).unwrap();
        assert_eq!(ok::<i64>(&mut con, &["PFADD", "small", "a", "b"]), 1);
        assert_ok(&mut con, &["PFMERGE", "merged", "big", "small"]);
        // The cardinality PFCOUNT stores in the value is logged too.
        let _: i64 = ok(&mut con, &["PFCOUNT", "big"]);
        let _: i64 = ok(&mut con, &["PFCOUNT", "small", "big"]);
        assert_eq!(ok::<i64>(&mut con, &["PFDEBUG", "TODENSE", "small"]), 1);
        for key in ["big", "small", "merged"] {
            before.push(get(&mut con, key));
        }
    }
    let server = Server::start(&args);
    let mut con = server.conn();
    let after: Vec<_> = ["big", "small", "merged"].iter().map(|k| get(&mut con, k)).collect();
    assert_eq!(after, before);
}

#[test]
fn snapshots_carry_hyperloglogs_to_and_from_redis_server() {
    if !redis_server_present() {
        return;
    }
    let fill = |con: &mut Connection| -> Vec<(i64, Option<Vec<u8>>)> {
        let mut cmd = redis::cmd("PFADD");
        cmd.arg("dense").arg((0..4000).map(|i| format!("d{i}")).collect::<Vec<_>>());
        let _: i64 = cmd.query(con).unwrap();
        let _: i64 = ok(con, &["PFADD", "sparse", "a", "b", "c"]);
        ["dense", "sparse"].iter().map(|k| (ok(con, &["PFCOUNT", k]), get(con, k))).collect()
    };
    let read = |con: &mut Connection| -> Vec<(i64, Option<Vec<u8>>)> {
        ["dense", "sparse"].iter().map(|k| (ok(con, &["PFCOUNT", k]), get(con, k))).collect()
    };

    let ours_dir = ScratchDir::new("hll-rdb-ours");
    let written = {
        let server = Server::start(&["--dir", ours_dir.path(), "--save", ""]);
        let mut con = server.conn();
        let written = fill(&mut con);
        assert_ok(&mut con, &["SAVE"]);
        written
    };
    let redis = RedisServer::start_in(&ours_dir.0, &[]);
    assert_eq!(read(&mut redis.conn()), written, "redis-server loads our snapshot");

    let theirs_dir = ScratchDir::new("hll-rdb-theirs");
    let written = {
        let redis = RedisServer::start_in(&theirs_dir.0, &[]);
        let mut con = redis.conn();
        let written = fill(&mut con);
        assert_ok(&mut con, &["SAVE"]);
        written
    };
    let server = Server::start(&["--dir", theirs_dir.path(), "--save", ""]);
    assert_eq!(read(&mut server.conn()), written, "we load redis-server's snapshot");
}

#[test]
fn client_pause_write_holds_pfcount_as_redis_does() {
    let server = Server::start(&[]);
    let (mut admin, mut con) = (server.conn(), server.conn());
    assert_eq!(ok::<i64>(&mut con, &["PFADD", "h", "a"]), 1);
    assert_ok(&mut admin, &["CLIENT", "PAUSE", "1000", "WRITE"]);
    let started = std::time::Instant::now();
    let _: Option<Vec<u8>> = redis::cmd("GET").arg("h").query(&mut con).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_millis(800), "a read goes on");
    // PFCOUNT may store its cache, so Redis treats it as a write that may replicate.
    assert_eq!(ok::<i64>(&mut con, &["PFCOUNT", "h"]), 1);
    assert!(started.elapsed() >= std::time::Duration::from_millis(900), "PFCOUNT waits for the pause");
}
