//! The HTTP side of the metrics endpoint: a listener on `metrics-port`, and the same
//! exchange on the main port when a connection opens with an HTTP request line, so that
//! `curl localhost:6379/metrics` works too.
//!
//! One request per connection (`Connection: close`): scrapes are a few per minute, and a
//! minimal HTTP/1.1 exchange keeps this free of a web framework.

use crate::server::Shared;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// Largest request head read; anything longer is answered with 431 and closed.
const MAX_HEAD: usize = 8192;
/// Time a client gets to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Methods the endpoint answers, as they open a request line.
const METHODS: [&[u8]; 2] = [b"GET /", b"HEAD /"];

/// Starts the metrics listeners on `metrics-port` at the `bind` addresses (none if it is 0).
/// A port already taken is reported and skipped: metrics never keep the cache from serving.
pub fn start(shared: &Arc<Shared>, bind: &str) {
    let port = shared.config.read().get_u64("metrics-port") as u16;
    if port == 0 {
        return;
    }
    for (addr, optional) in crate::server::listen_addresses(bind, port) {
        match crate::server::bind_listener(addr) {
            Ok(listener) => {
                tracing::info!("metrics on http://{addr}/metrics");
                tokio::spawn(accept_loop(shared.clone(), listener));
            }
            Err(e) if optional => tracing::debug!("no metrics listener on {addr}: {e}"),
            Err(e) => tracing::warn!("no metrics listener on {addr}: {e}"),
        }
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((mut socket, _)) => {
                let shared = shared.clone();
                tokio::spawn(async move { exchange(&shared, &mut socket, Vec::new()).await });
            }
            Err(e) => {
                tracing::warn!("metrics accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// What the first bytes of a main-port connection are.
#[derive(Debug, PartialEq, Eq)]
pub enum Sniff {
    /// RESP or an inline command: serve it as a Redis client.
    NotHttp,
    /// An HTTP request line (`GET /metrics HTTP/1.1`): answer over HTTP.
    Http,
    /// Could still be either: read more first.
    NeedMore,
}

/// Classifies the first bytes of a connection. Only a complete line of the form
/// `GET|HEAD /path HTTP/1.x` is HTTP: `GET /key` without the version is the inline command.
pub fn sniff(buf: &[u8]) -> Sniff {
    let Some(method) = METHODS.iter().find(|m| buf.starts_with(m) || m.starts_with(buf)) else {
        return Sniff::NotHttp;
    };
    if buf.len() < method.len() {
        return Sniff::NeedMore;
    }
    match buf.iter().take(MAX_HEAD).position(|&b| b == b'\n') {
        Some(end) => {
            let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
            if line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0") {
                Sniff::Http
            } else {
                Sniff::NotHttp
            }
        }
        None if buf.len() < MAX_HEAD => Sniff::NeedMore,
        None => Sniff::NotHttp,
    }
}

/// Reads the rest of the request head (`head` holds what was read already), answers it and
/// returns; the caller closes the connection.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(shared: &Shared, stream: &mut S, mut head: Vec<u8>) {
    let read_head = async {
        let mut chunk = [0u8; 2048];
        loop {
            if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
                return true;
            }
            if head.len() > MAX_HEAD {
                return false;
            }
            match stream.read(&mut chunk).await {
                // A client that sent its request line and closed its side still gets an answer.
                Ok(0) | Err(_) => return head.contains(&b'\n'),
                Ok(n) => head.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let complete = tokio::time::timeout(READ_TIMEOUT, read_head).await.unwrap_or(false);
    let response = if complete {
        respond(shared, &head)
    } else if head.len() > MAX_HEAD {
        plain(431, "Request Header Fields Too Large", "")
    } else {
        plain(408, "Request Timeout", "")
    };
    let _ = stream.write_all(&response).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

/// The full response to a request head.
fn respond(shared: &Shared, head: &[u8]) -> Vec<u8> {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let line = String::from_utf8_lossy(&head[..line_end]);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return plain(405, "Method Not Allowed", "only GET and HEAD are served\n");
    }
    match path {
        "/metrics" => {
            let body = super::render(shared);
            response(200, "OK", super::CONTENT_TYPE, body.as_bytes(), head_only)
        }
        "/" => response(200, "OK", "text/plain; charset=utf-8", b"tenantcache: metrics at /metrics\n", head_only),
        _ => plain(404, "Not Found", "not found: metrics are at /metrics\n"),
    }
}

fn plain(status: u16, reason: &str, body: &str) -> Vec<u8> {
    response(status, reason, "text/plain; charset=utf-8", body.as_bytes(), false)
}

fn response(status: u16, reason: &str, content_type: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), Sniff::Http);
        assert_eq!(sniff(b"HEAD / HTTP/1.0\r\n"), Sniff::Http);
        assert_eq!(sniff(b"GET /metrics\r\n"), Sniff::NotHttp);
        assert_eq!(sniff(b"GET /metr"), Sniff::NeedMore);
        assert_eq!(sniff(b"GE"), Sniff::NeedMore);
        assert_eq!(sniff(b"GET key\r\n"), Sniff::NotHttp);
        assert_eq!(sniff(b"*1\r\n$4\r\nPING\r\n"), Sniff::NotHttp);
        assert_eq!(sniff(b"PING\r\n"), Sniff::NotHttp);
    }
}
