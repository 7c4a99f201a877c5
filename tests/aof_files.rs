//! The AOF directory's life beyond plain logging, through real server processes: a failed
//! write refuses writes with MISCONF until the log can be written again (and ends the server
//! under `appendfsync always`), a failed background save does the same with
//! `stop-writes-on-bgsave-error`, a Redis 6 single-file AOF (with or without its RDB
//! preamble) is moved into the directory as its base, BGREWRITEAOF works with `appendonly
//! no`, a base can be written as commands (`aof-use-rdb-preamble no`), a killed rewrite's
//! temporary file is removed at start, and DEBUG LOADAOF reloads the directory.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn aof_dir(dir: &ScratchDir) -> PathBuf {
    dir.0.join("appendonlydir")
}

fn manifest(dir: &ScratchDir) -> String {
    std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).unwrap()
}

fn kill9(server: &Server) {
    let status = Command::new("kill").args(["-9", &server.pid().to_string()]).status().unwrap();
    assert!(status.success());
}

fn wait_rewrites(con: &mut redis::Connection, n: u64) {
    wait_for(20, "the rewrite", || {
        let info: String = ok(con, &["INFO", "persistence"]);
        info_field(&info, "aof_rewrite_in_progress").as_deref() == Some("0")
            && info_field(&info, "aof_rewrites").and_then(|r| r.parse::<u64>().ok()) == Some(n)
    });
}

/// Whether the process has ended (it is gone or a zombie waiting for its parent).
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

/// Points the next incremental file at /dev/full, so that every write to it fails with
/// ENOSPC, and makes the server switch to it with a rewrite.
fn switch_to_a_full_disk(dir: &ScratchDir, con: &mut redis::Connection, rewrites: u64) {
    let next = aof_dir(dir).join(format!("appendonly.aof.{}.incr.aof", rewrites + 2));
    std::os::unix::fs::symlink("/dev/full", &next).unwrap();
    let _: String = ok(con, &["BGREWRITEAOF"]);
    wait_rewrites(con, rewrites + 1);
}

#[test]
fn a_failed_aof_write_refuses_writes_with_misconf_until_the_log_is_written_again() {
    let dir = ScratchDir::new("aof-misconf");
    let server = Server::start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "before", "1"]);
    switch_to_a_full_disk(&dir, &mut con, 0);
    // This write is acknowledged (everysec) and its log write fails after it.
    assert_ok(&mut con, &["SET", "during", "2"]);
    let misconf = "MISCONF Errors writing to the AOF file: No space left on device";
    wait_for(5, "the failed write", || run(&mut con, &["SET", "x", "y"]).is_err());
    assert_eq!(err(&mut con, &["SET", "x", "y"]), misconf);
    assert_eq!(err(&mut con, &["PING"]), misconf);
    assert_eq!(err(&mut con, &["INCR", "n"]), misconf);
    // Reads go on; a transaction with a write is refused as a whole.
    assert_eq!(ok::<String>(&mut con, &["GET", "during"]), "2");
    assert_ok(&mut con, &["MULTI"]);
    assert!(err(&mut con, &["SET", "x", "y"]).starts_with("MISCONF"));
    assert!(err(&mut con, &["EXEC"]).starts_with("EXECABORT"));
    // Scripts that may write are refused before they run; read-only ones run.
    let script_err = err(&mut con, &["EVAL", "#!lua\nreturn redis.call('set','x','y')", "0"]);
    assert!(script_err.starts_with("MISCONF Redis is configured to persist data to AOF"), "{script_err}");
    let legacy_err = err(&mut con, &["EVAL", "return redis.call('set','x','y')", "0"]);
    assert!(legacy_err.contains("Errors writing to the AOF file"), "{legacy_err}");
    let read: String = ok(&mut con, &["EVAL", "#!lua flags=no-writes\nreturn redis.call('get','during')", "0"]);
    assert_eq!(read, "2");
    let info: String = ok(&mut con, &["INFO", "persistence"]);
    assert_eq!(info_field(&info, "aof_last_write_status").as_deref(), Some("err"));

    // A rewrite opens a regular file: its base holds what could not be written.
    let _: String = ok(&mut con, &["BGREWRITEAOF"]);
    wait_rewrites(&mut con, 2);
    assert_ok(&mut con, &["SET", "after", "3"]);
    assert_eq!(ok::<String>(&mut con, &["PING"]), "PONG");
    let info: String = ok(&mut con, &["INFO", "persistence"]);
    assert_eq!(info_field(&info, "aof_last_write_status").as_deref(), Some("ok"));
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
    );
    std::thread::sleep(Duration::from_millis(1200));
    drop(con);
    kill9(&server);
    drop(server);

    let server = Server::start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes"]);
    let mut con = server.conn();
    for (key, value) in [("before", "1"), ("during", "2"), ("after", "3")] {
        assert_eq!(ok::<String>(&mut con, &["GET", key]), value, "{key}");
    }
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "x"]), 0);
}

