//! RDB snapshots through real server processes: SAVE and restart keep every type, TTLs, tags
//! and tenant limits; BGSAVE runs in a child while the server serves; save points, SHUTDOWN
//! and SIGTERM save as Redis does; redis-server 7.0 loads our files and we load its; a bad
//! file stops the start with the file and offset named; while the dataset loads at start,
//! clients are answered -LOADING and INFO shows the progress.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A scratch directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("tenantcache-persist-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn dump(&self) -> PathBuf {
        self.0.join("dump.rdb")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start_in(dir: &TempDir, extra: &[&str]) -> Server {
    let mut args = vec!["--dir", dir.path()];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Whether process `pid` has exited (gone, or a zombie waiting to be reaped).
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

fn info_text(con: &mut redis::Connection, field: &str) -> String {
    let text: String = ok(con, &["INFO", "persistence"]);
    info_field(&text, field).unwrap_or_else(|| panic!("{field} missing")).trim().to_string()
}

/// Writes one key of every type and encoding, TTLs, tags in two tenants and tenant limits.
fn fill(con: &mut redis::Connection) {
    assert_ok(con, &["SET", "acme:string", "hello"]);
    assert_ok(con, &["SET", "acme:int", "-12345"]);
    assert_ok(con, &["SET", "acme:ttl", "soon", "EX", "1000"]);
    assert_ok(con, &["SET", "beta:pttl", "later", "PX", "5000000"]);
    let long = "x".repeat(300);
    assert_ok(con, &["SET", "beta:long", &long]);
    ok::<i64>(con, &["RPUSH", "acme:list", "a", "b", "c", "1"]);
    let many: Vec<String> = (0..1000).map(|i| format!("element-{i}")).collect();
    let mut push = vec!["RPUSH", "acme:biglist"];
    push.extend(many.iter().map(String::as_str));
    ok::<i64>(con, &push);
    ok::<i64>(con, &["SADD", "acme:intset", "1", "2", "300", "-7"]);
    ok::<i64>(con, &["SADD", "acme:set", "a", "b", "c"]);
    let mut sadd = vec!["SADD", "beta:bigset"];
    sadd.extend(many.iter().map(String::as_str));
    ok::<i64>(con, &sadd);
    ok::<i64>(con, &["ZADD", "acme:zset", "1.5", "a", "-2", "b", "3e10", "c"]);
    let mut zadd = vec!["ZADD", "beta:bigzset"];
    let scores: Vec<String> = (0..1000).map(|i| format!("{}.25", i)).collect();
    for (s, m) in scores.iter().zip(&many) {
        zadd.push(s);
        zadd.push(m);
    }
    ok::<i64>(con, &zadd);
    ok::<i64>(con, &["HSET", "acme:hash", "f1", "v1", "f2", "2"]);
    let mut hset = vec!["HSET", "beta:bighash"];
    for m in &many {
        hset.push(m);
        hset.push("value");
    }
    ok::<i64>(con, &hset);
    ok::<i64>(con, &["EXPIRE", "acme:hash", "2000"]);
    assert_ok(con, &["SELECT", "3"]);
    assert_ok(con, &["SET", "db3:key", "in db 3"]);
    assert_ok(con, &["SELECT", "0"]);
}

/// Tags and tenant limits on top of [`fill`].
fn fill_tags_and_limits(con: &mut redis::Connection) {
    assert_ok(con, &["TAG.SET", "acme:tagged", "v", "EX", "1000", "TAGS", "plan", "user:7"]);
    assert_ok(con, &["TAG.SET", "beta:tagged", "w", "TAGS", "plan"]);
    assert_eq!(ok::<i64>(con, &["TAG.ADD", "acme:hash", "plan", "hashes"]), 2);
    assert_ok(con, &["TENANT", "SETLIMIT", "acme", "MAXKEYS", "100", "ONLIMIT", "reject"]);
    assert_ok(con, &["TENANT", "SETLIMIT", "beta", "MAXMEMORY", "64mb", "RESERVE", "1mb"]);
}

/// Every key of databases 0-15 with its type, value (in a canonical order) and whether it
/// has a TTL (and the TTL rounded to the hour, which survives the round trip).
fn contents(con: &mut redis::Connection) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for db in 0..16 {
        assert_ok(con, &["SELECT", &db.to_string()]);
        let keys: Vec<String> = ok(con, &["KEYS", "*"]);
        for key in keys {
            let kind: String = ok(con, &["TYPE", &key]);
            let value = match kind.as_str() {
                "string" => ok::<String>(con, &["GET", &key]),
                "list" => ok::<Vec<String>>(con, &["LRANGE", &key, "0", "-1"]).join(","),
                "set" => {
                    let mut m: Vec<String> = ok(con, &["SMEMBERS", &key]);
                    m.sort();
                    m.join(",")
                }
                "zset" => ok::<Vec<String>>(con, &["ZRANGE", &key, "0", "-1", "WITHSCORES"]).join(","),
                "hash" => {
                    let m: BTreeMap<String, String> = ok(con, &["HGETALL", &key]);
                    format!("{m:?}")
                }
                other => panic!("unexpected type {other}"),
            };
            let ttl: i64 = ok(con, &["PTTL", &key]);
            let ttl = if ttl < 0 { ttl.to_string() } else { format!("~{}h", (ttl + 1_800_000) / 3_600_000) };
            out.insert(format!("{db}/{key}"), format!("{kind} {ttl} {value}"));
        }
    }
    assert_ok(con, &["SELECT", "0"]);
    out
}

