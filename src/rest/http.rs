//! HTTP/1.1 for the REST API: reading one request (head, then a `Content-Length` body) off
//! a kept-alive connection, with limits, and writing responses.
//!
//! Limits: the head is at most [`MAX_HEAD`] bytes (else 431), the head and body together at
//! most `http-max-request-bytes` (else 413, answered before the body is read, and the
//! connection closed). Bodies come with `Content-Length` or chunked; other
//! `Transfer-Encoding`s are refused with 411. `Expect: 100-continue` is answered so that
//! curl does not wait before sending a large body. Bytes after one request stay in the
//! buffer for the next (pipelined HTTP/1.1).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest request head read.
pub const MAX_HEAD: usize = 16 * 1024;

/// One request.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The path, still percent-encoded (segments are decoded one by one).
    pub path: String,
    /// Query parameters, decoded (`+` is a space), in order.
    pub query: Vec<(Vec<u8>, Vec<u8>)>,
    /// Header names in lower case, values trimmed.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    /// The head as it arrived (handed to the metrics exchange for `/metrics`).
    pub raw_head: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| &v[..])
    }
}

/// Why no request came.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed (or reset) the connection between requests.
    Closed,
    /// A request that gets an error response, after which the connection is closed.
    Refused { status: u16, message: String },
}

fn refused(status: u16, message: impl Into<String>) -> ReadError {
    ReadError::Refused { status, message: message.into() }
}

