//! One client connection: read, parse, execute, write — with one write per batch of
//! pipelined commands, and pub/sub messages from other clients written between batches.
//!
//! The task waits on two things at once: its socket and its handle's wake-up (a message
//! was queued for it, or it was killed). Writes are done piecewise so that a kill ends the
//! connection even while a write to a client that stopped reading is pending.

use crate::client::{Client, ClientHandle};
use crate::commands::{self, flags, table, CommandSpec, Ctx};
use crate::protocol::{ReplyBuf, RequestParser};
use crate::server::Shared;
use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads are done in chunks of this size; a big bulk reserves its full size instead.
const READ_CHUNK: usize = 16 * 1024;

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
    if protected_mode_denies(shared.settings.protected_mode.load(Ordering::Relaxed), !authenticated, addr.ip()) {
        shared.clients.lock().remove(&id);
        shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
        let _ = socket.write_all(PROTECTED_MODE_DENIED).await;
        return;
    }
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
            if handle.is_killed() {
                return Ok(());
            }
            if crate::blocking::finish_wait(shared, client, &mut out) {
                // The pop's reply goes before those of the commands pipelined after it.
                if let Some(reply) = handle.take_outbox() {
                    out.raw(&reply);
                }
                process_input(shared, client, &mut parser, &mut rbuf, &mut out);
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
            process_input(shared, client, &mut parser, &mut rbuf, &mut out);
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
        if sniffing {
            use crate::metrics::http::{exchange, sniff, Sniff};
            match sniff(&rbuf) {
                Sniff::NeedMore => continue,
                Sniff::Http => {
                    exchange(shared, socket, rbuf.to_vec()).await;
                    return Ok(());
                }
                Sniff::NotHttp => sniffing = false,
            }
        }
        process_input(shared, client, &mut parser, &mut rbuf, &mut out);
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
) {
    let max_bulk = shared.settings.proto_max_bulk_len.load(Ordering::Relaxed);
    let query_limit = shared.settings.query_buffer_limit.load(Ordering::Relaxed);
    let mut ctx = Ctx::new(shared, client, out);
    loop {
        let next = match ctx.client.paused_command.take() {
            Some(held) => Ok(Some(held)),
            None => parser.next(rbuf, max_bulk),
        };
        match next {
            Ok(Some(args)) => {
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
                if rbuf.len() + parser.pending_bytes() > query_limit {
                    tracing::warn!(
                        "closing client {} that reached the max query buffer length",
                        ctx.client.handle.addr
                    );
                    ctx.client.close_after_reply = true;
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
}

#[cfg(test)]
mod tests {
    use super::{protected_mode_denies, PROTECTED_MODE_DENIED};

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
