//! Streams against the real binary: a seeded random mix of stream commands (entries, trims
//! exact and approximate, groups, reads, claims, XINFO) run on tenantcache and on Debian's
//! redis-server must get the same replies (rerun a failure with the printed `STREAM_SEED`;
//! the redis-server half is skipped, with a message, where it is not installed); DUMP
//! payloads and RDB files move between the two both ways and come back byte for byte;
//! blocking reads, keyspace events, the AOF and memory accounting behave as Redis's.

mod common;

use common::*;
use redis::Value;

const KEYS: &[&str] = &["s1", "s2"];

/// XINFO STREAM's `radix-tree-nodes` counts the inner nodes of Redis's radix tree, which
/// this server does not have (it reports an estimate), and `radix-tree-keys` its nodes, of
/// which Redis keeps one that a trim or deletion left without live entries where this server
/// drops it: both left out of comparisons.
fn without_tree_nodes(reply: &str) -> String {
    let mut reply = reply.to_string();
    for field in ["\"radix-tree-nodes\",:", "\"radix-tree-keys\",:"] {
        if let Some(at) = reply.find(field) {
            let start = at + field.len();
            let end = start + reply[start..].bytes().take_while(u8::is_ascii_digit).count();
            reply = format!("{}?{}", &reply[..start], &reply[end..]);
        }
    }
    reply
}

/// `reply` with every Unix time in milliseconds (an integer of 13 digits: seen and delivery
/// times) shown as `T`: two servers asked one after the other may be a millisecond apart.
fn without_times(reply: &str) -> String {
    let mut out = String::with_capacity(reply.len());
    let mut rest = reply;
    while let Some(at) = rest.find(':') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 13 {
            out.push('T');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// The same for a parsed reply.
fn value_without_tree_nodes(v: Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut skip = false;
            for item in items {
                if skip {
                    out.push(Value::Nil);
                    skip = false;
                    continue;
                }
                skip = item == Value::BulkString(b"radix-tree-nodes".to_vec());
                out.push(value_without_tree_nodes(item));
            }
            Value::Array(out)
        }
        other => other,
    }
}

/// Every bulk string of a reply, at any depth.
fn flat(v: &Value) -> Vec<String> {
    match v {
        Value::BulkString(b) => vec![String::from_utf8_lossy(b).into_owned()],
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        _ => Vec::new(),
    }
}
const GROUPS: &[&str] = &["g1", "g2"];
const CONSUMERS: &[&str] = &["alice", "bob", "carol"];

