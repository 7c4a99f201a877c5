//! The redis.conf files people already have load unchanged: the files shipped with Redis
//! 7.0.15 and 7.2.4, Debian 12's /etc/redis/redis.conf, every commented directive example of
//! those files uncommented, and the Redis test suite's tests/assets/default.conf (copies in
//! tests/conf/). Implemented directives take effect; the rest keep their value for CONFIG GET.

mod launch;

use launch::{config_get, Launch, Launched};

fn conf(name: &str) -> String {
    format!("{}/tests/conf/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The value a file sets for `directive` (its last uncommented line), as written.
fn file_value(path: &str, directive: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .rev()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.trim().split_once(' '))
        .filter(|(name, _)| *name == directive)
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .next()
}

/// Starts the binary with `file`, appending what must differ to run here: an ephemeral
/// loopback port, no daemon, pid file or log file, a writable dir.
fn start(file: &str, extra: &[&str]) -> Launched {
    let dir = std::env::temp_dir().join(format!("tenantcache-redisconf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.to_str().unwrap().to_string();
    let mut args: Vec<&str> = vec![file];
    args.extend([
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--daemonize",
        "no",
        "--pidfile",
        "",
        "--logfile",
        "",
        "--dir",
        &dir,
        "--metrics-port",
        "0",
    ]);
    args.extend_from_slice(extra);
    Launch::new(&args).start()
}

fn check_stock_file(name: &str) {
    let path = conf(name);
    let server = start(&path, &[]);
    let mut con = server.conn();
    assert_eq!(redis::cmd("PING").query::<String>(&mut con).unwrap(), "PONG");
    // Implemented directives take the file's values.
    for directive in ["databases", "hz", "tcp-keepalive", "hash-max-listpack-entries", "slowlog-max-len"] {
        let want = file_value(&path, directive).unwrap_or_else(|| panic!("{name} sets {directive}"));
        assert_eq!(config_get(&mut con, directive), want, "{name}: {directive}");
    }
    // Accepted ones come back as given.
    for directive in ["proc-title-template", "repl-diskless-sync-delay", "replica-read-only", "repl-diskless-load"] {
        let want = file_value(&path, directive).unwrap_or_else(|| panic!("{name} sets {directive}"));
        assert_eq!(config_get(&mut con, directive), want, "{name}: {directive}");
    }
    assert_eq!(config_get(&mut con, "auto-aof-rewrite-min-size"), (64u64 << 20).to_string());
    assert_eq!(config_get(&mut con, "slave-read-only"), "yes", "old name of replica-read-only");
    // Nothing in a stock file is refused or needs a warning beyond daemon-and-file settings.
    let log = server.log();
    assert!(log.iter().any(|l| l.contains("Configuration loaded")), "{log:#?}");
}

#[test]
fn redis_7_0_conf_loads() {
    check_stock_file("redis-7.0.conf");
}

#[test]
fn redis_7_2_conf_loads() {
    check_stock_file("redis-7.2.conf");
}

#[test]
fn debian_12_conf_loads() {
    check_stock_file("debian-12-redis.conf");
    // Debian's file sets values that differ from Redis's defaults; they are kept.
    let server = start(&conf("debian-12-redis.conf"), &[]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "oom-score-adj-values"), "0 200 800");
    assert_eq!(config_get(&mut con, "protected-mode"), "yes");
}

#[test]
fn every_commented_example_loads_uncommented() {
    // The examples' socket paths are in system directories; the socket goes to a scratch path,
    // with the examples' `unixsocketperm 700`.
    let socket = std::env::temp_dir().join(format!("tenantcache-examples-{}.sock", std::process::id()));
    let socket = socket.to_str().unwrap();
    let server = start(&conf("redis-examples.conf"), &["--unixsocket", socket]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(socket).unwrap().permissions().mode() & 0o7777, 0o700);
    // The examples set `requirepass foobared` and `io-threads 4`, which take effect.
    let mut con = server.conn_with_password(Some("foobared"));
    assert_eq!(config_get(&mut con, "io-threads"), "4");
    assert_eq!(config_get(&mut con, "latency-tracking-info-percentiles"), "50 99 99.9");
    // Accepted ones keep their example values.
    for (directive, value) in [
        ("cluster-announce-ip", "10.1.1.5"),
        ("replica-announce-ip", "5.5.5.5"),
        ("min-replicas-to-write", "3"),
        ("tls-protocols", "TLSv1.2 TLSv1.3"),
        ("active-defrag-ignore-bytes", "104857600"),
        ("ignore-warnings", "ARM64-COW-BUG"),
        ("save", "3600 1 300 100 60 10000"),
        ("cluster-enabled", "yes"),
        ("supervised", "auto"),
    ] {
        assert_eq!(config_get(&mut con, directive), value, "{directive}");
    }
    // One warning per accepted directive set away from its default, and per ignored line kind.
    let log = server.log();
    let warned = |name: &str| log.iter().filter(|l| l.contains("WARNING") && l.contains(&format!("'{name}'"))).count();
    assert_eq!(warned("tls-cert-file"), 1, "{log:#?}");
    assert_eq!(warned("rename-command"), 1, "two rename-command lines, one warning: {log:#?}");
    assert_eq!(warned("save"), 0, "save points are implemented: {log:#?}");
    assert_eq!(warned("maxmemory-policy"), 0, "implemented directives do not warn");
    drop(server);
    let _ = std::fs::remove_file(socket);
}

#[test]
fn redis_test_suite_default_conf_loads() {
    let server = start(&conf("redis-tests-default.conf"), &[]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "notify-keyspace-events"), "AKE");
    assert_eq!(config_get(&mut con, "loglevel"), "verbose");
    assert_eq!(config_get(&mut con, "propagation-error-behavior"), "panic");
    assert_eq!(config_get(&mut con, "repl-diskless-sync-delay"), "0");
    assert_eq!(config_get(&mut con, "slave-serve-stale-data"), "yes");
    // `always-show-logo yes`: the banner with " PID: " that the suite waits for.
    let pid = server.child.id();
    assert!(server.log().iter().any(|l| l.contains(&format!(" PID: {pid}"))), "{:#?}", server.log());
}

#[test]
fn include_reads_another_file() {
    let dir = std::env::temp_dir().join(format!("tenantcache-include-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let inner = dir.join("inner.conf");
    std::fs::write(&inner, "maxmemory 3mb\nhz 33\n").unwrap();
    let outer = dir.join("outer.conf");
    std::fs::write(&outer, format!("hz 10\ninclude {}\nmaxmemory-policy allkeys-lfu\n", inner.display())).unwrap();
    let server = start(outer.to_str().unwrap(), &[]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "hz"), "33");
    assert_eq!(config_get(&mut con, "maxmemory"), (3u64 << 20).to_string());
    assert_eq!(config_get(&mut con, "maxmemory-policy"), "allkeys-lfu");
    // A missing include is fatal, as in Redis.
    std::fs::write(&outer, "include /nonexistent/x.conf\n").unwrap();
    let (code, _, stderr) = Launch::new(&[outer.to_str().unwrap(), "--port", "0"]).fails();
    assert_eq!(code, Some(1));
    assert!(stderr.contains("can't open config file '/nonexistent/x.conf'"), "{stderr}");
}

#[test]
fn replicaof_is_accepted_and_never_contacted() {
    let server = start(&conf("redis-7.0.conf"), &["--replicaof", "10.9.9.9", "6379"]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "replicaof"), "10.9.9.9 6379");
    let info: String = redis::cmd("INFO").arg("replication").query(&mut con).unwrap();
    assert!(info.contains("role:master"), "{info}");
    assert!(server.log().iter().any(|l| l.contains("WARNING") && l.contains("'replicaof'")));
}
