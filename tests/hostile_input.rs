//! Hostile and careless input on the main port: NUL and other odd bytes in inline commands,
//! HTTP sent to the Redis port, `/metrics` without the password, large requests before
//! AUTH, huge multibulks and bulks over `client-query-buffer-limit`. None of it may hang,
//! bloat or bypass the server; each case closes at most the connection that sent it.

mod common;

use common::{read_until_close, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(3);

/// Reads replies on an open connection until `expected` bytes arrived or `WAIT` passed.
fn read_exactly(s: &mut TcpStream, expected: usize) -> Vec<u8> {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < expected {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    out
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

fn ping(con: &mut redis::Connection) {
    let pong: String = redis::cmd("PING").query(con).expect("bystander still served");
    assert_eq!(pong, "PONG");
}

fn exists(con: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query::<i64>(con).unwrap() == 1
}

/// A port nobody listens on right now (for `metrics-port`).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A status line, headers (names lower-cased) and body of an HTTP exchange.
fn http(addr: (&str, u16), request: &str) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let (raw, _) = read_until_close(&mut s);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn get_metrics(port: u16, auth: Option<&str>) -> (u16, Vec<(String, String)>, String) {
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    http(("127.0.0.1", port), &format!("GET /metrics HTTP/1.1\r\nHost: localhost\r\n{auth}\r\n"))
}

// ----- 1. Any byte value in an inline command -----

#[test]
fn nul_in_an_inline_command_parses_and_nothing_hangs() {
    let server = Server::start(&[]);
    let mut bystander = server.conn();
    let before = rss_kb(server.pid());
    // A NUL is an ordinary byte of its argument: nothing of the line is dropped.
    let (reply, _) = server.exchange(b"PING\0\r\nECHO a\0b\r\nSET k \"v\0w\"\r\nPING\r\nQUIT\r\n", WAIT);
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "-ERR unknown command 'PING\0', with args beginning with: \r\n$3\r\na\0b\r\n+OK\r\n+PONG\r\n+OK\r\n"
    );
    let value: Vec<u8> = redis::cmd("GET").arg("k").query(&mut bystander).unwrap();
    assert_eq!(value, b"v\0w");
    ping(&mut bystander);
    assert!(rss_kb(server.pid()) < before + 50 * 1024, "memory grew on a NUL byte");
}

#[test]
fn every_byte_value_in_an_inline_command_parses_or_fails_cleanly() {
    let server = Server::start(&[]);
    let mut bystander = server.conn();
    let before = rss_kb(server.pid());
    for c in 0..=255u8 {
        if c == b'\n' {
            continue;
        }
        let mut request = b"ECHO a".to_vec();
        request.extend_from_slice(&[c, b'b', c]);
        request.extend_from_slice(b"\r\nQUIT\r\n");
        let (reply, closed) = server.exchange(&request, WAIT);
        let reply = String::from_utf8_lossy(&reply);
        assert!(closed, "byte {c}: connection left open");
        assert!(
            reply.ends_with("+OK\r\n") || reply.starts_with("-ERR"),
            "byte {c}: neither a reply nor a clean error: {reply:?}"
        );
    }
    ping(&mut bystander);
    assert!(rss_kb(server.pid()) < before + 50 * 1024, "memory grew on odd inline bytes");
}

// ----- 2. Cross-protocol requests -----

#[test]
fn http_post_and_host_lines_close_the_connection_and_run_nothing() {
    let (server, log) = Server::start_with_log(&[]);
    let port = server.port;
    let mut con = server.conn();

    // A browser's POST whose body is a command: nothing runs, nothing is answered.
    let post = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n\r\nSET posted yes\r\n";
    let (reply, closed) = server.exchange(post.as_bytes(), WAIT);
    assert_eq!(String::from_utf8_lossy(&reply), "");
    assert!(closed);
    assert!(!exists(&mut con, "posted"));

    // A request whose first line was dropped still opens with Host:.
    let (reply, closed) = server.exchange(b"Host: localhost\r\nSET hosted yes\r\n", WAIT);
    assert_eq!((reply.as_slice(), closed), (&b""[..], true));
    assert!(!exists(&mut con, "hosted"));
    // In a RESP multibulk too, and in any letter case.
    let (reply, closed) =
        server.exchange(b"*2\r\n$4\r\npoSt\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$1\r\nr\r\n$1\r\nv\r\n", WAIT);
    assert_eq!((reply.as_slice(), closed), (&b""[..], true));
    assert!(!exists(&mut con, "r"));

    // Other methods are answered by the HTTP handler, never run as commands.
    let (status, _, _) = http(("127.0.0.1", port), "DELETE /k HTTP/1.1\r\nX-Note: SET deleted yes\r\n\r\n");
    assert_eq!(status, 405);
    assert!(!exists(&mut con, "deleted"));
    ping(&mut con);

    let deadline = Instant::now() + WAIT;
    let warned = loop {
        match log.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("Possible SECURITY ATTACK detected") => break true,
            Ok(_) => continue,
            Err(_) => break false,
        }
    };
    drop(server);
    assert!(warned, "no security warning in the log");
}

// ----- 3. /metrics and requirepass -----

#[test]
fn metrics_on_the_main_port_need_the_password() {
    let metrics_port = free_port();
    let server = Server::start(&["--requirepass", "s3cret", "--metrics-port", &metrics_port.to_string()]);
    let mut con = server.conn();
    let _: () = redis::cmd("AUTH").arg("s3cret").query(&mut con).unwrap();
    let _: () = redis::cmd("SET").arg("secret_tenant:k").arg("v").query(&mut con).unwrap();

    for auth in [None, Some("Basic ZGVmYXVsdDp3cm9uZw=="), Some("Bearer wrong"), Some("Bearer"), Some("Digest x")] {
        let (status, headers, body) = get_metrics(server.port, auth);
        assert_eq!(status, 401, "{auth:?}");
        let challenge = headers.iter().find(|(k, _)| k == "www-authenticate").map(|(_, v)| v.as_str());
        assert!(challenge.is_some_and(|v| v.starts_with("Basic realm=")), "{headers:?}");
        assert!(!body.contains("secret_tenant"), "{auth:?}: {body}");
    }
    // "default:s3cret", "prometheus:s3cret", and Bearer.
    for auth in ["Basic ZGVmYXVsdDpzM2NyZXQ=", "Basic cHJvbWV0aGV1czpzM2NyZXQ=", "Bearer s3cret"] {
        let (status, _, body) = get_metrics(server.port, Some(auth));
        assert_eq!(status, 200, "{auth}");
        assert!(body.contains("tenant=\"secret_tenant\""), "{auth}");
    }
    // The separate listener stays open, on loopback.
    let (status, _, body) = get_metrics(metrics_port, None);
    assert_eq!(status, 200);
    assert!(body.contains("secret_tenant"));
    ping(&mut con);
}

#[test]
fn metrics_port_binds_loopback_unless_metrics_bind_says_otherwise() {
    let metrics_port = free_port();
    let server = Server::start(&["--bind", "*", "--metrics-port", &metrics_port.to_string()]);
    let mut con = server.conn();
    let bind: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("metrics-bind").query(&mut con).unwrap();
    assert_eq!(bind, ["metrics-bind", "127.0.0.1 -::1"]);
    assert_eq!(get_metrics(metrics_port, None).0, 200);
    // 127.0.0.2 is a loopback address too, but not the one bound: only a wildcard reaches it.
    assert!(TcpStream::connect(("127.0.0.2", metrics_port)).is_err(), "metrics listener is not on 127.0.0.1 only");
    // Changing it at run time is refused, setting it to its value is not.
    let refused: redis::RedisResult<()> = redis::cmd("CONFIG").arg("SET").arg("metrics-bind").arg("*").query(&mut con);
    assert!(refused.is_err());
    let _: () = redis::cmd("CONFIG").arg("SET").arg("metrics-bind").arg("127.0.0.1 -::1").query(&mut con).unwrap();
    drop(server);

    let metrics_port = free_port();
    let server = Server::start(&["--metrics-port", &metrics_port.to_string(), "--metrics-bind", "*"]);
    assert_eq!(http(("127.0.0.2", metrics_port), "GET /metrics HTTP/1.0\r\n\r\n").0, 200);
    drop(server);
}

// ----- 4. Limits before AUTH -----

#[test]
fn unauthenticated_clients_send_only_small_requests() {
    let server = Server::start(&["--requirepass", "s3cret"]);
    let mut bystander = server.conn();
    let _: () = redis::cmd("AUTH").arg("s3cret").query(&mut bystander).unwrap();
    let before = rss_kb(server.pid());

    let (reply, closed) = server.exchange(b"*11\r\n", WAIT);
    assert_eq!(String::from_utf8_lossy(&reply), "-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert!(closed);
    let (reply, closed) = server.exchange(b"*1\r\n$16385\r\n", WAIT);
    assert_eq!(String::from_utf8_lossy(&reply), "-ERR Protocol error: unauthenticated bulk length\r\n");
    assert!(closed);
    // Redis's unit/auth cases.
    let (reply, closed) = server.exchange(b"*100\r\n", WAIT);
    assert_eq!(String::from_utf8_lossy(&reply), "-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert!(closed);
    let (reply, closed) = server.exchange(b"*1\r\n$100000000\r\n", WAIT);
    assert_eq!(String::from_utf8_lossy(&reply), "-ERR Protocol error: unauthenticated bulk length\r\n");
    assert!(closed);

    // At the limits: answered (NOAUTH), and the connection stays.
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut ten = b"*10\r\n$3\r\nDEL\r\n".to_vec();
    for _ in 0..9 {
        ten.extend_from_slice(b"$1\r\nx\r\n");
    }
    let mut bulk = b"*2\r\n$4\r\nECHO\r\n$16384\r\n".to_vec();
    bulk.extend(std::iter::repeat_n(b'y', 16384));
    bulk.extend_from_slice(b"\r\n");
    s.write_all(&ten).unwrap();
    s.write_all(&bulk).unwrap();
    let noauth = "-NOAUTH Authentication required.\r\n";
    assert_eq!(String::from_utf8_lossy(&read_exactly(&mut s, 2 * noauth.len())), noauth.repeat(2));
    // After AUTH (in the same pipeline) the limits are gone.
    let mut after = b"*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n".to_vec();
    after.extend(std::iter::repeat_n(b'z', 20000));
    after.extend_from_slice(b"\r\n");
    s.write_all(&after).unwrap();
    let reply = read_exactly(&mut s, 5 + 8 + 20000 + 2);
    assert!(reply.starts_with(b"+OK\r\n$20000\r\nzzz"), "{:?}", String::from_utf8_lossy(&reply[..reply.len().min(40)]));
    ping(&mut bystander);
    assert!(rss_kb(server.pid()) < before + 50 * 1024, "unauthenticated input was buffered");
}

// ----- 5. Large multibulks -----

/// RESP for `RPUSH key 0 1 2 ...` with `n` elements.
fn rpush(key: &str, n: usize) -> Vec<u8> {
    let mut out = format!("*{}\r\n$5\r\nRPUSH\r\n${}\r\n{key}\r\n", n + 2, key.len()).into_bytes();
    for i in 0..n {
        let v = i.to_string();
        out.extend_from_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes());
    }
    out
}

#[test]
fn a_multibulk_of_many_arguments_in_small_reads_is_parsed_whole() {
    let server = Server::start(&[]);
    let mut s = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_nodelay(true).unwrap();
    let request = rpush("big", 300_000);
    // Many reads, each ending inside an argument or a length line.
    for chunk in request.chunks(7919) {
        s.write_all(chunk).unwrap();
    }
    assert_eq!(read_exactly(&mut s, 10), b":300000\r\n");
    let mut con = server.conn();
    let tail: Vec<String> = redis::cmd("LRANGE").arg("big").arg(-2).arg(-1).query(&mut con).unwrap();
    assert_eq!(tail, ["299998", "299999"]);
}

#[test]
fn an_unfinished_multibulk_is_bounded_by_the_query_buffer_limit() {
    let server = Server::start(&["--client-query-buffer-limit", "1mb"]);
    let mut con = server.conn();
    // 300,000 one-byte arguments of a multibulk that declares more: 2.1 MB on the wire and
    // 0.3 MB of argument bytes, but each held argument costs far more than its byte.
    let mut request = b"*2000000\r\n$5\r\nRPUSH\r\n$10\r\nunfinished\r\n".to_vec();
    for _ in 0..300_000 {
        request.extend_from_slice(b"$1\r\nx\r\n");
    }
    let before = rss_kb(server.pid());
    let (reply, closed) = server.exchange(&request, WAIT);
    assert_eq!(String::from_utf8_lossy(&reply), "");
    assert!(closed, "an unfinished multibulk over the limit must close the connection");
    assert!(!exists(&mut con, "unfinished"));
    ping(&mut con);
    assert!(rss_kb(server.pid()) < before + 50 * 1024);
}

// ----- 10. client-query-buffer-limit on every read -----

#[test]
fn a_bulk_over_the_query_buffer_limit_is_never_stored() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("client-query-buffer-limit").arg("1mb").query(&mut con).unwrap();
    // Far over the limit, and just over it (whose last read often completes the command).
    for size in [4 << 20, (1 << 20) + (64 << 10)] {
        let mut request = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${size}\r\n").into_bytes();
        request.resize(request.len() + size, b'v');
        request.extend_from_slice(b"\r\n");
        for attempt in 0..20 {
            let (reply, closed) = server.exchange(&request, WAIT);
            assert_eq!(String::from_utf8_lossy(&reply), "", "{size} bytes, attempt {attempt}");
            assert!(closed, "{size} bytes, attempt {attempt}");
            assert!(!exists(&mut con, "big"), "{size} bytes, attempt {attempt}: stored over a 1 MB limit");
        }
    }
    // Under the limit it is served.
    let _: () = redis::cmd("SET").arg("small").arg(vec![b'v'; 512 << 10]).query(&mut con).unwrap();
    ping(&mut con);
}
