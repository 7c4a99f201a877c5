//! Load generator for the REST API (`scripts/bench-rest.sh`): N kept-alive connections, each
//! on its own thread, sending one pre-built `POST /pipeline` of `--batch` GETs after another
//! and reading each response by its Content-Length. The request bytes are built once and the
//! response is only scanned for its head, so the generator costs little next to the server.
//!
//!   cargo run --release --example rest_load -- --port 6379 --token TOKEN \
//!       [--connections 16] [--seconds 10] [--batch 100] [--keys 100]
//!
//! Prints `requests,N`, `gets_per_sec,N` and `p50_ms`/`p99_ms` of a request, comma-separated.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, "--port", "6379").parse().expect("--port");
    let token = arg(&args, "--token", "");
    let connections: usize = arg(&args, "--connections", "16").parse().expect("--connections");
    let seconds: u64 = arg(&args, "--seconds", "10").parse().expect("--seconds");
    let batch: usize = arg(&args, "--batch", "100").parse().expect("--batch");
    let keys: usize = arg(&args, "--keys", "100").parse().expect("--keys");

    let commands: Vec<String> = (0..batch).map(|i| format!("[\"get\",\"key:{}\"]", i % keys)).collect();
    let body = format!("[{}]", commands.join(","));
    let request = Arc::new(
        format!(
            "POST /pipeline HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let (request, stop) = (request.clone(), stop.clone());
            std::thread::spawn(move || run_connection(port, &request, &stop))
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut latencies: Vec<Duration> = Vec::new();
    for t in threads {
        latencies.extend(t.join().expect("load thread"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!("requests,{}", latencies.len());
    println!("gets_per_sec,{:.0}", latencies.len() as f64 * batch as f64 / elapsed);
    println!("p50_ms,{:.3}", ms(pct(0.50)));
    println!("p99_ms,{:.3}", ms(pct(0.99)));
}

/// Sends the request over and over on one connection until `stop`; the latency of each.
fn run_connection(port: u16, request: &[u8], stop: &AtomicBool) -> Vec<Duration> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut body = Vec::new();
    let mut latencies = Vec::new();
    let mut line = String::new();
    let mut checked = false;
    while !stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        writer.write_all(request).expect("send");
        line.clear();
        reader.read_line(&mut line).expect("status line");
        assert!(line.starts_with("HTTP/1.1 200"), "unexpected response: {line}");
        let mut length = 0;
        loop {
            line.clear();
            reader.read_line(&mut line).expect("header");
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                length = v.trim().parse().expect("Content-Length");
            }
        }
        body.resize(length, 0);
        reader.read_exact(&mut body).expect("body");
        if !checked {
            // The keys hold values: a pipeline of nulls would measure misses.
            assert!(body.starts_with(b"[{\"result\":\""), "{}", String::from_utf8_lossy(&body[..body.len().min(200)]));
            checked = true;
        }
        latencies.push(sent.elapsed());
    }
    latencies
}
