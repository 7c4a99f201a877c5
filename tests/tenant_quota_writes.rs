//! Tenant quotas hold for every write, against the real binary: a `reject` tenant never ends
//! above its `maxmemory`, whatever the write (SETRANGE and SETBIT far out, COPY/RENAME/MOVE
//! into the tenant, STORE destinations, moves between lists and sets, values grown in place),
//! and a refused write changes nothing. An `evict` tenant makes room from its own keys.
//!
//! The randomized test drives every write command of the command table (it fails when a
//! write command has no generator here). Its seed is printed and can be set with
//! `TENANT_QUOTA_SEED`; `TENANT_QUOTA_ROUNDS` sets the number of commands.

mod common;

use common::Rng;
use redis::{Connection, Value};
use std::collections::{BTreeSet, HashMap};

const LIMIT: i64 = 256 * 1024;
const QUOTA_DETAIL: &str = "command not allowed when tenant 'q' is over its quota";

fn tenant_info(con: &mut Connection, tenant: &str) -> HashMap<String, Value> {
    let v: Vec<Value> = redis::cmd("TENANT").arg("INFO").arg(tenant).query(con).unwrap();
    v.chunks(2).map(|p| (redis::from_redis_value::<String>(&p[0]).unwrap(), p[1].clone())).collect()
}

fn used(con: &mut Connection, tenant: &str) -> i64 {
    redis::from_redis_value(&tenant_info(con, tenant)["used_memory"]).unwrap()
}

fn keys_of(con: &mut Connection, tenant: &str) -> i64 {
    redis::from_redis_value(&tenant_info(con, tenant)["keys"]).unwrap()
}

fn cmd(words: &[Vec<u8>]) -> redis::Cmd {
    let mut c = redis::cmd(std::str::from_utf8(&words[0]).unwrap());
    for w in &words[1..] {
        c.arg(&w[..]);
    }
    c
}

fn run(con: &mut Connection, words: &[Vec<u8>]) -> redis::RedisResult<Value> {
    cmd(words).query(con)
}

fn w(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn words(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| w(p)).collect()
}

fn big(n: usize) -> String {
    "x".repeat(n)
}

/// A reject tenant `q` limited to [`LIMIT`], and large values in the unlimited tenant `p` to
/// copy, rename, move and store from.
fn setup(con: &mut Connection) {
    common::assert_ok(con, &["TENANT", "SETLIMIT", "q", "MAXMEMORY", &LIMIT.to_string(), "ONLIMIT", "reject"]);
    fill_sources(con);
}

fn fill_sources(con: &mut Connection) {
    let _: () = redis::cmd("SET").arg("p:str").arg(big(300_000)).query(con).unwrap();
    // 4000 members of 80 bytes: even packed back to back (a list), more than the quota.
    let members: Vec<String> = (0..4000).map(|i| format!("member-{i:08}-{}", big(64))).collect();
    let _: () = redis::cmd("DEL").arg("p:set").arg("p:z").arg("p:l").arg("p:h").query(con).unwrap();
    let _: i64 = redis::cmd("SADD").arg("p:set").arg(&members).query(con).unwrap();
    let mut zadd = redis::cmd("ZADD");
    zadd.arg("p:z");
    for (i, m) in members.iter().enumerate() {
        zadd.arg(i).arg(m);
    }
    let _: i64 = zadd.query(con).unwrap();
    let _: i64 = redis::cmd("RPUSH").arg("p:l").arg(&members).query(con).unwrap();
    let mut hset = redis::cmd("HSET");
    hset.arg("p:h");
    for m in &members {
        hset.arg(m).arg(m);
    }
    let _: i64 = hset.query(con).unwrap();
}