#[test]
fn a_failed_aof_write_ends_the_server_with_appendfsync_always() {
    let dir = ScratchDir::new("aof-always-fails");
    let server = Server::start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes", "--appendfsync", "always"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "before", "1"]);
    switch_to_a_full_disk(&dir, &mut con, 0);
    // The write cannot be made durable: the server exits before acknowledging it.
    assert!(run(&mut con, &["SET", "lost", "1"]).is_err());
    wait_for(5, "the server to exit", || exited(server.pid()));
}

#[test]
fn a_failed_background_save_refuses_writes_with_misconf_until_a_save_succeeds() {
    let dir = ScratchDir::new("rdb-misconf");
    let server = Server::start(&["--dir", dir.path(), "--save", "3600 1"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "k", "v"]);
    // The snapshot cannot take its name: a directory is in the way.
    let target = dir.0.join("dump.rdb");
    std::fs::create_dir(&target).unwrap();
    let _: String = ok(&mut con, &["BGSAVE"]);
    wait_for(10, "the failed save", || {
        let info: String = ok(&mut con, &["INFO", "persistence"]);
        info_field(&info, "rdb_last_bgsave_status").as_deref() == Some("err")
            && info_field(&info, "rdb_bgsave_in_progress").as_deref() == Some("0")
    });
    let e = err(&mut con, &["SET", "k", "w"]);
    assert!(e.starts_with("MISCONF Redis is configured to save RDB snapshots"), "{e}");
    assert!(err(&mut con, &["PING"]).starts_with("MISCONF"));
    assert_eq!(ok::<String>(&mut con, &["GET", "k"]), "v");
    let script_err = err(&mut con, &["EVAL", "#!lua\nreturn 1", "0"]);
    assert!(script_err.contains("Writable scripts are blocked"), "{script_err}");
    // The directive turns the refusal off, and on again.
    assert_ok(&mut con, &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]);
    assert_ok(&mut con, &["SET", "k", "w"]);
    assert_ok(&mut con, &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]);
    assert!(err(&mut con, &["SET", "k", "x"]).starts_with("MISCONF"));
    // A save that succeeds clears it.
    std::fs::remove_dir(&target).unwrap();
    assert_ok(&mut con, &["SAVE"]);
    assert_ok(&mut con, &["SET", "k", "x"]);
    assert_eq!(ok::<String>(&mut con, &["PING"]), "PONG");
}

/// RESP of one command, as a log holds it.
fn resp(words: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", words.len()).into_bytes();
    for w in words {
        out.extend_from_slice(format!("${}\r\n{w}\r\n", w.len()).as_bytes());
    }
    out
}

