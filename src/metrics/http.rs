//! The HTTP side of the metrics endpoint: a listener on `metrics-port` (at `metrics-bind`,
//! loopback by default), and the same exchange on the main port when a connection opens
//! with an HTTP request line, so that `curl localhost:6379/metrics` works too.
//!
//! On the main port, with `requirepass` set, every request needs the password: HTTP Basic
//! (any user name) or `Authorization: Bearer <password>`; without it the answer is 401.
//! The main port never runs HTTP as commands: an HTTP request line opens an HTTP exchange,
//! and `POST`/`Host:` lines are refused by the connection as cross-protocol requests —
//! except the authenticated calls of the REST API (see `crate::rest`) once tokens exist.
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

/// Realm named in the 401 challenge.
const REALM: &str = "tenantcache";

/// Where a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The `metrics-port` listener: open (it binds to loopback unless configured otherwise).
    MetricsPort,
    /// The main port: with `requirepass` set, only with the password.
    MainPort,
}

/// Starts the metrics listeners on `metrics-port` at the `metrics-bind` addresses (none if
/// the port is 0). A port already taken is reported and skipped: metrics never keep the
/// cache from serving.
pub fn start(shared: &Arc<Shared>) {
    let (port, bind) = {
        let config = shared.config.read();
        (config.get_u64("metrics-port") as u16, config.get("metrics-bind").to_string())
    };
    if port == 0 {
        return;
    }
    for (addr, optional) in crate::server::listen_addresses(&bind, port) {
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
                tokio::spawn(async move { exchange(&shared, &mut socket, Vec::new(), Origin::MetricsPort).await });
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
/// `METHOD target HTTP/1.x` (an upper-case method) is HTTP: `GET /key` without the version
/// is the inline command. `POST` is left to the connection, which refuses it as a
/// cross-protocol request, as Redis does, unless `post_is_http` (the REST API is on: the
/// connection hands it a well-formed request line); other methods get 405 from [`exchange`].
pub fn sniff(buf: &[u8], post_is_http: bool) -> Sniff {
    let method_len = buf.iter().take_while(|b| b.is_ascii_uppercase()).count();
    if method_len == 0 || (!post_is_http && buf.starts_with(b"POST")) {
        return Sniff::NotHttp;
    }
    if method_len == buf.len() {
        return Sniff::NeedMore;
    }
    if buf[method_len] != b' ' {
        return Sniff::NotHttp;
    }
    match memchr::memchr(b'\n', &buf[..buf.len().min(MAX_HEAD)]) {
        Some(end) => {
            let line = buf[..end].strip_suffix(b"\r").unwrap_or(&buf[..end]);
            let mut words = line.split(|&b| b == b' ');
            let (_, target, version) = (words.next(), words.next(), words.next());
            let is_request = target.is_some_and(|t| !t.is_empty())
                && matches!(version, Some(b"HTTP/1.1" | b"HTTP/1.0"))
                && words.next().is_none();
            if is_request {
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
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    shared: &Shared,
    stream: &mut S,
    mut head: Vec<u8>,
    origin: Origin,
) {
    let read_head = async {
        let mut chunk = [0u8; 2048];
        loop {
            if memchr::memmem::find(&head, b"\r\n\r\n").is_some() || memchr::memmem::find(&head, b"\n\n").is_some() {
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
        let password = match origin {
            Origin::MainPort => shared.settings.requirepass.read().clone(),
            Origin::MetricsPort => None,
        };
        match password {
            Some(password) if !authorized(&head, password.as_bytes()) => unauthorized(),
            _ => respond(shared, &head),
        }
    } else if head.len() > MAX_HEAD {
        plain(431, "")
    } else {
        plain(408, "")
    };
    let _ = stream.write_all(&response).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

/// The full response to a request head.
fn respond(shared: &Shared, head: &[u8]) -> Vec<u8> {
    let line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let line = String::from_utf8_lossy(&head[..line_end]);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        return plain(405, "only GET and HEAD are served\n");
    }
    match path {
        "/metrics" => {
            let body = super::render(shared);
            response(200, super::CONTENT_TYPE, body.as_bytes(), head_only)
        }
        "/" => response(200, "text/plain; charset=utf-8", b"tenantcache: metrics at /metrics\n", head_only),
        _ => plain(404, "not found: metrics are at /metrics\n"),
    }
}

/// Whether the head carries the password: `Authorization: Basic base64(user:password)` with
/// any user name (AUTH's "default" or another), or `Authorization: Bearer <password>`.
fn authorized(head: &[u8], password: &[u8]) -> bool {
    head.split(|&b| b == b'\n').skip(1).any(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        if !line[..colon].eq_ignore_ascii_case(b"authorization") {
            return false;
        }
        let value = line[colon + 1..].trim_ascii();
        let Some(space) = value.iter().position(|&b| b == b' ') else {
            return false;
        };
        let (scheme, credential) = (&value[..space], value[space + 1..].trim_ascii());
        if scheme.eq_ignore_ascii_case(b"bearer") {
            return crate::util::same_secret(credential, password);
        }
        if !scheme.eq_ignore_ascii_case(b"basic") {
            return false;
        }
        let Some(decoded) = base64_decode(credential) else {
            return false;
        };
        match decoded.iter().position(|&b| b == b':') {
            Some(colon) => crate::util::same_secret(&decoded[colon + 1..], password),
            None => false,
        }
    })
}

/// Standard base64 (RFC 4648, padding optional); `None` for anything else.
fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let text = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(text);
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for group in text.chunks(4) {
        let mut bits = 0u32;
        for &c in group {
            bits = bits << 6 | sextet(c)?;
        }
        bits <<= 6 * (4 - group.len() as u32);
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    Some(out)
}

fn unauthorized() -> Vec<u8> {
    let challenge = format!("WWW-Authenticate: Basic realm=\"{REALM}\", charset=\"UTF-8\"\r\n");
    let body = b"authentication required: the password of requirepass, as HTTP Basic or Bearer\n";
    crate::rest::http::plain_response(401, "text/plain; charset=utf-8", &challenge, body, false, false)
}

fn plain(status: u16, body: &str) -> Vec<u8> {
    response(status, "text/plain; charset=utf-8", body.as_bytes(), false)
}

/// One response per connection (`Connection: close`), written as the REST API writes its.
fn response(status: u16, content_type: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    crate::rest::http::plain_response(status, content_type, "", body, false, head_only)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", false), Sniff::Http);
        assert_eq!(sniff(b"HEAD / HTTP/1.0\r\n", false), Sniff::Http);
        assert_eq!(sniff(b"GET /metrics\r\n", false), Sniff::NotHttp);
        assert_eq!(sniff(b"GET /metr", false), Sniff::NeedMore);
        assert_eq!(sniff(b"GE", false), Sniff::NeedMore);
        assert_eq!(sniff(b"GET key\r\n", false), Sniff::NotHttp);
        assert_eq!(sniff(b"*1\r\n$4\r\nPING\r\n", false), Sniff::NotHttp);
        assert_eq!(sniff(b"PING\r\n", false), Sniff::NotHttp);
        assert_eq!(sniff(b"DELETE /x HTTP/1.1\r\n", false), Sniff::Http);
        assert_eq!(sniff(b"POST / HTTP/1.1\r\n", false), Sniff::NotHttp);
        assert_eq!(sniff(b"SET a b\r\n", false), Sniff::NotHttp);
        assert_eq!(sniff(b"PIN", false), Sniff::NeedMore);
        assert_eq!(sniff(b"POST /pipeline HTTP/1.1\r\n", true), Sniff::Http);
        assert_eq!(sniff(b"POST key\r\n", true), Sniff::NotHttp);
    }

    #[test]
    fn credentials() {
        assert_eq!(base64_decode(b"ZGVmYXVsdDpzM2NyZXQ=").unwrap(), b"default:s3cret");
        assert_eq!(base64_decode(b"YTpi").unwrap(), b"a:b");
        assert_eq!(base64_decode(b"YQ").unwrap(), b"a");
        assert!(base64_decode(b"Y").is_none());
        assert!(base64_decode(b"a:b").is_none());
        let head = |auth: &str| format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}\r\n\r\n").into_bytes();
        assert!(authorized(&head("Authorization: Basic ZGVmYXVsdDpzM2NyZXQ="), b"s3cret"));
        assert!(authorized(&head("authorization: basic OnMzY3JldA=="), b"s3cret"));
        assert!(authorized(&head("Authorization: Bearer s3cret"), b"s3cret"));
        assert!(!authorized(&head("Authorization: Bearer s3cre"), b"s3cret"));
        assert!(!authorized(&head("Authorization: Basic ZGVmYXVsdDpzM2NyZXQ"), b"s3cre"));
        assert!(!authorized(&head("X-Authorization: Bearer s3cret"), b"s3cret"));
        assert!(!authorized(&head(""), b"s3cret"));
    }
}