/// Everything observable about `key` in databases 0 and 1: type, value, expiry and tags.
fn fingerprint(con: &mut Connection, key: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    for db in ["0", "1"] {
        let _: () = redis::cmd("SELECT").arg(db).query(con).unwrap();
        let kind: String = redis::cmd("TYPE").arg(key).query(con).unwrap();
        let read: &[&str] = match kind.as_str() {
            "string" => &["GET"],
            "hash" => &["HGETALL"],
            "list" => &["LRANGE", "0", "-1"],
            "set" => &["SMEMBERS"],
            "zset" => &["ZRANGE", "0", "-1", "WITHSCORES"],
            _ => &[],
        };
        out.push(Value::SimpleString(kind.clone()));
        if !read.is_empty() {
            let mut c = redis::cmd(read[0]);
            c.arg(key);
            for a in &read[1..] {
                c.arg(*a);
            }
            let mut v: Value = c.query(con).unwrap();
            if kind == "set" || kind == "hash" {
                // Unordered replies: compare as sets.
                if let Value::Array(items) | Value::Set(items) = &mut v {
                    items.sort_by_key(|i| format!("{i:?}"));
                }
            }
            out.push(v);
            out.push(redis::cmd("PEXPIRETIME").arg(key).query(con).unwrap());
            out.push(redis::cmd("TAG.TAGS").arg(key).query(con).unwrap());
        }
    }
    let _: () = redis::cmd("SELECT").arg("0").query(con).unwrap();
    out
}

/// Asserts that `words` is refused with the quota error, leaves `q` within its limit and
/// changes none of `touched`, nor either tenant's memory or keys.
fn assert_refused(con: &mut Connection, words: &[Vec<u8>], touched: &[&str]) {
    let before: Vec<_> = touched.iter().map(|k| fingerprint(con, k.as_bytes())).collect();
    let (q_before, p_before, qk, pk) = (used(con, "q"), used(con, "p"), keys_of(con, "q"), keys_of(con, "p"));
    let shown = words.iter().map(|w| String::from_utf8_lossy(&w[..w.len().min(20)]).into_owned()).collect::<Vec<_>>();
    match run(con, words) {
        Err(e) => assert_eq!((e.code(), e.detail()), (Some("OOM"), Some(QUOTA_DETAIL)), "{shown:?}: {e}"),
        Ok(v) => panic!("{shown:?} was not refused: {v:?}; q uses {}", used(con, "q")),
    }
    let after: Vec<_> = touched.iter().map(|k| fingerprint(con, k.as_bytes())).collect();
    assert_eq!(before, after, "{shown:?} changed {touched:?}");
    assert_eq!(
        (used(con, "q"), used(con, "p"), keys_of(con, "q"), keys_of(con, "p")),
        (q_before, p_before, qk, pk),
        "{shown:?} changed the tenants"
    );
}

