//! Command lines as compose files write them for Dragonfly and Redis: gflags forms
//! (`--flag=value`, `--flag`, `--noflag`, `--flagfile`, `DFLY_*`), Dragonfly flags mapped to
//! directives or accepted with one warning each, Redis's `config-file --directive values -`
//! form, and Redis's fatal error for names nobody knows.

mod launch;

use launch::{config_get, Launch, LogOn};

const LOCAL: [&str; 4] = ["--port", "0", "--bind", "127.0.0.1"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = LOCAL.to_vec();
    v.extend_from_slice(extra);
    v.push("--metrics-port");
    v.push("0");
    v
}

fn warnings_naming(log: &[String], name: &str) -> usize {
    log.iter().filter(|l| l.contains("WARNING") && l.contains(name)).count()
}

#[test]
fn dragonfly_compose_command_applies_its_flags() {
    let server = Launch::new(&args(&[
        "--logtostderr",
        "--requirepass=secret",
        "--maxmemory=64mb",
        "--cache_mode=true",
        "--dbnum=4",
        "--proactor_threads=2",
        "--hz=50",
        "--maxclients=100",
        "--primary_port_http_enabled=false",
        "--version_check=false",
        "--v=1",
    ]))
    .log_on(LogOn::Stderr)
    .start();
    let mut con = server.conn_with_password(Some("secret"));
    assert_eq!(config_get(&mut con, "maxmemory"), (64u64 << 20).to_string());
    assert_eq!(config_get(&mut con, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(config_get(&mut con, "databases"), "4");
    assert_eq!(config_get(&mut con, "io-threads"), "2");
    assert_eq!(config_get(&mut con, "hz"), "50");
    assert_eq!(config_get(&mut con, "maxclients"), "100");
    assert_eq!(config_get(&mut con, "loglevel"), "verbose");
    assert_eq!(config_get(&mut con, "logfile"), "/dev/stderr");
    assert_eq!(config_get(&mut con, "primary-port-http-enabled"), "no");
    redis::cmd("SELECT").arg(3).exec(&mut con).unwrap();
    assert!(redis::cmd("SELECT").arg(4).exec(&mut con).is_err());
    // The main port no longer answers HTTP: a request line is a RESP inline command.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    raw.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
    use std::io::{Read, Write};
    raw.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = raw.read(&mut buf).unwrap_or(0);
    assert!(!buf[..n].starts_with(b"HTTP/"), "{:?}", String::from_utf8_lossy(&buf[..n]));
    // Every flag here has an effect (or asks for what the server does anyway): no warnings.
    let log = server.log();
    assert_eq!(log.iter().filter(|l| l.contains("WARNING")).count(), 0, "{log:#?}");
}

#[test]
fn flags_without_effect_warn_once_each() {
    let server = Launch::new(&args(&[
        "--num_shards=4",
        "--num-shards",
        "8",
        "--keys_output_limit=1000",
        "--conn_io_threads=2",
        "--pipeline_squash=10",
        "--snapshot_cron",
        "*/30 * * * *",
        "--repl-timeout",
        "30",
        "--repl_timeout=40",
        "--tls",
    ]))
    .start();
    let log = server.log();
    for flag in ["--num_shards", "--keys_output_limit", "--conn_io_threads", "--pipeline_squash", "--tls "] {
        assert_eq!(warnings_naming(&log, flag), 1, "{flag}: {log:#?}");
    }
    // Snapshots on a schedule are implemented: no warning, the directive takes the value.
    assert_eq!(warnings_naming(&log, "--snapshot_cron"), 0, "{log:#?}");
    assert_eq!(warnings_naming(&log, "'repl-timeout'"), 1, "{log:#?}");
    assert!(log.iter().any(|l| l.contains("--num_shards") && l.contains("no effect")), "{log:#?}");
    // Accepted redis.conf directives keep the value given, for CONFIG GET.
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "repl-timeout"), "40");
    assert_eq!(config_get(&mut con, "snapshot-cron"), "*/30 * * * *");
}

