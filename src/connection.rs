//! One client connection: read, parse, execute, write — with one write per batch of
//! pipelined commands, and pub/sub messages from other clients written between batches.
//!
//! The task waits on two things at once: its socket and its handle's wake-up (a message
//! was queued for it, or it was killed). Writes are done piecewise so that a kill ends the
//! connection even while a write to a client that stopped reading is pending.

use crate::client::{Client, ClientHandle};
use crate::commands::{self, flags, table, CommandSpec, Ctx};
use crate::metrics::http::Origin;
use crate::protocol::{ReplyBuf, RequestLimits, RequestParser};
use crate::server::Shared;
use bytes::{Buf, Bytes, BytesMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UnixStream};

/// What a RESP client is connected through: a TCP socket, or a Unix domain socket
/// (`unixsocket`). The client loop reads and writes without waiting and waits for readiness.
pub trait ClientSocket: Send {
    fn readable(&self) -> impl std::future::Future<Output = std::io::Result<()>> + Send;
    fn writable(&self) -> impl std::future::Future<Output = std::io::Result<()>> + Send;
    fn try_read_buf(&self, buf: &mut BytesMut) -> std::io::Result<usize>;
    fn try_write(&self, buf: &[u8]) -> std::io::Result<usize>;
    /// The TCP stream, for the HTTP requests the main port answers too (metrics, REST);
    /// `None` on a Unix socket, which speaks RESP only, as Redis's does.
    fn as_tcp(&mut self) -> Option<&mut TcpStream>;
}

/// Both stream types have these as inherent methods of the same names.
macro_rules! client_socket {
    ($stream:ty, $as_tcp:expr) => {
        impl ClientSocket for $stream {
            fn readable(&self) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
                <$stream>::readable(self)
            }
            fn writable(&self) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
                <$stream>::writable(self)
            }
            fn try_read_buf(&self, buf: &mut BytesMut) -> std::io::Result<usize> {
                <$stream>::try_read_buf(self, buf)
            }
            fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                <$stream>::try_write(self, buf)
            }
            fn as_tcp(&mut self) -> Option<&mut TcpStream> {
                $as_tcp(self)
            }
        }
    };
}

client_socket!(TcpStream, Some);
client_socket!(UnixStream, |_| None);

/// Reads are done in chunks of this size; a big bulk reserves its full size instead.
const READ_CHUNK: usize = 16 * 1024;

/// What became of a batch of input.
#[derive(PartialEq, Eq)]
enum Input {
    /// Commands ran (or more input is needed); replies are in the output buffer.
    Served,
    /// The connection must close now, without writing what is pending (a cross-protocol
    /// request, or a query buffer over its limit).
    Abort,
}

pub async fn serve(shared: Arc<Shared>, mut socket: TcpStream, addr: SocketAddr) {
    let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
    let laddr = socket.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let handle = ClientHandle::new(id, addr.to_string(), laddr, socket.as_raw_fd());
    let password_set = shared.settings.requirepass.read().is_some();
    if protected_mode_denies(shared.settings.protected_mode.load(Ordering::Relaxed), password_set, addr.ip()) {
        shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let _ = socket.write_all(PROTECTED_MODE_DENIED).await;
        return;
    }
    serve_session(&shared, socket, handle).await;
}

/// Serves a client of the `unixsocket` listener. Protected mode does not apply: only local
/// processes allowed by the socket file's permissions reach it (as in Redis). Its address is
/// the socket's path, `path:0`, as Redis shows it.
pub async fn serve_unix(shared: Arc<Shared>, socket: UnixStream, path: Arc<str>) {
    let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
    let addr = format!("{path}:0");
    let handle = ClientHandle::new(id, addr.clone(), addr, socket.as_raw_fd());
    serve_session(&shared, socket, handle).await;
}

/// Takes a `maxclients` slot for the client and runs its loop; refuses it when none is free.
async fn serve_session<S: ClientSocket + tokio::io::AsyncWrite + Unpin>(
    shared: &Shared,
    mut socket: S,
    handle: Arc<ClientHandle>,
) {
    let Some(mut session) = ClientSession::open(shared, handle) else {
        shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let _ = socket.write_all(b"-ERR max number of clients reached\r\n").await;
        return;
    };
    let _ = client_loop(shared, &mut socket, &mut session.client).await;
}