#[test]
fn writes_that_grow_a_value_are_refused_at_a_reject_tenant() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    setup(&mut con);
    common::assert_ok(&mut con, &["SET", "q:s", "small"]);
    let _: i64 = redis::cmd("RPUSH").arg("q:l").arg("a").query(&mut con).unwrap();
    let _: i64 = redis::cmd("SADD").arg("q:set").arg("a").query(&mut con).unwrap();
    let _: i64 = redis::cmd("ZADD").arg("q:z").arg(1).arg("a").query(&mut con).unwrap();
    let _: i64 = redis::cmd("HSET").arg("q:h").arg("f").arg("v").query(&mut con).unwrap();
    // A value close to the limit, grown in place by writes whose arguments are small.
    // Allocation size classes round it up to 196608 bytes; 40000 more round up to the limit.
    let _: () = redis::cmd("SET").arg("q:near").arg(big(190_000)).query(&mut con).unwrap();
    let chunk = big(40_000);
    let cases: Vec<(Vec<Vec<u8>>, &[&str])> = vec![
        (words(&["SETRANGE", "q:r", "8000000", "x"]), &["q:r"]),
        (words(&["SETRANGE", "q:s", "8000000", "x"]), &["q:s"]),
        (words(&["SETBIT", "q:bits", "80000000", "1"]), &["q:bits"]),
        (words(&["SETBIT", "q:s", "80000000", "1"]), &["q:s"]),
        (words(&["BITFIELD", "q:bits", "SET", "u8", "#10000000", "255"]), &["q:bits"]),
        (words(&["BITFIELD", "q:s", "INCRBY", "i5", "#20000000", "3"]), &["q:s"]),
        (words(&["BITOP", "OR", "q:c", "p:str", "q:s"]), &["q:c", "p:str", "q:s"]),
        (words(&["BITOP", "NOT", "q:s", "p:str"]), &["q:s", "p:str"]),
        (words(&["APPEND", "q:near", &chunk]), &["q:near"]),
        (words(&["COPY", "p:str", "q:c"]), &["p:str", "q:c"]),
        (words(&["COPY", "p:set", "q:s", "REPLACE"]), &["p:set", "q:s"]),
        (words(&["COPY", "p:str", "q:c", "DB", "1"]), &["p:str", "q:c"]),
        (words(&["RENAME", "p:str", "q:c"]), &["p:str", "q:c"]),
        (words(&["RENAME", "p:h", "q:s"]), &["p:h", "q:s"]),
        (words(&["RENAMENX", "p:z", "q:c"]), &["p:z", "q:c"]),
        (words(&["SUNIONSTORE", "q:c", "p:set", "q:set"]), &["q:c", "p:set", "q:set"]),
        (words(&["SINTERSTORE", "q:c", "p:set", "p:set"]), &["q:c", "p:set"]),
        (words(&["SDIFFSTORE", "q:set", "p:set"]), &["q:set", "p:set"]),
        (words(&["ZUNIONSTORE", "q:c", "2", "p:z", "q:z"]), &["q:c", "p:z", "q:z"]),
        (words(&["ZINTERSTORE", "q:z", "1", "p:z"]), &["q:z", "p:z"]),
        (words(&["ZRANGESTORE", "q:c", "p:z", "0", "-1"]), &["q:c", "p:z"]),
        (words(&["SORT", "p:set", "ALPHA", "STORE", "q:c"]), &["q:c", "p:set"]),
        (words(&["SORT", "p:l", "ALPHA", "STORE", "q:l"]), &["q:l", "p:l"]),
        (words(&["MSET", "q:a", &big(200_000), "q:b", &big(200_000)]), &["q:a", "q:b"]),
    ];
    for (cmd_words, touched) in &cases {
        assert_refused(&mut con, cmd_words, touched);
        assert!(used(&mut con, "q") <= LIMIT);
    }
    // Values grown in place, one small step at a time, until the quota refuses a step.
    type Step = Box<dyn Fn(usize) -> Vec<Vec<u8>>>;
    let steps: Vec<(Step, &str)> = vec![
        (Box::new(|i| words(&["HSET", "q:h", &format!("f{i}"), &big(4000)])), "q:h"),
        (Box::new(|_| words(&["RPUSH", "q:l", &big(4000)])), "q:l"),
        (Box::new(|i| words(&["SADD", "q:set", &format!("{i}{}", big(4000))])), "q:set"),
        (Box::new(|i| words(&["ZADD", "q:z", "1", &format!("{i}{}", big(4000))])), "q:z"),
        (Box::new(|_| words(&["APPEND", "q:s", &big(4000)])), "q:s"),
    ];
    let _: i64 = redis::cmd("DEL").arg("q:near").query(&mut con).unwrap();
    for (step, key) in &steps {
        let mut refused = false;
        for i in 0..200 {
            let cmd_words = step(i);
            match run(&mut con, &cmd_words) {
                Ok(_) => assert!(used(&mut con, "q") <= LIMIT, "{key} step {i}"),
                Err(_) => {
                    // Refused: the same step again is refused and changes nothing.
                    assert_refused(&mut con, &cmd_words, &[key]);
                    refused = true;
                    break;
                }
            }
        }
        assert!(refused, "{key} grew without bound");
        let _: i64 = redis::cmd("DEL").arg(key).query(&mut con).unwrap();
    }
}