#[test]
fn gflags_booleans() {
    let server =
        Launch::new(&args(&["--nolatency_tracking", "--cache_mode", "--appendonly=true", "--noalsologtostderr"]))
            .start();
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "latency-tracking"), "no");
    assert_eq!(config_get(&mut con, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(config_get(&mut con, "appendonly"), "yes");
    assert_eq!(config_get(&mut con, "logfile"), "");
    let server = Launch::new(&args(&["--latency-tracking=false", "--latency_tracking"])).start();
    assert_eq!(config_get(&mut server.conn(), "latency-tracking"), "yes");
    let (code, _, stderr) = Launch::new(&args(&["--cache_mode=maybe"])).fails();
    assert_eq!(code, Some(1));
    assert!(stderr.contains("not a boolean"), "{stderr}");
}

#[test]
fn memory_sizes_in_dragonfly_and_redis_units() {
    for (given, bytes) in [
        ("--maxmemory=2G", 2u64 << 30),
        ("--maxmemory=2GiB", 2 << 30),
        ("--maxmemory=2gb", 2 << 30),
        ("--maxmemory=512M", 512 << 20),
    ] {
        let server = Launch::new(&args(&[given])).start();
        assert_eq!(config_get(&mut server.conn(), "maxmemory"), bytes.to_string(), "{given}");
    }
    // Redis's form keeps Redis's units: 2g is 2*10^9, 2gb is 2*2^30.
    let server = Launch::new(&args(&["--maxmemory", "2g"])).start();
    assert_eq!(config_get(&mut server.conn(), "maxmemory"), "2000000000");
    let server = Launch::new(&args(&["--maxmemory", "2gb"])).start();
    assert_eq!(config_get(&mut server.conn(), "maxmemory"), (2u64 << 30).to_string());
}

#[test]
fn unknown_names_are_fatal_with_redis_text() {
    let (code, _, stderr) = Launch::new(&["--port", "0", "--no_such_flag=1"]).fails();
    assert_eq!(code, Some(1));
    assert!(stderr.contains("*** FATAL CONFIG FILE ERROR (Redis "), "{stderr}");
    assert!(stderr.contains("Reading the configuration file, at line 3"), "{stderr}");
    assert!(stderr.contains(">>> 'no_such_flag \"1\"'"), "{stderr}");
    assert!(stderr.contains("Bad directive or wrong number of arguments"), "{stderr}");
    let (code, _, stderr) = Launch::new(&["--port", "0", "--bogus", "a", "b"]).fails();
    assert_eq!(code, Some(1));
    assert!(stderr.contains(">>> 'bogus \"a\" \"b\"'"), "{stderr}");
    // A bad value names the reason, as Redis does.
    let (code, _, stderr) = Launch::new(&["--maxmemory", "10xb"]).fails();
    assert_eq!(code, Some(1));
    assert!(stderr.contains(">>> 'maxmemory \"10xb\"'") && stderr.contains("memory value"), "{stderr}");
}

#[test]
fn cluster_mode_is_refused() {
    for mode in ["yes", "true"] {
        let (code, _, stderr) = Launch::new(&args(&[&format!("--cluster_mode={mode}")])).fails();
        assert_eq!(code, Some(1), "{mode}");
        assert!(stderr.contains("cluster mode is not supported"), "{stderr}");
    }
    // The empty value (Dragonfly's default) is fine.
    let _server = Launch::new(&args(&["--cluster_mode="])).start();
}

#[test]
fn redis_form_file_then_options_then_stdin() {
    let dir = std::env::temp_dir().join(format!("tenantcache-cmdline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("redis.conf");
    std::fs::write(&conf, "port 6379\nsave 900 1\nsave 300 10\nmaxmemory 1mb\n").unwrap();
    let path = conf.to_str().unwrap();
    let mut line: Vec<&str> = vec![path];
    line.extend(args(&["--save", "", "--hz", "20"]));
    line.push("-");
    let server = Launch::new(&line).stdin("maxmemory 2mb\ndatabases 3\n").start();
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "save"), "");
    assert_eq!(config_get(&mut con, "maxmemory"), (2u64 << 20).to_string());
    assert_eq!(config_get(&mut con, "databases"), "3");
    assert_eq!(config_get(&mut con, "hz"), "20");
    // Repeated save lines add up, as in Redis.
    let mut line: Vec<&str> = vec![path];
    line.extend(args(&[]));
    let server = Launch::new(&line).start();
    assert_eq!(config_get(&mut server.conn(), "save"), "900 1 300 10");
    // A container command that names the program first.
    let server = Launch::new(&[&["redis-server"], &args(&["--appendonly", "yes"])[..]].concat()).start();
    assert_eq!(config_get(&mut server.conn(), "appendonly"), "yes");
}

#[test]
fn environment_and_flagfile() {
    let dir = std::env::temp_dir().join(format!("tenantcache-flagfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let flagfile = dir.join("dragonfly.flags");
    std::fs::write(&flagfile, "# Dragonfly flags\n--dbnum=2\n--cache_mode=true\n").unwrap();
    let flagfile_arg = format!("--flagfile={}", flagfile.display());
    let server =
        Launch::new(&args(&[&flagfile_arg])).env("DFLY_requirepass", "envpass").env("DFLY_maxmemory", "1gb").start();
    let mut con = server.conn_with_password(Some("envpass"));
    assert_eq!(config_get(&mut con, "databases"), "2");
    assert_eq!(config_get(&mut con, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(config_get(&mut con, "maxmemory"), (1u64 << 30).to_string());
}

/// The command line of Dragonfly's README, with its single-dash `-dbnum` and `bind localhost`,
/// and the line BullMQ recommends for Dragonfly.
#[test]
fn dragonfly_readme_and_bullmq_lines() {
    let server = Launch::new(&[
        "--logtostderr",
        "--requirepass=youshallnotpass",
        "--cache_mode=true",
        "-dbnum",
        "1",
        "--bind",
        "localhost",
        "--port",
        "0",
        "--maxmemory=12gb",
        "--keys_output_limit=12288",
        "--dbfilename",
        "dump.rdb",
        "--nohttp_admin_console",
        "--metrics-port",
        "0",
    ])
    .log_on(LogOn::Stderr)
    .start();
    let mut con = server.conn_with_password(Some("youshallnotpass"));
    assert_eq!(config_get(&mut con, "databases"), "1");
    assert_eq!(config_get(&mut con, "maxmemory"), (12u64 << 30).to_string());
    assert_eq!(config_get(&mut con, "maxmemory-policy"), "allkeys-lru");
    assert_eq!(config_get(&mut con, "dbfilename"), "dump.rdb");
    let log = server.log();
    assert_eq!(warnings_naming(&log, "--keys_output_limit"), 1, "{log:#?}");
    assert_eq!(warnings_naming(&log, "--http_admin_console"), 1, "{log:#?}");

    let server = Launch::new(&args(&["--cluster_mode=emulated", "--lock_on_hashtags"])).start();
    let log = server.log();
    assert_eq!(warnings_naming(&log, "--cluster_mode"), 1, "{log:#?}");
    assert_eq!(warnings_naming(&log, "--lock_on_hashtags"), 1, "{log:#?}");
    assert_eq!(redis::cmd("PING").query::<String>(&mut server.conn()).unwrap(), "PONG");
}