/// A random command of the mix; ids are explicit (or `ms-*` over a given ms) so that both
/// servers generate the same ones.
fn random_command(r: &mut Rng, next_ms: &mut u64) -> Vec<String> {
    let key = r.pick(KEYS).to_string();
    let group = r.pick(GROUPS).to_string();
    let consumer = r.pick(CONSUMERS).to_string();
    let id = |r: &mut Rng, top: u64| format!("{}-{}", r.below(top as usize + 2), r.below(3));
    let s = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    match r.below(20) {
        0..=5 => {
            *next_ms += 1 + r.below(2) as u64;
            let mut c = s(&["XADD", &key]);
            match r.below(6) {
                0 => c.extend(s(&["MAXLEN", "~", &r.below(30).to_string()])),
                1 => c.extend(s(&["MAXLEN", &r.below(30).to_string()])),
                2 => c.extend(s(&["MINID", "=", &format!("{}", next_ms.saturating_sub(r.below(40) as u64))])),
                _ => {}
            }
            c.push(if r.below(3) == 0 { format!("{next_ms}-*") } else { format!("{next_ms}-{}", r.below(2)) });
            let fields = if r.below(4) == 0 { &["a", "b", "c"][..] } else { &["a", "b"][..] };
            for f in fields {
                c.push(f.to_string());
                c.push(if r.below(2) == 0 { r.below(1000).to_string() } else { format!("v{}", r.below(50)) });
            }
            c
        }
        6 => s(&["XDEL", &key, &id(r, *next_ms), &id(r, *next_ms)]),
        7 => {
            let (a, b) = (id(r, *next_ms), id(r, *next_ms));
            let count = r.below(6).to_string();
            match r.below(4) {
                0 => s(&["XRANGE", &key, "-", "+"]),
                1 => s(&["XRANGE", &key, &format!("({a}"), &b, "COUNT", &count]),
                2 => s(&["XREVRANGE", &key, "+", &a, "COUNT", &count]),
                _ => s(&["XREVRANGE", &key, &b, &a]),
            }
        }
        8 => s(&["XLEN", &key]),
        9 => s(&["XTRIM", &key, "MAXLEN", if r.below(2) == 0 { "~" } else { "=" }, &r.below(20).to_string()]),
        10 => match r.below(5) {
            0 => s(&["XGROUP", "CREATE", &key, &group, if r.below(2) == 0 { "$" } else { "0" }, "MKSTREAM"]),
            1 => s(&["XGROUP", "SETID", &key, &group, &id(r, *next_ms), "ENTRIESREAD", &r.below(5).to_string()]),
            2 => s(&["XGROUP", "DESTROY", &key, &group]),
            3 => s(&["XGROUP", "CREATECONSUMER", &key, &group, &consumer]),
            _ => s(&["XGROUP", "DELCONSUMER", &key, &group, &consumer]),
        },
        11 | 12 => {
            let mut c = s(&["XREADGROUP", "GROUP", &group, &consumer, "COUNT", &(1 + r.below(4)).to_string()]);
            if r.below(4) == 0 {
                c.push("NOACK".into());
            }
            c.extend(s(&["STREAMS", &key, if r.below(4) == 0 { "0" } else { ">" }]));
            c
        }
        13 => s(&["XACK", &key, &group, &id(r, *next_ms), &id(r, *next_ms)]),
        14 => s(&["XPENDING", &key, &group]),
        15 => s(&["XCLAIM", &key, &group, &consumer, "0", &id(r, *next_ms), &id(r, *next_ms), "JUSTID"]),
        16 => s(&["XAUTOCLAIM", &key, &group, &consumer, "0", "0", "COUNT", &(1 + r.below(3)).to_string(), "JUSTID"]),
        17 => s(&["XINFO", "STREAM", &key]),
        18 => s(&["XINFO", "GROUPS", &key]),
        _ => s(&["XREAD", "COUNT", "3", "STREAMS", &key, &id(r, *next_ms)]),
    }
}