#[test]
fn moves_between_keys_are_refused_at_a_reject_tenant() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    setup(&mut con);
    // Moving elements one at a time from p into q stops at the quota.
    let moves: Vec<(Vec<Vec<u8>>, &[&str])> = vec![
        (words(&["LMOVE", "p:l", "q:l", "LEFT", "RIGHT"]), &["p:l", "q:l"]),
        (words(&["RPOPLPUSH", "p:l", "q:l"]), &["p:l", "q:l"]),
        (words(&["BLMOVE", "p:l", "q:l", "LEFT", "RIGHT", "0.01"]), &["p:l", "q:l"]),
        (words(&["SMOVE", "p:set", "q:set", "placeholder"]), &["p:set", "q:set"]),
    ];
    for (template, touched) in &moves {
        let mut refused = false;
        for _ in 0..10_000 {
            let mut cmd_words = template.clone();
            if cmd_words[0] == b"SMOVE" {
                let member: String = redis::cmd("SRANDMEMBER").arg("p:set").query(&mut con).unwrap();
                cmd_words[3] = w(&member);
            }
            if run(&mut con, &cmd_words).is_err() {
                assert_refused(&mut con, &cmd_words, touched);
                refused = true;
                break;
            }
            assert!(used(&mut con, "q") <= LIMIT);
        }
        assert!(refused, "{template:?} moved everything into q");
        let _: () = redis::cmd("DEL").arg("q:l").arg("q:set").query(&mut con).unwrap();
        fill_sources(&mut con);
    }
    // MOVE into another database of the same tenant takes no room from elsewhere, and a key
    // is refused only when the tenant would pass its limit.
    let _: () = redis::cmd("SET").arg("q:m").arg("v").query(&mut con).unwrap();
    let moved: i64 = redis::cmd("MOVE").arg("q:m").arg(1).query(&mut con).unwrap();
    assert_eq!(moved, 1);
    assert!(used(&mut con, "q") <= LIMIT);
}

#[test]
fn an_evict_tenant_makes_room_from_its_own_keys() {
    let server = common::Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut con = server.conn();
    common::assert_ok(&mut con, &["TENANT", "SETLIMIT", "e", "MAXMEMORY", &LIMIT.to_string(), "ONLIMIT", "evict"]);
    common::assert_ok(&mut con, &["SET", "other:keep", "v"]);
    for i in 0..20 {
        let _: () = redis::cmd("SET").arg(format!("e:{i}")).arg(big(10_000)).query(&mut con).unwrap();
    }
    let _: i64 = redis::cmd("SETRANGE").arg("e:grow").arg(200_000).arg("x").query(&mut con).unwrap();
    assert!(used(&mut con, "e") <= LIMIT, "e uses {}", used(&mut con, "e"));
    let evicted: i64 = redis::from_redis_value(&tenant_info(&mut con, "e")["evicted_keys"]).unwrap();
    assert!(evicted > 0);
    let kept: bool = redis::cmd("EXISTS").arg("other:keep").query(&mut con).unwrap();
    assert!(kept, "another tenant's key was evicted");
}

// ----- randomized: every write command -----

/// Keys of the reject tenant `q`, and of the unlimited source tenant `p`.
const Q_KEYS: &[&str] = &["q:a", "q:b", "q:c", "q:s", "q:l", "q:set", "q:z", "q:h"];
const P_KEYS: &[&str] = &["p:str", "p:set", "p:z", "p:l", "p:h"];

/// An argument that stands for the DUMP payload of the key named after it (RESTORE's).
const DUMP_OF: &str = "<dump-of>";

