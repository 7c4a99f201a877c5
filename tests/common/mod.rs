//! Test harness: starts the real server binary on an ephemeral port and connects real clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running server, stopped when dropped.
pub struct Server {
    pub port: u16,
    child: Child,
    /// The server's own scratch directory: its working directory and its `dir`, so the
    /// snapshots of the default save points (or a SHUTDOWN) never land in the repository.
    scratch: ScratchDir,
}

/// A directory of its own under the system's temporary directory, removed when dropped.
pub struct ScratchDir(pub std::path::PathBuf);

impl ScratchDir {
    /// A new, empty directory named after `purpose`, this test process and a counter.
    pub fn new(purpose: &str) -> ScratchDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("tenantcache-{purpose}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a scratch directory");
        ScratchDir(path)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary directory")
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `f` every 20 ms for up to `secs` seconds; fails the test naming `what` if it
/// never holds.
pub fn wait_for(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

/// Runs the server with `args` expecting it to refuse to start (a bad file, a bad
/// directive); returns what it printed. Fails the test if it is still up after 10 seconds.
pub fn failed_start(args: &[&str]) -> String {
    use std::time::{Duration, Instant};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenantcache"))
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

impl Server {
    /// Starts the server with extra `--directive value` arguments.
    pub fn start(args: &[&str]) -> Server {
        Server::spawn(None, args, None)
    }

    /// Starts the server and hands over its log: every line after the ready line.
    pub fn start_with_log(args: &[&str]) -> (Server, std::sync::mpsc::Receiver<String>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (Server::spawn(None, args, Some(tx)), rx)
    }

    /// Starts the server with a config file; port, bind and loglevel flags override the file's.
    pub fn start_with_config(path: &str, args: &[&str]) -> Server {
        Server::spawn(Some(path), args, None)
    }

    fn spawn(config_file: Option<&str>, args: &[&str], log: Option<std::sync::mpsc::Sender<String>>) -> Server {
        let scratch = ScratchDir::new("server");
        // The test's own `--dir`, coming later, wins; a config file's `dir` is left to the file
        // (a relative one resolves in the scratch directory, the working directory).
        let dir: &[&str] = if config_file.is_none() { &["--dir", scratch.path()] } else { &[] };
        let mut child = Command::new(env!("CARGO_BIN_EXE_tenantcache"))
            .current_dir(&scratch.0)
            .args(config_file)
            .args(["--port", "0", "--bind", "127.0.0.1", "--loglevel", "warning"])
            .args(dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tenantcache");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = lines.next().expect("server exited before it was ready").expect("read stdout");
            // A Redis-format log line: `pid:M date time * Ready to accept connections tcp port N`.
            if let Some((_, p)) = line.split_once("Ready to accept connections tcp port ") {
                break p.trim().parse().expect("port");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some(tx) = &log {
                    let _ = tx.send(line);
                }
            }
        });
        Server { port, child, scratch }
    }

    /// The server's scratch directory (its working directory, and its `dir` unless the test
    /// or a config file names one).
    pub fn scratch(&self) -> &std::path::Path {
        &self.scratch.0
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("client")
    }

    /// A synchronous connection.
    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().expect("connect")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends raw bytes on a fresh TCP connection and returns everything read until the server
    /// closes the connection or `wait` passes.
    pub fn raw(&self, bytes: &[u8], wait: std::time::Duration) -> Vec<u8> {
        self.exchange(bytes, wait).0
    }

    /// Sends raw bytes on a fresh TCP connection; returns what was read and whether the server
    /// closed the connection (rather than `wait` passing). The server may close before taking
    /// everything: a failed write is part of the answer.
    pub fn exchange(&self, bytes: &[u8], wait: std::time::Duration) -> (Vec<u8>, bool) {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(wait)).unwrap();
        let _ = s.write_all(bytes);
        read_until_close(&mut s)
    }
}

/// Reads until the peer closes (true) or the socket's read timeout passes (false).
pub fn read_until_close(s: &mut std::net::TcpStream) -> (Vec<u8>, bool) {
    use std::io::Read;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // Closed with input of ours unread: the kernel resets the connection.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
            Err(_) => break false,
        }
    };
    (out, closed)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ----- Command helpers over a `redis` crate connection -----

use redis::{Connection, Value};
use std::io::{Read, Write};
use std::time::Duration;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Runs a command given as words and returns the raw reply.
pub fn run(con: &mut Connection, words: &[&str]) -> redis::RedisResult<Value> {
    let mut cmd = redis::cmd(words[0]);
    for w in &words[1..] {
        cmd.arg(*w);
    }
    cmd.query(con)
}

/// Runs a command that must succeed and converts its reply.
pub fn ok<T: redis::FromRedisValue>(con: &mut Connection, words: &[&str]) -> T {
    let v = run(con, words).unwrap_or_else(|e| panic!("{words:?} failed: {e}"));
    redis::from_redis_value(&v).unwrap_or_else(|e| panic!("{words:?} gave {v:?}: {e}"))
}