#[test]
fn save_then_restart_restores_every_type_ttls_tags_and_tenant_limits() {
    let dir = TempDir::new("restart");
    let server = start_in(&dir, &[]);
    let mut con = server.conn();
    fill(&mut con);
    fill_tags_and_limits(&mut con);
    let before = contents(&mut con);
    let limits_before: Vec<String> = ok(&mut con, &["TENANT", "GETLIMIT", "acme"]);
    assert_ok(&mut con, &["SAVE"]);
    assert_eq!(info_text(&mut con, "rdb_changes_since_last_save"), "0");
    assert!(dir.dump().exists());
    drop(con);
    drop(server);

    let server = start_in(&dir, &[]);
    let mut con = server.conn();
    assert_eq!(contents(&mut con), before);
    assert_eq!(info_text(&mut con, "rdb_last_load_keys_loaded"), before.len().to_string());
    assert_eq!(info_text(&mut con, "rdb_changes_since_last_save"), "0", "loading is not a change");
    // The tag index is exact: counts, scans and the keys' own tags.
    assert_eq!(ok::<i64>(&mut con, &["TAG.COUNT", "plan"]), 3);
    assert_eq!(ok::<i64>(&mut con, &["TAG.COUNT", "hashes"]), 1);
    let mut tags: Vec<String> = ok(&mut con, &["TAG.TAGS", "acme:tagged"]);
    tags.sort();
    assert_eq!(tags, ["plan", "user:7"]);
    let (cursor, mut keys): (String, Vec<String>) = ok(&mut con, &["TAG.SCAN", "plan", "0", "COUNT", "100"]);
    assert_eq!(cursor, "0");
    keys.sort();
    assert_eq!(keys, ["acme:hash", "acme:tagged", "beta:tagged"]);
    // Tenant limits, as set at run time, and the quota they enforce.
    assert_eq!(ok::<Vec<String>>(&mut con, &["TENANT", "GETLIMIT", "acme"]), limits_before);
    let beta: Vec<String> = ok(&mut con, &["TENANT", "GETLIMIT", "beta"]);
    assert_eq!(beta[..6], ["maxmemory", "67108864", "maxkeys", "0", "reserve", "1048576"]);
    let acme_keys: i64 = {
        let info: BTreeMap<String, redis::Value> = ok(&mut con, &["TENANT", "INFO", "acme"]);
        redis::from_redis_value(&info["keys"]).unwrap()
    };
    assert_eq!(acme_keys, before.keys().filter(|k| k.starts_with("0/acme:")).count() as i64);
    // Invalidation after the restart removes exactly the tagged keys, and the index with them.
    assert_eq!(ok::<i64>(&mut con, &["TAG.INVALIDATE", "plan"]), 3);
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "acme:hash", "acme:tagged", "beta:tagged"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["TAG.COUNT", "hashes"]), 0);
}