/// Random arguments for write command `name`: keys mostly of `q`, sources often of `p`,
/// values from one byte to tens of kilobytes, offsets up to megabytes away.
fn generate(name: &str, r: &mut Rng) -> Vec<String> {
    let sizes = [1usize, 10, 100, 1000, 8000, 30_000, 120_000];
    let value = |r: &mut Rng| {
        let n = sizes[r.below(sizes.len())];
        format!("{}{}", r.below(1000), "v".repeat(n))
    };
    let q = |r: &mut Rng| r.pick(Q_KEYS).to_string();
    let any = |r: &mut Rng| if r.below(3) == 0 { r.pick(P_KEYS).to_string() } else { r.pick(Q_KEYS).to_string() };
    let num = |r: &mut Rng| (r.below(2000) as i64 - 1000).to_string();
    let offset = |r: &mut Rng| [0usize, 10, 5000, 200_000, 8_000_000][r.below(5)].to_string();
    let side = |r: &mut Rng| r.pick(&["LEFT", "RIGHT"]).to_string();
    let store = |r: &mut Rng| r.pick(&["STORE", "STOREDIST"]).to_string();
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let (k, k2) = (q(r), any(r));
    match name {
        "append" | "getset" | "set" | "setnx" | "lpushx" | "rpushx" | "lpush" | "rpush" | "sadd" => {
            vec![k, value(r)]
        }
        "setex" => vec![k, "100".into(), value(r)],
        "psetex" => vec![k, "100000".into(), value(r)],
        "mset" | "msetnx" => vec![k, value(r), q(r), value(r)],
        "setrange" => vec![k, offset(r), value(r)],
        "setbit" => vec![k, (r.below(3) * 40_000_000 + r.below(100)).to_string(), "1".into()],
        "bitfield" => {
            let field = format!("#{}", r.below(3) * 4_000_000 + r.below(100));
            vec![k, r.pick(&["SET", "INCRBY"]).into(), r.pick(&["u8", "i64", "i3"]).into(), field, num(r)]
        }
        "bitop" => vec![r.pick(&["AND", "OR", "XOR"]).into(), k, k2, any(r)],
        "incr" | "decr" | "getdel" | "persist" | "lpop" | "rpop" | "spop" | "zpopmin" | "zpopmax" | "del"
        | "unlink" => vec![k],
        "incrby" | "decrby" => vec![k, num(r)],
        "incrbyfloat" => vec![k, "1.5".into()],
        "getex" => vec![k, "EX".into(), "100".into()],
        "expire" | "pexpire" => vec![k, "100000".into()],
        "expireat" | "pexpireat" => vec![k, "99999999999".into()],
        "copy" => {
            let mut a = vec![k2, k];
            if r.below(2) == 0 {
                a.push("REPLACE".into());
            }
            if r.below(3) == 0 {
                a.extend(v(&["DB", "1"]));
            }
            a
        }
        "move" => vec![k, "1".into()],
        "rename" | "renamenx" => vec![k2, k],
        "sort" => vec![k2, "ALPHA".into(), "STORE".into(), k],
        "swapdb" => v(&["0", "1"]),
        "flushall" | "flushdb" => vec![],
        "hset" | "hmset" | "hsetnx" => vec![k, value(r), value(r)],
        "hdel" => vec![k, value(r)],
        "hincrby" => vec![k, "f".into(), num(r)],
        "hincrbyfloat" => vec![k, "f".into(), "0.5".into()],
        "blmove" => vec![k2, k, side(r), side(r), "0.01".into()],
        "lmove" => vec![k2, k, side(r), side(r)],
        "rpoplpush" => vec![k2, k],
        "brpoplpush" => vec![k2, k, "0.01".into()],
        "blmpop" => vec!["0.01".into(), "2".into(), k, k2, side(r)],
        "lmpop" => vec!["2".into(), k, k2, side(r)],
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => vec![k, "0.01".into()],
        "linsert" => vec![k, "BEFORE".into(), "x".into(), value(r)],
        "lrem" => vec![k, "0".into(), value(r)],
        "lset" => vec![k, "0".into(), value(r)],
        "ltrim" => vec![k, "0".into(), r.below(50).to_string()],
        "srem" | "zrem" => vec![k, value(r)],
        "smove" => vec![k2, k, value(r)],
        "sdiffstore" | "sinterstore" | "sunionstore" => vec![k, k2, any(r)],
        "zadd" => vec![k, num(r), value(r)],
        "geoadd" => vec![k, "13.361389".into(), "38.115556".into(), value(r)],
        "pfadd" => vec![k, value(r), value(r), value(r)],
        "pfmerge" => vec![k, r.pick(P_KEYS).into()],
        "pfdebug" => vec!["TODENSE".into(), k],
        // p:z's small scores all decode to points near (-180, -85).
        "georadius" => vec![k2, "-180".into(), "-85".into(), "500".into(), "km".into(), store(r), k],
        "georadiusbymember" => vec![k2, value(r), "500".into(), "km".into(), store(r), k],
        "geosearchstore" => {
            let mut a = vec![k, k2];
            a.extend(v(&["FROMLONLAT", "-180", "-85", "BYRADIUS", "500", "km"]));
            if r.below(2) == 0 {
                a.push("STOREDIST".into());
            }
            a
        }
        "zincrby" => vec![k, "1".into(), value(r)],
        "zdiffstore" | "zinterstore" | "zunionstore" => vec![k, "2".into(), k2, any(r)],
        "zrangestore" => vec![k, k2, "0".into(), "-1".into()],
        "zmpop" => vec!["1".into(), k, "MIN".into()],
        "bzmpop" => vec!["0.01".into(), "1".into(), k, "MAX".into()],
        "zremrangebylex" => v(&["q:z", "-", "+"]),
        "zremrangebyrank" => vec![k, "0".into(), "1".into()],
        "zremrangebyscore" => vec![k, "-inf".into(), num(r)],
        "tag.add" | "tag.rem" => vec![k, r.pick(&["t1", "t2", "t3"]).into(), value(r)],
        "tag.set" => vec![k, value(r), "TAGS".into(), "t1".into(), value(r)],
        "tag.invalidate" => vec![r.pick(&["t1", "t2", "t3"]).into()],
        // The payload is binary: the loop puts a DUMP of the source key in its place.
        "restore" => {
            let mut a = vec![k, "0".into(), format!("{DUMP_OF}{}", r.pick(P_KEYS))];
            if r.below(2) == 0 {
                a.push("REPLACE".into());
            }
            a
        }
        // Streams: an entry of any size, and the writes that only change ids or groups.
        "xadd" => vec![k, "*".into(), value(r), value(r)],
        "xdel" => vec![k, "1-0".into()],
        "xtrim" => vec![k, "MAXLEN".into(), r.below(3).to_string()],
        "xsetid" => vec![k, "99999999999999-0".into()],
        "xack" => vec![k, "g".into(), "1-0".into()],
        "xclaim" => vec![k, "g".into(), "c".into(), "0".into(), "1-0".into()],
        "xautoclaim" => vec![k, "g".into(), "c".into(), "0".into(), "0".into()],
        "xreadgroup" => v(&["GROUP", "g", "c", "STREAMS"]).into_iter().chain([k, ">".into()]).collect(),
        other => panic!("no argument generator for write command '{other}': add one"),
    }
}

