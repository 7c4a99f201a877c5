//! Output buffer limits for normal and pub/sub clients, client memory in `used_memory` and
//! `maxmemory`, back-pressure on clients that never read, and client eviction
//! (`maxmemory-clients`, CLIENT NO-EVICT).

mod common;

use common::{info_int, ok, Raw, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A raw connection that writes commands and never reads its replies.
fn deaf_client(server: &Server) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads until the server closes the connection; returns the bytes received.
fn read_to_close(s: &mut TcpStream) -> usize {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            // Closed with input of ours unread: the kernel resets the connection.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return total,
            Err(e) => panic!("the server did not close the connection: {e} (after {total} bytes)"),
        }
    }
}

/// The CLIENT LIST line of the client named `name`, if connected.
fn client_line(con: &mut redis::Connection, name: &str) -> Option<String> {
    let list: String = ok(con, &["CLIENT", "LIST"]);
    list.lines().find(|l| l.contains(&format!(" name={name} "))).map(str::to_string)
}

fn field(line: &str, name: &str) -> usize {
    let start = line.find(&format!(" {name}=")).unwrap_or_else(|| panic!("no {name} in {line}")) + name.len() + 2;
    line[start..].split(' ').next().unwrap().parse().unwrap()
}

/// Polls `cond` every 20 ms for at most `limit`.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn reply_over_the_normal_hard_limit_closes_the_client_without_sending_it() {
    let server = Server::start(&["--client-output-buffer-limit", "normal", "1mb", "0", "0"]);
    let mut con = server.conn();
    let big = "x".repeat(4 << 20);
    let _: () = ok(&mut con, &["SET", "big", &big]);
    let mut s = deaf_client(&server);
    s.write_all(b"PING\r\nGET big\r\n").unwrap();
    // Nothing at all is written, not even the PING's reply that came before.
    assert_eq!(read_to_close(&mut s), 0);
    assert_eq!(info_int(&mut con, "stats", "client_output_buffer_limit_disconnections"), 1);
    // Replies under the limit still go out.
    let mut small = Raw::connect(&server);
    assert_eq!(small.call(&["STRLEN", "big"]), ":4194304");
}

#[test]
fn normal_soft_limit_closes_a_client_only_after_its_seconds() {
    let server = Server::start(&["--client-output-buffer-limit", "normal", "0", "256kb", "1"]);
    let mut con = server.conn();
    let _: () = ok(&mut con, &["CLIENT", "NO-EVICT", "on"]);
    let value = "v".repeat(100 * 1024);
    let _: () = ok(&mut con, &["SET", "k", &value]);

    // A reply a little over the soft limit that the client does read is fine.
    let mut reader = Raw::connect(&server);
    assert!(reader.call(&["MGET", "k", "k", "k"]).len() > 300 * 1024);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(reader.call(&["PING"]), "+PONG");

    // One that stays over it (10 MB of replies it never reads) is closed once the second is up.
    let mut s = deaf_client(&server);
    s.write_all(b"CLIENT SETNAME deaf\r\n").unwrap();
    for _ in 0..100 {
        s.write_all(b"GET k\r\n").unwrap();
    }
    let mut over_at = None;
    assert!(wait_until(Duration::from_secs(2), || {
        let over = client_line(&mut con, "deaf").is_some_and(|l| field(&l, "omem") >= 256 * 1024);
        if over {
            over_at = Some(Instant::now());
        }
        over
    }));
    assert!(wait_until(Duration::from_secs(5), || client_line(&mut con, "deaf").is_none()), "never closed");
    assert!(over_at.unwrap().elapsed() >= Duration::from_millis(500), "closed before its soft-seconds");
    assert_eq!(info_int(&mut con, "stats", "client_output_buffer_limit_disconnections"), 1);
}

#[test]
fn a_subscriber_that_never_reads_is_counted_and_closed_at_its_limit() {
    let server = Server::start(&["--client-output-buffer-limit", "pubsub", "8mb", "0", "0"]);
    let mut con = server.conn();
    let before = info_int(&mut con, "memory", "mem_clients_normal");
    let mut sub = deaf_client(&server);
    sub.write_all(b"CLIENT SETNAME sub\r\nSUBSCRIBE news\r\n").unwrap();
    assert!(wait_until(Duration::from_secs(2), || client_line(&mut con, "sub").is_some_and(|l| field(&l, "sub") == 1)));
    let message = "m".repeat(100 * 1024);
    let mut publisher = Raw::connect(&server);
    // Enough to fill the kernel's socket buffers and leave megabytes queued in the server.
    let mut counted = false;
    for _ in 0..200 {
        if publisher.call(&["PUBLISH", "news", &message]) == ":0" {
            break;
        }
        let line = client_line(&mut con, "sub");
        if let Some(line) = line {
            let omem = field(&line, "omem");
            if omem > 2 << 20 {
                // What waits for the subscriber is in its tot-mem and in used_memory.
                assert!(field(&line, "tot-mem") >= omem, "{line}");
                let clients = info_int(&mut con, "memory", "mem_clients_normal");
                assert!(clients as usize >= omem + before as usize / 2, "{clients} < {omem}");
                counted = true;
            }
        }
    }
    assert!(counted, "the backlog never showed in omem");
    assert!(wait_until(Duration::from_secs(2), || client_line(&mut con, "sub").is_none()), "subscriber never closed");
    assert_eq!(publisher.call(&["PUBLISH", "news", "x"]), ":0");
    // Its memory is given back.
    let after = info_int(&mut con, "memory", "mem_clients_normal");
    assert!(after < before + (1 << 20), "{after} vs {before}");
    assert!(info_int(&mut con, "stats", "client_output_buffer_limit_disconnections") >= 1);
}