#[test]
fn bgsave_runs_in_a_child_and_moves_lastsave() {
    let dir = TempDir::new("bgsave");
    let (server, log) = Server::start_with_log(&["--dir", dir.path(), "--loglevel", "notice"]);
    let mut con = server.conn();
    fill(&mut con);
    let first: i64 = ok(&mut con, &["LASTSAVE"]);
    assert_eq!(info_text(&mut con, "rdb_last_bgsave_time_sec"), "-1");
    // LASTSAVE has a resolution of one second.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(ok::<String>(&mut con, &["BGSAVE"]), "Background saving started");
    // Hold the child still to see the save in progress.
    let pid: i32 = loop {
        let line = log.recv_timeout(Duration::from_secs(5)).expect("log line naming the child");
        if let Some((_, pid)) = line.split_once("Background saving started by pid ") {
            break pid.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    // SAFETY: signals a child of the server this test started.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    assert_eq!(info_text(&mut con, "rdb_bgsave_in_progress"), "1");
    assert_eq!(err(&mut con, &["BGSAVE"]), "ERR Background save already in progress");
    assert_eq!(err(&mut con, &["SAVE"]), "ERR Background save already in progress");
    // The server goes on serving, writes included, while the child holds the snapshot.
    assert_ok(&mut con, &["SET", "written-during-save", "1"]);
    assert_eq!(ok::<String>(&mut con, &["GET", "acme:string"]), "hello");
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    wait_for(10, "the background save to finish", || info_text(&mut con, "rdb_bgsave_in_progress") == "0");
    assert_eq!(info_text(&mut con, "rdb_last_bgsave_status"), "ok");
    assert!(ok::<i64>(&mut con, &["LASTSAVE"]) > first);
    // The write made during the save is a change the snapshot does not hold.
    assert_eq!(info_text(&mut con, "rdb_changes_since_last_save"), "1");
    assert_eq!(info_text(&mut con, "rdb_saves"), "1");
    // The child reports its copy-on-write memory through a pipe, at the end at least (its
    // own output buffer is memory it wrote after the fork).
    let cow: u64 = info_text(&mut con, "rdb_last_cow_size").parse().unwrap();
    assert!(cow >= 64 << 10, "rdb_last_cow_size {cow}");
    // Inside a transaction BGSAVE is scheduled and the cron runs it.
    let mut raw = Raw::connect(&server);
    assert_eq!(raw.call(&["MULTI"]), "+OK");
    assert_eq!(raw.call(&["BGSAVE"]), "+QUEUED");
    assert_eq!(raw.call(&["EXEC"]), "*[+Background saving scheduled]");
    wait_for(10, "the scheduled save", || info_text(&mut con, "rdb_saves") == "2");
    wait_for(10, "the scheduled save to finish", || info_text(&mut con, "rdb_bgsave_in_progress") == "0");
    assert_eq!(info_text(&mut con, "rdb_changes_since_last_save"), "0");
    assert_eq!(err(&mut con, &["BGSAVE", "LATER"]), "ERR syntax error");
    drop(con);
    drop(server);
    // The snapshot is the keyspace at the fork, without the later write.
    let server = start_in(&dir, &[]);
    let mut con = server.conn();
    assert_eq!(ok::<String>(&mut con, &["GET", "acme:string"]), "hello");
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "written-during-save"]), 1, "saved by the scheduled save");
    assert!(!std::fs::read_dir(&dir.0).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with("temp-")));
}