/// Reads the next request. `buf` holds bytes already read (and keeps those past the request).
/// `max_request` is asked once the head is in (the limit may change while a connection idles).
pub async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    max_request: impl Fn() -> usize,
) -> Result<Request, ReadError> {
    let mut chunk = vec![0u8; 16 * 1024];
    let head_end = loop {
        if let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(refused(431, "request head too large"));
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) if buf.is_empty() => return Err(ReadError::Closed),
            Ok(0) | Err(_) => return Err(refused(400, "incomplete request head")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    if head_end > MAX_HEAD {
        return Err(refused(431, "request head too large"));
    }
    let raw_head = buf[..head_end].to_vec();
    let mut request = parse_head(&raw_head)?;
    match request.header("transfer-encoding") {
        None => {}
        Some(te) if te.eq_ignore_ascii_case(b"chunked") && request.header("content-length").is_none() => {
            let max_request = max_request();
            if request.header("expect").is_some_and(|e| e.eq_ignore_ascii_case(b"100-continue")) {
                let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await;
            }
            let (body, used) = read_chunked(stream, buf, head_end, max_request).await?;
            request.body = body;
            request.raw_head = raw_head;
            buf.drain(..used);
            return Ok(request);
        }
        Some(_) => return Err(refused(411, "a body needs Content-Length or chunked Transfer-Encoding")),
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(v) => std::str::from_utf8(v)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or_else(|| refused(400, "bad Content-Length"))?,
    };
    let max_request = max_request();
    if head_end.saturating_add(length) > max_request {
        return Err(refused(
            413,
            format!(
                "request of {} bytes is over the limit of {max_request} bytes (http-max-request-bytes)",
                head_end + length
            ),
        ));
    }
    if buf.len() < head_end + length
        && request.header("expect").is_some_and(|e| e.eq_ignore_ascii_case(b"100-continue"))
    {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await;
    }
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(refused(400, "incomplete request body")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    request.body = buf[head_end..head_end + length].to_vec();
    request.raw_head = raw_head;
    buf.drain(..head_end + length);
    Ok(request)
}

/// Reads a chunked body starting at `buf[start..]`; returns it and where the request ends in
/// `buf`. The head and the decoded body together stay within `max_request`.
async fn read_chunked(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    start: usize,
    max_request: usize,
) -> Result<(Vec<u8>, usize), ReadError> {
    let mut chunk = vec![0u8; 16 * 1024];
    let mut body = Vec::new();
    let mut at = start;
    // Reads until `buf` holds `n` bytes from `at`, or fails.
    macro_rules! need {
        ($n:expr) => {
            while buf.len() < at + $n {
                if buf.len() - start > max_request + 64 * 1024 {
                    return Err(too_large(max_request));
                }
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return Err(refused(400, "incomplete chunked body")),
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
        };
    }
    loop {
        // The size line: hex digits, maybe `;extensions`.
        let line_end = loop {
            if let Some(i) = memchr::memmem::find(&buf[at..], b"\r\n") {
                break at + i;
            }
            if buf.len() - at > 1024 {
                return Err(refused(400, "bad chunk size line"));
            }
            let have = buf.len() - at;
            need!(have + 1);
        };
        let line = std::str::from_utf8(&buf[at..line_end]).map_err(|_| refused(400, "bad chunk size line"))?;
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| refused(400, "bad chunk size line"))?;
        at = line_end + 2;
        if size == 0 {
            // Trailer fields, ignored, up to the empty line.
            loop {
                let end = loop {
                    if let Some(i) = memchr::memmem::find(&buf[at..], b"\r\n") {
                        break at + i;
                    }
                    let have = buf.len() - at;
                    if have > 8192 {
                        return Err(refused(400, "bad chunk trailer"));
                    }
                    need!(have + 1);
                };
                let empty = end == at;
                at = end + 2;
                if empty {
                    return Ok((body, at));
                }
            }
        }
        if start + body.len() + size > max_request {
            return Err(too_large(max_request));
        }
        need!(size + 2);
        if &buf[at + size..at + size + 2] != b"\r\n" {
            return Err(refused(400, "bad chunk"));
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

fn too_large(max_request: usize) -> ReadError {
    refused(413, format!("request is over the limit of {max_request} bytes (http-max-request-bytes)"))
}

/// Parses the request line and headers.
fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
    let text = std::str::from_utf8(head).map_err(|_| refused(400, "the request head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(refused(400, "bad request line"));
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(refused(400, "bad HTTP version")),
    };
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or_else(|| refused(400, "bad header line"))?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(refused(400, "bad header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().as_bytes().to_vec()));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if !path.starts_with('/') {
        return Err(refused(400, "the request target must be a path"));
    }
    let query = parse_query(query).ok_or_else(|| refused(400, "bad percent-encoding in the query"))?;
    let connection = headers.iter().find(|(n, _)| n == "connection").map(|(_, v)| v.to_ascii_lowercase());
    let keep_alive = match connection.as_deref() {
        Some(b"close") => false,
        Some(b"keep-alive") => true,
        _ => !http10,
    };
    Ok(Request {
        method: method.to_string(),
        path: path.to_string(),
        query,
        headers,
        body: Vec::new(),
        keep_alive,
        raw_head: Vec::new(),
    })
}

fn parse_query(query: &str) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((percent_decode(name.as_bytes(), true)?, percent_decode(value.as_bytes(), true)?));
    }
    Some(out)
}

/// Decodes `%XX` escapes (and `+` as a space in a query); `None` for a bad escape.
pub fn percent_decode(text: &[u8], plus_is_space: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'%' => {
                let hex = std::str::from_utf8(text.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// The reason phrase of the statuses the REST API answers with.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Headers of every REST response: browsers may call the API from any origin (every call
/// carries its token, no cookie is ever involved) and read the sync token.
pub const CORS_HEADERS: &str =
    "Access-Control-Allow-Origin: *\r\nAccess-Control-Expose-Headers: upstash-sync-token\r\n";

/// The answer to a CORS preflight (`OPTIONS`): what a browser may send. It runs nothing.
pub fn preflight_response(keep_alive: bool) -> Vec<u8> {
    let allow = "Access-Control-Allow-Methods: GET, POST, PUT, HEAD\r\n\
                 Access-Control-Allow-Headers: Authorization, Content-Type, Upstash-Encoding, \
                 Upstash-Response-Format, upstash-sync-token\r\nAccess-Control-Max-Age: 86400\r\n";
    response(204, "application/json", allow, b"", keep_alive, false)
}

/// A complete JSON response. `extra_headers` is zero or more `Name: value\r\n` lines.
pub fn json_response(status: u16, extra_headers: &str, body: &[u8], keep_alive: bool, head_only: bool) -> Vec<u8> {
    response(status, "application/json", extra_headers, body, keep_alive, head_only)
}

/// A complete response, with the CORS headers.
pub fn response(
    status: u16,
    content_type: &str,
    extra_headers: &str,
    body: &[u8],
    keep_alive: bool,
    head_only: bool,
) -> Vec<u8> {
    let headers = format!("{CORS_HEADERS}{extra_headers}");
    plain_response(status, content_type, &headers, body, keep_alive, head_only)
}

/// A complete HTTP/1.1 response (the metrics endpoint's too): status line with
/// [`reason`], `Content-Type`, `Content-Length` (none for 204), `extra_headers` (zero or
/// more `Name: value\r\n` lines), `Connection: close` unless `keep_alive`, then the body
/// unless `head_only`.
pub fn plain_response(
    status: u16,
    content_type: &str,
    extra_headers: &str,
    body: &[u8],
    keep_alive: bool,
    head_only: bool,
) -> Vec<u8> {
    let length = if status == 204 { String::new() } else { format!("Content-Length: {}\r\n", body.len()) };
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\n{length}{extra_headers}{}\r\n",
        reason(status),
        if keep_alive { "" } else { "Connection: close\r\n" }
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
    fn heads() {
        let r =
            parse_head(b"POST /set/a%2Fb/c?EX=10&_token=x+y HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n\r\n")
                .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/set/a%2Fb/c");
        assert_eq!(r.query, vec![(b"EX".to_vec(), b"10".to_vec()), (b"_token".to_vec(), b"x y".to_vec())]);
        assert_eq!(r.header("authorization"), Some(&b"Bearer t"[..]));
        assert!(r.keep_alive);
        assert!(!parse_head(b"GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive);
        assert!(!parse_head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap().keep_alive);
        assert!(parse_head(b"GET / HTTP/2\r\n\r\n").is_err());
        assert!(parse_head(b"GET /?a=%zz HTTP/1.1\r\n\r\n").is_err());
        assert!(parse_head(b"GET http://x/ HTTP/1.1\r\n\r\n").is_err());
        assert_eq!(percent_decode(b"a%20b+c", false).unwrap(), b"a b+c");
        assert!(percent_decode(b"a%2", false).is_none());
    }
}