/// Serves a connection of the `http-port` listener: REST calls only, as a client holding a
/// `maxclients` slot like any other (CLIENT LIST shows it, CLIENT KILL ends it). Protected
/// mode does not apply: every call needs a token, and none runs without one.
pub async fn serve_rest(shared: Arc<Shared>, mut socket: TcpStream, addr: SocketAddr) {
    let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
    let laddr = socket.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let handle = ClientHandle::new(id, addr.to_string(), laddr, socket.as_raw_fd());
    let Some(mut session) = ClientSession::open(&shared, handle) else {
        shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let body = b"{\"error\":\"ERR max number of clients reached\"}";
        let _ = socket.write_all(&crate::rest::http::json_response(503, "", body, false, false)).await;
        return;
    };
    crate::rest::serve(&shared, &mut socket, &mut session.client, Vec::new()).await;
}

/// A client holding one of the `maxclients` slots. Dropping it gives the slot back and
/// forgets the client everywhere — also when its task panics and unwinds, so that a bug hit
/// by one client closes only that connection and never leaks a slot.
struct ClientSession<'a> {
    shared: &'a Shared,
    client: Client,
}

impl<'a> ClientSession<'a> {
    /// Takes a slot for `handle`; `None` when all `maxclients` slots are taken.
    fn open(shared: &'a Shared, handle: Arc<ClientHandle>) -> Option<Self> {
        let maxclients = shared.settings.maxclients.load(Ordering::Relaxed);
        {
            let mut clients = shared.clients.lock();
            if clients.len() >= maxclients {
                return None;
            }
            clients.insert(handle.id, handle.clone());
        }
        let authenticated = shared.settings.requirepass.read().is_none();
        Some(ClientSession { shared, client: Client::new(handle, authenticated) })
    }
}

impl Drop for ClientSession<'_> {
    fn drop(&mut self) {
        let (shared, client) = (self.shared, &mut self.client);
        let id = client.handle.id;
        if std::thread::panicking() {
            // The slot goes back first: the rest of the clean-up reads state the panic may
            // have left half-changed.
            shared.clients.lock().remove(&id);
            tracing::warn!("client id={} addr={} closed after an internal error", id, client.handle.addr);
        }
        crate::commands::blocking::forget(shared, client);
        crate::pubsub::unsubscribe_all(shared, client);
        commands::transactions::forget_client(shared, client);
        shared.monitors.remove(id);
        client.publish_info();
        shared.clients.lock().remove(&id);
        shared.set_client_memory(&client.handle, 0);
        shared.retire_client(&client.handle.info.lock());
    }
}

/// Redis's reply to a connection refused by protected mode, word for word.
pub const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected \
mode is enabled and no password is set for the default user. \
In this mode connections are only accepted from the loopback interface. \
If you want to connect from external computers to Redis you \
may adopt one of the following solutions: \
1) Just disable protected mode sending the command \
'CONFIG SET protected-mode no' from the loopback interface \
by connecting to Redis from the same host the server is \
running, however MAKE SURE Redis is not publicly accessible \
from internet if you do so. Use CONFIG REWRITE to make this \
change permanent. \
2) Alternatively you can just disable the protected mode by \
editing the Redis configuration file, and setting the protected \
mode option to 'no', and then restarting the server. \
3) If you started the server manually just for testing, restart \
it with the '--protected-mode no' option. \
4) Setup a an authentication password for the default user. \
NOTE: You only need to do one of the above things in order for \
the server to start accepting connections from the outside.\r\n";

/// Protected mode as in Redis 7: with it on and no password, only loopback peers (127.0.0.1
/// and ::1, and an IPv4 loopback peer seen through an IPv6 socket) are served. `bind` plays
/// no part, as in Redis 7, whose default bind listens everywhere.
pub fn protected_mode_denies(protected_mode: bool, password_set: bool, peer: std::net::IpAddr) -> bool {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let loopback = match peer {
        IpAddr::V4(v4) => v4 == Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST || v6.to_ipv4_mapped() == Some(Ipv4Addr::LOCALHOST),
    };
    protected_mode && !password_set && !loopback
}

