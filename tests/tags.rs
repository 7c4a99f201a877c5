//! Tags over TCP: every guarantee of the tag index, and a randomised model test.

mod common;

use common::used_memory;
use redis::Connection;
use std::collections::{BTreeMap, BTreeSet};

fn tag_count(con: &mut Connection, tag: &str) -> i64 {
    redis::cmd("TAG.COUNT").arg(tag).query(con).unwrap()
}

fn tag_scan_all(con: &mut Connection, tag: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cursor = "0".to_string();
    for _ in 0..100_000 {
        let (next, keys): (String, Vec<String>) =
            redis::cmd("TAG.SCAN").arg(tag).arg(&cursor).arg("COUNT").arg(3).query(con).unwrap();
        out.extend(keys);
        cursor = next;
        if cursor == "0" {
            return out;
        }
    }
    panic!("TAG.SCAN did not finish");
}

fn tags_of(con: &mut Connection, key: &str) -> BTreeSet<String> {
    redis::cmd("TAG.TAGS").arg(key).query(con).unwrap()
}

#[test]
fn set_add_rem_tags_count() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let _: () = redis::cmd("TAG.SET")
        .arg("acme:1")
        .arg("v")
        .arg("EX")
        .arg(100)
        .arg("TAGS")
        .arg("plan")
        .arg("org")
        .query(&mut con)
        .unwrap();
    let ttl: i64 = redis::cmd("TTL").arg("acme:1").query(&mut con).unwrap();
    assert!(ttl > 0);
    assert_eq!(tags_of(&mut con, "acme:1"), ["org", "plan"].map(String::from).into());
    let added: i64 = redis::cmd("TAG.ADD").arg("acme:1").arg("plan").arg("x").query(&mut con).unwrap();
    assert_eq!(added, 1);
    let removed: i64 = redis::cmd("TAG.REM").arg("acme:1").arg("x").arg("nope").query(&mut con).unwrap();
    assert_eq!(removed, 1);
    assert_eq!(tag_count(&mut con, "plan"), 1);
    assert_eq!(tag_count(&mut con, "x"), 0);
    // TAG.ADD on a missing key creates nothing.
    let added: i64 = redis::cmd("TAG.ADD").arg("missing").arg("plan").query(&mut con).unwrap();
    assert_eq!(added, 0);
    let exists: i64 = redis::cmd("EXISTS").arg("missing").query(&mut con).unwrap();
    assert_eq!(exists, 0);
    // NX on an existing key writes nothing and keeps the tags.
    let r: Option<String> =
        redis::cmd("TAG.SET").arg("acme:1").arg("w").arg("NX").arg("TAGS").arg("other").query(&mut con).unwrap();
    assert_eq!(r, None);
    assert_eq!(tag_count(&mut con, "other"), 0);
}

#[test]
fn tags_are_scoped_by_tenant_and_seen_across_tenants() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    for k in ["a:1", "a:2", "b:1"] {
        let _: () = redis::cmd("TAG.SET").arg(k).arg("v").arg("TAGS").arg("plan").query(&mut con).unwrap();
    }
    assert_eq!(tag_count(&mut con, "plan"), 3);
    assert_eq!(tag_scan_all(&mut con, "plan"), ["a:1", "a:2", "b:1"].map(String::from).into());
}

#[test]
fn every_removal_path_cleans_the_index() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let tag = |con: &mut Connection, k: &str| {
        let _: () = redis::cmd("TAG.SET").arg(k).arg("v").arg("TAGS").arg("t").query(con).unwrap();
    };
    tag(&mut con, "a:del");
    let _: i64 = redis::cmd("DEL").arg("a:del").query(&mut con).unwrap();
    assert_eq!(tag_count(&mut con, "t"), 0);
    // A plain SET replaces the value and drops the tags.
    tag(&mut con, "a:set");
    let _: () = redis::cmd("SET").arg("a:set").arg("plain").query(&mut con).unwrap();
    assert_eq!(tag_count(&mut con, "t"), 0);
    assert!(tags_of(&mut con, "a:set").is_empty());
    // Expiry keeps tags until the key expires, then the index forgets it.
    tag(&mut con, "a:exp");
    let _: i64 = redis::cmd("PEXPIRE").arg("a:exp").arg(50).query(&mut con).unwrap();
    assert_eq!(tag_count(&mut con, "t"), 1);
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert_eq!(tag_count(&mut con, "t"), 0);
    // PERSIST keeps tags.
    tag(&mut con, "a:persist");
    let _: i64 = redis::cmd("EXPIRE").arg("a:persist").arg(100).query(&mut con).unwrap();
    let _: i64 = redis::cmd("PERSIST").arg("a:persist").query(&mut con).unwrap();
    assert_eq!(tags_of(&mut con, "a:persist"), ["t".to_string()].into());
    // RENAME carries tags (also to another tenant).
    let _: () = redis::cmd("RENAME").arg("a:persist").arg("b:renamed").query(&mut con).unwrap();
    assert_eq!(tags_of(&mut con, "b:renamed"), ["t".to_string()].into());
    assert_eq!(tag_scan_all(&mut con, "t"), ["b:renamed".to_string()].into());
    // TENANT FLUSH and FLUSHALL.
    tag(&mut con, "c:1");
    let _: i64 = redis::cmd("TENANT").arg("FLUSH").arg("c").query(&mut con).unwrap();
    assert_eq!(tag_scan_all(&mut con, "t"), ["b:renamed".to_string()].into());
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    assert_eq!(tag_count(&mut con, "t"), 0);
}

