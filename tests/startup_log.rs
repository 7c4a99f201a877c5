//! The log in Redis's format and the startup and shutdown texts that scripts and the Redis
//! test suite look for: `pid:M dd Mon yyyy hh:mm:ss.mmm <level> message`, the ready line,
//! the banner's PID, the busy-port error, SIGTERM, `logfile`.

mod launch;

use launch::{config_get, Launch};
use std::time::Duration;

const LOCAL: [&str; 6] = ["--port", "0", "--bind", "127.0.0.1", "--metrics-port", "0"];

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = LOCAL.to_vec();
    v.extend_from_slice(extra);
    v
}

/// `pid:R dd Mon yyyy hh:mm:ss.mmm L message`: returns (pid, role, level mark, message).
fn parse_line(line: &str) -> Option<(u32, char, char, &str)> {
    let (pid, rest) = line.split_once(':')?;
    let pid: u32 = pid.parse().ok()?;
    let mut chars = rest.chars();
    let role = chars.next()?;
    let rest = chars.as_str().strip_prefix(' ')?;
    // "02 Dec 2026 13:38:00.123 "
    let (date, rest) = rest.split_at_checked(25)?;
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let shaped = digits(0..2)
        && months.contains(&&date[3..6])
        && digits(7..11)
        && digits(12..14)
        && b[14] == b':'
        && digits(15..17)
        && b[17] == b':'
        && digits(18..20)
        && b[20] == b'.'
        && digits(21..24)
        && b[24] == b' ';
    if !shaped || !"CM".contains(role) {
        return None;
    }
    let mut chars = rest.chars();
    let level = chars.next()?;
    let message = chars.as_str().strip_prefix(' ')?;
    ".-*#".contains(level).then_some((pid, role, level, message))
}

#[test]
fn lines_have_redis_format_and_levels() {
    let server = Launch::new(&args(&["--loglevel", "verbose"])).start();
    let pid = server.child.id();
    // A protocol error is logged at verbose level.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    use std::io::Write;
    raw.write_all(b"*1\r\n$x\r\n").unwrap();
    server.wait_for_line("rotocol error");
    let log = server.log();
    let mut marks = Vec::new();
    for line in log.iter().filter(|l| !l.trim().is_empty()) {
        let (line_pid, _, mark, _) = parse_line(line).unwrap_or_else(|| panic!("not a Redis log line: {line:?}"));
        assert_eq!(line_pid, pid);
        marks.push(mark);
    }
    for mark in ['-', '*', '#'] {
        assert!(marks.contains(&mark), "no '{mark}' line in {log:#?}");
    }
    let ready = log.iter().find(|l| l.contains("Ready to accept connections")).unwrap();
    let (_, role, mark, message) = parse_line(ready).unwrap();
    assert_eq!((role, mark), ('M', '*'));
    assert_eq!(message, format!("Ready to accept connections tcp port {}", server.port));
    assert!(log.iter().any(|l| parse_line(l).is_some_and(|(_, role, _, m)| role == 'C' && m.contains("just started"))));
    // Debug lines appear only at loglevel debug.
    assert!(!marks.contains(&'.'));
}

#[test]
fn ready_line_is_written_at_every_loglevel() {
    let server = Launch::new(&args(&["--loglevel", "warning"])).start();
    assert!(server.log().iter().all(|l| l.contains("Ready to accept") || parse_line(l).is_some_and(|p| p.2 == '#')));
    let _quiet = Launch::new(&args(&["--loglevel", "nothing"])).start();
}

#[test]
fn banner_names_port_and_pid() {
    let server = Launch::new(&args(&["--always-show-logo", "yes"])).start();
    let log = server.log();
    let pid = server.child.id();
    // The Redis test suite waits for " PID: <pid>" before it connects.
    assert!(log.iter().any(|l| l.contains(&format!(" PID: {pid}"))), "{log:#?}");
    assert!(log.iter().any(|l| l.contains(&format!("Port: {}", server.port))), "{log:#?}");
    let plain = Launch::new(&args(&[])).start();
    assert!(plain.log().iter().any(|l| l.contains(&format!("Running mode=standalone, port={}.", plain.port))));
    assert!(!plain.log().iter().any(|l| l.contains(" PID: ")));
}

#[test]
fn busy_port_is_reported_as_redis_does() {
    let first = Launch::new(&args(&[])).start();
    let port = first.port.to_string();
    let (code, stdout, _) = Launch::new(&["--port", &port, "--bind", "127.0.0.1", "--metrics-port", "0"]).fails();
    assert_eq!(code, Some(1));
    assert!(stdout.contains("Could not create server TCP listening socket 127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("Address already in use"), "{stdout}");
    assert!(stdout.contains(&format!("Failed listening on port {port} (tcp), aborting.")), "{stdout}");
}

#[test]
fn sigterm_is_logged_and_ends_the_process() {
    let mut server = Launch::new(&args(&[])).start();
    let status = std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    server.wait_for_line("Received SIGTERM scheduling shutdown...");
    for _ in 0..300 {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            server.wait_for_line("ready to exit, bye bye");
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("still running after SIGTERM");
}

#[test]
fn logfile_receives_the_log() {
    let dir = std::env::temp_dir().join(format!("tenantcache-logfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.log");
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, "earlier line\n").unwrap();
    let path_arg = path.to_str().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tenantcache"))
        .args(args(&["--logfile", path_arg]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut text = String::new();
    for _ in 0..500 {
        text = std::fs::read_to_string(&path).unwrap();
        if text.contains("Ready to accept connections") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(text.starts_with("earlier line\n"), "appended to: {text}");
    assert!(text.contains("Ready to accept connections tcp port "), "{text}");
    assert!(text.lines().skip(1).all(|l| l.trim().is_empty() || parse_line(l).is_some()), "{text}");
    assert!(out.stdout.is_empty(), "stdout: {}", String::from_utf8_lossy(&out.stdout));
    // A log file that cannot be opened stops startup, as in Redis.
    let (code, _, stderr) = Launch::new(&args(&["--logfile", "/nonexistent-dir/x.log"])).fails();
    assert_eq!(code, Some(1));
    assert!(stderr.contains("Can't open the log file"), "{stderr}");
}

#[test]
fn loglevel_changes_at_run_time() {
    let server = Launch::new(&args(&["--loglevel", "warning"])).start();
    let mut con = server.conn();
    redis::cmd("CONFIG").arg("SET").arg("loglevel").arg("verbose").exec(&mut con).unwrap();
    assert_eq!(config_get(&mut con, "loglevel"), "verbose");
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    use std::io::Write;
    raw.write_all(b"*1\r\n$x\r\n").unwrap();
    let line = server.wait_for_line("rotocol error");
    assert_eq!(parse_line(&line).map(|p| p.2), Some('-'));
}