#[test]
fn random_stream_commands_reply_as_redis_server_does() {
    if !redis_server_present() {
        return;
    }
    let seed = seed_from_env("STREAM_SEED");
    let rounds: usize = std::env::var("STREAM_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    println!("randomized stream test: STREAM_SEED={seed} STREAM_ROUNDS={rounds}");
    let mut r = Rng(seed);
    // Small nodes, so that approximate trims and deletions meet node boundaries often.
    let small = ["--stream-node-max-entries", "4"];
    let redis = RedisServer::start(&small);
    let ours = Server::start(&small);
    let (mut rs, mut tc) = (Raw::connect_port(redis.port), Raw::connect(&ours));
    let (mut rs3, mut tc3) = (Raw::connect_port(redis.port), Raw::connect(&ours));
    for con in [&mut rs3, &mut tc3] {
        con.call(&["HELLO", "3"]);
    }
    let mut next_ms = 1;
    let mut served = 0;
    for i in 0..rounds {
        let words = random_command(&mut r, &mut next_ms);
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let resp3 = r.below(4) == 0;
        let (theirs, mine) = if resp3 { (rs3.call(&args), tc3.call(&args)) } else { (rs.call(&args), tc.call(&args)) };
        let (mine, theirs) = (without_tree_nodes(&mine), without_tree_nodes(&theirs));
        assert_eq!(mine, theirs, "command {i} {words:?} resp3={resp3} (STREAM_SEED={seed})");
        served += (words[0] == "XREADGROUP" && theirs.len() > 8) as usize;
    }
    for key in KEYS {
        for cmd in [&["XRANGE", key, "-", "+"][..], &["XINFO", "GROUPS", key]] {
            assert_eq!(tc.call(cmd), rs.call(cmd), "{cmd:?} at the end (STREAM_SEED={seed})");
        }
    }
    assert!(served > rounds / 100, "group reads should deliver entries ({served})");
}

/// A stream with entries across nodes, a deletion, groups with pending entries and consumers.
fn fill(con: &mut redis::Connection) {
    for i in 1..=250 {
        let fields: Vec<String> = if i % 7 == 0 {
            vec!["other".into(), format!("{i}")]
        } else {
            vec!["name".into(), format!("n{i}"), "n".into(), format!("{}", i * 3)]
        };
        let mut cmd = vec!["XADD".to_string(), "s".into(), format!("{i}-{}", i % 2)];
        cmd.extend(fields);
        let words: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let _: String = ok(con, &words);
    }
    let _: i64 = ok(con, &["XDEL", "s", "7-1", "100-0"]);
    assert_ok(con, &["XGROUP", "CREATE", "s", "g1", "0"]);
    assert_ok(con, &["XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "250"]);
    let _: Value = ok(con, &["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "s", ">"]);
    let _: Value = ok(con, &["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", "s", ">"]);
    let _: i64 = ok(con, &["XACK", "s", "g1", "2-0"]);
    let _: i64 = ok(con, &["XGROUP", "CREATECONSUMER", "s", "g2", "idle"]);
    // An empty stream that keeps its last id and a group.
    let _: String = ok(con, &["XADD", "e", "5-5", "f", "v"]);
    let _: i64 = ok(con, &["XDEL", "e", "5-5"]);
    assert_ok(con, &["XGROUP", "CREATE", "e", "g", "$"]);
}

fn dump(con: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("DUMP").arg(key).query(con).unwrap()
}

fn restore(con: &mut redis::Connection, key: &str, payload: &[u8]) {
    let _: () = redis::cmd("RESTORE").arg(key).arg(0).arg(payload).arg("REPLACE").query(con).unwrap();
}

#[test]
fn dump_payloads_move_between_redis_server_and_us_unchanged() {
    if !redis_server_present() {
        return;
    }
    let redis = RedisServer::start(&[]);
    let ours = Server::start(&[]);
    let (mut rs, mut tc) = (redis.conn(), ours.conn());
    // Uncompressed payloads compare byte for byte (two LZF coders may pack differently).
    for con in [&mut rs, &mut tc] {
        assert_ok(con, &["CONFIG", "SET", "rdbcompression", "no"]);
    }
    fill(&mut tc);
    for key in ["s", "e"] {
        let payload = dump(&mut tc, key);
        restore(&mut rs, key, &payload);
        assert_eq!(dump(&mut rs, key), payload, "{key}: redis-server gives back the payload it took");
        let full = |con: &mut redis::Connection| -> Value {
            value_without_tree_nodes(ok(con, &["XINFO", "STREAM", key, "FULL", "COUNT", "0"]))
        };
        assert_eq!(full(&mut tc), full(&mut rs), "{key}");
        // And the other way: what redis-server dumps of its own stream restores here as is.
        let group = if key == "s" { "g1" } else { "g" };
        let _: i64 = ok(&mut rs, &["XGROUP", "CREATECONSUMER", key, group, "zed"]);
        let payload = dump(&mut rs, key);
        restore(&mut tc, key, &payload);
        assert_eq!(dump(&mut tc, key), payload, "{key}: we give back what redis-server dumped");
        assert_eq!(full(&mut tc), full(&mut rs), "{key} back");
    }
    // Redis 7.0's own nodes, built there: the same bytes as ours (up to the groups, whose
    // times differ).
    for con in [&mut rs, &mut tc] {
        let _: i64 = ok(con, &["DEL", "s", "e"]);
    }
    fill(&mut rs);
    fill(&mut tc);
    assert_eq!(dump(&mut rs, "s")[..4000], dump(&mut tc, "s")[..4000], "the same nodes for the same entries");
}

#[test]
fn rdb_files_move_between_redis_server_and_us() {
    if !redis_server_present() {
        return;
    }
    let ours = Server::start(&[]);
    let mut tc = ours.conn();
    fill(&mut tc);
    assert_ok(&mut tc, &["SAVE"]);
    let full = |con: &mut redis::Connection, key: &str| -> Value {
        value_without_tree_nodes(ok(con, &["XINFO", "STREAM", key, "FULL", "COUNT", "0"]))
    };
    let redis = RedisServer::start_in(ours.scratch(), &[]);
    let mut rs = redis.conn();
    for key in ["s", "e"] {
        assert_eq!(full(&mut rs, key), full(&mut tc, key), "redis-server loaded {key}");
    }
    // redis-server saves, we load it at start.
    let _: String = ok(&mut rs, &["XADD", "s", "*", "from", "redis"]);
    assert_ok(&mut rs, &["SAVE"]);
    let dir = ScratchDir::new("streams-rdb");
    std::fs::copy(ours.scratch().join("dump.rdb"), dir.0.join("dump.rdb")).unwrap();
    let loaded = Server::start(&["--dir", dir.path()]);
    let mut tc2 = loaded.conn();
    for key in ["s", "e"] {
        assert_eq!(full(&mut tc2, key), full(&mut rs, key), "we loaded {key}");
    }
}

#[test]
fn blocking_reads_are_served_by_writes_and_time_out() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: String = ok(&mut con, &["XADD", "s", "1-0", "f", "v"]);
    let waiter = spawn_command(&server, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut con, 1);
    let _: String = ok(&mut con, &["XADD", "s", "2-0", "f", "w"]);
    let got = flat(&waiter.join().unwrap().unwrap());
    assert_eq!(got, ["s", "2-0", "f", "w"]);

    // A timeout answers with a null array; inside MULTI nothing blocks.
    let none: Value = ok(&mut con, &["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]);
    assert_eq!(none, Value::Nil);
    assert_ok(&mut con, &["MULTI"]);
    let _: String = ok(&mut con, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    let replies: Vec<Value> = ok(&mut con, &["EXEC"]);
    assert_eq!(replies, [Value::Nil]);

    // A group reader gets new entries, then an error once its group is gone.
    assert_ok(&mut con, &["XGROUP", "CREATE", "s", "g", "$"]);
    let reader = spawn_command(&server, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"]);
    wait_blocked(&mut con, 1);
    let _: String = ok(&mut con, &["XADD", "s", "3-0", "f", "x"]);
    assert_eq!(flat(&reader.join().unwrap().unwrap()), ["s", "3-0", "f", "x"]);
    let pending: Vec<Value> = ok(&mut con, &["XPENDING", "s", "g"]);
    assert_eq!(pending[0], Value::Int(1));
    let reader = spawn_command(&server, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"]);
    wait_blocked(&mut con, 1);
    let _: i64 = ok(&mut con, &["XGROUP", "DESTROY", "s", "g"]);
    let e = reader.join().unwrap().unwrap_err();
    assert!(e.to_string().contains("NOGROUP"), "{e}");
    // CLIENT UNBLOCK ends a wait.
    let reader = spawn_command(&server, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut con, 1);
    let list: String = ok(&mut con, &["CLIENT", "LIST"]);
    let id = list.lines().find(|l| l.contains("cmd=xread")).and_then(|l| l.split(' ').next()).unwrap()[3..].to_string();
    let unblocked: i64 = ok(&mut con, &["CLIENT", "UNBLOCK", &id]);
    assert_eq!(unblocked, 1);
    assert_eq!(reader.join().unwrap().unwrap(), Value::Nil);
}

#[test]
fn stream_type_encoding_events_and_memory() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut con = server.conn();
    let mut events = KeyEvents::subscribe(&server, "__keyevent@0__:*");
    let _: String = ok(&mut con, &["XADD", "s", "MAXLEN", "1", "1-0", "f", "v"]);
    let _: String = ok(&mut con, &["XADD", "s", "MAXLEN", "1", "2-0", "f", "v"]);
    assert_ok(&mut con, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: i64 = ok(&mut con, &["XDEL", "s", "2-0"]);
    let names: Vec<String> = events.next(5).into_iter().map(|(event, _, _)| event).collect();
    assert_eq!(names, ["xadd", "xadd", "xtrim", "xgroup-create", "xdel"]);
    let kind: String = ok(&mut con, &["TYPE", "s"]);
    let encoding: String = ok(&mut con, &["OBJECT", "ENCODING", "s"]);
    assert_eq!((kind.as_str(), encoding.as_str()), ("stream", "stream"));
    // An emptied stream stays, with its group.
    let len: i64 = ok(&mut con, &["XLEN", "s"]);
    assert_eq!(len, 0);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "s"]), 1);
    // Memory grows with the entries, in Redis's range (about 10-20 bytes per small entry).
    let before = used_memory(&mut con);
    for i in 0..10_000 {
        let _: String = ok(&mut con, &["XADD", "big", &format!("{}-0", i + 1), "field", "value", "n", &i.to_string()]);
    }
    let usage: i64 = ok(&mut con, &["MEMORY", "USAGE", "big"]);
    let grown = used_memory(&mut con) - before;
    assert!((100_000..400_000).contains(&usage), "MEMORY USAGE {usage}");
    assert!((grown - usage).abs() < 50_000, "used_memory grew by {grown}, the key takes {usage}");
}

#[test]
fn the_aof_replays_streams_and_groups_exactly() {
    let server = Server::start(&["--appendonly", "yes", "--enable-debug-command", "yes"]);
    let mut con = server.conn();
    let _: String = ok(&mut con, &["XADD", "s", "*", "a", "1"]);
    let _: String = ok(&mut con, &["XADD", "s", "MAXLEN", "~", "1", "*", "a", "2"]);
    assert_ok(&mut con, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: Value = ok(&mut con, &["XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "s", ">"]);
    let _: Value = ok(&mut con, &["XREADGROUP", "GROUP", "g", "c2", "NOACK", "STREAMS", "s", ">"]);
    let _: Value = ok(&mut con, &["XCLAIM", "s", "g", "c3", "0", "0-1", "JUSTID"]);
    let _: Value = ok(&mut con, &["XAUTOCLAIM", "s", "g", "c4", "0", "0"]);
    // Everything but the consumers' seen times, which a replay sets anew (as in Redis).
    let state = |con: &mut redis::Connection| -> Vec<Value> {
        let reads: [&[&str]; 4] =
            [&["XRANGE", "s", "-", "+"], &["XINFO", "STREAM", "s"], &["XINFO", "GROUPS", "s"], &["XPENDING", "s", "g"]];
        reads.iter().map(|words| ok(con, words)).collect()
    };
    let before = state(&mut con);
    assert_ok(&mut con, &["DEBUG", "LOADAOF"]);
    assert_eq!(state(&mut con), before);
    let pending: Vec<Vec<Value>> = ok(&mut con, &["XPENDING", "s", "g", "-", "+", "10"]);
    assert_eq!(pending.len(), 1);
}

/// XINFO GROUPS's lag is signed as Redis's: an ENTRIESREAD past the entries added (at
/// XGROUP CREATE or SETID) gives a negative lag, not 0; a group behind the first entry gets
/// its counter estimated; the same replies as redis-server's.
#[test]
fn group_lag_goes_negative_as_redis_server_does() {
    if !redis_server_present() {
        return;
    }
    let redis = RedisServer::start(&[]);
    let ours = Server::start(&[]);
    let (mut rs, mut tc) = (Raw::connect_port(redis.port), Raw::connect(&ours));
    let script: &[&[&str]] = &[
        &["XADD", "s", "1-0", "f", "v"],
        &["XGROUP", "CREATE", "s", "ahead", "0", "ENTRIESREAD", "7"],
        &["XADD", "s", "2-0", "f", "v"],
        &["XGROUP", "CREATE", "s", "at", "0"],
        &["XGROUP", "SETID", "s", "at", "2-0", "ENTRIESREAD", "3"],
        &["XGROUP", "CREATE", "s", "behind", "0"],
        &["XINFO", "GROUPS", "s"],
        &["XREADGROUP", "GROUP", "ahead", "c", "COUNT", "1", "STREAMS", "s", ">"],
        &["XREADGROUP", "GROUP", "behind", "c", "COUNT", "1", "STREAMS", "s", ">"],
        &["XINFO", "GROUPS", "s"],
        &["XINFO", "STREAM", "s", "FULL"],
    ];
    let comparable = |reply: String| without_times(&without_tree_nodes(&reply));
    for words in script {
        assert_eq!(comparable(tc.call(words)), comparable(rs.call(words)), "{words:?}");
    }
    let groups = tc.call(&["XINFO", "GROUPS", "s"]);
    assert!(groups.contains("\"lag\",:-6") && groups.contains("\"lag\",:-1"), "{groups}");
}

/// XINFO CONSUMERS has Redis 7.2's `inactive`: -1 for a consumer that never got an entry
/// (made by CREATECONSUMER, or reading with NOACK only), else the time since an entry was
/// delivered to it by a group read or claimed by it.
#[test]
fn xinfo_consumers_reports_inactive_time() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: String = ok(&mut con, &["XADD", "s", "1-0", "f", "v"]);
    let _: String = ok(&mut con, &["XADD", "s", "2-0", "f", "v"]);
    assert_ok(&mut con, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: i64 = ok(&mut con, &["XGROUP", "CREATECONSUMER", "s", "g", "made"]);
    let _: Value = ok(&mut con, &["XREADGROUP", "GROUP", "g", "reader", "COUNT", "1", "STREAMS", "s", ">"]);
    let _: Value = ok(&mut con, &["XREADGROUP", "GROUP", "g", "noack", "NOACK", "COUNT", "1", "STREAMS", "s", ">"]);
    let _: Value = ok(&mut con, &["XREADGROUP", "GROUP", "g", "late", "STREAMS", "s", ">"]);
    let _: Value = ok(&mut con, &["XCLAIM", "s", "g", "claimer", "0", "1-0", "JUSTID"]);
    let _: Value = ok(&mut con, &["XCLAIM", "s", "g", "missed", "0", "9-0"]);
    let _: Value = ok(&mut con, &["XAUTOCLAIM", "s", "g", "auto", "3600000", "0"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let consumers: Vec<std::collections::HashMap<String, Value>> = ok(&mut con, &["XINFO", "CONSUMERS", "s", "g"]);
    let inactive: std::collections::BTreeMap<String, i64> = consumers
        .iter()
        .map(|c| {
            let name = redis::from_redis_value::<String>(&c["name"]).unwrap();
            assert!(redis::from_redis_value::<i64>(&c["idle"]).unwrap() >= 0, "{c:?}");
            (name, redis::from_redis_value::<i64>(&c["inactive"]).unwrap())
        })
        .collect();
    for (name, &t) in &inactive {
        if name != "reader" && name != "claimer" {
            assert_eq!(t, -1, "{name}: {inactive:?}");
        }
    }
    assert!(inactive.contains_key("made") && inactive.contains_key("noack"), "{inactive:?}");
    assert!(inactive["reader"] >= 20 && inactive["claimer"] >= 20, "{inactive:?}");
    assert!(inactive["reader"] < 60_000 && inactive["claimer"] < 60_000, "{inactive:?}");
}