#[test]
fn invalidate_deletes_publishes_and_counts() {
    let server = common::Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut con = server.conn();
    let mut sub_con = server.client().get_connection().unwrap();
    let mut pubsub = sub_con.as_pubsub();
    pubsub.subscribe("__tags__:invalidated").unwrap();
    pubsub.subscribe("__keyevent@0__:del").unwrap();
    for i in 0..100 {
        let _: () = redis::cmd("TAG.SET")
            .arg(format!("acme:{i}"))
            .arg("v")
            .arg("TAGS")
            .arg("org:42")
            .arg(format!("item:{i}"))
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("SET").arg("acme:untagged").arg("v").query(&mut con).unwrap();
    let n: i64 = redis::cmd("TAG.INVALIDATE").arg("org:42").arg("nothing").query(&mut con).unwrap();
    assert_eq!(n, 100);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 1);
    assert_eq!(tag_count(&mut con, "item:7"), 0);
    pubsub.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    let mut invalidated = Vec::new();
    let mut dels = 0;
    while invalidated.len() < 2 || dels < 100 {
        let msg = pubsub.get_message().unwrap();
        let payload: String = msg.get_payload().unwrap();
        if msg.get_channel_name() == "__tags__:invalidated" {
            invalidated.push(payload);
        } else {
            dels += 1;
        }
    }
    assert_eq!(invalidated, vec!["org:42".to_string(), "nothing".to_string()]);
    let info: Vec<redis::Value> = redis::cmd("TENANT").arg("INFO").arg("acme").query(&mut con).unwrap();
    let pos = info.iter().position(|v| *v == redis::Value::BulkString(b"invalidated_keys".to_vec())).unwrap();
    assert_eq!(info[pos + 1], redis::Value::Int(100));
}

#[test]
fn limits_and_bad_input() {
    let server = common::Server::start(&["--tag-max-per-key", "3", "--tag-max-len", "8"]);
    let mut con = server.conn();
    let bad: &[&[&str]] = &[
        &["TAG.SET", "k", "v", "TAGS"],
        &["TAG.SET", "k", "v", "TAGS", "a", "b", "c", "d"],
        &["TAG.SET", "k", "v", "TAGS", "much-too-long"],
        &["TAG.SET", "k", "v", "BOGUS", "TAGS", "a"],
        &["TAG.SET", "k", "v", "EX", "-1", "TAGS", "a"],
        &["TAG.SET", "k", "v", "a"],
        &["TAG.SCAN", "t", "notanumber"],
        &["TAG.SCAN", "t", "0", "COUNT", "0"],
    ];
    for args in bad {
        let r: redis::RedisResult<redis::Value> = redis::cmd(args[0]).arg(&args[1..]).query(&mut con);
        assert!(r.is_err(), "{args:?} must fail");
    }
    let exists: i64 = redis::cmd("EXISTS").arg("k").query(&mut con).unwrap();
    assert_eq!(exists, 0, "a refused TAG.SET must not write");
    let _: () = redis::cmd("TAG.SET").arg("k").arg("v").arg("TAGS").arg("a").arg("b").query(&mut con).unwrap();
    let r: redis::RedisResult<i64> = redis::cmd("TAG.ADD").arg("k").arg("c").arg("d").query(&mut con);
    assert!(r.is_err(), "tag-max-per-key must hold for TAG.ADD");
    // TAG.SET overwrites a key of any type, as SET does.
    let _: () = redis::cmd("TAG.SET").arg("k").arg("w").arg("TAGS").arg("z").query(&mut con).unwrap();
    assert_eq!(tags_of(&mut con, "k"), ["z".to_string()].into());
}

