//! Tenants over TCP: key-derived tenancy, quotas (reject and evict), reserves under another
//! tenant's flood, global maxmemory, statistics and TENANT FLUSH.

mod common;

use redis::{Connection, Value};
use std::collections::HashMap;

fn info(con: &mut Connection, tenant: &str) -> HashMap<String, Value> {
    let v: Vec<Value> = redis::cmd("TENANT").arg("INFO").arg(tenant).query(con).unwrap();
    v.chunks(2).map(|p| (redis::from_redis_value::<String>(&p[0]).unwrap(), p[1].clone())).collect()
}

fn int(m: &HashMap<String, Value>, k: &str) -> i64 {
    redis::from_redis_value(&m[k]).unwrap()
}

fn set(con: &mut Connection, k: &str, v: &str) -> redis::RedisResult<()> {
    redis::cmd("SET").arg(k).arg(v).query(con)
}

#[test]
fn tenant_of_follows_the_design_table() {
    let server =
        common::Server::start(&["--tenant-key-pattern", "cache:*:{tenant}", "organization:{tenant}", "{tenant}"]);
    let mut con = server.conn();
    let cases = [
        ("cache:client:t-42:c-7", "t-42"),
        ("cache:domain_tenant:example.com", "cache"),
        ("organization:t-9:org-1", "t-9"),
        ("org_abc123:conversations:list:v1", "org_abc123"),
        ("plain-key", "default"),
    ];
    for (key, tenant) in cases {
        let t: String = redis::cmd("TENANT").arg("OF").arg(key).query(&mut con).unwrap();
        assert_eq!(t, tenant, "key {key}");
    }
}

#[test]
fn reject_at_quota_changes_nothing() {
    let server = common::Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut con = server.conn();
    let _: () = redis::cmd("TENANT")
        .arg("SETLIMIT")
        .arg("acme")
        .arg("MAXKEYS")
        .arg(3)
        .arg("ONLIMIT")
        .arg("reject")
        .query(&mut con)
        .unwrap();
    for i in 0..3 {
        set(&mut con, &format!("acme:{i}"), "v").unwrap();
    }
    let err = set(&mut con, "acme:new", "v").unwrap_err();
    assert_eq!(err.code(), Some("OOM"));
    assert!(err.to_string().contains("command not allowed when tenant 'acme' is over its quota"), "{err}");
    // Overwriting an existing key is not a new key and passes.
    set(&mut con, "acme:0", "v2").unwrap();
    let exists: i64 = redis::cmd("EXISTS").arg("acme:new").query(&mut con).unwrap();
    assert_eq!(exists, 0);
    let m = info(&mut con, "acme");
    assert_eq!(int(&m, "keys"), 3);
    assert_eq!(int(&m, "rejected_writes"), 1);
    // Other tenants are unaffected.
    set(&mut con, "other:1", "v").unwrap();
}

#[test]
fn evict_own_keys_at_quota() {
    let server = common::Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut con = server.conn();
    let _: () = redis::cmd("TENANT").arg("SETLIMIT").arg("acme").arg("MAXMEMORY").arg("64kb").query(&mut con).unwrap();
    set(&mut con, "bystander:1", "keep me").unwrap();
    let value = "x".repeat(1000);
    for i in 0..500 {
        set(&mut con, &format!("acme:{i}"), &value).unwrap();
    }
    let m = info(&mut con, "acme");
    assert!(int(&m, "used_memory") <= 64 * 1024, "used {}", int(&m, "used_memory"));
    assert!(int(&m, "evicted_keys_quota") > 0);
    assert_eq!(int(&m, "evicted_keys_pressure"), 0);
    // The most recent write is kept; the bystander tenant keeps its key.
    let last: String = redis::cmd("GET").arg("acme:499").query(&mut con).unwrap();
    assert_eq!(last, value);
    let b: String = redis::cmd("GET").arg("bystander:1").query(&mut con).unwrap();
    assert_eq!(b, "keep me");
}