#[test]
fn a_client_that_never_reads_is_not_read_past_the_backpressure_limit() {
    let server = Server::start(&["--client-output-backpressure-limit", "1mb"]);
    let mut con = server.conn();
    let value = "v".repeat(100 * 1024);
    let _: () = ok(&mut con, &["SET", "k", &value]);
    let mut s = deaf_client(&server);
    s.write_all(b"CLIENT SETNAME deaf\r\n").unwrap();
    // 50 MB of replies asked for; the server holds about a megabyte of them.
    let requests = 500;
    let writer = {
        let mut s = s.try_clone().unwrap();
        std::thread::spawn(move || {
            for _ in 0..requests {
                s.write_all(b"GET k\r\n").unwrap();
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let line = client_line(&mut con, "deaf").expect("still connected");
    assert!(field(&line, "omem") <= (1 << 20) + 200 * 1024, "{line}");
    assert!(info_int(&mut con, "memory", "mem_clients_normal") < 4 << 20);
    // Once it reads, every reply arrives, in full.
    let expected = b"+OK\r\n".len() + requests * format!("${}\r\n{value}\r\n", value.len()).len();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0;
    while total < expected {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {total} of {expected} bytes");
        total += n;
    }
    writer.join().unwrap();
    assert_eq!(total, expected);
}

#[test]
fn query_buffers_count_in_used_memory_and_client_list() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let used_before = info_int(&mut con, "memory", "used_memory");
    let clients_before = info_int(&mut con, "memory", "mem_clients_normal");
    assert!(clients_before > 0, "the connected client holds buffers");
    let mut s = deaf_client(&server);
    s.write_all(b"CLIENT SETNAME big\r\n").unwrap();
    let part = 3_000_000;
    s.write_all(format!("*2\r\n$3\r\nGET\r\n${}\r\n", 5_000_000).as_bytes()).unwrap();
    s.write_all(&vec![b'q'; part]).unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || client_line(&mut con, "big").is_some_and(|l| field(&l, "qbuf") >= part))
    );
    let line = client_line(&mut con, "big").unwrap();
    assert!(field(&line, "tot-mem") >= part, "{line}");
    let clients = info_int(&mut con, "memory", "mem_clients_normal");
    let used = info_int(&mut con, "memory", "used_memory");
    assert!(clients >= clients_before + part as i64, "{clients}");
    assert!(used >= used_before + part as i64, "{used} vs {used_before}");
    // Not attributed to any tenant.
    let tenants: String = ok(&mut con, &["INFO", "tenants"]);
    assert!(!tenants.contains("used_memory=3"), "{tenants}");
    drop(s);
    assert!(wait_until(Duration::from_secs(2), || info_int(&mut con, "memory", "mem_clients_normal")
        < clients_before + (1 << 20)));
}

#[test]
fn subscriptions_count_in_client_memory() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let before = info_int(&mut con, "memory", "mem_clients_normal");
    let mut sub = Raw::connect(&server);
    let channels: Vec<String> = (0..10_000).map(|i| format!("channel:{i}")).collect();
    let mut args = vec!["SUBSCRIBE"];
    args.extend(channels.iter().map(String::as_str));
    sub.send(&args);
    for _ in 0..channels.len() {
        sub.read();
    }
    let after = info_int(&mut con, "memory", "mem_clients_normal");
    assert!(after >= before + 10_000 * 100, "{after} vs {before}");
    sub.send(&["UNSUBSCRIBE"]);
    for _ in 0..channels.len() {
        sub.read();
    }
    assert_eq!(sub.call(&["PING"]), "+PONG");
    let unsubscribed = info_int(&mut con, "memory", "mem_clients_normal");
    assert!(unsubscribed < before + 10_000 * 100 / 2, "{unsubscribed} vs {before}");
}

