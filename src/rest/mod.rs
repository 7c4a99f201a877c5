//! The REST API, compatible with Upstash's: applications that cannot open TCP sockets
//! (serverless and edge runtimes) or that use `@upstash/redis` reach the cache over HTTP.
//!
//! Served on `http-port` (0 = off) and on the main port, where a connection that opens with
//! an HTTP request line for a path other than `/metrics` is handed here once an
//! `http-token` is configured. Without a token nothing is ever run from HTTP: the main port
//! keeps refusing `POST` as a cross-protocol request, and `http-port` answers 401.
//!
//! Endpoints (every call carries `Authorization: Bearer TOKEN` or `?_token=TOKEN`):
//!
//! * `POST /` with a JSON array body: one command, `{"result": ...}` or, with HTTP 400,
//!   `{"error": "..."}`;
//! * `POST /pipeline` with an array of arrays: an array of those, HTTP 200, each entry its
//!   own result or error (not atomic, as in Upstash);
//! * `POST /multi-exec`: the same array run as `MULTI` ... `EXEC`; refused whole (400) if any
//!   command is refused to the token or the transaction aborts;
//! * path style, `GET|POST /set/key/value` with URL-encoded segments, a POST body appended
//!   as the last argument and query parameters (`?EX=100`) after it;
//! * `SUBSCRIBE`/`PSUBSCRIBE` (path or body style) answered as a `text/event-stream` of
//!   `data: message,CHANNEL,PAYLOAD` lines, as Upstash streams them.
//!
//! `Upstash-Encoding: base64` base64-encodes every string of the result except a top-level
//! `OK`; `Upstash-Response-Format: resp2` answers with the RESP2 bytes instead;
//! `upstash-sync-token` is accepted and a fresh one returned on every response (one node is
//! read-your-writes consistent by itself). Connections are kept alive. Responses carry CORS
//! headers and `OPTIONS` preflights are answered, so browsers may call the API.
//!
//! Commands run through the dispatcher like a client's, with one [`Client`] per connection
//! (database 0, RESP2), after the token's checks ([`auth`]). A blocking command sent alone
//! waits for its reply as a RESP client's does; CLIENT PAUSE holds calls, CLIENT KILL ends
//! the connection.

pub mod auth;
pub mod http;
pub mod json;

use crate::client::Client;
use crate::commands::{self, table, Ctx};
use crate::protocol::ReplyBuf;
use crate::server::Shared;
use bytes::Bytes;
use http::{ReadError, Request};
use json::{Body, Encoding, Reply};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a kept-alive connection may wait for its next request, and a request take to
/// arrive whole.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a quiet event stream gets a comment line.
const SSE_HEARTBEAT: Duration = Duration::from_secs(30);

/// The error text of a call without a valid token, as Upstash words it.
const UNAUTHORIZED: &str = "WRONGPASS invalid or missing auth token";

/// The REST API's state in the server: the tokens and the sync-token sequence.
#[derive(Debug, Default)]
pub struct Rest {
    pub tokens: auth::Tokens,
    sync: AtomicU64,
}

impl Rest {
    /// From the configuration's `http-token` lines.
    pub fn from_config(config: &crate::config::Config) -> Result<Rest, String> {
        Ok(Rest { tokens: auth::Tokens::from_lines(&config.http_token_lines)?, sync: AtomicU64::new(0) })
    }

    /// Whether any token exists (without one, nothing runs over HTTP).
    pub fn enabled(&self) -> bool {
        !self.tokens.is_empty()
    }

