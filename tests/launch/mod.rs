//! Starts the server binary with an exact command line (no flags added), environment and
//! standard input, and collects its log from standard output or standard error: for the
//! tests of command lines, config files and the startup log. Each server runs in a scratch
//! working directory of its own, so the default `dir ./` keeps snapshots out of the repository.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which stream carries the log.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LogOn {
    Stdout,
    Stderr,
}

/// A started server (killed when dropped) and its log so far.
pub struct Launched {
    pub child: Child,
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    /// The server's working directory, removed after the server is stopped.
    pub scratch: Scratch,
}

/// A working directory of its own under the system's temporary directory, removed when dropped.
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("tenantcache-launch-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a scratch directory");
        Scratch(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How to start the binary.
pub struct Launch {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<String>,
    log_on: LogOn,
}

impl Launch {
    pub fn new(args: &[&str]) -> Launch {
        Launch {
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            stdin: None,
            log_on: LogOn::Stdout,
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Launch {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stdin(mut self, text: &str) -> Launch {
        self.stdin = Some(text.into());
        self
    }

    pub fn log_on(mut self, on: LogOn) -> Launch {
        self.log_on = on;
        self
    }

    fn spawn(&self) -> (Child, Scratch) {
        let scratch = Scratch::new();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenantcache"));
        cmd.current_dir(&scratch.0)
            .args(&self.args)
            .envs(self.env.iter().cloned())
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start tenantcache");
        if let Some(text) = &self.stdin {
            let mut input = child.stdin.take().expect("stdin");
            input.write_all(text.as_bytes()).expect("write stdin");
        }
        (child, scratch)
    }

    /// Runs a server that must fail to start; returns its exit code, stdout and stderr.
    pub fn fails(&self) -> (Option<i32>, String, String) {
        let (child, _scratch) = self.spawn();
        let out = child.wait_with_output().expect("wait");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }

    /// Starts a server and waits (up to 10 s) for its ready line; panics with the log if it exits.
    pub fn start(&self) -> Launched {
        let (mut child, scratch) = self.spawn();
        let (log, other) = match self.log_on {
            LogOn::Stdout => (pipe_lines(child.stdout.take().unwrap()), pipe_lines(child.stderr.take().unwrap())),
            LogOn::Stderr => (pipe_lines(child.stderr.take().unwrap()), pipe_lines(child.stdout.take().unwrap())),
        };
        let lines = Arc::new(Mutex::new(Vec::new()));
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            match log.recv_timeout(wait) {
                Ok(line) => {
                    lines.lock().unwrap().push(line.clone());
                    if let Some((_, p)) = line.split_once("Ready to accept connections tcp port ") {
                        break p.trim().parse().expect("port");
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let rest: Vec<String> = other.try_iter().collect();
                    panic!("no ready line; log: {:#?}; other stream: {rest:#?}", lines.lock().unwrap());
                }
            }
        };
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in log {
                sink.lock().unwrap().push(line);
            }
        });
        std::thread::spawn(move || for _ in other {});
        Launched { child, port, lines, scratch }
    }
}

fn pipe_lines<R: std::io::Read + Send + 'static>(stream: R) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

impl Launched {
    /// The log lines read so far.
    pub fn log(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) for a log line containing `text`.
    pub fn wait_for_line(&self, text: &str) -> String {
        for _ in 0..500 {
            if let Some(l) = self.log().into_iter().find(|l| l.contains(text)) {
                return l;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("no log line with {text:?}: {:#?}", self.log());
    }

    pub fn conn(&self) -> redis::Connection {
        self.conn_with_password(None)
    }

    pub fn conn_with_password(&self, password: Option<&str>) -> redis::Connection {
        let url = match password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        };
        redis::Client::open(url).unwrap().get_connection().expect("connect")
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `CONFIG GET name` (exact name) → its value.
pub fn config_get(con: &mut redis::Connection, name: &str) -> String {
    let pairs: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(con).unwrap();
    assert_eq!(pairs.len(), 2, "CONFIG GET {name}: {pairs:?}");
    pairs[1].clone()
}