#[test]
fn client_output_buffers_make_keys_evicted_at_maxmemory() {
    let server = Server::start(&["--maxmemory", "11mb", "--maxmemory-policy", "allkeys-lru"]);
    let mut con = server.conn();
    let value = "x".repeat(100_000);
    for i in 0..50 {
        let _: () = ok(&mut con, &["SET", &i.to_string(), &value]);
    }
    // 20 clients ask for 3 MB each and never read.
    let mut clients: Vec<TcpStream> = (0..20).map(|_| deaf_client(&server)).collect();
    for c in &mut clients {
        for _ in 0..30 {
            c.write_all(b"MGET 1\r\n").unwrap();
        }
    }
    assert!(wait_until(Duration::from_secs(5), || info_int(&mut con, "stats", "evicted_keys") > 0), "no key evicted");
    let dbsize: i64 = ok(&mut con, &["DBSIZE"]);
    assert!(dbsize < 50);
    assert_eq!(info_int(&mut con, "stats", "evicted_clients"), 0);
}

#[test]
fn maxmemory_clients_evicts_the_largest_clients_first() {
    let server = Server::start(&["--maxmemory-clients", "3mb"]);
    let mut con = server.conn();
    let _: () = ok(&mut con, &["CLIENT", "NO-EVICT", "on"]);
    let partial = |name: &str, bytes: usize| {
        let mut s = deaf_client(&server);
        s.write_all(format!("CLIENT SETNAME {name}\r\n*2\r\n$3\r\nGET\r\n${}\r\n", bytes + 1).as_bytes()).unwrap();
        // The server may evict the client before it has taken all of it: the write then fails.
        let _ = s.write_all(&vec![b'q'; bytes]);
        s
    };
    let _small = partial("small", 1 << 20);
    assert!(wait_until(Duration::from_secs(2), || client_line(&mut con, "small")
        .is_some_and(|l| field(&l, "qbuf") >= 1 << 20)));
    let mut large = partial("large", 2 << 20);
    // Together over 3 MB: the larger one goes (after the reply to its CLIENT SETNAME).
    assert!(read_to_close(&mut large) <= b"+OK\r\n".len());
    assert!(client_line(&mut con, "large").is_none());
    assert!(client_line(&mut con, "small").is_some());
    assert_eq!(info_int(&mut con, "stats", "evicted_clients"), 1);

    // A NO-EVICT client is never chosen, however large.
    let mut exempt = deaf_client(&server);
    exempt.write_all(b"CLIENT NO-EVICT on\r\nCLIENT SETNAME exempt\r\n").unwrap();
    exempt.write_all(format!("*2\r\n$3\r\nGET\r\n${}\r\n", 4 << 20).as_bytes()).unwrap();
    exempt.write_all(&vec![b'q'; 3 << 20]).unwrap();
    assert!(wait_until(Duration::from_secs(3), || client_line(&mut con, "exempt")
        .is_some_and(|l| field(&l, "qbuf") >= 3 << 20)));
    // ... so the others go instead.
    assert!(wait_until(Duration::from_secs(2), || client_line(&mut con, "small").is_none()));
    assert!(client_line(&mut con, "exempt").is_some());
    drop(exempt);
    // Its memory counts until the server has seen it close: the next client must not race it.
    assert!(wait_until(Duration::from_secs(3), || client_line(&mut con, "exempt").is_none()));

    // A percentage of maxmemory; lowering the limit evicts at once.
    let _small = partial("again", 1 << 20);
    assert!(wait_until(Duration::from_secs(2), || client_line(&mut con, "again")
        .is_some_and(|l| field(&l, "qbuf") >= 1 << 20)));
    let _: () = ok(&mut con, &["CONFIG", "SET", "maxmemory", "100mb"]);
    let _: () = ok(&mut con, &["CONFIG", "SET", "maxmemory-clients", "1%"]);
    assert!(client_line(&mut con, "again").is_none());
    let _: () = ok(&mut con, &["CONFIG", "SET", "maxmemory-clients", "0"]);
    let limit: Vec<String> = ok(&mut con, &["CONFIG", "GET", "maxmemory-clients"]);
    assert_eq!(limit, ["maxmemory-clients", "0"]);
}

#[test]
fn a_huge_count_reply_stops_at_the_output_limit() {
    let server = Server::start(&["--client-output-buffer-limit", "normal", "1mb", "0", "0"]);
    let mut con = server.conn();
    let _: () = ok(&mut con, &["HSET", "h", "a", "b"]);
    let _: () = ok(&mut con, &["SADD", "s", "a"]);
    let _: () = ok(&mut con, &["ZADD", "z", "1", "a"]);
    for cmd in ["HRANDFIELD h -999999999", "SRANDMEMBER s -999999999", "ZRANDMEMBER z -999999999"] {
        let mut s = deaf_client(&server);
        s.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        assert_eq!(read_to_close(&mut s), 0, "{cmd}");
    }
    assert_eq!(info_int(&mut con, "stats", "client_output_buffer_limit_disconnections"), 3);
    let pong: String = ok(&mut con, &["PING"]);
    assert_eq!(pong, "PONG");
}