/// Runs a command that must fail and returns the full error line (`ERR syntax error`).
pub fn err(con: &mut Connection, words: &[&str]) -> String {
    match run(con, words) {
        Ok(v) => panic!("{words:?} succeeded with {v:?}"),
        Err(e) => format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")),
    }
}

/// Runs a command that must answer `+OK`.
pub fn assert_ok(con: &mut Connection, words: &[&str]) {
    assert_eq!(run(con, words).unwrap_or_else(|e| panic!("{words:?} failed: {e}")), Value::Okay, "{words:?}");
}

/// Runs a command whose reply is an array of strings.
pub fn strings(con: &mut Connection, words: &[&str]) -> Vec<String> {
    ok(con, words)
}

/// A reply (of a blocked client, say) as a list of strings.
pub fn bulk_strings(v: Value) -> Vec<String> {
    redis::from_redis_value(&v).unwrap_or_else(|e| panic!("{v:?}: {e}"))
}

/// Asserts that every command in `commands` fails with [`WRONGTYPE`].
pub fn assert_all_wrongtype(con: &mut Connection, commands: &[&[&str]]) {
    for words in commands {
        assert_eq!(err(con, words), WRONGTYPE, "{words:?}");
    }
}

/// Asserts that every command fails with the wrong-arity error naming it (`name`, lowercase).
pub fn assert_all_wrong_arity(con: &mut Connection, cases: &[(&[&str], &str)]) {
    for (words, name) in cases {
        assert_eq!(err(con, words), format!("ERR wrong number of arguments for '{name}' command"));
    }
}

// ----- INFO -----

/// The value of `field` in INFO text made of `field:value` lines.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':').map(str::to_string))
}

/// An integer field of `INFO section`.
pub fn info_int(con: &mut Connection, section: &str, field: &str) -> i64 {
    let text: String = ok(con, &["INFO", section]);
    info_field(&text, field)
        .unwrap_or_else(|| panic!("{field} missing from INFO {section}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("INFO {section} {field}: {e}"))
}

/// INFO memory's `used_memory`.
pub fn used_memory(con: &mut Connection) -> i64 {
    info_int(con, "memory", "used_memory")
}

/// INFO clients' `blocked_clients`.
pub fn blocked_clients(con: &mut Connection) -> usize {
    info_int(con, "clients", "blocked_clients") as usize
}

/// Waits (bounded) until `n` clients are blocked.
pub fn wait_blocked(con: &mut Connection, n: usize) {
    for _ in 0..500 {
        if blocked_clients(con) == n {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{n} blocked clients expected, {} found", blocked_clients(con));
}

/// Runs `words` on a fresh connection in a thread (a client that will block).
pub fn spawn_command(server: &Server, words: &[&str]) -> std::thread::JoinHandle<redis::RedisResult<Value>> {
    let mut con = server.conn();
    let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    std::thread::spawn(move || {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        run(&mut con, &words)
    })
}

/// Sends `HELLO 3` and then `commands` (inline) on a fresh connection in a thread; the thread
/// returns the bytes read after HELLO's reply, once they end with `until`.
pub fn spawn_resp3_waiter(
    server: &Server,
    commands: &'static [u8],
    until: &'static [u8],
) -> std::thread::JoinHandle<Vec<u8>> {
    let port = server.port;
    std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"HELLO 3\r\n").unwrap();
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"%"));
        s.write_all(commands).unwrap();
        let mut out = Vec::new();
        while !out.ends_with(until) {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0);
            out.extend_from_slice(&buf[..n]);
        }
        out
    })
}

// ----- Keyspace notifications -----

/// A subscriber to keyspace notifications over its own connection (reads time out after 2 s).
pub struct KeyEvents {
    con: Connection,
}

impl KeyEvents {
    /// Connects and sends `PSUBSCRIBE pattern` (`__keyevent*__:*`, `__key*__:*`).
    pub fn subscribe(server: &Server, pattern: &str) -> KeyEvents {
        let mut con = server.conn();
        redis::cmd("PSUBSCRIBE").arg(pattern).exec(&mut con).unwrap();
        con.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        KeyEvents { con }
    }

    /// The next `n` keyevent messages as `(event, key, db)`; keyspace messages are skipped.
    pub fn next(&mut self, n: usize) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        while out.len() < n {
            let parts: Vec<Value> = match self.con.recv_response().expect("a keyspace event") {
                Value::Array(v) | Value::Push { data: v, .. } => v,
                other => panic!("unexpected {other:?}"),
            };
            let s = |v: &Value| -> String { redis::FromRedisValue::from_redis_value(v).unwrap() };
            if s(&parts[0]) != "pmessage" {
                continue;
            }
            let channel = s(&parts[2]);
            if let Some(rest) = channel.strip_prefix("__keyevent@") {
                let (db, event) = rest.split_once("__:").unwrap();
                out.push((event.to_string(), s(&parts[3]), db.to_string()));
            }
        }
        out
    }
}