#[test]
fn a_redis_6_single_file_aof_is_moved_into_the_directory_as_its_base() {
    // A Redis 6 AOF with an RDB preamble: a snapshot, then commands.
    let dir = ScratchDir::new("aof-upgrade");
    {
        let server = Server::start(&["--dir", dir.path(), "--save", ""]);
        let mut con = server.conn();
        assert_ok(&mut con, &["SET", "from_rdb", "1"]);
        let _: i64 = ok(&mut con, &["RPUSH", "list", "a", "b"]);
        assert_ok(&mut con, &["SAVE"]);
    }
    let mut old = std::fs::read(dir.0.join("dump.rdb")).unwrap();
    std::fs::remove_file(dir.0.join("dump.rdb")).unwrap();
    old.extend(resp(&["SELECT", "0"]));
    old.extend(resp(&["SET", "from_tail", "2"]));
    old.extend(resp(&["RPUSH", "list", "c"]));
    std::fs::write(dir.0.join("appendonly.aof"), &old).unwrap();

    let server =
        Server::start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes", "--enable-debug-command", "yes"]);
    let mut con = server.conn();
    assert_eq!(ok::<String>(&mut con, &["GET", "from_rdb"]), "1");
    assert_eq!(ok::<String>(&mut con, &["GET", "from_tail"]), "2");
    assert_eq!(strings(&mut con, &["LRANGE", "list", "0", "-1"]), ["a", "b", "c"]);
    assert!(!dir.0.join("appendonly.aof").exists());
    assert_eq!(std::fs::read(aof_dir(&dir).join("appendonly.aof")).unwrap(), old);
    assert_eq!(manifest(&dir), "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    // The next rewrite replaces the old file like any base.
    assert_ok(&mut con, &["SET", "later", "3"]);
    let _: String = ok(&mut con, &["BGREWRITEAOF"]);
    wait_rewrites(&mut con, 1);
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    assert!(!aof_dir(&dir).join("appendonly.aof").exists());
    let digest: String = ok(&mut con, &["DEBUG", "DIGEST"]);
    assert_ok(&mut con, &["DEBUG", "LOADAOF"]);
    assert_eq!(ok::<String>(&mut con, &["DEBUG", "DIGEST"]), digest);
    assert_eq!(ok::<String>(&mut con, &["GET", "later"]), "3");
}

#[test]
fn bgrewriteaof_with_appendonly_no_writes_a_base_that_a_later_start_loads() {
    let dir = ScratchDir::new("aof-off-rewrite");
    let server = Server::start(&["--dir", dir.path(), "--save", ""]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "k", "v"]);
    let status: String = ok(&mut con, &["BGREWRITEAOF"]);
    assert_eq!(status, "Background append only file rewriting started");
    wait_rewrites(&mut con, 1);
    assert_eq!(manifest(&dir), "file appendonly.aof.1.base.rdb seq 1 type b\n");
    let info: String = ok(&mut con, &["INFO", "persistence"]);
    assert_eq!(info_field(&info, "aof_enabled").as_deref(), Some("0"));
    drop(con);
    drop(server);

    let server = Server::start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes"]);
    let mut con = server.conn();
    assert_eq!(ok::<String>(&mut con, &["GET", "k"]), "v");
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
}