async fn client_loop<S: ClientSocket>(shared: &Shared, socket: &mut S, client: &mut Client) -> std::io::Result<()> {
    let handle = client.handle.clone();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut parser = RequestParser::new();
    let mut out = ReplyBuf::new();
    // Until the first line is known: an HTTP request line is answered as a metrics scrape.
    let mut sniffing = socket.as_tcp().is_some() && shared.settings.primary_port_http.load(Ordering::Relaxed);
    loop {
        if handle.is_killed() {
            return Ok(());
        }
        if let Some(msgs) = handle.take_outbox() {
            // Messages published to this client while its batch ran go out after its replies.
            out.raw(&msgs);
        }
        if !out.is_empty() {
            // With `appendfsync always` no reply goes out before the writes it follows are
            // on disk.
            if let Some(target) = crate::aof::durable_target(shared) {
                crate::aof::wait_durable(shared, target).await;
            }
            // The other clients whose input is ready run first, so replies leave in one burst
            // per round, as Redis writes them all before it waits again: a client woken once
            // finds many replies. Flushing at once wakes it per reply, and on a virtual
            // machine each wake-up costs more than the command (SADD and HSET at pipeline 16:
            // 26 % and 34 % less server CPU per request with the yield).
            tokio::task::yield_now().await;
            flush(socket, client, &mut out)?;
        }
        account_memory(shared, client, &rbuf, &parser, &out);
        if client.close_after_reply && out.is_empty() {
            return Ok(());
        }
        if client.input_waiting
            && out.len() < shared.settings.output_backpressure.load(Ordering::Relaxed)
            && client.blocked.is_none()
            && client.paused_command.is_none()
        {
            // Commands read before the replies backed up run now that the socket took some.
            if process_input(shared, client, &mut parser, &mut rbuf, &mut out) == Input::Abort {
                return Ok(());
            }
            continue;
        }
        // Replies the socket has not taken are kept, and commands keep being read and run
        // (so a pipelining client is never stalled by its own replies), until they reach
        // `client-output-backpressure-limit`: then the client is not read until its socket
        // drains, so one that never reads holds a bounded amount of memory even with no
        // output limit.
        let writing = !out.is_empty();
        let backpressure = shared.settings.output_backpressure.load(Ordering::Relaxed);
        let may_read = !client.close_after_reply && out.len() < backpressure;
        if client.blocked.is_some() {
            // A blocking pop waits, without the keyspace lock, for another client to serve
            // it, its deadline, a kill or the socket closing. Input that arrives meanwhile
            // stays in the buffer until the pop has its reply.
            let until_deadline = block_deadline(client.blocked.and_then(|b| b.deadline));
            tokio::select! {
                _ = handle.wake.notified() => {}
                _ = until_deadline => {}
                ready = socket.writable(), if writing => { ready?; continue; }
                ready = socket.readable(), if may_read => {
                    ready?;
                    match read_some(socket, client, &mut rbuf) {
                        Read::Closed => return Ok(()),
                        Read::Failed(e) => return Err(e),
                        Read::Data | Read::NotReady => {}
                    }
                }
            }
            if handle.is_killed() || over_query_buffer_limit(shared, client, &parser, &rbuf) {
                return Ok(());
            }
            if crate::commands::blocking::finish_wait(shared, client, &mut out) {
                // The pop's reply goes before those of the commands pipelined after it.
                if let Some(reply) = handle.take_outbox() {
                    crate::commands::blocking::account_woken_reply(shared, client, &reply);
                    out.raw(&reply);
                }
                if process_input(shared, client, &mut parser, &mut rbuf, &mut out) == Input::Abort {
                    return Ok(());
                }
            }
            continue;
        }
        if client.paused_command.is_some() {
            // Created before the check, so an UNPAUSE in between is not missed.
            let resumed = shared.pause.resumed.notified();
            if let Some((until, _)) = shared.pause.active() {
                let left = Duration::from_millis(until.saturating_sub(crate::storage::now_ms()));
                tokio::select! {
                    _ = tokio::time::sleep(left) => {}
                    _ = resumed => {}
                    // Messages to deliver or a kill, handled at the top of the loop.
                    _ = handle.wake.notified() => continue,
                    ready = socket.writable(), if writing => { ready?; continue; }
                }
            }
            // Retries the held command; it is held again if the pause still applies to it.
            if process_input(shared, client, &mut parser, &mut rbuf, &mut out) == Input::Abort {
                return Ok(());
            }
            continue;
        }
        if !writing && handle.release_buffers.swap(false, Ordering::Relaxed) && rbuf.is_empty() {
            // Idle for a while: give the buffers back, as Redis's clientsCron does. The next
            // read starts small; a full chunk is reserved again after the next batch.
            rbuf = BytesMut::new();
            out.buf = BytesMut::new();
            handle.released_at_ms.store(handle.last_active_ms.load(Ordering::Relaxed), Ordering::Relaxed);
            handle.info.lock().query_buffer_free = 0;
            account_memory(shared, client, &rbuf, &parser, &out);
        }
        let timeout = shared.settings.timeout_secs.load(Ordering::Relaxed);
        // Only clients that can time out pay for a timer on every read.
        let idle_limit = (timeout > 0 && client.subscription_count() == 0).then(|| Duration::from_secs(timeout));
        let idle = async {
            match idle_limit {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            // New messages, a kill or a buffer release: handled at the top of the loop.
            _ = handle.wake.notified() => continue,
            ready = socket.writable(), if writing => { ready?; continue; }
            ready = socket.readable(), if may_read => {
                ready?;
                match read_some(socket, client, &mut rbuf) {
                    Read::Data => {}
                    Read::NotReady => continue,
                    Read::Closed => return Ok(()),
                    Read::Failed(e) => return Err(e),
                }
            }
            _ = idle => return Ok(()),
        }
        // Checked on every read, as Redis does, so that no request over the limit is ever
        // complete in the buffer (and run) before it is seen.
        if over_query_buffer_limit(shared, client, &parser, &rbuf) {
            return Ok(());
        }
        if let Some(tcp) = socket.as_tcp().filter(|_| sniffing) {
            use crate::metrics::http::{exchange, sniff, Sniff};
            let rest = shared.rest.enabled();
            match sniff(&rbuf, rest) {
                Sniff::NeedMore => continue,
                Sniff::Http if rest && crate::rest::is_rest_request(&rbuf) => {
                    crate::rest::serve(shared, tcp, client, rbuf.to_vec()).await;
                    return Ok(());
                }
                Sniff::Http => {
                    exchange(shared, tcp, rbuf.to_vec(), Origin::MainPort).await;
                    return Ok(());
                }
                Sniff::NotHttp => sniffing = false,
            }
        }
        // What was just read counts before any of it runs, as Redis counts the query buffer
        // after each read: a client over `maxmemory-clients` is closed before its command,
        // and keys make room for it under `maxmemory`. Without either limit the count after
        // the batch is enough.
        let s = &shared.settings;
        if s.maxmemory_clients.load(Ordering::Relaxed) > 0 || s.maxmemory.load(Ordering::Relaxed) > 0 {
            account_memory(shared, client, &rbuf, &parser, &out);
            if shared.clients_over_limit() {
                shared.evict_clients();
                if handle.is_killed() {
                    return Ok(());
                }
            }
        }
        if process_input(shared, client, &mut parser, &mut rbuf, &mut out) == Input::Abort {
            return Ok(());
        }
    }
}

/// Completes when a blocked command's deadline passes; never for one without a deadline.
pub async fn block_deadline(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Whether the client's unparsed input plus the command it is still receiving pass
/// `client-query-buffer-limit`; if so, logs it as Redis does (the caller closes).
fn over_query_buffer_limit(shared: &Shared, client: &Client, parser: &RequestParser, rbuf: &BytesMut) -> bool {
    let limit = shared.settings.query_buffer_limit.load(Ordering::Relaxed);
    let held = rbuf.len() + parser.pending_bytes();
    if held <= limit {
        return false;
    }
    let start = &rbuf[..rbuf.len().min(64)];
    tracing::warn!(
        "Closing client that reached max query buffer length: addr={} qbuf={held} (qbuf initial bytes: {:?})",
        client.handle.addr,
        String::from_utf8_lossy(start)
    );
    true
}

/// Redis's protection against cross-protocol scripting: `POST` and `Host:` are what an HTTP
/// request sent to this port by a browser looks like, as inline commands.
fn is_cross_protocol(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"post") || name.eq_ignore_ascii_case(b"host:")
}

/// Logs a cross-protocol request, at most once a minute so that an attack cannot flood the log.
fn warn_cross_protocol() {
    static LOGGED_AT_SECS: AtomicU64 = AtomicU64::new(0);
    let now = crate::storage::now_ms() / 1000;
    let last = LOGGED_AT_SECS.load(Ordering::Relaxed);
    if (last == 0 || now.abs_diff(last) > 60)
        && LOGGED_AT_SECS.compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        tracing::warn!(
            "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. \
             This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis \
             instance. Connection aborted."
        );
    }
}

