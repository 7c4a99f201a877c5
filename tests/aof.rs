//! The append-only file through real server processes: a restart keeps every type, absolute
//! TTLs and tags; relative and random writes are logged in the deterministic form Redis
//! propagates; refused writes are not logged; a torn last command is cut off or refuses the
//! start as `aof-load-truncated` says, a corrupt file refuses it naming file and offset;
//! redis-server loads our directory; a SIGKILL under write load loses nothing acknowledged
//! with `appendfsync always` and at most about a second of writes with `everysec`.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// The port of the redis-server instance started here.
const REDIS_PORT: u16 = 17250;

fn start_aof(dir: &ScratchDir, extra: &[&str]) -> Server {
    let mut args = vec!["--dir", dir.path(), "--save", "", "--appendonly", "yes"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn aof_dir(dir: &ScratchDir) -> PathBuf {
    dir.0.join("appendonlydir")
}

fn incr_file(dir: &ScratchDir) -> PathBuf {
    aof_dir(dir).join("appendonly.aof.1.incr.aof")
}

/// The incremental file as text, for assertions on what was logged.
fn incr_text(dir: &ScratchDir) -> String {
    String::from_utf8_lossy(&std::fs::read(incr_file(dir)).unwrap()).into_owned()
}

/// The logged commands, each as its words joined by spaces.
fn logged(dir: &ScratchDir) -> Vec<String> {
    let text = incr_text(dir);
    let mut lines = text.split("\r\n");
    let mut out = Vec::new();
    while let Some(header) = lines.next() {
        let Some(n) = header.strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) else { break };
        let words: Vec<&str> = (0..n).filter_map(|_| lines.nth(1)).collect();
        out.push(words.join(" "));
    }
    out
}

/// Sends SIGKILL to a server (no shutdown of any kind runs).
fn kill9(server: &Server) {
    let status = Command::new("kill").args(["-9", &server.pid().to_string()]).status().unwrap();
    assert!(status.success());
}

#[test]
fn restart_keeps_every_type_absolute_ttls_and_tags() {
    let dir = ScratchDir::new("aof-restart");
    let server = start_aof(&dir, &["--appendfsync", "always"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "s", "v"]);
    assert_ok(&mut con, &["SET", "ttl", "v", "EX", "1000"]);
    let _: i64 = ok(&mut con, &["RPUSH", "l", "a", "b", "c"]);
    let _: i64 = ok(&mut con, &["HSET", "h", "f", "1", "g", "2"]);
    let _: i64 = ok(&mut con, &["SADD", "set", "x", "y"]);
    let _: i64 = ok(&mut con, &["ZADD", "z", "1", "one", "2", "two"]);
    let _: i64 = ok(&mut con, &["INCR", "n"]);
    assert_ok(&mut con, &["TAG.SET", "acme:tagged", "v", "EX", "1000", "TAGS", "plan", "user:7"]);
    let pttl_before: i64 = ok(&mut con, &["PTTL", "ttl"]);
    let _: () = ok(&mut con, &["SELECT", "2"]);
    assert_ok(&mut con, &["SET", "in2", "v"]);
    let _: () = ok(&mut con, &["SELECT", "0"]);
    drop(con);
    kill9(&server);
    drop(server);

    std::thread::sleep(Duration::from_millis(200));
    let server = start_aof(&dir, &[]);
    let mut con = server.conn();
    assert_eq!(ok::<String>(&mut con, &["GET", "s"]), "v");
    assert_eq!(strings(&mut con, &["LRANGE", "l", "0", "-1"]), ["a", "b", "c"]);
    assert_eq!(ok::<String>(&mut con, &["HGET", "h", "g"]), "2");
    assert_eq!(ok::<i64>(&mut con, &["SCARD", "set"]), 2);
    assert_eq!(ok::<String>(&mut con, &["ZSCORE", "z", "two"]), "2");
    assert_eq!(ok::<i64>(&mut con, &["GET", "n"]), 1);
    let pttl_after: i64 = ok(&mut con, &["PTTL", "ttl"]);
    assert!(pttl_after > 0 && pttl_after <= pttl_before, "absolute TTL: {pttl_after} after {pttl_before}");
    assert!(ok::<i64>(&mut con, &["PTTL", "acme:tagged"]) > 0);
    assert_eq!(ok::<i64>(&mut con, &["TAG.COUNT", "plan"]), 1);
    let _: () = ok(&mut con, &["SELECT", "2"]);
    assert_eq!(ok::<String>(&mut con, &["GET", "in2"]), "v");
    let info: String = ok(&mut con, &["INFO", "persistence"]);
    assert_eq!(info_field(&info, "aof_enabled").as_deref(), Some("1"));
    assert_eq!(info_field(&info, "aof_last_write_status").as_deref(), Some("ok"));
    assert!(info_field(&info, "aof_current_size").unwrap().parse::<u64>().unwrap() > 0);
}

#[test]
fn the_directory_follows_redis_7_layout() {
    let dir = ScratchDir::new("aof-layout");
    let server = start_aof(&dir, &[]);
    drop(server);
    let manifest = std::fs::read_to_string(aof_dir(&dir).join("appendonly.aof.manifest")).unwrap();
    assert_eq!(manifest, "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    let base = std::fs::read(aof_dir(&dir).join("appendonly.aof.1.base.rdb")).unwrap();
    assert!(base.starts_with(b"REDIS"));
}

#[test]
fn writes_are_logged_as_redis_propagates_them() {
    let dir = ScratchDir::new("aof-rewrite");
    let server = start_aof(&dir, &["--appendfsync", "always"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "k", "v", "EX", "100"]);
    assert_ok(&mut con, &["SETEX", "e", "100", "v"]);
    let _: i64 = ok(&mut con, &["EXPIRE", "e", "200"]);
    let _: i64 = ok(&mut con, &["SADD", "s", "a", "b", "c"]);
    let popped: String = ok(&mut con, &["SPOP", "s"]);
    let _: String = ok(&mut con, &["INCRBYFLOAT", "f", "1.5"]);
    assert_ok(&mut con, &["SET", "gone", "v", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(run(&mut con, &["GET", "gone"]).unwrap(), redis::Value::Nil);
    // Refused and idle writes are not logged.
    assert!(err(&mut con, &["LPUSH", "k", "x"]).starts_with("WRONGTYPE"));
    let _: i64 = ok(&mut con, &["DEL", "missing"]);
    let _: () = ok(&mut con, &["SELECT", "1"]);
    let replies: Vec<redis::Value> =
        redis::pipe().atomic().cmd("SET").arg("m").arg("1").cmd("INCR").arg("m").query(&mut con).unwrap();
    assert_eq!(replies.len(), 2);
    drop(con);

    let log = logged(&dir);
    let at =
        |prefix: &str| log.iter().position(|c| c.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix} in {log:?}"));
    let pxat: Vec<&str> = log[at("SET k v")].split(' ').collect();
    assert_eq!(pxat[..4], ["SET", "k", "v", "PXAT"], "{log:?}");
    assert!(pxat[4].parse::<u64>().unwrap() > 1_600_000_000_000);
    assert!(log[at("SET e v PXAT")].len() > 10);
    assert!(log[at("PEXPIREAT e ")].len() > 10);
    assert_eq!(log[at("SREM")], format!("SREM s {popped}"));
    assert_eq!(log[at("SET f")], "SET f 1.5 KEEPTTL");
    assert_eq!(log[at("DEL gone")], "DEL gone");
    assert!(!log.iter().any(|c| c.starts_with("LPUSH") || c.contains("missing")), "{log:?}");
    let select = at("SELECT 1");
    assert_eq!(log[select..], ["SELECT 1", "MULTI", "SET m 1", "INCR m", "EXEC"]);
    assert!(!log.iter().any(|c| c.contains(" EX ") || c.starts_with("SETEX") || c.starts_with("SPOP")));
}

/// A blocked pop served by another client's push is logged as the pop that happened.
#[test]
fn a_served_blocking_pop_is_logged_as_the_pop() {
    let dir = ScratchDir::new("aof-blpop");
    let server = start_aof(&dir, &["--appendfsync", "always"]);
    let waiter = spawn_command(&server, &["BLPOP", "q", "5"]);
    let mut con = server.conn();
    wait_blocked(&mut con, 1);
    let _: i64 = ok(&mut con, &["RPUSH", "q", "job"]);
    let _ = waiter.join().unwrap().unwrap();
    drop(con);
    drop(server);
    let log = logged(&dir);
    let push = log.iter().position(|c| c == "RPUSH q job").expect("the push");
    assert_eq!(log[push + 1], "LPOP q", "{log:?}");
    let server = start_aof(&dir, &[]);
    assert_eq!(ok::<i64>(&mut server.conn(), &["EXISTS", "q"]), 0);
}

/// [`failed_start`] with the AOF on in `dir`.
fn aof_failed_start(dir: &ScratchDir, extra: &[&str]) -> String {
    let mut args = vec!["--save", "", "--appendonly", "yes", "--dir", dir.path()];
    args.extend_from_slice(extra);
    failed_start(&args)
}

fn append(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    std::fs::OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

#[test]
fn a_torn_last_command_is_cut_off_or_refuses_the_start() {
    let dir = ScratchDir::new("aof-torn");
    let server = start_aof(&dir, &["--appendfsync", "always"]);
    let mut con = server.conn();
    let _: i64 = ok(&mut con, &["INCR", "n"]);
    let _: i64 = ok(&mut con, &["INCR", "n"]);
    drop(con);
    drop(server);
    let good_len = std::fs::metadata(incr_file(&dir)).unwrap().len();
    append(&incr_file(&dir), b"*2\r\n$4\r\nINCR\r\n$1\r\nn");

    let output = aof_failed_start(&dir, &["--aof-load-truncated", "no"]);
    assert!(output.contains("appendonly.aof.1.incr.aof"), "{output}");
    assert!(output.contains(&format!("offset {good_len}")), "{output}");

    let server = start_aof(&dir, &[]);
    assert_eq!(ok::<i64>(&mut server.conn(), &["GET", "n"]), 2);
    drop(server);
    // The torn command was cut off the file.
    assert_eq!(std::fs::metadata(incr_file(&dir)).unwrap().len(), good_len);
}

#[test]
fn a_corrupt_file_refuses_the_start_naming_file_and_offset() {
    let dir = ScratchDir::new("aof-corrupt");
    let server = start_aof(&dir, &["--appendfsync", "always"]);
    let _: i64 = ok(&mut server.conn(), &["INCR", "n"]);
    drop(server);
    let good_len = std::fs::metadata(incr_file(&dir)).unwrap().len();
    append(&incr_file(&dir), b"garbage\r\n*1\r\n$4\r\nPING\r\n");
    let output = aof_failed_start(&dir, &[]);
    assert!(output.contains("Bad file format"), "{output}");
    assert!(output.contains("appendonly.aof.1.incr.aof"), "{output}");
    assert!(output.contains(&format!("offset {good_len}")), "{output}");
}

#[test]
fn the_aof_wins_over_dump_rdb() {
    let dir = ScratchDir::new("aof-wins");
    let server = Server::start(&["--dir", dir.path(), "--save", ""]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "from-rdb", "1"]);
    assert_ok(&mut con, &["SAVE"]);
    drop(con);
    drop(server);
    let server = start_aof(&dir, &[]);
    assert_eq!(ok::<i64>(&mut server.conn(), &["EXISTS", "from-rdb"]), 0);
}

#[test]
fn redis_server_loads_a_directory_we_wrote() {
    if !Path::new(REDIS_SERVER).exists() {
        eprintln!("skipped: {REDIS_SERVER} is not installed");
        return;
    }
    let dir = ScratchDir::new("aof-to-redis");
    let server = start_aof(&dir, &["--appendfsync", "always"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "s", "v", "EX", "1000"]);
    let _: i64 = ok(&mut con, &["RPUSH", "l", "a", "b"]);
    let _: i64 = ok(&mut con, &["HSET", "h", "f", "1"]);
    let _: i64 = ok(&mut con, &["SADD", "set", "x", "y", "z"]);
    let _: String = ok(&mut con, &["SPOP", "set"]);
    let _: String = ok(&mut con, &["INCRBYFLOAT", "f", "2.5"]);
    let _: () = ok(&mut con, &["SELECT", "3"]);
    assert_ok(&mut con, &["SET", "in3", "v"]);
    drop(con);
    drop(server);

    let mut redis = Command::new(REDIS_SERVER)
        .args(["--port", &REDIS_PORT.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes"])
        .args(["--dir", dir.path()])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let client = redis::Client::open(format!("redis://127.0.0.1:{REDIS_PORT}/")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut con = loop {
        if let Ok(mut c) = client.get_connection() {
            if run(&mut c, &["PING"]).is_ok() {
                break c;
            }
        }
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    let checks = || {
        assert!(ok::<i64>(&mut con, &["PTTL", "s"]) > 0);
        assert_eq!(strings(&mut con, &["LRANGE", "l", "0", "-1"]), ["a", "b"]);
        assert_eq!(ok::<String>(&mut con, &["HGET", "h", "f"]), "1");
        assert_eq!(ok::<i64>(&mut con, &["SCARD", "set"]), 2);
        assert_eq!(ok::<String>(&mut con, &["GET", "f"]), "2.5");
        let _: () = ok(&mut con, &["SELECT", "3"]);
        assert_eq!(ok::<String>(&mut con, &["GET", "in3"]), "v");
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(checks));
    let _ = redis.kill();
    let _ = redis.wait();
    result.unwrap();
}

/// A client sends INCRs one at a time for `secs`, counting acknowledged replies, while the
/// server is killed with SIGKILL; returns (acknowledged, counter after a restart).
fn kill_under_load(fsync: &str, secs: f64) -> (i64, i64) {
    let dir = ScratchDir::new(&format!("aof-kill-{fsync}"));
    let server = start_aof(&dir, &["--appendfsync", fsync]);
    let client = server.client();
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let writer = {
        let acked = acked.clone();
        std::thread::spawn(move || {
            let mut con = client.get_connection().unwrap();
            // Bounded: the server is killed within `secs`; the cap is far above what one
            // connection can do in that time.
            for _ in 0..50_000_000u64 {
                match redis::cmd("INCR").arg("counter").query::<i64>(&mut con) {
                    Ok(_) => acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
                    Err(_) => return,
                };
            }
        })
    };
    std::thread::sleep(Duration::from_secs_f64(secs));
    kill9(&server);
    writer.join().unwrap();
    drop(server);
    let acked = acked.load(std::sync::atomic::Ordering::SeqCst);
    let server = start_aof(&dir, &[]);
    let counter = match run(&mut server.conn(), &["GET", "counter"]).unwrap() {
        redis::Value::Nil => 0,
        v => redis::from_redis_value::<i64>(&v).unwrap(),
    };
    (acked, counter)
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged_with_always() {
    let (acked, counter) = kill_under_load("always", 1.5);
    eprintln!("appendfsync always: {acked} acknowledged, {counter} after restart");
    assert!(acked > 0);
    assert!(counter >= acked, "{counter} < {acked} acknowledged");
}

#[test]
fn sigkill_under_load_loses_at_most_a_second_with_everysec() {
    let secs = 2.5;
    let (acked, counter) = kill_under_load("everysec", secs);
    let per_second = (acked as f64 / secs).ceil() as i64;
    eprintln!(
        "appendfsync everysec: {acked} acknowledged, {counter} after restart, lost {} ({per_second} writes/s)",
        (acked - counter).max(0)
    );
    assert!(acked > 0);
    // SIGKILL leaves what was written to the OS; only a machine crash loses the last second.
    assert!(counter >= acked - per_second, "{counter} < {acked} - {per_second}");
}

fn manifest(dir: &ScratchDir) -> String {
    std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).unwrap()
}

#[test]
fn bgrewriteaof_writes_a_new_base_and_swaps_the_manifest() {
    let dir = ScratchDir::new("aof-bgrewrite");
    let server = start_aof(&dir, &["--appendfsync", "always"]);
    let mut con = server.conn();
    for i in 0..100 {
        let _: i64 = ok(&mut con, &["INCR", &format!("k{}", i % 10)]);
    }
    assert_ok(&mut con, &["SET", "ttl", "v", "EX", "1000"]);
    let status: String = ok(&mut con, &["BGREWRITEAOF"]);
    assert_eq!(status, "Background append only file rewriting started");
    // Writes during the rewrite go to the new incremental file.
    let _: i64 = ok(&mut con, &["INCR", "after"]);
    wait_for(20, "the rewrite", || {
        let info: String = ok(&mut con, &["INFO", "persistence"]);
        info_field(&info, "aof_rewrite_in_progress").as_deref() == Some("0")
            && info_field(&info, "aof_rewrites").as_deref() == Some("1")
    });
    let info: String = ok(&mut con, &["INFO", "persistence"]);
    assert_eq!(info_field(&info, "aof_last_bgrewrite_status").as_deref(), Some("ok"));
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let mut files: Vec<String> = std::fs::read_dir(aof_dir(&dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]);
    let _: i64 = ok(&mut con, &["INCR", "after"]);
    drop(con);
    kill9(&server);
    drop(server);
    let server = start_aof(&dir, &[]);
    let mut con = server.conn();
    assert_eq!(ok::<i64>(&mut con, &["GET", "k3"]), 10);
    assert_eq!(ok::<i64>(&mut con, &["GET", "after"]), 2);
    assert!(ok::<i64>(&mut con, &["PTTL", "ttl"]) > 0);
}

#[test]
fn the_log_is_rewritten_when_it_grows_past_the_auto_rewrite_threshold() {
    let dir = ScratchDir::new("aof-auto");
    let server = start_aof(&dir, &["--auto-aof-rewrite-min-size", "4096", "--auto-aof-rewrite-percentage", "100"]);
    let mut con = server.conn();
    let value = "x".repeat(100);
    for i in 0..100 {
        assert_ok(&mut con, &["SET", "k", &format!("{value}{i}")]);
    }
    wait_for(20, "an automatic rewrite", || {
        let info: String = ok(&mut con, &["INFO", "persistence"]);
        info_field(&info, "aof_rewrites").as_deref() == Some("1")
    });
    assert!(manifest(&dir).contains("appendonly.aof.2.base.rdb"));
}

#[test]
fn config_set_appendonly_yes_starts_with_a_rewrite() {
    let dir = ScratchDir::new("aof-config-set");
    let server = Server::start(&["--dir", dir.path(), "--save", "", "--appendfsync", "always"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "before", "1"]);
    assert!(!aof_dir(&dir).exists());
    assert_ok(&mut con, &["CONFIG", "SET", "appendonly", "yes"]);
    assert_ok(&mut con, &["SET", "after", "2"]);
    wait_for(20, "the first rewrite", || {
        let info: String = ok(&mut con, &["INFO", "persistence"]);
        info_field(&info, "aof_rewrites").as_deref() == Some("1")
    });
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert_ok(&mut con, &["CONFIG", "SET", "appendonly", "no"]);
    assert_ok(&mut con, &["SET", "unlogged", "3"]);
    drop(con);
    kill9(&server);
    drop(server);
    let server = start_aof(&dir, &[]);
    let mut con = server.conn();
    assert_eq!(ok::<i64>(&mut con, &["GET", "before"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["GET", "after"]), 2);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "unlogged"]), 0);
}

#[test]
fn replay_loads_every_key_whatever_the_quota_and_maxmemory() {
    let dir = ScratchDir::new("aof-no-admission");
    let server = start_aof(&dir, &["--appendfsync", "always"]);
    let mut con = server.conn();
    let value = "v".repeat(1000);
    for i in 0..100 {
        assert_ok(&mut con, &["SET", &format!("acme:b{i}"), &value]);
    }
    let _: String = ok(&mut con, &["BGREWRITEAOF"]);
    wait_for(20, "the rewrite", || info_int(&mut con, "persistence", "aof_rewrites") == 1);
    // The incremental file after the new base: plain writes and a transaction.
    for i in 0..100 {
        assert_ok(&mut con, &["SET", &format!("acme:i{i}"), &value]);
    }
    let _: () = ok(&mut con, &["MULTI"]);
    let _: () = ok(&mut con, &["SET", "acme:m1", &value]);
    let _: () = ok(&mut con, &["SET", "acme:m2", &value]);
    let _: Vec<String> = ok(&mut con, &["EXEC"]);
    drop(con);
    kill9(&server);
    drop(server);

    let limited = [
        "--tenant-default-maxmemory",
        "16kb",
        "--tenant-default-maxkeys",
        "10",
        "--maxmemory",
        "64kb",
        "--maxmemory-policy",
        "noeviction",
    ];
    let server = start_aof(&dir, &limited);
    let mut con = server.conn();
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 202);
    assert_eq!(ok::<String>(&mut con, &["GET", "acme:b99"]), value);
    assert_eq!(ok::<String>(&mut con, &["GET", "acme:i99"]), value);
    assert_eq!(ok::<String>(&mut con, &["GET", "acme:m2"]), value);
    // Served from now on, the limits hold.
    assert!(err(&mut con, &["SET", "acme:new", &value]).contains("OOM"));
}