// ----- A raw connection, to see exact reply shapes -----

/// A raw connection rendering each reply compactly: `+OK`, `-ERR ..`, `:1`, `"bulk"`,
/// `nil` (RESP2 null), `_` (RESP3 null), `#t`, `,1.5`, and aggregates as `*[..]` arrays,
/// `%[..]` maps (keys and values in a row), `~[..]` sets, `>[..]` pushes.
pub struct Raw {
    reader: std::io::BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl Raw {
    pub fn connect(server: &Server) -> Raw {
        Raw::connect_port(server.port)
    }

    /// A connection to any server on 127.0.0.1 (a [`RedisServer`] too).
    pub fn connect_port(port: u16) -> Raw {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Raw { reader: std::io::BufReader::new(s.try_clone().unwrap()), writer: s }
    }

    pub fn send(&mut self, args: &[&str]) {
        let mut buf = format!("*{}\r\n", args.len());
        for a in args {
            buf.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
        }
        self.writer.write_all(buf.as_bytes()).unwrap();
    }

    /// Sends bytes as they are (inline commands, a hand-built pipeline).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    pub fn read(&mut self) -> String {
        use std::io::BufRead;
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read reply");
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1);
        match kind {
            "$" => {
                let len: i64 = rest.parse().unwrap();
                if len < 0 {
                    return "nil".into();
                }
                let mut data = vec![0; len as usize + 2];
                self.reader.read_exact(&mut data).unwrap();
                format!("{:?}", String::from_utf8_lossy(&data[..len as usize]))
            }
            "*" | ">" | "%" | "~" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return "nil".into();
                }
                let n = if kind == "%" { n * 2 } else { n };
                let items: Vec<String> = (0..n).map(|_| self.read()).collect();
                format!("{kind}[{}]", items.join(","))
            }
            _ => line.to_string(),
        }
    }

    pub fn call(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.read()
    }

    /// Reads raw bytes (what is left after the replies already read); `Ok(0)` once the
    /// server closed the connection.
    pub fn read_raw(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }

    /// True if nothing arrives within `wait`.
    pub fn silent_for(&mut self, wait: Duration) -> bool {
        use std::io::BufRead;
        self.reader.get_ref().set_read_timeout(Some(wait)).unwrap();
        let quiet = self.reader.fill_buf().is_err() && self.reader.buffer().is_empty();
        self.reader.get_ref().set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        quiet
    }
}

/// Debian's redis-server, for tests that check a file or a reply against the real thing.
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// Whether [`REDIS_SERVER`] is installed; prints why a test is skipped when it is not.
pub fn redis_server_present() -> bool {
    let present = std::path::Path::new(REDIS_SERVER).exists();
    if !present {
        println!("skipped: {REDIS_SERVER} is not installed");
    }
    present
}

/// A redis-server on 127.0.0.1 and a free port, without save points or AOF, killed by its
/// PID when dropped.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    log: std::path::PathBuf,
    _scratch: Option<ScratchDir>,
}

impl RedisServer {
    /// A redis-server in a scratch directory of its own.
    pub fn start(extra: &[&str]) -> RedisServer {
        let scratch = ScratchDir::new("redis-server");
        let dir = scratch.0.clone();
        let mut server = RedisServer::start_in(&dir, extra);
        server._scratch = Some(scratch);
        server
    }

    /// A redis-server whose `dir` is `dir` (its dump file `dump.rdb` unless `extra` names
    /// another), logging to `dir/redis.log`.
    pub fn start_in(dir: &std::path::Path, extra: &[&str]) -> RedisServer {
        // A port the system just handed out and took back: free unless another process
        // takes it in the next milliseconds.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.join("redis.log");
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(&log)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let mut server = RedisServer { child, port, log, _scratch: None };
        let client = server.client();
        wait_for(10, "redis-server to answer PING", || {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "redis-server exited ({status}); log:\n{}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
            }
            client.get_connection().is_ok_and(|mut c| redis::cmd("PING").query::<String>(&mut c).is_ok())
        });
        server
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).unwrap()
    }

    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().unwrap()
    }

    /// A connection with database `db` selected.
    pub fn conn_db(&self, db: u32) -> redis::Connection {
        let mut con = self.conn();
        redis::cmd("SELECT").arg(db).exec(&mut con).unwrap();
        con
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small seeded generator (xorshift64*) for randomized tests that print their seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// The seed in environment variable `var`, or one from the clock (never zero).
pub fn seed_from_env(var: &str) -> u64 {
    std::env::var(var).ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
    })
}