/// Outcome of one non-blocking read.
enum Read {
    Data,
    /// The readiness was spurious.
    NotReady,
    Closed,
    Failed(std::io::Error),
}

fn read_some(socket: &impl ClientSocket, client: &mut Client, rbuf: &mut BytesMut) -> Read {
    match socket.try_read_buf(rbuf) {
        Ok(0) => Read::Closed,
        Ok(n) => {
            client.net_input_bytes += n as u64;
            Read::Data
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Read::NotReady,
        Err(e) => Read::Failed(e),
    }
}

/// Writes as much of `out` as the socket takes now, without waiting; what is left stays in
/// `out` (and counts as the client's pending output) until the socket is writable again.
fn flush(socket: &impl ClientSocket, client: &mut Client, out: &mut ReplyBuf) -> std::io::Result<()> {
    let mut written = 0;
    while !out.is_empty() {
        match socket.try_write(&out.buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                note_reply_peak(client, out.len());
                out.buf.advance(n);
                written += n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    client.net_output_bytes += written as u64;
    if out.is_empty() {
        out.buf.clear();
        if out.buf.capacity() > 1 << 20 {
            out.buf = BytesMut::with_capacity(16 * 1024);
        }
        client.handle.info.lock().reply_buffer_size = out.buf.capacity();
    }
    client.handle.set_in_flight(out.len());
    Ok(())
}

/// Keeps CLIENT LIST's `rbp` (largest reply batch) current.
fn note_reply_peak(client: &mut Client, len: usize) {
    if len > client.reply_peak {
        client.reply_peak = len;
        client.handle.info.lock().reply_buffer_peak = len;
    }
}

/// What a buffer of `capacity` counts for: small buffers count as two read chunks whatever
/// their exact capacity, which moves by a few kilobytes as commands are split off and room is
/// reserved again (and drops to 0 when an idle client gives it back); so the total stays
/// steady while clients do nothing unusual, as Redis's fixed reply buffer keeps it.
fn buffer_memory(capacity: usize) -> usize {
    capacity.max(2 * READ_CHUNK)
}

/// Counts the client's memory into the server's: fixed state, query buffer (and the
/// unfinished command the parser holds), unwritten replies, messages queued for it, its
/// transaction queue, subscriptions and WATCHed keys. O(1): a few loads and one swap.
fn account_memory(shared: &Shared, client: &Client, rbuf: &BytesMut, parser: &RequestParser, out: &ReplyBuf) {
    let bytes = crate::client::CLIENT_BASE_MEMORY
        + buffer_memory(rbuf.capacity())
        + parser.pending_bytes()
        + buffer_memory(out.buf.capacity())
        + client.handle.outbox_len()
        + client.multi_memory
        + client.subscription_memory
        + client.watched.len() * crate::client::WATCH_OVERHEAD;
    shared.set_client_memory(&client.handle, bytes);
}

/// Size of a command in RESP multibulk form: what it occupied in the query buffer.
fn encoded_len(args: &[Bytes]) -> usize {
    fn digits(mut n: usize) -> usize {
        let mut d = 1;
        while n >= 10 {
            n /= 10;
            d += 1;
        }
        d
    }
    3 + digits(args.len()) + args.iter().map(|a| 5 + digits(a.len()) + a.len()).sum::<usize>()
}

/// Whether CLIENT PAUSE holds this command back: every command during a pause of ALL;
/// during a pause of WRITE, commands that write or may replicate (and EXEC of a transaction
/// that queued one), as Redis's rule is. Queueing inside MULTI is not held.
fn held_by_pause(shared: &Shared, client: &Client, args: &[Bytes]) -> bool {
    let Some((_, writes_only)) = shared.pause.active() else {
        return false;
    };
    if !writes_only {
        return true;
    }
    let Some(spec) = table::lookup_command(args) else {
        return false;
    };
    let writes = |spec: &CommandSpec| spec.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0;
    match &client.multi {
        Some(queued) => spec.name == "exec" && queued.iter().any(|(s, _)| writes(s)),
        None => writes(spec),
    }
}

/// Parses and runs every complete command in `rbuf`, leaving the replies in `out`. Returns
/// the bytes of an unfinished command the parser holds.
fn process_input(
    shared: &Shared,
    client: &mut Client,
    parser: &mut RequestParser,
    rbuf: &mut BytesMut,
    out: &mut ReplyBuf,
) -> Input {
    let max_bulk_len = shared.settings.proto_max_bulk_len.load(Ordering::Relaxed);
    let query_limit = shared.settings.query_buffer_limit.load(Ordering::Relaxed);
    // Read once per batch: the class is the client's at the start of it (a SUBSCRIBE in the
    // batch makes it a subscriber from the next batch on).
    let limit = shared.settings.output_limits.get(if client.subscription_count() > 0 { 2 } else { 0 });
    let mut aborted = false;
    let backpressure = shared.settings.output_backpressure.load(Ordering::Relaxed);
    client.input_waiting = false;
    out.stop_at = limit.hard as usize;
    let mut ctx = Ctx::new(shared, client, out);
    // Requests left of those whose keys were last prefetched.
    let mut prefetched = 0usize;
    loop {
        let next = match ctx.client.paused_command.take() {
            Some(held) => Ok(Some(held)),
            None => {
                if prefetched == 0 && parser.is_between_commands() {
                    prefetched = prefetch_keys(&mut ctx, rbuf);
                }
                prefetched = prefetched.saturating_sub(1);
                // Taken per command: an AUTH earlier in the same batch lifts the limits.
                let limits = RequestLimits {
                    max_bulk_len,
                    query_buffer_limit: query_limit,
                    authenticated: ctx.client.authenticated,
                };
                parser.next(rbuf, &limits)
            }
        };
        match next {
            Ok(Some(args)) => {
                if is_cross_protocol(&args[0]) {
                    warn_cross_protocol();
                    aborted = true;
                    break;
                }
                if held_by_pause(shared, ctx.client, &args) {
                    ctx.client.paused_command = Some(args);
                    break;
                }
                ctx.client.query_buffer = encoded_len(&args) + rbuf.len();
                // CLIENT REPLY SKIP drops the reply of the command after it, unless that
                // command is CLIENT REPLY ON, which clears the flag.
                let skipping = ctx.client.reply_skip;
                let mark = ctx.out.len();
                commands::execute(&mut ctx, &args);
                let skipped = skipping && ctx.client.reply_skip;
                if ctx.client.reply_off || skipped {
                    ctx.out.buf.truncate(mark);
                }
                if skipped {
                    ctx.client.reply_skip = false;
                }
                if !ctx.client.pending_pushes.is_empty() {
                    let pushes = ctx.client.pending_pushes.split();
                    ctx.out.raw(&pushes);
                }
                if ctx.out.len() >= backpressure && !rbuf.is_empty() {
                    // The rest waits in the query buffer until the socket takes some replies.
                    ctx.client.input_waiting = true;
                    break;
                }
                if over_output_limit(ctx.client, ctx.out, limit) {
                    // Nothing more is written to it, not even the replies before this one.
                    ctx.out.buf.clear();
                    ctx.client.publish_info();
                    crate::client::close_for_output_limit(shared, &ctx.client.handle);
                    break;
                }
                // A blocked client runs nothing else until its pop is answered.
                if ctx.client.close_after_reply || ctx.client.handle.is_killed() || ctx.client.blocked.is_some() {
                    break;
                }
            }
            Ok(None) => {
                // Arguments taken from the buffer are held too (with their slots).
                aborted = over_query_buffer_limit(shared, ctx.client, parser, rbuf);
                break;
            }
            Err(e) => {
                tracing::debug!("protocol error from {}: {e}", ctx.client.handle.addr);
                ctx.out.error(&format!("ERR {e}"));
                ctx.client.close_after_reply = true;
                break;
            }
        }
    }
    drop(ctx);
    // The batch's writes reach the AOF file before its replies are sent (and with
    // `appendfsync always` the disk: the replies wait for it in `client_loop`).
    crate::aof::after_batch(shared);
    // Keep a full read chunk available (and reported as qbuf-free) between batches, except
    // while a big bulk is arriving: the parser reserved room for all of it, and growing the
    // buffer past that would double it.
    if rbuf.capacity() - rbuf.len() < READ_CHUNK && rbuf.len() < READ_CHUNK {
        rbuf.reserve(READ_CHUNK);
    }
    client.handle.last_active_ms.store(crate::storage::now_ms(), Ordering::Relaxed);
    client.query_buffer = rbuf.len();
    client.publish_info();
    client.handle.info.lock().query_buffer_free = rbuf.capacity() - rbuf.len();
    client.handle.set_in_flight(out.len());
    if aborted {
        Input::Abort
    } else {
        Input::Served
    }
}

/// Requests whose keys [`Keyspace::prefetch`](crate::storage::Keyspace::prefetch) loads
/// together: a pipeline of this many waits for memory about once per key, not twice.
const PREFETCH_WINDOW: usize = 16;

/// Prefetches the keys of the next pipelined requests waiting in `rbuf`, and the members
/// they name in big sets and hashes; returns how many requests it looked at (0 or 1: nothing
/// to overlap, nothing done).
fn prefetch_keys(ctx: &mut Ctx, rbuf: &BytesMut) -> usize {
    let mut keys: [&[u8]; PREFETCH_WINDOW] = [&[]; PREFETCH_WINDOW];
    let mut members: [(&[u8], &[u8]); PREFETCH_WINDOW] = [(&[], &[]); PREFETCH_WINDOW];
    let (mut found, mut found_members) = (0, 0);
    let seen = crate::protocol::peek_requests(rbuf, PREFETCH_WINDOW, |args| {
        let Some(&key) = args.get(1) else {
            return;
        };
        keys[found] = key;
        found += 1;
        if let Some(&member) = crate::commands::member_position(args[0]).and_then(|at| args.get(at)) {
            members[found_members] = (key, member);
            found_members += 1;
        }
    });
    if seen > 1 && found > 1 {
        let db = ctx.db();
        let ks = ctx.ks.get();
        ks.prefetch(db, &keys[..found]);
        if found_members > 1 {
            ks.prefetch_members(db, &members[..found_members]);
        }
    }
    seen
}

/// Whether the client's pending output (unwritten replies, this batch's included, and
/// messages queued for it) breaks its class's `client-output-buffer-limit`. Checked after
/// every command, so a transaction runs whole before its client is closed.
fn over_output_limit(client: &Client, out: &ReplyBuf, limit: crate::config::OutputLimit) -> bool {
    if limit.hard == 0 && limit.soft == 0 {
        return false;
    }
    let pending = out.len() + client.handle.outbox_len();
    client.handle.over_output_limit(pending, limit, crate::storage::now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_with_maxclients(n: &str) -> Arc<Shared> {
        let config = crate::config::Config::load(None, &[("maxclients".into(), vec![n.into()])]).unwrap();
        Shared::new(config).unwrap()
    }

    fn handle(id: u64) -> Arc<ClientHandle> {
        ClientHandle::new(id, format!("127.0.0.1:{}", 40000 + id), "127.0.0.1:6379".into(), -1)
    }

    #[test]
    fn a_panicking_client_gives_its_slot_back() {
        let shared = shared_with_maxclients("1");
        let first = ClientSession::open(&shared, handle(1)).expect("a free slot");
        assert!(ClientSession::open(&shared, handle(2)).is_none(), "maxclients 1 is taken");
        drop(first);
        // A client whose task panics while it holds the slot.
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _session = ClientSession::open(&shared, handle(3)).expect("the slot came back");
            panic!("a bug hit while serving the client");
        }));
        assert!(unwound.is_err());
        assert!(shared.clients.lock().is_empty());
        assert!(ClientSession::open(&shared, handle(4)).is_some(), "the panicked client's slot came back");
    }

    #[test]
    fn protected_mode_serves_only_loopback_without_a_password() {
        let ip = |s: &str| s.parse().unwrap();
        for loopback in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(!protected_mode_denies(true, false, ip(loopback)), "{loopback}");
        }
        // Redis compares the peer with 127.0.0.1 and ::1 only.
        for remote in ["192.0.2.7", "10.0.0.1", "127.0.0.2", "fd00::2", "::ffff:10.0.0.1"] {
            assert!(protected_mode_denies(true, false, ip(remote)), "{remote}");
            assert!(!protected_mode_denies(true, true, ip(remote)), "{remote} with a password");
            assert!(!protected_mode_denies(false, false, ip(remote)), "{remote} with protected-mode no");
        }
    }

    #[test]
    fn denied_reply_is_one_redis_error_line() {
        let text = std::str::from_utf8(PROTECTED_MODE_DENIED).unwrap();
        assert!(text.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled"));
        assert!(text.contains("restart it with the '--protected-mode no' option. 4) Setup"));
        assert!(text.ends_with("accepting connections from the outside.\r\n"));
        assert_eq!(text.matches('\n').count(), 1);
    }
}
