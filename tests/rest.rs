//! The REST API (Upstash's protocol) over real HTTP/1.1: raw requests on std TcpStreams for
//! the protocol's edges (endpoints, URL-encoding, status codes, limits, keep-alive, base64,
//! sync tokens, token scoping, the event stream of SUBSCRIBE), the state checked over RESP,
//! and the real `@upstash/redis` client driven by node (`tests/node/upstash.mjs`).

mod common;

use common::Server;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const FULL: &str = "full-token-0123456789abcdef";
const ACME: &str = "acme-token-0123456789abcdef";
const READONLY: &str = "ro-token-0123456789abcdef";

/// A server with a full token, a token bound to tenant `acme` and a readonly token.
fn server(extra: &[&str]) -> Server {
    let mut args = vec![
        "--save",
        "",
        "--http-token",
        "app",
        FULL,
        "--http-token",
        "acme",
        ACME,
        "tenant",
        "acme",
        "--http-token",
        "dashboard",
        READONLY,
        "readonly",
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// One response.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

/// A kept-alive HTTP/1.1 connection.
struct Http {
    reader: BufReader<TcpStream>,
    port: u16,
}

impl Http {
    fn connect(port: u16) -> Http {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Http { reader: BufReader::new(stream), port }
    }

    /// Sends one request; `headers` are complete `Name: value` lines.
    fn send(&mut self, method: &str, path: &str, headers: &[&str], body: &[u8]) {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", self.port);
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
    }

    /// Reads one response (its body by Content-Length).
    fn read(&mut self) -> Response {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status = line.split(' ').nth(1).unwrap_or_else(|| panic!("status line {line:?}")).parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (n, v) = line.split_once(':').expect("header");
            headers.push((n.to_ascii_lowercase(), v.trim().to_string()));
        }
        let len: usize = headers.iter().find(|(n, _)| n == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).unwrap();
        Response { status, headers, body }
    }

    fn request(&mut self, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Response {
        self.send(method, path, headers, body);
        self.read()
    }

    /// POSTs a JSON body with a Bearer token.
    fn post(&mut self, path: &str, token: &str, body: &Value) -> Response {
        let auth = format!("Authorization: Bearer {token}");
        self.request("POST", path, &[&auth], body.to_string().as_bytes())
    }

    /// Whether the server closed the connection (reads nothing more).
    fn closed(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}

fn get_over_resp(server: &Server, key: &str) -> Option<String> {
    let mut con = server.conn();
    redis::cmd("GET").arg(key).query(&mut con).unwrap()
}

#[test]
fn one_command_in_the_body_and_path_style() {
    let server = server(&[]);
    let mut http = Http::connect(server.port);
    let r = http.post("/", FULL, &json!(["SET", "greeting", "hello world", "EX", 100]));
    assert_eq!((r.status, r.json()), (200, json!({"result": "OK"})));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(get_over_resp(&server, "greeting").as_deref(), Some("hello world"));
    let r = http.post("/", FULL, &json!(["ttl", "greeting"]));
    assert!(r.json()["result"].as_i64().unwrap() > 90);
    assert_eq!(http.post("/", FULL, &json!(["get", "nope"])).json(), json!({"result": null}));
    assert_eq!(
        http.post("/", FULL, &json!(["mget", "greeting", "nope"])).json(),
        json!({"result": ["hello world", null]})
    );
    // Path style: URL-encoded segments, a POST body as the last argument, query parameters after it.
    let auth = format!("Authorization: Bearer {FULL}");
    let r = http.request("GET", "/set/a%2Fb%20c/v%C3%A9%3F", &[&auth], b"");
    assert_eq!((r.status, r.json()), (200, json!({"result": "OK"})));
    assert_eq!(get_over_resp(&server, "a/b c").as_deref(), Some("vé?"));
    let r = http.request("POST", "/set/doc?EX=100", &[&auth], br#"{"user":7,"tags":["a"]}"#);
    assert_eq!(r.json(), json!({"result": "OK"}));
    assert_eq!(get_over_resp(&server, "doc").as_deref(), Some(r#"{"user":7,"tags":["a"]}"#));
    assert!(http.request("GET", "/ttl/doc", &[&auth], b"").json()["result"].as_i64().unwrap() > 90);
    let r = http.request("GET", &format!("/incrby/counter/5?_token={FULL}"), &[], b"");
    assert_eq!(r.json(), json!({"result": 5}));
    let r = http.request("PUT", "/hset/h/f/1", &[&auth], b"");
    assert_eq!(r.json(), json!({"result": 1}));
    assert_eq!(http.request("GET", "/hgetall/h", &[&auth], b"").json(), json!({"result": ["f", "1"]}));
    // A command error is a 400 with Redis's text.
    let r = http.post("/", FULL, &json!(["incr", "greeting"]));
    assert_eq!((r.status, r.json()), (400, json!({"error": "ERR value is not an integer or out of range"})));
    let r = http.post("/", FULL, &json!(["nosuchcommand", "x"]));
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().starts_with("ERR unknown command 'nosuchcommand'"));
    let r = http.post("/", FULL, &json!(["get"]));
    assert_eq!(r.json(), json!({"error": "ERR wrong number of arguments for 'get' command"}));
    // Connection state stays out of REST.
    for command in [
        json!(["select", "1"]),
        json!(["multi"]),
        json!(["auth", "x"]),
        json!(["client", "setname", "x"]),
        json!(["client", "reply", "off"]),
    ] {
        let r = http.post("/", FULL, &command);
        assert_eq!(r.status, 400, "{command}");
        assert!(r.json()["error"].as_str().unwrap().contains("not available over the REST API"), "{command}");
    }
    let r = http.request("DELETE", "/del/doc", &[&auth], b"");
    assert_eq!(r.status, 405);
    assert_eq!(get_over_resp(&server, "doc").as_deref(), Some(r#"{"user":7,"tags":["a"]}"#));
}

#[test]
fn pipeline_and_multi_exec() {
    let server = server(&[]);
    let mut http = Http::connect(server.port);
    let r = http.post(
        "/pipeline",
        FULL,
        &json!([["set", "p", "text"], ["incr", "n"], ["incr", "p"], ["get", "p"], ["bogus"]]),
    );
    assert_eq!(r.status, 200);
    let entries = r.json();
    assert_eq!(entries[0], json!({"result": "OK"}));
    assert_eq!(entries[1], json!({"result": 1}));
    assert_eq!(entries[2], json!({"error": "ERR value is not an integer or out of range"}));
    assert_eq!(entries[3], json!({"result": "text"}));
    assert!(entries[4]["error"].as_str().unwrap().starts_with("ERR unknown command 'bogus'"));
    // A transaction: each command's reply, errors at run time in their place.
    let r = http.post(
        "/multi-exec",
        FULL,
        &json!([["set", "t", "1"], ["incrby", "t", 9], ["lpush", "t", "x"], ["get", "t"]]),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!([{"result": "OK"}, {"result": 10}, {"error": "WRONGTYPE Operation against a key holding the wrong kind of value"}, {"result": "10"}])
    );
    // A command refused at queueing aborts the whole transaction: nothing of it runs.
    let r = http.post("/multi-exec", FULL, &json!([["set", "t", "changed"], ["get"]]));
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().starts_with("EXECABORT"), "{:?}", r.json());
    assert_eq!(get_over_resp(&server, "t").as_deref(), Some("10"));
    // The connection has no transaction left open.
    assert_eq!(http.post("/", FULL, &json!(["get", "t"])).json(), json!({"result": "10"}));
    // Shapes that are not a pipeline.
    for (path, body) in [
        ("/pipeline", json!(["get", "a"])),
        ("/pipeline", json!([])),
        ("/multi-exec", json!([[]])),
        ("/", json!([["get", "a"]])),
    ] {
        let r = http.post(path, FULL, &body);
        assert_eq!(r.status, 400, "{path} {body}");
        assert!(r.json()["error"].as_str().unwrap().starts_with("ERR "), "{path} {body}");
    }
}

#[test]
fn calls_without_a_valid_token_get_401_and_run_nothing() {
    let server = server(&[]);
    let mut con = server.conn();
    let _: () = redis::cmd("SET").arg("guarded").arg("original").query(&mut con).unwrap();
    let mut http = Http::connect(server.port);
    let body = json!(["set", "guarded", "changed"]).to_string();
    for headers in
        [vec![], vec!["Authorization: Bearer wrong-token-0123456789abcdef"], vec!["Authorization: Basic Zm9vOmJhcg=="]]
    {
        let r = http.request("POST", "/", &headers, body.as_bytes());
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.json(), json!({"error": "WRONGPASS invalid or missing auth token"}));
        assert_eq!(r.header("upstash-sync-token"), None);
    }
    let r = http.request("GET", "/set/guarded/changed?_token=nope", &[], b"");
    assert_eq!(r.status, 401);
    // The token of another request on the same connection does not carry over.
    assert_eq!(http.post("/", FULL, &json!(["ping"])).json(), json!({"result": "PONG"}));
    assert_eq!(http.request("POST", "/", &[], body.as_bytes()).status, 401);
    assert_eq!(get_over_resp(&server, "guarded").as_deref(), Some("original"));

    // Without any token configured, the main port never runs HTTP: POST stays a
    // cross-protocol request, closed without an answer.
    let plain = Server::start(&["--save", ""]);
    let mut con = plain.conn();
    let _: () = redis::cmd("SET").arg("guarded").arg("original").query(&mut con).unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {FULL}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (reply, closed) = plain.exchange(request.as_bytes(), Duration::from_secs(5));
    assert!(closed);
    assert!(reply.is_empty(), "{:?}", String::from_utf8_lossy(&reply));
    assert_eq!(get_over_resp(&plain, "guarded").as_deref(), Some("original"));
    // And a path-style GET is a metrics-endpoint 404, not a command.
    let (reply, _) = plain.exchange(b"GET /set/guarded/changed HTTP/1.1\r\nHost: x\r\n\r\n", Duration::from_secs(5));
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 404"));
    assert_eq!(get_over_resp(&plain, "guarded").as_deref(), Some("original"));
}

#[test]
fn malformed_and_oversized_requests() {
    let server = server(&["--http-max-request-bytes", "4096"]);
    let auth = format!("Authorization: Bearer {FULL}");
    for body in [
        &b"[\"set\",\"k\""[..],
        b"{\"cmd\":\"get\"}",
        b"\"get\"",
        b"[\"get\",true]",
        b"[\"get\",null]",
        b"[[[\"get\"]]]",
        b"",
        b"[\"a\"] trailing",
    ] {
        let mut http = Http::connect(server.port);
        let r = http.request("POST", "/", &[&auth], body);
        assert_eq!(r.status, 400, "{:?}", String::from_utf8_lossy(body));
        assert!(r.json()["error"].as_str().unwrap().starts_with("ERR "), "{:?}", String::from_utf8_lossy(body));
        // A bad body is an answered request: the connection goes on.
        assert_eq!(http.post("/", FULL, &json!(["ping"])).json(), json!({"result": "PONG"}));
    }
    assert_eq!(get_over_resp(&server, "k"), None);
    // Over http-max-request-bytes: 413 before the body is read, then the connection closes.
    let big = json!(["set", "big", "x".repeat(5000)]).to_string();
    let mut http = Http::connect(server.port);
    let head = format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}\r\nContent-Length: {}\r\n\r\n", big.len());
    http.reader.get_mut().write_all(head.as_bytes()).unwrap();
    let r = http.read();
    assert_eq!(r.status, 413);
    assert!(r.json()["error"].as_str().unwrap().contains("http-max-request-bytes"));
    assert_eq!(r.header("connection"), Some("close"));
    assert!(http.closed());
    // Also when the body came along with the head: the 413 is read, not lost to a reset.
    let mut http = Http::connect(server.port);
    http.send("POST", "/", &[&auth], big.as_bytes());
    assert_eq!(http.read().status, 413);
    assert_eq!(get_over_resp(&server, "big"), None);
    // A head past its limit: 431.
    let mut http = Http::connect(server.port);
    let long = format!("X-Padding: {}", "p".repeat(20_000));
    let r = http.request("POST", "/", &[&auth, &long], b"[\"ping\"]");
    assert_eq!(r.status, 431);
}

#[test]
fn chunked_bodies_resp2_replies_and_cors() {
    let server = server(&["--http-max-request-bytes", "4096"]);
    let mut http = Http::connect(server.port);
    let auth = format!("Authorization: Bearer {FULL}");
    // A chunked body, in two chunks with an extension and a trailer.
    let body = br#"["set","chunked","in two"]"#;
    let (a, b) = body.split_at(10);
    let mut request =
        format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    request.extend_from_slice(format!("{:x};ext=1\r\n", a.len()).as_bytes());
    request.extend_from_slice(a);
    request.extend_from_slice(format!("\r\n{:X}\r\n", b.len()).as_bytes());
    request.extend_from_slice(b);
    request.extend_from_slice(b"\r\n0\r\nX-Trailer: t\r\n\r\n");
    http.reader.get_mut().write_all(&request).unwrap();
    assert_eq!(http.read().json(), json!({"result": "OK"}));
    assert_eq!(get_over_resp(&server, "chunked").as_deref(), Some("in two"));
    // Chunks past the limit: 413.
    let mut request =
        format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    for _ in 0..10 {
        request.extend_from_slice(format!("400\r\n{}\r\n", "x".repeat(1024)).as_bytes());
    }
    let mut big = Http::connect(server.port);
    let _ = big.reader.get_mut().write_all(&request);
    assert_eq!(big.read().status, 413);
    // A transfer coding other than chunked: 411.
    let mut other = Http::connect(server.port);
    let r = other.request("POST", "/", &[&auth, "Transfer-Encoding: gzip"], b"");
    assert_eq!(r.status, 411);
    // Upstash-Response-Format: resp2 gives the replies as RESP2 bytes.
    let resp2 = "Upstash-Response-Format: resp2";
    let r = http.request(
        "POST",
        "/pipeline",
        &[&auth, resp2],
        br#"[["set","r","1"],["get","r"],["get","none"],["incr","chunked"]]"#,
    );
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.body, b"+OK\r\n$1\r\n1\r\n$-1\r\n-ERR value is not an integer or out of range\r\n");
    let r = http.request("POST", "/multi-exec", &[&auth, resp2], br#"[["incr","r"],["get","r"]]"#);
    assert_eq!(r.body, b"*2\r\n:2\r\n$1\r\n2\r\n");
    // CORS: a preflight runs nothing and needs no token; responses allow any origin.
    let r = http.request(
        "OPTIONS",
        "/set/r/changed",
        &["Origin: https://app.example", "Access-Control-Request-Method: POST"],
        b"",
    );
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-allow-headers").unwrap().contains("Authorization"));
    assert_eq!(get_over_resp(&server, "r").as_deref(), Some("2"));
    let r = http.request("GET", "/get/r", &[&auth], b"");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-expose-headers"), Some("upstash-sync-token"));
}

#[test]
fn keep_alive_and_pipelined_http_requests() {
    let server = server(&[]);
    let mut http = Http::connect(server.port);
    for i in 0..20 {
        let r = http.post("/", FULL, &json!(["incr", "visits"]));
        assert_eq!(r.json(), json!({"result": i + 1}));
        assert_eq!(r.header("connection"), None, "kept alive");
    }
    // Several requests in one write are answered in order.
    let auth = format!("Authorization: Bearer {FULL}");
    let mut batch = Vec::new();
    for i in 0..5 {
        let body = json!(["set", format!("k{i}"), i]).to_string();
        batch.extend_from_slice(
            format!("POST / HTTP/1.1\r\nHost: x\r\n{auth}\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes(),
        );
    }
    http.reader.get_mut().write_all(&batch).unwrap();
    for _ in 0..5 {
        assert_eq!(http.read().json(), json!({"result": "OK"}));
    }
    assert_eq!(get_over_resp(&server, "k4").as_deref(), Some("4"));
    // `Connection: close` is honoured.
    let r = http.request("GET", "/get/k0", &[&auth, "Connection: close"], b"");
    assert_eq!((r.json(), r.header("connection")), (json!({"result": "0"}), Some("close")));
    assert!(http.closed());
}

#[test]
fn base64_encoding_and_sync_tokens() {
    let server = server(&[]);
    let mut http = Http::connect(server.port);
    let auth = format!("Authorization: Bearer {FULL}");
    let b64 = "Upstash-Encoding: base64";
    let mut con = server.conn();
    let _: () = redis::cmd("SET").arg("bin").arg(&b"\xff\x00\x01 caf\xc3\xa9"[..]).query(&mut con).unwrap();
    let r = http.request("GET", "/get/bin", &[&auth, b64], b"");
    assert_eq!(r.json(), json!({"result": "/wABIGNhZsOp"}));
    // "OK" stays as it is; other strings are encoded, numbers and null are not.
    assert_eq!(http.request("GET", "/set/s/foo", &[&auth, b64], b"").json(), json!({"result": "OK"}));
    assert_eq!(http.request("GET", "/ping", &[&auth, b64], b"").json(), json!({"result": "UE9ORw=="}));
    assert_eq!(http.request("GET", "/strlen/s", &[&auth, b64], b"").json(), json!({"result": 3}));
    assert_eq!(http.request("GET", "/mget/s/none", &[&auth, b64], b"").json(), json!({"result": ["Zm9v", null]}));
    let r = http.request("POST", "/pipeline", &[&auth, b64], br#"[["get","s"],["incr","s"]]"#);
    assert_eq!(r.json(), json!([{"result": "Zm9v"}, {"error": "ERR value is not an integer or out of range"}]));
    // Without the header a binary value is still valid JSON.
    let r = http.request("GET", "/get/bin", &[&auth], b"");
    assert_eq!(r.json(), json!({"result": "\u{fffd}\u{0}\u{1} café"}));
    // The sync token: accepted, and a fresh one on every response.
    let r1 = http.request("GET", "/get/s", &[&auth, "upstash-sync-token: "], b"");
    let t1 = r1.header("upstash-sync-token").expect("sync token").to_string();
    let r2 = http.request("GET", "/get/s", &[&auth, &format!("upstash-sync-token: {t1}")], b"");
    let t2 = r2.header("upstash-sync-token").expect("sync token").to_string();
    assert_ne!(t1, t2);
    assert_eq!(r2.json(), json!({"result": "foo"}));
}

#[test]
fn readonly_token_reads_and_is_refused_writes() {
    let server = server(&[]);
    let mut http = Http::connect(server.port);
    assert_eq!(http.post("/", FULL, &json!(["set", "shared", "v"])).json(), json!({"result": "OK"}));
    assert_eq!(http.post("/", READONLY, &json!(["get", "shared"])).json(), json!({"result": "v"}));
    assert_eq!(http.post("/", READONLY, &json!(["pfcount", "nohll"])).json(), json!({"result": 0}));
    for command in [
        json!(["set", "shared", "changed"]),
        json!(["del", "shared"]),
        json!(["flushall"]),
        json!(["config", "set", "maxmemory", "1"]),
        json!(["eval", "return redis.call('set', KEYS[1], 'x')", 1, "shared"]),
        json!(["publish", "c", "m"]),
        json!(["script", "flush"]),
    ] {
        let r = http.post("/", READONLY, &command);
        assert_eq!(r.status, 400, "{command}");
        assert!(
            r.json()["error"].as_str().unwrap().starts_with("NOPERM this token is read-only"),
            "{command}: {:?}",
            r.json()
        );
    }
    assert_eq!(
        http.post("/", READONLY, &json!(["eval_ro", "return redis.call('get', KEYS[1])", 1, "shared"])).json(),
        json!({"result": "v"})
    );
    let r = http.post("/pipeline", READONLY, &json!([["get", "shared"], ["set", "shared", "x"]]));
    assert_eq!(r.json()[0], json!({"result": "v"}));
    assert!(r.json()[1]["error"].as_str().unwrap().starts_with("NOPERM"));
    assert_eq!(get_over_resp(&server, "shared").as_deref(), Some("v"));
}

#[test]
fn tenant_token_is_confined_to_its_tenant() {
    let server = server(&[]);
    let mut http = Http::connect(server.port);
    for (k, v) in [("acme:a", "1"), ("acme:b", "2"), ("globex:a", "secret"), ("plain", "p")] {
        assert_eq!(http.post("/", FULL, &json!(["set", k, v])).json(), json!({"result": "OK"}));
    }
    assert_eq!(http.post("/", ACME, &json!(["get", "acme:a"])).json(), json!({"result": "1"}));
    assert_eq!(http.post("/", ACME, &json!(["mget", "acme:a", "acme:b"])).json(), json!({"result": ["1", "2"]}));
    assert_eq!(http.post("/", ACME, &json!(["ping"])).json(), json!({"result": "PONG"}));
    let foreign = "NOPERM this token may only access keys of tenant 'acme'";
    for command in [
        json!(["get", "globex:a"]),
        json!(["get", "plain"]),
        json!(["set", "globex:a", "stolen"]),
        json!(["mget", "acme:a", "globex:a"]),
        json!(["del", "acme:a", "globex:a"]),
        json!(["rename", "acme:a", "globex:a"]),
        json!(["copy", "globex:a", "acme:copy"]),
        json!(["sunionstore", "acme:dst", "globex:a"]),
        json!(["publish", "globex:events", "m"]),
    ] {
        let r = http.post("/", ACME, &command);
        assert_eq!((r.status, r.json()), (400, json!({"error": foreign})), "{command}");
    }
    for command in [
        json!(["flushall"]),
        json!(["flushdb"]),
        json!(["config", "get", "*"]),
        json!(["dbsize"]),
        json!(["randomkey"]),
        json!(["eval", "return redis.call('get', 'globex:a')", 0]),
        json!(["fcall", "f", 0]),
        json!(["tag.invalidate", "t"]),
        json!(["client", "list"]),
        json!(["info"]),
        json!(["debug", "object", "acme:a"]),
        json!(["sort", "acme:list", "by", "globex:*"]),
    ] {
        let r = http.post("/", ACME, &command);
        assert_eq!(r.status, 400, "{command}");
        assert!(
            r.json()["error"].as_str().unwrap().starts_with("NOPERM this token is bound to tenant 'acme'"),
            "{command}: {:?}",
            r.json()
        );
    }
    // Its own tenant's statistics, not another's.
    let info = http.post("/", ACME, &json!(["tenant", "info", "acme"])).json();
    assert!(info["result"].as_array().unwrap().contains(&json!("keys")), "{info}");
    assert_eq!(http.post("/", ACME, &json!(["tenant", "info", "globex"])).status, 400);
    assert_eq!(http.post("/", ACME, &json!(["tenant", "list"])).status, 400);
    // KEYS and SCAN see only the tenant's keys.
    let mut keys: Vec<String> =
        serde_json::from_value(http.post("/", ACME, &json!(["keys", "*"])).json()["result"].clone()).unwrap();
    keys.sort();
    assert_eq!(keys, ["acme:a", "acme:b"]);
    let mut seen = Vec::new();
    let mut cursor = "0".to_string();
    for _ in 0..100 {
        let r = http.post("/", ACME, &json!(["scan", cursor, "count", 2])).json();
        cursor = r["result"][0].as_str().unwrap().to_string();
        seen.extend(r["result"][1].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_string()));
        if cursor == "0" {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["acme:a", "acme:b"]);
    // A pipeline refuses entry by entry; a transaction as a whole.
    let r = http.post("/pipeline", ACME, &json!([["incr", "acme:n"], ["get", "globex:a"]]));
    assert_eq!(r.json(), json!([{"result": 1}, {"error": foreign}]));
    let r = http.post("/multi-exec", ACME, &json!([["incr", "acme:n"], ["del", "globex:a"]]));
    assert_eq!((r.status, r.json()), (400, json!({"error": foreign})));
    assert_eq!(http.post("/", ACME, &json!(["get", "acme:n"])).json(), json!({"result": "1"}));
    assert_eq!(get_over_resp(&server, "globex:a").as_deref(), Some("secret"));
    assert_eq!(get_over_resp(&server, "plain").as_deref(), Some("p"));
    // Its own keys through the movable-key commands are fine.
    let r = http.post("/", ACME, &json!(["zunionstore", "acme:z", 2, "acme:z1", "acme:z2"]));
    assert_eq!(r.json(), json!({"result": 0}));
    let r = http.post("/", ACME, &json!(["zunionstore", "acme:z", 2, "acme:z1", "globex:z2"]));
    assert_eq!(r.json(), json!({"error": foreign}));
}

#[test]
fn subscribe_is_an_event_stream_of_resp_publishes() {
    let server = server(&[]);
    let mut http = Http::connect(server.port);
    let auth = format!("Authorization: Bearer {FULL}");
    http.send("POST", "/subscribe/news", &[&auth, "Accept: text/event-stream"], b"[]");
    let mut line = String::new();
    http.reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    let mut content_type = None;
    loop {
        let mut h = String::new();
        http.reader.read_line(&mut h).unwrap();
        if h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.strip_prefix("Content-Type: ") {
            content_type = Some(v.trim().to_string());
        }
    }
    assert_eq!(content_type.as_deref(), Some("text/event-stream"));
    let mut event = || {
        let mut data = String::new();
        http.reader.read_line(&mut data).unwrap();
        let mut blank = String::new();
        http.reader.read_line(&mut blank).unwrap();
        assert_eq!(blank, "\n");
        data.trim_end().to_string()
    };
    assert_eq!(event(), "data: subscribe,news,1");
    let mut con = server.conn();
    let n: i64 = redis::cmd("PUBLISH").arg("news").arg("hello there").query(&mut con).unwrap();
    assert_eq!(n, 1);
    assert_eq!(event(), "data: message,news,hello there");
    let _: i64 = redis::cmd("PUBLISH").arg("news").arg(r#"{"n":2}"#).query(&mut con).unwrap();
    assert_eq!(event(), r#"data: message,news,{"n":2}"#);
    // Pattern subscriptions name the pattern too.
    let mut psub = Http::connect(server.port);
    psub.send("POST", "/psubscribe/ne*", &[&auth], b"");
    let mut head = String::new();
    while head != "\r\n" {
        head.clear();
        psub.reader.read_line(&mut head).unwrap();
    }
    let mut line = String::new();
    psub.reader.read_line(&mut line).unwrap();
    assert_eq!(line, "data: psubscribe,ne*,1\n");
    psub.reader.read_line(&mut line).unwrap();
    let _: i64 = redis::cmd("PUBLISH").arg("news").arg("3").query(&mut con).unwrap();
    let mut line = String::new();
    psub.reader.read_line(&mut line).unwrap();
    assert_eq!(line, "data: pmessage,ne*,news,3\n");
    // A tenant token subscribes to its own channels only, and to no pattern.
    let mut scoped = Http::connect(server.port);
    let r = scoped.request("POST", "/subscribe/globex:news", &[&format!("Authorization: Bearer {ACME}")], b"");
    assert_eq!(r.status, 400);
    let r = scoped.request("POST", "/psubscribe/*", &[&format!("Authorization: Bearer {ACME}")], b"");
    assert_eq!(r.status, 400);
    // Closing the stream drops the subscription.
    drop(http);
    drop(psub);
    common::wait_for(5, "the subscribers to go", || {
        let n: i64 = redis::cmd("PUBLISH").arg("news").arg("x").query(&mut con).unwrap();
        n == 0
    });
}

#[test]
fn blocking_commands_wait_as_calls_of_their_own() {
    let server = server(&[]);
    let mut http = Http::connect(server.port);
    // Served by a push over RESP while it waits.
    http.send("POST", "/", &[&format!("Authorization: Bearer {FULL}")], br#"["blpop","queue",10]"#);
    let mut con = server.conn();
    common::wait_blocked(&mut con, 1);
    let _: i64 = redis::cmd("RPUSH").arg("queue").arg("job-1").query(&mut con).unwrap();
    assert_eq!(http.read().json(), json!({"result": ["queue", "job-1"]}));
    // Its timeout passes: null, as over RESP.
    let r = http.post("/", FULL, &json!(["blpop", "queue", "0.2"]));
    assert_eq!((r.status, r.json()), (200, json!({"result": null})));
    // Data already there: no wait.
    let _: i64 = redis::cmd("RPUSH").arg("queue").arg("job-2").query(&mut con).unwrap();
    assert_eq!(http.post("/", FULL, &json!(["brpop", "queue", 0])).json(), json!({"result": ["queue", "job-2"]}));
    // In a pipeline it would hold the commands after it: refused there.
    let r = http.post("/pipeline", FULL, &json!([["blpop", "queue", 0], ["ping"]]));
    assert!(r.json()[0]["error"].as_str().unwrap().contains("not available in a REST pipeline"));
    assert_eq!(r.json()[1], json!({"result": "PONG"}));
    // In a transaction it does not block, as in MULTI.
    let r = http.post("/multi-exec", FULL, &json!([["blpop", "queue", 0], ["ping"]]));
    assert_eq!(r.json(), json!([{"result": null}, {"result": "PONG"}]));
    // A waiting call whose peer goes away stops waiting.
    let mut gone = Http::connect(server.port);
    gone.send("POST", "/", &[&format!("Authorization: Bearer {FULL}")], br#"["blpop","never",0]"#);
    common::wait_blocked(&mut con, 1);
    drop(gone);
    common::wait_for(5, "the blocked REST client to go", || common::blocked_clients(&mut con) == 0);
    // A tenant token is checked before it waits.
    let r = http.post("/", ACME, &json!(["blpop", "globex:q", 0]));
    assert_eq!(r.status, 400);
}

#[test]
fn client_kill_and_client_pause_apply_to_rest_calls() {
    let server = server(&[]);
    let mut con = server.conn();
    let mut http = Http::connect(server.port);
    assert_eq!(http.post("/", FULL, &json!(["set", "paused", "before"])).json(), json!({"result": "OK"}));
    // A write waits out CLIENT PAUSE WRITE; a read does not.
    let _: () = redis::cmd("CLIENT").arg("PAUSE").arg(60_000).arg("WRITE").query(&mut con).unwrap();
    let mut reader = Http::connect(server.port);
    assert_eq!(reader.post("/", FULL, &json!(["get", "paused"])).json(), json!({"result": "before"}));
    http.send("POST", "/", &[&format!("Authorization: Bearer {FULL}")], br#"["set","paused","after"]"#);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get_over_resp(&server, "paused").as_deref(), Some("before"));
    let _: () = redis::cmd("CLIENT").arg("UNPAUSE").query(&mut con).unwrap();
    assert_eq!(http.read().json(), json!({"result": "OK"}));
    assert_eq!(get_over_resp(&server, "paused").as_deref(), Some("after"));
    // CLIENT KILL closes a kept-alive connection that waits for its next request.
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    let rest_ids: Vec<&str> = list
        .lines()
        .filter(|l| l.contains(" name=rest:app "))
        .map(|l| l.split(' ').next().unwrap().trim_start_matches("id="))
        .collect();
    assert_eq!(rest_ids.len(), 2, "{list}");
    for id in rest_ids {
        let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id).query(&mut con).unwrap();
        assert_eq!(killed, 1);
    }
    assert!(http.closed());
    assert!(reader.closed());
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn http_port_and_metrics_beside_rest() {
    let port = free_port();
    let port_text = port.to_string();
    let server = server(&["--http-port", &port_text, "--http-bind", "127.0.0.1"]);
    let mut http = Http::connect(port);
    assert_eq!(http.post("/", FULL, &json!(["set", "via", "http-port"])).json(), json!({"result": "OK"}));
    assert_eq!(get_over_resp(&server, "via").as_deref(), Some("http-port"));
    assert_eq!(http.post("/", "wrong", &json!(["ping"])).status, 401);
    // The REST client shows in CLIENT LIST under its token's name, never the secret.
    let mut con = server.conn();
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    assert!(list.contains("name=rest:app"), "{list}");
    assert!(!list.contains(FULL));
    // /metrics on the main port still answers a scrape.
    let (reply, _) = server.exchange(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", Duration::from_secs(5));
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("tenantcache_uptime_seconds"));
    // The listener is bound at startup; the request limit changes at run time.
    let _: () = redis::cmd("CONFIG").arg("SET").arg("http-port").arg(&port_text).query(&mut con).unwrap();
    let moved: redis::RedisResult<()> = redis::cmd("CONFIG").arg("SET").arg("http-port").arg("1").query(&mut con);
    assert!(moved.unwrap_err().to_string().contains("bound at startup"));
    let _: () = redis::cmd("CONFIG").arg("SET").arg("http-max-request-bytes").arg("200").query(&mut con).unwrap();
    let r = http.post("/", FULL, &json!(["set", "long", "x".repeat(300)]));
    assert_eq!(r.status, 413);
    // No token shows through CONFIG GET.
    let all: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("*").query(&mut con).unwrap();
    assert!(!all.iter().any(|v| v.contains(FULL) || v.contains(ACME)));
    // A bad http-token line keeps the server from starting.
    let out = common::failed_start(&["--http-token", "short", "abc"]);
    assert!(out.contains("at least 16 characters"), "{out}");
    let out = common::failed_start(&["--http-token", "a", FULL, "--http-token", "b", FULL]);
    assert!(out.contains("already configured"), "{out}");
}

/// The real `@upstash/redis` client (tests/node, pinned by its package-lock.json) against the
/// server: set/get with EX, mget/mset, incr, del, expire, pipeline, multi-exec, a sliding-
/// window rate limiter on a sorted set, JSON values, subscribe, and a tenant token refused
/// another tenant's key; on `http-port` and on the main port. CI installs node and the
/// package (`.ci/run`).
#[test]
fn upstash_redis_client() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    assert!(
        dir.join("node_modules/@upstash/redis").exists(),
        "run `npm ci --prefix tests/node` first (.ci/run does it)"
    );
    let port = free_port();
    let port_text = port.to_string();
    // On http-port, then on the main port of a fresh server.
    let on_http_port = server(&["--http-port", &port_text, "--http-bind", "127.0.0.1"]);
    run_node(&dir, port);
    drop(on_http_port);
    let main_port = server(&[]);
    run_node(&dir, main_port.port);
}

fn run_node(dir: &std::path::Path, port: u16) {
    let output = std::process::Command::new("node")
        .arg(dir.join("upstash.mjs"))
        .current_dir(dir)
        .env("UPSTASH_URL", format!("http://127.0.0.1:{port}"))
        .env("UPSTASH_TOKEN", FULL)
        .env("TENANT_TOKEN", ACME)
        .env("TENANT", "acme")
        .output()
        .expect("run node (install nodejs)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node tests/node/upstash.mjs failed on port {port}:\n{stdout}\n{stderr}");
    assert!(stdout.contains("12 passed, 0 failed"), "{stdout}");
}