#[test]
fn a_base_in_command_form_keeps_every_type_ttls_tags_and_tenant_limits() {
    let dir = ScratchDir::new("aof-commands-base");
    let args = [
        "--dir",
        dir.path(),
        "--save",
        "",
        "--appendonly",
        "yes",
        "--aof-use-rdb-preamble",
        "no",
        "--enable-debug-command",
        "yes",
    ];
    let server = Server::start(&args);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "s", "v"]);
    assert_ok(&mut con, &["SET", "ttl", "v", "EX", "1000"]);
    let items: Vec<String> = (0..150).map(|i| i.to_string()).collect();
    let mut rpush = vec!["RPUSH", "l"];
    rpush.extend(items.iter().map(String::as_str));
    let _: i64 = ok(&mut con, &rpush);
    let _: i64 = ok(&mut con, &["HSET", "h", "f", "1", "g", "2"]);
    let _: i64 = ok(&mut con, &["SADD", "set", "x", "y"]);
    let _: i64 = ok(&mut con, &["ZADD", "z", "0.1", "a", "-inf", "b", "1e300", "c"]);
    assert_ok(&mut con, &["TAG.SET", "acme:tagged", "v", "TAGS", "plan", "user:7"]);
    assert_ok(&mut con, &["TENANT", "SETLIMIT", "acme", "maxkeys", "1000", "onlimit", "reject"]);
    let _: () = ok(&mut con, &["SELECT", "3"]);
    assert_ok(&mut con, &["SET", "in3", "v"]);
    let _: () = ok(&mut con, &["SELECT", "0"]);
    let _: String = ok(&mut con, &["BGREWRITEAOF"]);
    wait_rewrites(&mut con, 1);
    let base = aof_dir(&dir).join("appendonly.aof.2.base.aof");
    let text = String::from_utf8(std::fs::read(&base).unwrap()).unwrap();
    assert!(text.starts_with("*"), "commands, not RDB: {}", &text[..20.min(text.len())]);
    assert!(text.contains("PEXPIREAT") && text.contains("TAG.ADD") && text.contains("SETLIMIT"));
    // 150 list items in commands of at most 64.
    assert_eq!(text.matches("RPUSH").count(), 3);
    let digest: String = ok(&mut con, &["DEBUG", "DIGEST"]);
    let pttl: i64 = ok(&mut con, &["PTTL", "ttl"]);
    let score: String = ok(&mut con, &["ZSCORE", "z", "c"]);
    drop(con);
    kill9(&server);
    drop(server);

    let server = Server::start(&args);
    let mut con = server.conn();
    assert_eq!(ok::<String>(&mut con, &["DEBUG", "DIGEST"]), digest);
    let after: i64 = ok(&mut con, &["PTTL", "ttl"]);
    assert!(after > 0 && after <= pttl);
    assert_eq!(strings(&mut con, &["TAG.TAGS", "acme:tagged"]).len(), 2);
    assert_eq!(ok::<i64>(&mut con, &["TAG.COUNT", "plan"]), 1);
    let limits = strings(&mut con, &["TENANT", "GETLIMIT", "acme"]);
    assert!(limits.windows(2).any(|w| w[0] == "maxkeys" && w[1] == "1000"), "{limits:?}");
    assert_eq!(ok::<String>(&mut con, &["ZSCORE", "z", "c"]), score);
}

#[test]
fn a_killed_rewrite_leaves_no_temporary_file_after_a_restart() {
    let dir = ScratchDir::new("aof-leftover");
    drop(Server::start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes"]));
    let leftover = aof_dir(&dir).join("temp-rewriteaof-bg-4242.aof");
    std::fs::write(&leftover, b"REDIS0010 half written").unwrap();
    let server = Server::start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes"]);
    assert!(!leftover.exists());
    let mut con = server.conn();
    assert_eq!(ok::<String>(&mut con, &["PING"]), "PONG");
}

#[test]
fn the_manifest_is_checked_as_redis_checks_it() {
    let cases: [(&str, &str); 5] = [
        ("", "Found an empty AOF manifest"),
        ("file a.1.incr.aof seq 1 type i\n\nfile a.2.incr.aof seq 2 type i\n", "Invalid AOF manifest file format"),
        ("file appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.1.incr.aof seq 1 type i\n", "non-monotonic"),
        ("file appendonly.aof.1.base.rdb seq 1 type x\n", "Unknown AOF file type"),
        ("file ../escape seq 1 type b\n", "File can't be a path"),
    ];
    for (text, expected) in cases {
        let dir = ScratchDir::new("aof-manifest");
        std::fs::create_dir_all(aof_dir(&dir)).unwrap();
        std::fs::write(aof_dir(&dir).join("appendonly.aof.manifest"), text).unwrap();
        let out = failed_start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes"]);
        assert!(out.contains(expected), "{text:?}: {out}");
    }
    // A file the manifest names that is missing refuses the start too.
    let dir = ScratchDir::new("aof-manifest-missing");
    std::fs::create_dir_all(aof_dir(&dir)).unwrap();
    std::fs::write(aof_dir(&dir).join("appendonly.aof.manifest"), "file appendonly.aof.1.incr.aof seq 1 type i\n")
        .unwrap();
    let out = failed_start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes"]);
    assert!(out.contains("appendonly.aof.1.incr.aof length. stat: No such file or directory"), "{out}");
}
