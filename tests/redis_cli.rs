//! The real `redis-cli` binary against a started server: plain commands, commands read from
//! stdin, mass insertion with `--pipe`, `INFO`, and the shipped `conf/tenantcache.conf`.
//!
//! These tests need `redis-cli` on the PATH (Debian package `redis-tools`; `.ci/run` installs
//! it). Without it they fail with a message saying so, rather than passing vacuously.

mod common;

use common::Server;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tenantcache::config::{Config, DIRECTIVES};

/// Longest a single redis-cli invocation may take before the test fails.
const CLI_DEADLINE: Duration = Duration::from_secs(30);

struct CliOutput {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `redis-cli -p PORT args...`, feeding `stdin`, and returns what it printed.
fn redis_cli(server: &Server, args: &[&str], stdin: &[u8]) -> CliOutput {
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run redis-cli ({e}): install it (Debian/Ubuntu: apt-get install -y redis-tools)")
        });
    // Feed stdin and drain the outputs on threads so a large pipe can never deadlock.
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for redis-cli") {
            break status;
        }
        if started.elapsed() > CLI_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("redis-cli {args:?} did not finish within {CLI_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    writer.join().expect("stdin writer");
    CliOutput {
        success: status.success(),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// Runs one command and returns its output without the trailing newline.
fn cli(server: &Server, args: &[&str]) -> String {
    let out = redis_cli(server, args, b"");
    assert!(out.success, "redis-cli {args:?} failed: {}{}", out.stdout, out.stderr);
    out.stdout.trim_end_matches('\n').to_string()
}

#[test]
fn ping() {
    let server = Server::start(&[]);
    assert_eq!(cli(&server, &["ping"]), "PONG");
    assert_eq!(cli(&server, &["ping", "hello world"]), "hello world");
}

#[test]
fn set_get() {
    let server = Server::start(&[]);
    assert_eq!(cli(&server, &["set", "org_1:greeting", "hello world"]), "OK");
    assert_eq!(cli(&server, &["get", "org_1:greeting"]), "hello world");
    // A missing key is nil, which redis-cli prints as an empty line when not on a terminal.
    assert_eq!(cli(&server, &["get", "org_1:missing"]), "");
    // Error replies come back as text starting with the error code.
    let err = cli(&server, &["get"]);
    assert_eq!(err, "ERR wrong number of arguments for 'get' command");
}

#[test]
fn commands_from_stdin() {
    let server = Server::start(&[]);
    let out = redis_cli(&server, &[], b"SET a 1\nGET a\nPING\nDEL a\nEXISTS a\n");
    assert!(out.success, "{}", out.stderr);
    assert_eq!(out.stdout, "OK\n1\nPONG\n1\n0\n");
}

#[test]
fn mass_insertion_with_pipe() {
    const KEYS: usize = 10_000;
    let server = Server::start(&[]);
    let mut resp = Vec::new();
    for i in 0..KEYS {
        let key = format!("tenant_{}:item:{i:06}", i % 7);
        let value = format!("value-{i}");
        resp.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n", key.len(), value.len()).as_bytes(),
        );
    }
    let out = redis_cli(&server, &["--pipe"], &resp);
    assert!(out.success, "redis-cli --pipe failed: {}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains(&format!("errors: 0, replies: {KEYS}")), "unexpected --pipe summary: {}", out.stdout);
    assert_eq!(cli(&server, &["dbsize"]), KEYS.to_string());
    assert_eq!(cli(&server, &["get", "tenant_3:item:009999"]), "value-9999");
}

#[test]
fn info_server_reports_redis_version() {
    let server = Server::start(&[]);
    let info = cli(&server, &["info", "server"]);
    assert!(info.starts_with("# Server"), "INFO server did not start with its header: {info}");
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or_else(|| panic!("no redis_version in INFO server: {info}"));
    assert_eq!(version.trim(), tenantcache::REDIS_VERSION);
}

fn shipped_conf() -> String {
    format!("{}/conf/tenantcache.conf", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn shipped_conf_starts_the_server() {
    let server = Server::start_with_config(&shipped_conf(), &[]);
    assert_eq!(cli(&server, &["ping"]), "PONG");
    // The --port flag overrides the file's `port 6379`; the file's other values are in force.
    assert_eq!(cli(&server, &["config", "get", "port"]), format!("port\n{}", server.port));
    assert_eq!(cli(&server, &["config", "get", "maxmemory-policy"]), "maxmemory-policy\nnoeviction");
    assert_eq!(cli(&server, &["set", "acme:k", "v"]), "OK");
    assert_eq!(cli(&server, &["get", "acme:k"]), "v");
}

/// The shipped file documents every directive, each set to its built-in default, so that
/// editing a line is the only way to change behaviour and the file never drifts from the code.
#[test]
fn shipped_conf_lists_every_directive_with_its_default() {
    let path = shipped_conf();
    let text = std::fs::read_to_string(&path).expect("read conf/tenantcache.conf");
    let loaded = Config::load(Some(&path), &[]).expect("conf/tenantcache.conf loads");
    let defaults = Config::default();
    for directive in DIRECTIVES {
        let listed = text.lines().any(|l| l.split_whitespace().next() == Some(directive.name));
        assert!(listed, "conf/tenantcache.conf has no line for '{}'", directive.name);
        assert_eq!(
            loaded.get(directive.name),
            defaults.get(directive.name),
            "conf/tenantcache.conf sets '{}' to something other than its default",
            directive.name
        );
    }
    assert!(loaded.tenant_lines.is_empty(), "the shipped file must not configure tenants");
    // The commented tenant example must be valid once uncommented.
    let example = text.lines().find_map(|l| l.strip_prefix("# tenant ")).expect("commented `tenant ...` example");
    let mut with_example = Config::default();
    with_example.apply_text(&format!("tenant {example}")).expect("tenant example is valid");
    assert_eq!(with_example.tenant_lines.len(), 1);
}