    fn next_sync_token(&self) -> u64 {
        self.sync.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Starts the `http-port` listeners (none when it is 0).
pub fn start(shared: &Arc<Shared>) -> Result<(), String> {
    let (port, bind) = {
        let config = shared.config.read();
        (config.get_u64("http-port") as u16, config.get("http-bind").to_string())
    };
    if port == 0 {
        return Ok(());
    }
    if !shared.rest.enabled() {
        tracing::warn!("http-port {port} is set but no http-token is configured: every REST call will get 401");
    }
    let mut bound = 0;
    for (addr, optional) in crate::server::listen_addresses(&bind, port) {
        match crate::server::bind_listener(addr) {
            Ok(listener) => {
                tracing::info!("REST API on http://{addr}/");
                bound += 1;
                let serve = crate::connection::serve_rest;
                tokio::spawn(crate::server::accept_loop(shared.clone(), listener, "REST", serve));
            }
            Err(e) if optional => tracing::debug!("no REST listener on {addr}: {e}"),
            Err(e) => return Err(format!("Failed listening on http-port {port} at {addr}: {e}")),
        }
    }
    if bound == 0 {
        return Err(format!("no address to listen on for http-port {port} (check 'http-bind')"));
    }
    Ok(())
}

/// Whether the request line at the start of `head` is for the REST API rather than the
/// metrics endpoint (on the main port, with tokens configured).
pub fn is_rest_request(head: &[u8]) -> bool {
    let line_end = memchr::memchr(b'\n', head).unwrap_or(head.len());
    let mut words = head[..line_end].split(|&b| b == b' ');
    let target = words.nth(1).unwrap_or_default();
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    path != b"/metrics"
}

/// Serves REST calls on `socket` until it closes (or is not kept alive); `buf` holds what
/// was read already. `client` is the connection's client, holding its `maxclients` slot.
pub async fn serve(shared: &Shared, socket: &mut TcpStream, client: &mut Client, mut buf: Vec<u8>) {
    // The token is the credential; the client never changes database or protocol.
    client.authenticated = true;
    client.resp = 2;
    client.db = 0;
    loop {
        let max_request = || shared.config.read().get_u64("http-max-request-bytes") as usize;
        let handle = client.handle.clone();
        // CLIENT KILL (and shutdown) end a connection waiting for its next request; other
        // wake-ups leave the read going.
        let read = {
            let read = tokio::time::timeout(IDLE_TIMEOUT, http::read_request(socket, &mut buf, max_request));
            tokio::pin!(read);
            loop {
                tokio::select! {
                    read = &mut read => break read,
                    _ = handle.wake.notified() => {
                        if handle.is_killed() {
                            return;
                        }
                    }
                }
            }
        };
        let request = match read {
            Err(_) => {
                if !buf.is_empty() {
                    let _ = socket.write_all(&error_response(408, "request timed out", false)).await;
                }
                return;
            }
            Ok(Err(ReadError::Closed)) => return,
            Ok(Err(ReadError::Refused { status, message })) => {
                let _ = socket.write_all(&error_response(status, &format!("ERR {message}"), false)).await;
                let _ = socket.shutdown().await;
                drain(socket, max_request()).await;
                return;
            }
            Ok(Ok(request)) => request,
        };
        if client.handle.is_killed() {
            return;
        }
        // The request counts in the client's memory (and so in used_memory and against
        // maxmemory-clients) while it is served, as a RESP client's query buffer does.
        let held = crate::client::CLIENT_BASE_MEMORY + buf.capacity() + request.body.len() + request.raw_head.len();
        shared.set_client_memory(&client.handle, held);
        if shared.settings.maxmemory_clients.load(Ordering::Relaxed) > 0 && shared.clients_over_limit() {
            shared.evict_clients();
            if client.handle.is_killed() {
                return;
            }
        }
        if request.path == "/metrics" {
            crate::metrics::http::exchange(shared, socket, request.raw_head, crate::metrics::http::Origin::MainPort)
                .await;
            return;
        }
        let keep_alive = request.keep_alive;
        match call(shared, socket, client, &request).await {
            Some(response) => {
                // With `appendfsync always` no reply goes out before the writes it follows
                // are on disk, as on the RESP port.
                if let Some(target) = crate::aof::durable_target(shared) {
                    crate::aof::wait_durable(shared, target).await;
                }
                if socket.write_all(&response).await.is_err() || !keep_alive {
                    let _ = socket.shutdown().await;
                    return;
                }
            }
            // An event stream ran until the peer went away.
            None => return,
        }
        shared.set_client_memory(&client.handle, crate::client::CLIENT_BASE_MEMORY + buf.capacity());
        client.handle.last_active_ms.store(crate::storage::now_ms(), Ordering::Relaxed);
        client.publish_info();
    }
}

/// Reads and drops what the peer still sends (the body of a refused request) for a moment,
/// up to `limit` bytes: closing with unread input resets the connection, and the peer could
/// lose the response before reading it.
async fn drain(socket: &mut TcpStream, limit: usize) {
    let mut scratch = vec![0u8; 16 * 1024];
    let mut left = limit.max(1 << 20);
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while left > 0 {
            match socket.read(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

fn error_response(status: u16, text: &str, keep_alive: bool) -> Vec<u8> {
    let mut body = Vec::new();
    json::write_error(&mut body, text.as_bytes());
    http::json_response(status, "", &body, keep_alive, false)
}

/// The token a request carries: `Authorization: Bearer TOKEN`, else `_token=TOKEN`.
fn presented_token(request: &Request) -> Option<&[u8]> {
    if let Some(value) = request.header("authorization") {
        let (scheme, credential) = value.split_at(value.iter().position(|&b| b == b' ').unwrap_or(value.len()));
        return scheme.eq_ignore_ascii_case(b"bearer").then(|| credential.trim_ascii());
    }
    request.query.iter().find(|(n, _)| n == b"_token").map(|(_, v)| &v[..])
}

/// What a call asks for.
enum Call {
    One(Vec<Bytes>),
    Pipeline(Vec<Vec<Bytes>>),
    Transaction(Vec<Vec<Bytes>>),
}

/// Answers one request; `None` when it was an event stream, which owns the connection.
async fn call(shared: &Shared, socket: &mut TcpStream, client: &mut Client, request: &Request) -> Option<Vec<u8>> {
    let keep_alive = request.keep_alive;
    let head_only = request.method == "HEAD";
    if request.method == "OPTIONS" {
        return Some(http::preflight_response(keep_alive));
    }
    if !matches!(request.method.as_str(), "GET" | "POST" | "PUT" | "HEAD") {
        let mut body = Vec::new();
        json::write_error(&mut body, b"ERR only HEAD, GET, POST and PUT are allowed");
        return Some(http::json_response(405, "Allow: HEAD, GET, POST, PUT, OPTIONS\r\n", &body, keep_alive, false));
    }
    let Some(token) = presented_token(request).and_then(|t| shared.rest.tokens.find(t)) else {
        let mut body = Vec::new();
        json::write_error(&mut body, UNAUTHORIZED.as_bytes());
        return Some(http::json_response(401, "WWW-Authenticate: Bearer\r\n", &body, keep_alive, head_only));
    };
    let sync_header = format!("upstash-sync-token: {}\r\n", shared.rest.next_sync_token());
    let respond = |status: u16, body: &[u8]| http::json_response(status, &sync_header, body, keep_alive, head_only);
    let bad_request = |text: &str| {
        let mut body = Vec::new();
        json::write_error(&mut body, text.as_bytes());
        respond(400, &body)
    };
    let encoding = match request.header("upstash-encoding") {
        Some(v) if v.eq_ignore_ascii_case(b"base64") => Encoding::Base64,
        _ => Encoding::Plain,
    };
    // `Upstash-Response-Format: resp2`: the replies as RESP2 bytes rather than JSON.
    let resp2 = request.header("upstash-response-format").is_some_and(|v| v.eq_ignore_ascii_case(b"resp2"));
    let call = match parse_call(request) {
        Ok(call) => call,
        Err(text) => return Some(bad_request(&text)),
    };
    if let Call::One(args) = &call {
        if args.first().is_some_and(|a| a.eq_ignore_ascii_case(b"subscribe") || a.eq_ignore_ascii_case(b"psubscribe")) {
            return match subscribe(shared, socket, client, token, args, &sync_header).await {
                Ok(()) => None,
                Err(text) => Some(bad_request(&text)),
            };
        }
    }
    {
        // CLIENT LIST names the token of the connection's latest call.
        let mut info = client.handle.info.lock();
        if info.name.strip_prefix("rest:") != Some(token.name.as_str()) {
            info.name = format!("rest:{}", token.name);
        }
    }
    wait_out_pause(shared, &call).await;
    // `one`: a single envelope (a command, or a transaction that did not run).
    let (status, replies, one, exec) = match call {
        Call::One(args) => {
            let mut reply = run_batch(shared, client, token, std::slice::from_ref(&args)).remove(0);
            if client.blocked.is_some() {
                reply = wait_blocked(shared, socket, client).await?;
            }
            (if matches!(reply, Reply::Error(_)) { 400 } else { 200 }, vec![reply], true, false)
        }
        Call::Pipeline(commands) => (200, run_batch(shared, client, token, &commands), false, false),
        Call::Transaction(commands) => match run_transaction(shared, client, token, &commands) {
            Ok(replies) => (200, replies, false, true),
            Err(text) => (400, vec![Reply::Error(text)], true, false),
        },
    };
    let mut body = Vec::new();
    if resp2 {
        // A transaction's replies go out as EXEC's array, a pipeline's one after another.
        let replies = if exec { vec![Reply::Array(replies)] } else { replies };
        for reply in &replies {
            json::write_resp(&mut body, reply);
        }
        let content_type = "application/octet-stream";
        return Some(http::response(status, content_type, &sync_header, &body, keep_alive, head_only));
    }
    if one {
        json::write_envelope(&mut body, &replies[0], encoding);
    } else {
        write_entries(&mut body, &replies, encoding);
    }
    Some(respond(status, &body))
}

/// Holds the call while CLIENT PAUSE applies to it: during a pause of ALL every call, during
/// a pause of WRITE one that writes or may replicate, as a RESP client's commands are held.
async fn wait_out_pause(shared: &Shared, call: &Call) {
    let writes = |args: &Vec<Bytes>| {
        table::lookup_command(args)
            .is_some_and(|spec| spec.flags & (commands::flags::WRITE | commands::flags::MAY_REPLICATE) != 0)
    };
    let any_write = match call {
        Call::One(args) => writes(args),
        Call::Pipeline(commands) | Call::Transaction(commands) => commands.iter().any(writes),
    };
    // Bounded by the pause's own deadline, re-read after every wake-up.
    loop {
        let resumed = shared.pause.resumed.notified();
        let Some((until, writes_only)) = shared.pause.active() else { return };
        if writes_only && !any_write {
            return;
        }
        let left = Duration::from_millis(until.saturating_sub(crate::storage::now_ms()));
        tokio::select! {
            _ = tokio::time::sleep(left) => {}
            _ = resumed => {}
        }
    }
}

/// `[{"result": ...}, {"error": ...}, ...]`.
fn write_entries(body: &mut Vec<u8>, replies: &[Reply], encoding: Encoding) {
    body.push(b'[');
    for (i, reply) in replies.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        json::write_envelope(body, reply, encoding);
    }
    body.push(b']');
}

/// Turns the request into the commands it asks for, or the text of a 400.
fn parse_call(request: &Request) -> Result<Call, String> {
    let path = request.path.as_str();
    let endpoint = path.trim_end_matches('/');
    let parse = || json::parse_body(&request.body).map_err(|e| format!("ERR malformed JSON body: {e}"));
    match endpoint {
        "" => match parse()? {
            Body::Command(args) if !args.is_empty() => Ok(Call::One(args)),
            Body::Command(_) => Err("ERR empty command".into()),
            Body::Commands(_) => Err("ERR the body of / is one command: send an array of arrays to /pipeline".into()),
        },
        "/pipeline" | "/multi-exec" => {
            let commands = match parse()? {
                Body::Commands(commands) => commands,
                Body::Command(args) if args.is_empty() => return Err("ERR empty pipeline".into()),
                Body::Command(_) => return Err("ERR the body must be an array of commands, each an array".into()),
            };
            if commands.iter().any(|c| c.is_empty()) {
                return Err("ERR empty command in the pipeline".into());
            }
            Ok(if endpoint == "/pipeline" { Call::Pipeline(commands) } else { Call::Transaction(commands) })
        }
        _ => {
            let mut args = Vec::new();
            for segment in path[1..].strip_suffix('/').unwrap_or(&path[1..]).split('/') {
                let arg = http::percent_decode(segment.as_bytes(), false)
                    .ok_or_else(|| "ERR bad percent-encoding in the path".to_string())?;
                args.push(Bytes::from(arg));
            }
            let streams = args[0].eq_ignore_ascii_case(b"subscribe") || args[0].eq_ignore_ascii_case(b"psubscribe");
            // A subscriber's body is the client's empty command array, not a channel.
            if !request.body.is_empty() && !streams {
                args.push(Bytes::copy_from_slice(&request.body));
            }
            for (name, value) in request.query.iter().filter(|(n, _)| n != b"_token") {
                args.push(Bytes::copy_from_slice(name));
                if !value.is_empty() {
                    args.push(Bytes::copy_from_slice(value));
                }
            }
            Ok(Call::One(args))
        }
    }
}

/// Whether `args` has the number of arguments its spec wants (else the dispatcher replies
/// the arity error, running nothing).
fn arity_ok(spec: &commands::CommandSpec, args: &[Bytes]) -> bool {
    let n = args.len() as i32;
    if spec.arity >= 0 {
        n == spec.arity
    } else {
        n >= -spec.arity
    }
}

/// Runs each command (checked for the token) and returns its reply; one keyspace lock over
/// the batch, as a pipelined batch of a RESP client. A blocking command that has to wait
/// (BLPOP on an empty list) may only be a call of its own: it leaves `client.blocked` set
/// and the caller waits ([`wait_blocked`]); in a pipeline it is refused, as it would hold
/// the commands after it.
fn run_batch(shared: &Shared, client: &mut Client, token: &auth::Token, commands: &[Vec<Bytes>]) -> Vec<Reply> {
    let mut out = ReplyBuf::new();
    let mut replies = Vec::with_capacity(commands.len());
    {
        let mut ctx = Ctx::new(shared, client, &mut out);
        for args in commands {
            let blocking = table::lookup_command(args).is_some_and(|s| s.flags & commands::flags::BLOCKING != 0);
            if blocking && commands.len() > 1 {
                let text =
                    "ERR blocking commands are not available in a REST pipeline: send them as a call of their own";
                ctx.shared.record_errors("ERR", 1);
                replies.push(Reply::Error(Bytes::from_static(text.as_bytes())));
                continue;
            }
            replies.push(run_checked(&mut ctx, token, args, false));
        }
    }
    crate::aof::after_batch(shared);
    replies
}

/// Checks one command for the token and runs it; the reply, confined to the token's tenant.
fn run_checked(ctx: &mut Ctx, token: &auth::Token, args: &[Bytes], subscribing: bool) -> Reply {
    let confine = match table::lookup_command(args) {
        Some(spec) if arity_ok(spec, args) => {
            let tenants = &ctx.ks.get().tenants;
            match auth::check(token, spec, args, tenants, subscribing) {
                Ok(confine) => confine,
                Err(text) => {
                    ctx.shared.record_errors(text.split(' ').next().unwrap_or("ERR"), 1);
                    return Reply::Error(Bytes::from(text));
                }
            }
        }
        // Unknown, or the wrong number of arguments: the dispatcher's error, nothing runs.
        _ => auth::Confine::None,
    };
    let mark = ctx.out.len();
    commands::execute(ctx, args);
    if ctx.client.blocked.is_some() {
        // The reply comes when the wait ends.
        return Reply::Nil;
    }
    let reply = json::parse_reply(&ctx.out.buf[mark..]).map(|(r, _)| r);
    ctx.out.buf.truncate(mark);
    let mut reply = reply.unwrap_or_else(|| Reply::Error(Bytes::from_static(b"ERR internal error: unreadable reply")));
    if confine != auth::Confine::None {
        let tenant = token.tenant.as_deref().unwrap_or_default().as_bytes();
        let tenants = &ctx.ks.get().tenants;
        let keep = |r: &Reply| matches!(r, Reply::Bulk(k) if tenants.tenant_name(k) == tenant);
        match (&mut reply, confine) {
            (Reply::Array(keys), auth::Confine::KeysReply) => keys.retain(keep),
            (Reply::Array(parts), auth::Confine::ScanReply) => {
                if let Some(Reply::Array(keys)) = parts.get_mut(1) {
                    keys.retain(keep);
                }
            }
            _ => {}
        }
    }
    reply
}

/// Waits for a blocked command's reply: another client serves it, its timeout passes, or
/// it is unblocked. `None` (no response) when the peer closed the connection or the client
/// was killed meanwhile; the wait is then dropped.
async fn wait_blocked(shared: &Shared, socket: &TcpStream, client: &mut Client) -> Option<Reply> {
    let handle = client.handle.clone();
    // Stops watching the socket once it holds the next pipelined request (it stays readable).
    let mut watch_socket = true;
    let mut byte = [0u8; 1];
    loop {
        let until_deadline = crate::connection::block_deadline(client.blocked.and_then(|b| b.deadline));
        tokio::select! {
            _ = handle.wake.notified() => {}
            _ = until_deadline => {}
            peeked = socket.peek(&mut byte), if watch_socket => {
                match peeked {
                    Ok(0) | Err(_) => {
                        crate::commands::blocking::forget(shared, client);
                        client.blocked = None;
                        return None;
                    }
                    Ok(_) => watch_socket = false,
                }
            }
        }
        if handle.is_killed() {
            crate::commands::blocking::forget(shared, client);
            client.blocked = None;
            return None;
        }
        let mut out = ReplyBuf::new();
        if crate::commands::blocking::finish_wait(shared, client, &mut out) {
            let bytes = match handle.take_outbox() {
                Some(served) => served.to_vec(),
                None => out.buf.to_vec(),
            };
            crate::aof::after_batch(shared);
            let reply = json::parse_reply(&bytes).map(|(r, _)| r);
            return Some(
                reply.unwrap_or_else(|| Reply::Error(Bytes::from_static(b"ERR internal error: unreadable reply"))),
            );
        }
    }
}

/// `/multi-exec`: every command is checked first (one refused refuses the whole
/// transaction, so none of it runs), then MULTI, the commands and EXEC run under one lock.
fn run_transaction(
    shared: &Shared,
    client: &mut Client,
    token: &auth::Token,
    commands: &[Vec<Bytes>],
) -> Result<Vec<Reply>, Bytes> {
    let mut out = ReplyBuf::new();
    let result = {
        let mut ctx = Ctx::new(shared, client, &mut out);
        let refusal = {
            let tenants = &ctx.ks.get().tenants;
            commands.iter().find_map(|args| {
                let spec = table::lookup_command(args)?;
                if !arity_ok(spec, args) {
                    return None;
                }
                match auth::check(token, spec, args, tenants, false) {
                    Ok(auth::Confine::None) => None,
                    // KEYS/SCAN replies cannot be confined inside EXEC's.
                    Ok(_) => Some(format!(
                        "NOPERM this token is bound to tenant '{}' and may not run '{}' inside a transaction",
                        token.tenant.as_deref().unwrap_or_default(),
                        spec.full_name()
                    )),
                    Err(text) => Some(text),
                }
            })
        };
        match refusal {
            Some(text) => Err(Bytes::from(text)),
            None => {
                commands::execute(&mut ctx, &[Bytes::from_static(b"MULTI")]);
                for args in commands {
                    commands::execute(&mut ctx, args);
                }
                let mark = ctx.out.len();
                commands::execute(&mut ctx, &[Bytes::from_static(b"EXEC")]);
                let exec = json::parse_reply(&ctx.out.buf[mark..]).map(|(r, _)| r);
                match exec {
                    Some(Reply::Array(replies)) => Ok(replies),
                    Some(Reply::Error(text)) => Err(text),
                    _ => Err(Bytes::from_static(b"ERR the transaction did not run")),
                }
            }
        }
    };
    if client.multi.is_some() {
        // EXEC always ends the transaction; were one left open it would swallow the next call.
        let mut ctx = Ctx::new(shared, client, &mut out);
        commands::execute(&mut ctx, &[Bytes::from_static(b"DISCARD")]);
    }
    crate::aof::after_batch(shared);
    result
}

/// `SUBSCRIBE`/`PSUBSCRIBE` as an event stream: the subscription replies and then every
/// message as `data: ` lines, until the peer closes the connection or the client is killed.
async fn subscribe(
    shared: &Shared,
    socket: &mut TcpStream,
    client: &mut Client,
    token: &auth::Token,
    args: &[Bytes],
    sync_header: &str,
) -> Result<(), String> {
    let mut out = ReplyBuf::new();
    {
        let mut ctx = Ctx::new(shared, client, &mut out);
        let spec = table::lookup_command(args).filter(|s| arity_ok(s, args));
        if let Some(spec) = spec {
            let tenants = &ctx.ks.get().tenants;
            auth::check(token, spec, args, tenants, true)?;
        }
        commands::execute(&mut ctx, args);
    }
    let mut events = Vec::new();
    let mut at = 0;
    while let Some((reply, used)) = json::parse_reply(&out.buf[at..]) {
        if let Reply::Error(text) = reply {
            return Err(String::from_utf8_lossy(&text).into_owned());
        }
        write_event(&mut events, &reply);
        at += used;
    }
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n{sync_header}Connection: close\r\n\r\n"
    );
    if socket.write_all(head.as_bytes()).await.is_err() || socket.write_all(&events).await.is_err() {
        return Ok(());
    }
    let handle = client.handle.clone();
    let mut scratch = [0u8; 1024];
    loop {
        if handle.is_killed() || shared.shutting_down.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Some(messages) = handle.take_outbox() {
            let mut events = Vec::new();
            let mut at = 0;
            while let Some((reply, used)) = json::parse_reply(&messages[at..]) {
                write_event(&mut events, &reply);
                at += used;
            }
            if socket.write_all(&events).await.is_err() {
                return Ok(());
            }
            continue;
        }
        tokio::select! {
            _ = handle.wake.notified() => {}
            read = socket.read(&mut scratch) => match read {
                // Anything the peer sends is ignored; its closing ends the stream.
                Ok(0) | Err(_) => return Ok(()),
                Ok(_) => {}
            },
            // A comment line now and then keeps proxies from closing a quiet stream (and
            // finds a peer that is gone); clients skip lines that are not `data: `.
            _ = tokio::time::sleep(SSE_HEARTBEAT) => {
                if socket.write_all(b": keep-alive\n\n").await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// One pub/sub reply as Upstash streams it: `data: kind,channel,payload` (a pattern message
/// `data: pmessage,pattern,channel,payload`), the parts as text.
fn write_event(out: &mut Vec<u8>, reply: &Reply) {
    let Reply::Array(parts) = reply else { return };
    out.extend_from_slice(b"data: ");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match part {
            Reply::Bulk(b) | Reply::Simple(b) => out.extend_from_slice(b),
            Reply::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            _ => {}
        }
    }
    out.extend_from_slice(b"\n\n");
}