#[test]
fn save_points_trigger_a_background_save() {
    let dir = TempDir::new("savepoints");
    let server = start_in(&dir, &["--save", "1 2"]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "save"), "1 2");
    assert_ok(&mut con, &["SET", "a", "1"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(info_text(&mut con, "rdb_saves"), "0", "one change is below the save point");
    assert!(!dir.dump().exists());
    // A value of the same length is written into the entry in place: still a change.
    assert_ok(&mut con, &["SET", "a", "2"]);
    wait_for(5, "the save point to fire", || info_text(&mut con, "rdb_saves") == "1");
    assert_eq!(info_text(&mut con, "rdb_changes_since_last_save"), "0");
    assert!(dir.dump().exists());
    // Redis's validation of the directive.
    assert!(err(&mut con, &["CONFIG", "SET", "save", "10"]).contains("Invalid save parameters"));
    assert_ok(&mut con, &["CONFIG", "SET", "save", ""]);
    assert_ok(&mut con, &["SET", "c", "3"]);
    assert_ok(&mut con, &["SET", "d", "4"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(info_text(&mut con, "rdb_saves"), "1", "save \"\" disables the save points");
}

fn config_get(con: &mut redis::Connection, name: &str) -> String {
    let pairs: Vec<String> = ok(con, &["CONFIG", "GET", name]);
    pairs[1].clone()
}

#[test]
fn shutdown_saves_with_save_points_and_nosave_does_not() {
    let dir = TempDir::new("shutdown");
    // Each step: save points, the value a restart finds (None: no file yet), the value then
    // written, and how the server is ended.
    let steps: [(&str, Option<&str>, &str, &[&str]); 4] = [
        ("3600 1", None, "v1", &["SHUTDOWN", "NOSAVE"]),
        ("3600 1", None, "v2", &["SHUTDOWN"]),
        // Without save points (`save ""`) SHUTDOWN does not save; SHUTDOWN SAVE does.
        ("", Some("v2"), "v3", &["SHUTDOWN"]),
        ("", Some("v2"), "v4", &["SHUTDOWN", "SAVE"]),
    ];
    for (save, found, written, shutdown) in steps {
        let server = start_in(&dir, &["--save", save]);
        let mut con = server.conn();
        if let Some(found) = found {
            assert_eq!(ok::<String>(&mut con, &["GET", "k"]), found, "before writing {written}");
        }
        assert_ok(&mut con, &["SET", "k", written]);
        assert!(run(&mut con, shutdown).is_err(), "the connection closes");
        wait_for(5, "the server to exit", || exited(server.pid()));
        if written == "v1" {
            assert!(!dir.dump().exists(), "NOSAVE writes nothing");
        }
    }
    let server = start_in(&dir, &["--save", ""]);
    assert_eq!(ok::<String>(&mut server.conn(), &["GET", "k"]), "v4");
}

#[test]
fn by_default_the_data_survives_a_restart_as_with_redis() {
    let dir = TempDir::new("defaults");
    let server = start_in(&dir, &[]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "save"), "3600 1 300 100 60 10000", "Redis 7.0's save points");
    assert_eq!(config_get(&mut con, "dbfilename"), "dump.rdb");
    assert_ok(&mut con, &["SET", "k", "kept"]);
    assert!(run(&mut con, &["SHUTDOWN"]).is_err());
    wait_for(5, "the server to exit", || exited(server.pid()));
    assert!(dir.dump().exists(), "SHUTDOWN saves with the default save points");
    drop(server);
    let server = start_in(&dir, &[]);
    assert_eq!(ok::<String>(&mut server.conn(), &["GET", "k"]), "kept");
}

#[test]
fn the_default_dir_is_the_working_directory() {
    // The test helper starts servers in a scratch working directory; with no `--dir` (a
    // config file leaves it to the file, and this one names none), `./` is that directory.
    let conf = TempDir::new("cwd-conf");
    let file = conf.0.join("plain.conf");
    std::fs::write(&file, "hz 10\n").unwrap();
    let server = Server::start_with_config(file.to_str().unwrap(), &[]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "dir"), "./");
    assert_ok(&mut con, &["SET", "k", "v"]);
    assert_ok(&mut con, &["SAVE"]);
    assert!(server.scratch().join("dump.rdb").exists());
}

#[test]
fn a_failed_shutdown_save_keeps_the_server_up_unless_forced() {
    let dir = TempDir::new("shutdown-fail");
    let missing = dir.0.join("no-such-dir");
    let server = Server::start(&["--dir", missing.to_str().unwrap(), "--save", "3600 1"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "k", "v"]);
    assert_eq!(err(&mut con, &["SAVE"]), "ERR ");
    assert_eq!(err(&mut con, &["SHUTDOWN"]), "ERR Errors trying to SHUTDOWN. Check logs.");
    assert_eq!(ok::<String>(&mut con, &["GET", "k"]), "v");
    // SIGTERM: the save fails and the server stays up.
    // SAFETY: signals the server this test started.
    unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ok::<String>(&mut con, &["GET", "k"]), "v");
    assert!(run(&mut con, &["SHUTDOWN", "FORCE"]).is_err());
    wait_for(5, "the server to exit", || exited(server.pid()));
}