#[test]
fn reserve_protects_a_quiet_tenant_from_a_flood() {
    let server = common::Server::start(&["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut con = server.conn();
    let _: () = redis::cmd("TENANT").arg("SETLIMIT").arg("quiet").arg("RESERVE").arg("512kb").query(&mut con).unwrap();
    let value = "q".repeat(200);
    for i in 0..1000 {
        set(&mut con, &format!("quiet:{i}"), &value).unwrap();
    }
    let quiet_before = int(&info(&mut con, "quiet"), "used_memory");
    assert!(quiet_before < 512 * 1024, "reserve must cover the working set: {quiet_before}");
    // The noisy tenant writes far more than the whole server holds.
    let flood = "n".repeat(500);
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("SET").arg(format!("noisy:{i}")).arg(&flood).ignore();
        if i % 1000 == 999 {
            let _: () = pipe.query(&mut con).unwrap();
            pipe = redis::pipe();
        }
    }
    let quiet = info(&mut con, "quiet");
    assert_eq!(int(&quiet, "keys"), 1000);
    assert_eq!(int(&quiet, "evicted_keys"), 0);
    let noisy = info(&mut con, "noisy");
    assert!(int(&noisy, "evicted_keys_pressure") > 0);
    let used: i64 = server_used_memory(&mut con);
    assert!(used <= 2 * 1024 * 1024, "used_memory {used} above maxmemory");
}

fn server_used_memory(con: &mut Connection) -> i64 {
    let mut total = 0;
    let tenants: Vec<String> = redis::cmd("TENANT").arg("LIST").query(con).unwrap();
    for t in tenants {
        total += int(&info(con, &t), "used_memory");
    }
    total
}

#[test]
fn global_maxmemory_noeviction_refuses_writes() {
    let server = common::Server::start(&["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]);
    let mut con = server.conn();
    let value = "v".repeat(1000);
    let mut refused = None;
    for i in 0..5000 {
        if let Err(e) = set(&mut con, &format!("t:{i}"), &value) {
            refused = Some(e);
            break;
        }
    }
    let e = refused.expect("writes must be refused at maxmemory");
    assert_eq!(e.code(), Some("OOM"));
    assert!(e.to_string().contains("command not allowed when used memory > 'maxmemory'"), "{e}");
    // Deletes still work (DEL is not denyoom).
    let n: i64 = redis::cmd("DEL").arg("t:0").query(&mut con).unwrap();
    assert_eq!(n, 1);
}

#[test]
fn statistics_are_exact_for_a_scripted_workload() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    set(&mut con, "acme:1", "a").unwrap();
    set(&mut con, "acme:2", "b").unwrap();
    for k in ["acme:1", "acme:2", "acme:3", "acme:1"] {
        let _: Option<String> = redis::cmd("GET").arg(k).query(&mut con).unwrap();
    }
    let _: Option<String> = redis::cmd("GET").arg("beta:1").query(&mut con).unwrap();
    let m = info(&mut con, "acme");
    assert_eq!(int(&m, "hits"), 3);
    assert_eq!(int(&m, "misses"), 1);
    assert_eq!(int(&m, "keys"), 2);
    assert_eq!(int(&m, "commands"), 6);
    let b = info(&mut con, "beta");
    assert_eq!(int(&b, "misses"), 1);
    let _: () = redis::cmd("TENANT").arg("RESETSTATS").arg("acme").query(&mut con).unwrap();
    let m = info(&mut con, "acme");
    assert_eq!(int(&m, "hits"), 0);
    assert_eq!(int(&m, "keys"), 2);
}

#[test]
fn tenant_flush_deletes_only_that_tenant() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    for i in 0..100 {
        set(&mut con, &format!("acme:{i}"), "v").unwrap();
    }
    set(&mut con, "beta:1", "v").unwrap();
    let n: i64 = redis::cmd("TENANT").arg("FLUSH").arg("acme").query(&mut con).unwrap();
    assert_eq!(n, 100);
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(size, 1);
    let m = info(&mut con, "acme");
    assert_eq!(int(&m, "keys"), 0);
    assert_eq!(int(&m, "used_memory"), 0);
    let n: i64 = redis::cmd("TENANT").arg("FLUSH").arg("nobody").query(&mut con).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let bad: &[&[&str]] = &[
        &["SETLIMIT", "acme", "MAXMEMORY", "10xb"],
        &["SETLIMIT", "acme", "MAXMEMORY", "-1"],
        &["SETLIMIT", "acme", "MAXKEYS", "many"],
        &["SETLIMIT", "acme", "ONLIMIT", "explode"],
        &["SETLIMIT", "acme", "COLOUR", "blue"],
        &["SETLIMIT", "", "MAXKEYS", "1"],
        &["SETLIMIT", "default", "MAXKEYS", "1"],
        &["SETLIMIT", "acme", "MAXKEYS"],
    ];
    for args in bad {
        let r: redis::RedisResult<()> = redis::cmd("TENANT").arg(*args).query(&mut con);
        assert!(r.is_err(), "TENANT {args:?} must fail");
    }
    let limits: Vec<Value> = redis::cmd("TENANT").arg("GETLIMIT").arg("acme").query(&mut con).unwrap();
    assert_eq!(limits[1], Value::Int(0));
    let tenants: Vec<String> = redis::cmd("TENANT").arg("LIST").query(&mut con).unwrap();
    assert!(tenants.is_empty(), "{tenants:?}");
}

#[test]
fn limits_from_the_config_file() {
    let dir = std::env::temp_dir().join(format!("tc-tenants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.conf");
    std::fs::write(&path, "tenant acme maxmemory 100mb maxkeys 1000 reserve 20mb onlimit reject\n").unwrap();
    let server = common::Server::start_with_config(path.to_str().unwrap(), &[]);
    let mut con = server.conn();
    let limits: Vec<Value> = redis::cmd("TENANT").arg("GETLIMIT").arg("acme").query(&mut con).unwrap();
    assert_eq!(limits[1], Value::Int(100 << 20));
    assert_eq!(limits[3], Value::Int(1000));
    assert_eq!(limits[5], Value::Int(20 << 20));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn movable_key_commands_count_for_their_keys_tenant() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let _: i64 = redis::cmd("ZADD").arg(&["acme:z", "1", "a"]).query(&mut con).unwrap();
    let _: i64 = redis::cmd("SADD").arg(&["globex:s", "a"]).query(&mut con).unwrap();
    let _: Value = redis::cmd("ZUNION").arg(&["2", "acme:z", "globex:s"]).query(&mut con).unwrap();
    let _: Value = redis::cmd("SINTERCARD").arg(&["1", "globex:s"]).query(&mut con).unwrap();
    let _: Value = redis::cmd("ZMPOP").arg(&["1", "acme:z", "MIN"]).query(&mut con).unwrap();
    let _: Value = redis::cmd("ZUNIONSTORE").arg(&["globex:dst", "1", "globex:s"]).query(&mut con).unwrap();
    assert_eq!(int(&info(&mut con, "acme"), "commands"), 3);
    assert_eq!(int(&info(&mut con, "globex"), "commands"), 3);
}

#[test]
fn store_forms_are_checked_against_the_destination_tenant_quota() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let _: () =
        redis::cmd("TENANT").arg(&["SETLIMIT", "full", "MAXKEYS", "1", "ONLIMIT", "reject"]).query(&mut con).unwrap();
    let _: i64 = redis::cmd("ZADD").arg(&["full:z", "1", "a"]).query(&mut con).unwrap();
    let _: i64 = redis::cmd("SADD").arg(&["other:s", "b"]).query(&mut con).unwrap();
    // A new key of the full tenant is refused; reading its keys into another tenant is not.
    let e = redis::cmd("ZUNIONSTORE").arg(&["full:new", "2", "full:z", "other:s"]).query::<i64>(&mut con).unwrap_err();
    assert_eq!(e.code(), Some("OOM"));
    let n: i64 = redis::cmd("ZUNIONSTORE")
        .arg(&["other:dst", "3", "full:z", "other:s", "full:missing"])
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(int(&info(&mut con, "full"), "rejected_writes"), 1);
}

#[test]
fn tenant_pattern_changes_only_while_empty() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    set(&mut con, "acme:1", "v").unwrap();
    let r: redis::RedisResult<()> =
        redis::cmd("CONFIG").arg("SET").arg("tenant-key-pattern").arg("cache:*:{tenant}").query(&mut con);
    assert!(r.unwrap_err().to_string().contains("only change while the server holds no keys"));
    // Setting the value it already has is fine (tools write back every parameter).
    let _: () = redis::cmd("CONFIG").arg("SET").arg("tenant-key-pattern").arg("{tenant}").query(&mut con).unwrap();
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("tenant-key-pattern").arg("cache:*:{tenant}").query(&mut con).unwrap();
    let t: String = redis::cmd("TENANT").arg("OF").arg("cache:client:t-42:c-7").query(&mut con).unwrap();
    assert_eq!(t, "t-42");
}