/// Random operations against the server and an in-test model; after each step TAG.COUNT and
/// TAG.SCAN of every tag match the model, and memory returns to where it started.
#[test]
fn randomised_model() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let baseline = used_memory(&mut con);
    let keys: Vec<String> = (0..12).map(|i| format!("{}:{}", ["a", "b"][i % 2], i)).collect();
    let tags = ["t0", "t1", "t2", "t3"];
    // key -> tags; keys with a short TTL are tracked so the model can expire them.
    let mut model: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut expiring: BTreeMap<String, std::time::Instant> = BTreeMap::new();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rand = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for _ in 0..3000 {
        let key = keys[rand(keys.len())].clone();
        let tag = tags[rand(tags.len())];
        match rand(10) {
            0 => {
                let _: () = redis::cmd("SET").arg(&key).arg("v").query(&mut con).unwrap();
                model.insert(key.clone(), BTreeSet::new());
                expiring.remove(&key);
            }
            1 | 2 => {
                let t2 = tags[rand(tags.len())];
                let _: () =
                    redis::cmd("TAG.SET").arg(&key).arg("v").arg("TAGS").arg(tag).arg(t2).query(&mut con).unwrap();
                model.insert(key.clone(), [tag.to_string(), t2.to_string()].into());
                expiring.remove(&key);
            }
            3 => {
                let n: i64 = redis::cmd("TAG.ADD").arg(&key).arg(tag).query(&mut con).unwrap();
                let expect = model.get_mut(&key).map_or(0, |t| t.insert(tag.to_string()) as i64);
                assert_eq!(n, expect);
            }
            4 => {
                let n: i64 = redis::cmd("TAG.REM").arg(&key).arg(tag).query(&mut con).unwrap();
                let expect = model.get_mut(&key).map_or(0, |t| t.remove(tag) as i64);
                assert_eq!(n, expect);
            }
            5 => {
                let n: i64 = redis::cmd("DEL").arg(&key).query(&mut con).unwrap();
                assert_eq!(n, model.remove(&key).is_some() as i64);
                expiring.remove(&key);
            }
            6 => {
                let n: i64 = redis::cmd("PEXPIRE").arg(&key).arg(60).query(&mut con).unwrap();
                assert_eq!(n, model.contains_key(&key) as i64);
                if n == 1 {
                    expiring.insert(key.clone(), std::time::Instant::now());
                }
            }
            7 => {
                let to = keys[rand(keys.len())].clone();
                let r: redis::RedisResult<()> = redis::cmd("RENAME").arg(&key).arg(&to).query(&mut con);
                match model.remove(&key) {
                    Some(t) => {
                        r.unwrap();
                        let exp = expiring.remove(&key);
                        expiring.remove(&to);
                        if let Some(at) = exp {
                            expiring.insert(to.clone(), at);
                        }
                        model.insert(to, t);
                    }
                    None => assert!(r.is_err()),
                }
            }
            8 => {
                let n: i64 = redis::cmd("TAG.INVALIDATE").arg(tag).query(&mut con).unwrap();
                let doomed: Vec<String> =
                    model.iter().filter(|(_, t)| t.contains(tag)).map(|(k, _)| k.clone()).collect();
                assert_eq!(n as usize, doomed.len());
                for k in doomed {
                    model.remove(&k);
                    expiring.remove(&k);
                }
            }
            _ => {
                if rand(20) == 0 {
                    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
                    model.clear();
                    expiring.clear();
                }
            }
        }
        // Keys given a short TTL: once the oldest is 25 ms old (well before its 60 ms TTL can
        // run out under the next operations), wait until all are certainly gone, then compare.
        let oldest = expiring.values().min().copied();
        if let Some(oldest) = oldest {
            if oldest.elapsed() > std::time::Duration::from_millis(25) || rand(8) == 0 {
                std::thread::sleep(std::time::Duration::from_millis(80).saturating_sub(oldest.elapsed()));
                std::thread::sleep(std::time::Duration::from_millis(5));
                for (k, _) in std::mem::take(&mut expiring) {
                    model.remove(&k);
                }
            }
        }
        if expiring.is_empty() {
            for t in tags {
                let expect: BTreeSet<String> =
                    model.iter().filter(|(_, ts)| ts.contains(t)).map(|(k, _)| k.clone()).collect();
                assert_eq!(tag_count(&mut con, t), expect.len() as i64, "TAG.COUNT {t}");
                assert_eq!(tag_scan_all(&mut con, t), expect, "TAG.SCAN {t}");
            }
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    let _: i64 = redis::cmd("DEL").arg(&keys).query(&mut con).unwrap();
    assert_eq!(used_memory(&mut con), baseline, "memory must return to its starting value");
}