#[test]
fn sigterm_saves_when_save_points_are_configured() {
    let dir = TempDir::new("sigterm");
    let server = start_in(&dir, &["--save", "3600 1"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "k", "by sigterm"]);
    ok::<i64>(&mut con, &["RPUSH", "l", "a", "b"]);
    // SAFETY: signals the server this test started.
    unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) };
    wait_for(5, "the server to exit", || exited(server.pid()));
    assert!(dir.dump().exists());
    drop(server);
    let server = start_in(&dir, &[]);
    let mut con = server.conn();
    assert_eq!(ok::<String>(&mut con, &["GET", "k"]), "by sigterm");
    assert_eq!(ok::<Vec<String>>(&mut con, &["LRANGE", "l", "0", "-1"]), ["a", "b"]);
    drop(con);
    drop(server);
    // Without save points SIGTERM writes nothing new.
    let server = start_in(&dir, &["--save", ""]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "k", "changed"]);
    // SAFETY: as above.
    unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) };
    wait_for(5, "the server to exit", || exited(server.pid()));
    drop(server);
    let server = start_in(&dir, &[]);
    assert_eq!(ok::<String>(&mut server.conn(), &["GET", "k"]), "by sigterm");
}

#[test]
fn debug_reload_saves_and_loads_back() {
    let dir = TempDir::new("reload");
    let server = start_in(&dir, &["--enable-debug-command", "yes"]);
    let mut con = server.conn();
    fill(&mut con);
    fill_tags_and_limits(&mut con);
    let before = contents(&mut con);
    let memory_before = used_memory(&mut con);
    assert_ok(&mut con, &["DEBUG", "RELOAD"]);
    assert_eq!(contents(&mut con), before);
    assert_eq!(ok::<i64>(&mut con, &["TAG.COUNT", "plan"]), 3);
    // The accounting comes out as the writes made it (a sample of the clients' memory aside).
    assert!((used_memory(&mut con) - memory_before).abs() < 64 << 10);
}

#[test]
fn debug_digest_follows_the_data_not_its_encoding() {
    let dir = TempDir::new("digest");
    let server = start_in(&dir, &["--enable-debug-command", "yes"]);
    let mut con = server.conn();
    let zeros = "0".repeat(40);
    assert_eq!(ok::<String>(&mut con, &["DEBUG", "DIGEST"]), zeros);
    fill(&mut con);
    let digest = ok::<String>(&mut con, &["DEBUG", "DIGEST"]);
    assert_eq!(digest.len(), 40);
    assert_ne!(digest, zeros);
    // A save and a load keep it; any change moves it, and undoing the change brings it back.
    assert_ok(&mut con, &["DEBUG", "RELOAD"]);
    assert_eq!(ok::<String>(&mut con, &["DEBUG", "DIGEST"]), digest);
    assert_ok(&mut con, &["SET", "digest:extra", "x"]);
    assert_ne!(ok::<String>(&mut con, &["DEBUG", "DIGEST"]), digest);
    let _: i64 = ok(&mut con, &["DEL", "digest:extra"]);
    assert_eq!(ok::<String>(&mut con, &["DEBUG", "DIGEST"]), digest);
    // Per key: the same members in two encodings (an intset, then a hash table after a
    // member that is not a number came and went), in another order, digest alike.
    let _: i64 = ok(&mut con, &["SADD", "digest:a", "1", "2", "3"]);
    let _: i64 = ok(&mut con, &["SADD", "digest:b", "3", "x", "2", "1"]);
    let _: i64 = ok(&mut con, &["SREM", "digest:b", "x"]);
    assert_eq!(ok::<String>(&mut con, &["OBJECT", "ENCODING", "digest:a"]), "intset");
    assert_ne!(ok::<String>(&mut con, &["OBJECT", "ENCODING", "digest:b"]), "intset");
    let values: Vec<String> = ok(&mut con, &["DEBUG", "DIGEST-VALUE", "digest:a", "digest:b", "digest:none"]);
    assert_eq!(values[0], values[1]);
    assert_ne!(values[0], zeros);
    assert_eq!(values[2], zeros);
}

