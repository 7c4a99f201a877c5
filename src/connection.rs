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
use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
    let maxclients = shared.settings.maxclients.load(Ordering::Relaxed);
    let admitted = {
        let mut clients = shared.clients.lock();
        let admitted = clients.len() < maxclients;
        if admitted {
            clients.insert(id, handle.clone());
        }
        admitted
    };
    if !admitted {
        shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let _ = socket.write_all(b"-ERR max number of clients reached\r\n").await;
        return;
    }
    let authenticated = shared.settings.requirepass.read().is_none();
    let mut client = Client::new(handle.clone(), authenticated);
    let _ = client_loop(&shared, &mut socket, &mut client).await;
    crate::blocking::forget(&shared, &client);
    crate::pubsub::unsubscribe_all(&shared, &mut client);
    commands::transactions::forget_client(&shared, &mut client);
    shared.monitors.remove(id);
    client.publish_info();
    shared.clients.lock().remove(&id);
    shared.retire_client(&handle.info.lock());
}

async fn client_loop(shared: &Shared, socket: &mut TcpStream, client: &mut Client) -> std::io::Result<()> {
    let handle = client.handle.clone();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut parser = RequestParser::new();
    let mut out = ReplyBuf::new();
    // Until the first line is known: an HTTP request line is answered as a metrics scrape.
    let mut sniffing = true;
    loop {
        if handle.is_killed() {
            return Ok(());
        }
        if let Some(msgs) = handle.take_outbox() {
            // Messages published to this client while its batch ran go out after its replies.
            out.raw(&msgs);
        }
        if !out.is_empty() {
            if !write_out(socket, &handle, &out.buf).await? {
                return Ok(()); // killed while writing
            }
            client.net_output_bytes += out.len() as u64;
            note_reply_buffer(&handle, &out);
            out.buf.clear();
            if out.buf.capacity() > 1 << 20 {
                out.buf = BytesMut::with_capacity(16 * 1024);
            }
        }
        if client.close_after_reply {
            return Ok(());
        }
        if client.blocked.is_some() {
            // A blocking pop waits, without the keyspace lock, for another client to serve
            // it, its deadline, a kill or the socket closing. Input that arrives meanwhile
            // stays in the buffer until the pop has its reply.
            let deadline = client.blocked.and_then(|b| b.deadline);
            let until_deadline = async move {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = handle.wake.notified() => {}
                _ = until_deadline => {}
                read = socket.read_buf(&mut rbuf) => match read {
                    Ok(0) => return Ok(()),
                    Ok(n) => client.net_input_bytes += n as u64,
                    Err(e) => return Err(e),
                }
            }
            if handle.is_killed() || over_query_buffer_limit(shared, client, &parser, &rbuf) {
                return Ok(());
            }
            if crate::blocking::finish_wait(shared, client, &mut out) {
                // The pop's reply goes before those of the commands pipelined after it.
                if let Some(reply) = handle.take_outbox() {
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
            if let Some((until, _)) = shared.pause.active(crate::storage::now_ms()) {
                let left = Duration::from_millis(until.saturating_sub(crate::storage::now_ms()));
                tokio::select! {
                    _ = tokio::time::sleep(left) => {}
                    _ = resumed => {}
                    // Messages to deliver or a kill, handled at the top of the loop.
                    _ = handle.wake.notified() => continue,
                }
            }
            // Retries the held command; it is held again if the pause still applies to it.
            if process_input(shared, client, &mut parser, &mut rbuf, &mut out) == Input::Abort {
                return Ok(());
            }
            continue;
        }
        if handle.release_buffers.swap(false, Ordering::Relaxed) && rbuf.is_empty() {
            // Idle for a while: give the buffers back, as Redis's clientsCron does. The next
            // read starts small; a full chunk is reserved again after the next batch.
            rbuf = BytesMut::new();
            out.buf = BytesMut::new();
            handle.released_at_ms.store(handle.last_active_ms.load(Ordering::Relaxed), Ordering::Relaxed);
            handle.info.lock().query_buffer_free = 0;
        }
        let timeout = shared.settings.timeout_secs.load(Ordering::Relaxed);
        // Only clients that can time out pay for a timer on every read.
        let idle_limit = (timeout > 0 && client.subscription_count() == 0).then(|| Duration::from_secs(timeout));
        let read = async {
            match idle_limit {
                Some(limit) => tokio::time::timeout(limit, socket.read_buf(&mut rbuf)).await.ok(),
                None => Some(socket.read_buf(&mut rbuf).await),
            }
        };
        tokio::select! {
            biased;
            // New messages, a kill or a buffer release: handled at the top of the loop.
            _ = handle.wake.notified() => continue,
            read = read => match read {
                None => return Ok(()), // idle timeout
                Some(Ok(0)) => return Ok(()),
                Some(Ok(n)) => client.net_input_bytes += n as u64,
                Some(Err(e)) => return Err(e),
            },
        }
        // Checked on every read, as Redis does, so that no request over the limit is ever
        // complete in the buffer (and run) before it is seen.
        if over_query_buffer_limit(shared, client, &parser, &rbuf) {
            return Ok(());
        }
        if sniffing {
            use crate::metrics::http::{exchange, sniff, Sniff};
            match sniff(&rbuf) {
                Sniff::NeedMore => continue,
                Sniff::Http => {
                    exchange(shared, socket, rbuf.to_vec(), Origin::MainPort).await;
                    return Ok(());
                }
                Sniff::NotHttp => sniffing = false,
            }
        }
        if process_input(shared, client, &mut parser, &mut rbuf, &mut out) == Input::Abort {
            return Ok(());
        }
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

/// Writes `buf` in full; returns false if the client was killed before the socket took it all.
async fn write_out(socket: &mut TcpStream, handle: &ClientHandle, buf: &[u8]) -> std::io::Result<bool> {
    let mut written = 0;
    while written < buf.len() {
        handle.set_in_flight(buf.len() - written);
        tokio::select! {
            biased;
            n = socket.write(&buf[written..]) => {
                let n = n?;
                if n == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                written += n;
            }
            // A wake-up here is either a kill or a message, which waits in the outbox.
            _ = handle.wake.notified() => {
                if handle.is_killed() {
                    return Ok(false);
                }
            }
        }
    }
    handle.set_in_flight(0);
    Ok(true)
}

/// Keeps CLIENT LIST's `rbs`/`rbp` current.
fn note_reply_buffer(handle: &ClientHandle, out: &ReplyBuf) {
    let mut info = handle.info.lock();
    info.reply_buffer_size = out.buf.capacity();
    info.reply_buffer_peak = info.reply_buffer_peak.max(out.len());
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
/// during a pause of WRITE, commands that write or publish (and EXEC of a transaction that
/// queued one), as Redis's "may replicate" rule does. Queueing inside MULTI is not held.
fn held_by_pause(shared: &Shared, client: &Client, args: &[Bytes]) -> bool {
    let Some((_, writes_only)) = shared.pause.active(crate::storage::now_ms()) else {
        return false;
    };
    if !writes_only {
        return true;
    }
    let Some(spec) = table::lookup_command(args) else {
        return false;
    };
    let writes = |spec: &CommandSpec| spec.flags & flags::WRITE != 0 || matches!(spec.name, "publish" | "spublish");
    match &client.multi {
        Some(queued) => spec.name == "exec" && queued.iter().any(|(s, _)| writes(s)),
        None => writes(spec),
    }
}

/// Parses and runs every complete command in `rbuf`, leaving the replies in `out`.
fn process_input(
    shared: &Shared,
    client: &mut Client,
    parser: &mut RequestParser,
    rbuf: &mut BytesMut,
    out: &mut ReplyBuf,
) -> Input {
    let max_bulk_len = shared.settings.proto_max_bulk_len.load(Ordering::Relaxed);
    let query_limit = shared.settings.query_buffer_limit.load(Ordering::Relaxed);
    let mut input = Input::Served;
    let mut ctx = Ctx::new(shared, client, out);
    loop {
        let next = match ctx.client.paused_command.take() {
            Some(held) => Ok(Some(held)),
            None => {
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
                    input = Input::Abort;
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
                // A blocked client runs nothing else until its pop is answered.
                if ctx.client.close_after_reply || ctx.client.handle.is_killed() || ctx.client.blocked.is_some() {
                    break;
                }
            }
            Ok(None) => {
                // Arguments taken from the buffer are held too (with their slots).
                if over_query_buffer_limit(shared, ctx.client, parser, rbuf) {
                    input = Input::Abort;
                }
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
    // Keep a full read chunk available (and reported as qbuf-free) between batches.
    if rbuf.capacity() - rbuf.len() < READ_CHUNK {
        rbuf.reserve(READ_CHUNK);
    }
    client.handle.last_active_ms.store(crate::storage::now_ms(), Ordering::Relaxed);
    client.query_buffer = rbuf.len();
    client.publish_info();
    client.handle.info.lock().query_buffer_free = rbuf.capacity() - rbuf.len();
    input
}
