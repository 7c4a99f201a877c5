//! Test harness: starts the real server binary on an ephemeral port and connects real clients.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running server, stopped when dropped.
pub struct Server {
    pub port: u16,
    child: Child,
}

impl Server {
    /// Starts the server with extra `--directive value` arguments.
    pub fn start(args: &[&str]) -> Server {
        Server::spawn(None, args)
    }

    /// Starts the server with a config file; port, bind and loglevel flags override the file's.
    pub fn start_with_config(path: &str, args: &[&str]) -> Server {
        Server::spawn(Some(path), args)
    }

    fn spawn(config_file: Option<&str>, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tenantcache"))
            .args(config_file)
            .args(["--port", "0", "--bind", "127.0.0.1", "--loglevel", "warning"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tenantcache");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            let line = lines.next().expect("server exited before it was ready").expect("read stdout");
            if let Some(p) = line.strip_prefix("Ready to accept connections tcp port ") {
                break p.trim().parse().expect("port");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { port, child }
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
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(wait)).unwrap();
        s.write_all(bytes).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