#[test]
fn redis_server_loads_our_snapshot_and_we_load_its() {
    if !redis_server_present() {
        return;
    }
    // Ours to Redis.
    let ours = TempDir::new("to-redis");
    let server = start_in(&ours, &[]);
    let mut con = server.conn();
    fill(&mut con);
    fill_tags_and_limits(&mut con);
    let written = contents(&mut con);
    assert_ok(&mut con, &["SAVE"]);
    drop(con);
    drop(server);
    let redis = RedisServer::start_in(&ours.0, &[]);
    let mut rcon = redis.conn();
    assert_eq!(contents(&mut rcon), written, "redis-server reads every key, value and TTL");

    // Redis to ours: redis-server saves what it holds (the same data, now in Redis's own
    // encodings, plus a key it writes itself).
    assert_ok(&mut rcon, &["SET", "written-by-redis", "yes"]);
    let saved = contents(&mut rcon);
    assert_ok(&mut rcon, &["SAVE"]);
    drop(rcon);
    drop(redis);
    let theirs = TempDir::new("from-redis");
    std::fs::copy(ours.dump(), theirs.dump()).unwrap();
    let server = start_in(&theirs, &[]);
    let mut con = server.conn();
    assert_eq!(contents(&mut con), saved);
    assert_eq!(ok::<i64>(&mut con, &["TAG.COUNT", "plan"]), 0, "redis-server drops what it does not know");
}

#[test]
fn a_bad_file_stops_the_start_with_its_name_and_offset() {
    let dir = TempDir::new("corrupt");
    let server = start_in(&dir, &[]);
    let mut con = server.conn();
    fill(&mut con);
    assert_ok(&mut con, &["SAVE"]);
    drop(con);
    drop(server);
    let good = std::fs::read(dir.dump()).unwrap();
    let path = dir.dump().display().to_string();

    // Truncated.
    std::fs::write(dir.dump(), &good[..good.len() / 2]).unwrap();
    let out = failed_start(&["--dir", dir.path()]);
    assert!(out.contains(&path) && out.contains("at offset"), "{out}");
    assert!(out.contains("Unexpected end of file"), "{out}");
    // A flipped byte: the checksum catches it, if nothing before it does.
    let mut flipped = good.clone();
    let at = flipped.len() - 12;
    flipped[at] ^= 0x55;
    std::fs::write(dir.dump(), &flipped).unwrap();
    let out = failed_start(&["--dir", dir.path()]);
    assert!(out.contains(&path) && out.contains("at offset"), "{out}");
    // Not an RDB file at all.
    std::fs::write(dir.dump(), b"this is not a snapshot\n").unwrap();
    let out = failed_start(&["--dir", dir.path()]);
    assert!(out.contains("Wrong signature") && out.contains("at offset 0"), "{out}");
    assert!(out.contains("rdb-on-load-error"), "the message says how to start anyway: {out}");

    // Told to, the server starts empty and leaves the file alone.
    let server = start_in(&dir, &["--rdb-on-load-error", "start-empty"]);
    assert_eq!(ok::<i64>(&mut server.conn(), &["DBSIZE"]), 0);
    assert_eq!(std::fs::read(dir.dump()).unwrap(), b"this is not a snapshot\n");
}

