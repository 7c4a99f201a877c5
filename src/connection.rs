//! One client connection: read, parse, execute, write — with one write per batch of
//! pipelined commands, and pub/sub messages from other clients written between batches.

use crate::client::{Client, ClientHandle};
use crate::commands::{self, Ctx};
use crate::protocol::{ReplyBuf, RequestParser};
use crate::server::Shared;
use bytes::BytesMut;
use std::net::SocketAddr;
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
    let handle = ClientHandle::new(id, addr.to_string(), laddr);
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
    crate::pubsub::unsubscribe_all(&shared, &mut client);
    shared.merge_batch_stats(&mut client);
    shared.clients.lock().remove(&id);
}

async fn client_loop(shared: &Shared, socket: &mut TcpStream, client: &mut Client) -> std::io::Result<()> {
    let handle = client.handle.clone();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut parser = RequestParser::new();
    let mut out = ReplyBuf::new();
    loop {
        if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
            rbuf.reserve(READ_CHUNK);
        }
        let timeout = shared.settings.timeout_secs.load(Ordering::Relaxed);
        let idle_limit = if timeout > 0 && client.subscription_count() == 0 {
            Duration::from_secs(timeout)
        } else {
            Duration::from_secs(u64::MAX / 4)
        };
        tokio::select! {
            biased;
            _ = handle.wake.notified() => {
                if handle.is_killed() {
                    return Ok(());
                }
                if let Some(msgs) = handle.take_outbox() {
                    socket.write_all(&msgs).await?;
                    shared.net_output_bytes.fetch_add(msgs.len() as u64, Ordering::Relaxed);
                }
                continue;
            }
            read = tokio::time::timeout(idle_limit, socket.read_buf(&mut rbuf)) => {
                match read {
                    Err(_) => return Ok(()), // idle timeout
                    Ok(Ok(0)) => return Ok(()),
                    Ok(Ok(n)) => { shared.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed); }
                    Ok(Err(e)) => return Err(e),
                }
            }
        }
        let close = process_input(shared, client, &mut parser, &mut rbuf, &mut out);
        if let Some(msgs) = handle.take_outbox() {
            // Messages published to this client while its batch ran go out after its replies.
            out.raw(&msgs);
        }
        if !out.is_empty() {
            socket.write_all(&out.buf).await?;
            shared.net_output_bytes.fetch_add(out.len() as u64, Ordering::Relaxed);
            out.buf.clear();
            if out.buf.capacity() > 1 << 20 {
                out.buf = BytesMut::with_capacity(16 * 1024);
            }
        }
        if close || handle.is_killed() {
            return Ok(());
        }
    }
}

/// Parses and runs every complete command in `rbuf`. Returns true if the connection must close.
fn process_input(
    shared: &Shared,
    client: &mut Client,
    parser: &mut RequestParser,
    rbuf: &mut BytesMut,
    out: &mut ReplyBuf,
) -> bool {
    let max_bulk = shared.settings.proto_max_bulk_len.load(Ordering::Relaxed);
    let query_limit = shared.settings.query_buffer_limit.load(Ordering::Relaxed);
    let mut ctx = Ctx::new(shared, client, out);
    let mut last_command = None;
    loop {
        match parser.next(rbuf, max_bulk) {
            Ok(Some(args)) => {
                last_command = Some(args[0].clone());
                let skip = ctx.client.reply_skip;
                let mark = ctx.out.len();
                commands::execute(&mut ctx, &args);
                if ctx.client.reply_off || skip {
                    ctx.out.buf.truncate(mark);
                    if skip {
                        ctx.client.reply_skip = false;
                    }
                }
                if ctx.client.close_after_reply || ctx.client.handle.is_killed() {
                    break;
                }
            }
            Ok(None) => {
                if rbuf.len() + parser.pending_bytes() > query_limit {
                    tracing::warn!("closing client {} that reached the max query buffer length", ctx.client.handle.addr);
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
    let name = last_command.map(|c| String::from_utf8_lossy(&c).to_ascii_lowercase());
    client.publish_info(name.as_deref(), rbuf.len());
    shared.merge_batch_stats(client);
    client.close_after_reply
}