fn write_commands(con: &mut Connection) -> Vec<String> {
    let all: Vec<Value> = redis::cmd("COMMAND").query(con).unwrap();
    let mut names = BTreeSet::new();
    for c in all {
        let Value::Array(fields) = c else { panic!("COMMAND entry {c:?}") };
        let name: String = redis::from_redis_value(&fields[0]).unwrap();
        let flags: Vec<String> = redis::from_redis_value(&fields[2]).unwrap();
        if flags.iter().any(|f| f == "write") {
            names.insert(name);
        }
    }
    names.into_iter().collect()
}

#[test]
fn randomized_writes_never_take_a_reject_tenant_over_its_quota() {
    let seed = common::seed_from_env("TENANT_QUOTA_SEED");
    let rounds: usize = std::env::var("TENANT_QUOTA_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3000);
    println!("randomized tenant quota test: TENANT_QUOTA_SEED={seed} TENANT_QUOTA_ROUNDS={rounds}");
    let mut r = Rng(seed);
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let commands = write_commands(&mut con);
    assert!(commands.len() > 70, "{commands:?}");
    for name in &commands {
        generate(name, &mut Rng(1)); // every write command has a generator
    }
    setup(&mut con);
    let mut refused_by_command: HashMap<&str, usize> = HashMap::new();
    let mut ran_by_command: HashMap<&str, usize> = HashMap::new();
    for round in 0..rounds {
        let name = &commands[r.below(commands.len())];
        // Wiping everything is a write too, but rare enough for the rest to be exercised.
        if matches!(name.as_str(), "flushall" | "flushdb" | "swapdb") && r.below(20) != 0 {
            continue;
        }
        if round % 200 == 0 {
            fill_sources(&mut con);
        }
        let mut cmd_words = vec![w(name)];
        for a in generate(name, &mut r) {
            match a.strip_prefix(DUMP_OF) {
                Some(source) => cmd_words.push(redis::cmd("DUMP").arg(source).query(&mut con).unwrap()),
                None => cmd_words.push(a.into_bytes()),
            }
        }
        let touched: Vec<String> = cmd_words[1..]
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .filter(|a| a.starts_with("q:") || a.starts_with("p:"))
            .collect();
        let small: Vec<&str> = touched.iter().map(|s| s.as_str()).filter(|k| k.starts_with("q:")).collect();
        let before: Vec<_> = small.iter().map(|k| fingerprint(&mut con, k.as_bytes())).collect();
        let (q_before, qk_before) = (used(&mut con, "q"), keys_of(&mut con, "q"));
        let reply = run(&mut con, &cmd_words);
        let q_after = used(&mut con, "q");
        let shown: Vec<String> =
            cmd_words.iter().map(|a| String::from_utf8_lossy(&a[..a.len().min(24)]).into_owned()).collect();
        assert!(
            q_after <= LIMIT,
            "seed {seed} round {round}: {shown:?} left q at {q_after} > {LIMIT} (reply {reply:?})"
        );
        *ran_by_command.entry(name).or_default() += 1;
        if let Err(e) = &reply {
            if e.code() == Some("OOM") {
                *refused_by_command.entry(name).or_default() += 1;
                let after: Vec<_> = small.iter().map(|k| fingerprint(&mut con, k.as_bytes())).collect();
                assert_eq!(before, after, "seed {seed} round {round}: refused {shown:?} changed {small:?}");
                assert_eq!(
                    (q_after, keys_of(&mut con, "q")),
                    (q_before, qk_before),
                    "seed {seed} round {round}: refused {shown:?} changed tenant q"
                );
            }
        }
    }
    let refused: usize = refused_by_command.values().sum();
    println!(
        "ran {} commands, {refused} refused by the quota: {refused_by_command:?}",
        ran_by_command.values().sum::<usize>()
    );
    assert!(refused > 0, "seed {seed}: nothing reached the quota");
}

#[test]
fn a_write_refused_inside_exec_is_undone_alone() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    setup(&mut con);
    let reply = server.raw(
        b"MULTI\r\nSET q:a small\r\nSETRANGE q:r 8000000 x\r\nCOPY p:str q:c\r\nINCR q:n\r\nEXEC\r\nQUIT\r\n",
        std::time::Duration::from_secs(5),
    );
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let oom = format!("-OOM {QUOTA_DETAIL}\r\n");
    let expected = format!("+OK\r\n{}*4\r\n+OK\r\n{oom}{oom}:1\r\n+OK\r\n", "+QUEUED\r\n".repeat(4));
    assert_eq!(reply, expected);
    assert!(used(&mut con, "q") <= LIMIT);
    let exists: i64 = redis::cmd("EXISTS").arg("q:r").arg("q:c").query(&mut con).unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn a_write_naming_many_keys_of_many_refusing_tenants_is_admitted_in_linear_time() {
    // noeviction: every tenant with a quota refuses writes over it.
    let server = common::Server::start(&["--tenant-default-maxmemory", "1mb"]);
    let mut con = server.conn();
    let mut mset = redis::cmd("MSET");
    for i in 0..200_000 {
        mset.arg(format!("t{i}:k")).arg("v");
    }
    let _: () = mset.query(&mut con).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, 200_000);
}
