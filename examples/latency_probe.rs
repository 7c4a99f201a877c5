//! Round-trip latency probe: one connection sends `PING` and `GET <key>` alternately, one at a
//! time (no pipelining), and records how long each reply takes, until a stop file appears or a
//! time limit passes. It prints the number of requests measured and the p50, p99, p99.9 and
//! maximum round trip in microseconds, then the slowest round trips with their time into the
//! run, so pauses of the server (a table growing in one step) show up as outliers.
//!
//! ```sh
//! cargo build --release --example latency_probe
//! target/release/examples/latency_probe --port 17000 --stop-file /tmp/stop --max-seconds 120
//! ```
//!
//! The client is std::net with raw RESP, so its own cost per request is a write and a read
//! system call; `scripts/growth-latency.sh` drives it beside a pipelined writer.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Options {
    host: String,
    port: u16,
    key: String,
    stop_file: Option<PathBuf>,
    max_seconds: u64,
    slowest: usize,
}

fn parse_options() -> Options {
    let mut o = Options {
        host: "127.0.0.1".into(),
        port: 6379,
        key: "latency-probe:key".into(),
        stop_file: None,
        max_seconds: 300,
        slowest: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--host" => o.host = value(),
            "--port" => o.port = value().parse().unwrap_or_else(|_| usage("bad --port")),
            "--key" => o.key = value(),
            "--stop-file" => o.stop_file = Some(PathBuf::from(value())),
            "--max-seconds" => o.max_seconds = value().parse().unwrap_or_else(|_| usage("bad --max-seconds")),
            "--slowest" => o.slowest = value().parse().unwrap_or_else(|_| usage("bad --slowest")),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    o
}

fn usage(problem: &str) -> ! {
    eprintln!("latency_probe: {problem}");
    eprintln!(
        "usage: latency_probe [--host H] [--port P] [--key K] [--stop-file PATH] [--max-seconds N] [--slowest N]"
    );
    std::process::exit(2)
}

/// Reads one complete reply (simple string, error, integer or bulk string) into `buf`.
fn read_reply(conn: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(len) = complete_reply_len(buf) {
            if len == buf.len() {
                return Ok(());
            }
            return Err(std::io::Error::other("more than one reply arrived for one request"));
        }
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::other("the server closed the connection"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The length of the reply at the start of `buf`, once all of it is there.
fn complete_reply_len(buf: &[u8]) -> Option<usize> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n")? + 2;
    match buf[0] {
        b'$' => {
            let len: i64 = std::str::from_utf8(&buf[1..line_end - 2]).ok()?.parse().ok()?;
            if len < 0 {
                return Some(line_end);
            }
            let total = line_end + len as usize + 2;
            (buf.len() >= total).then_some(total)
        }
        _ => Some(line_end),
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let o = parse_options();
    let mut conn = TcpStream::connect((o.host.as_str(), o.port)).unwrap_or_else(|e| usage(&format!("connect: {e}")));
    conn.set_nodelay(true).expect("TCP_NODELAY");
    let ping = b"*1\r\n$4\r\nPING\r\n".to_vec();
    let get = format!("*2\r\n$3\r\nGET\r\n${}\r\n{}\r\n", o.key.len(), o.key).into_bytes();
    let mut reply = Vec::with_capacity(64);
    let mut samples: Vec<(u64, u64)> = Vec::with_capacity(1 << 20); // (µs into the run, round trip µs)
    let started = Instant::now();
    let limit = Duration::from_secs(o.max_seconds);
    let mut n: u64 = 0;
    loop {
        // The stop file and the clock are checked between requests, outside the timed part.
        if n.is_multiple_of(256) && (o.stop_file.as_ref().is_some_and(|f| f.exists()) || started.elapsed() >= limit) {
            break;
        }
        let request = if n.is_multiple_of(2) { &ping } else { &get };
        let sent = Instant::now();
        conn.write_all(request).expect("write");
        if let Err(e) = read_reply(&mut conn, &mut reply) {
            eprintln!("latency_probe: {e}");
            std::process::exit(1);
        }
        let rtt = sent.elapsed().as_micros() as u64;
        samples.push(((sent - started).as_micros() as u64, rtt));
        n += 1;
    }
    let mut rtts: Vec<u64> = samples.iter().map(|s| s.1).collect();
    rtts.sort_unstable();
    println!(
        "requests {} p50_us {} p99_us {} p99.9_us {} max_us {}",
        rtts.len(),
        percentile(&rtts, 50.0),
        percentile(&rtts, 99.0),
        percentile(&rtts, 99.9),
        rtts.last().copied().unwrap_or(0)
    );
    samples.sort_unstable_by_key(|s| std::cmp::Reverse(s.1));
    for (at, rtt) in samples.iter().take(o.slowest) {
        println!("slow {rtt} us at {:.3} s", *at as f64 / 1e6);
    }
}