#[test]
fn dragonfly_flags_name_the_file_and_the_schedule() {
    let dir = TempDir::new("dragonfly");
    let dir_flag = format!("--dir={}", dir.path());
    let server = Server::start(&[&dir_flag, "--dbfilename=snap", "--snapshot_cron=*/5 * * * *"]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "dbfilename"), "snap.rdb");
    assert_eq!(config_get(&mut con, "snapshot-cron"), "*/5 * * * *");
    assert!(err(&mut con, &["CONFIG", "SET", "snapshot-cron", "61 * * * *"]).contains("not in 0-59"));
    assert_ok(&mut con, &["SET", "k", "v"]);
    assert_ok(&mut con, &["SAVE"]);
    assert!(dir.0.join("snap.rdb").exists());
}

#[test]
fn large_list_elements_are_saved_as_plain_nodes_redis_loads() {
    let dir = TempDir::new("plain-nodes");
    let server = start_in(&dir, &["--enable-debug-command", "yes"]);
    let mut con = server.conn();
    let msg = "ERR argument must be a memory value bigger than 1 and smaller than 4gb";
    assert_eq!(err(&mut con, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"]), msg);
    assert_eq!(err(&mut con, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "lots"]), msg);
    assert_ok(&mut con, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"]);
    assert_ok(&mut con, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5b"]);
    // Short elements share packed nodes; from 5 bytes on each is a node of its own.
    assert_eq!(ok::<i64>(&mut con, &["RPUSH", "mixed", "a", "bb", "xxxxx", "9", "yyyyyyyyyy", "cc"]), 6);
    assert_eq!(ok::<i64>(&mut con, &["RPUSH", "plain-only", "xxxxxxxxxx", "zzzzzzzzzz"]), 2);
    let before = contents(&mut con);
    assert_ok(&mut con, &["DEBUG", "RELOAD"]);
    assert_eq!(contents(&mut con), before);
    assert_ok(&mut con, &["SAVE"]);
    drop(con);
    drop(server);
    if !redis_server_present() {
        return;
    }
    let redis = RedisServer::start_in(&dir.0, &[]);
    assert_eq!(contents(&mut redis.conn()), before, "redis-server reads the plain nodes");
}

#[test]
fn clients_are_answered_loading_while_the_dataset_loads_at_start() {
    let dir = TempDir::new("loading");
    {
        let server = start_in(&dir, &["--enable-debug-command", "yes"]);
        let mut con = server.conn();
        assert_ok(&mut con, &["DEBUG", "POPULATE", "20000"]);
        assert_ok(&mut con, &["SAVE"]);
    }
    // A free port for a server whose ready line comes only after the load.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tenantcache"))
        .args(["--port", &port, "--bind", "127.0.0.1", "--dir", dir.path(), "--save", ""])
        // 20,000 keys at 100 µs or more each: at least two seconds of loading.
        .args(["--key-load-delay", "100", "--loglevel", "warning"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let child = Kill(child);
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut con = None;
    wait_for(10, "the listener while loading", || {
        con = client.get_connection().ok();
        con.is_some()
    });
    let mut con = con.unwrap();
    for words in [&["GET", "key:1"][..], &["PING"], &["DBSIZE"], &["SET", "k", "v"]] {
        let e = err(&mut con, words);
        assert!(e.starts_with("LOADING"), "{words:?} while loading: {e}");
    }
    // INFO is served, with the progress of the load.
    assert_eq!(info_text(&mut con, "loading"), "1");
    let total: u64 = info_text(&mut con, "loading_total_bytes").parse().unwrap();
    assert!(total > 100_000, "{total}");
    wait_for(60, "the load to finish", || run(&mut con, &["PING"]).is_ok());
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 20000);
    assert_eq!(ok::<String>(&mut con, &["GET", "key:1"]), "value:1");
    assert_eq!(info_text(&mut con, "loading"), "0");
    drop(child);
}
