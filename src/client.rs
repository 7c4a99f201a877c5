//! Client state: what one connection owns ([`Client`]) and what other connections may read or
//! signal ([`ClientHandle`]: CLIENT LIST/KILL, pub/sub delivery, output-buffer limits).

use crate::commands::CommandSpec;
use crate::server::Shared;
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The part of a client that other connections can reach.
pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    /// The socket's file descriptor, as CLIENT LIST shows it.
    pub fd: i32,
    pub created: Instant,
    pub info: Mutex<ClientInfo>,
    /// Messages pushed by other clients (pub/sub), written by the owner between batches.
    outbox: Mutex<BytesMut>,
    outbox_len: AtomicUsize,
    /// Bytes the owner took for writing that the socket has not accepted yet; they count
    /// against the output buffer limit too, so a subscriber that never reads cannot hide
    /// its backlog in a write that never finishes.
    in_flight: AtomicUsize,
    /// When the pending output first went over the soft limit (ms since epoch; 0 = not over).
    soft_since_ms: AtomicU64,
    pub resp3: AtomicBool,
    pub killed: AtomicBool,
    pub wake: Notify,
}

/// Fields CLIENT LIST shows that change while the client runs.
#[derive(Default, Clone)]
pub struct ClientInfo {
    pub name: String,
    pub lib_name: String,
    pub lib_ver: String,
    pub db: usize,
    /// Full name of the last command (`client|list`), empty before the first one.
    pub last_command: String,
    pub last_interaction: Option<Instant>,
    pub subscriptions: usize,
    pub psubscriptions: usize,
    pub ssubscriptions: usize,
    pub multi: i64,
    pub flags: String,
    pub query_buffer: usize,
    pub query_buffer_free: usize,
    pub multi_mem: usize,
    /// Capacity of the reply buffer and the largest reply batch written so far.
    pub reply_buffer_size: usize,
    pub reply_buffer_peak: usize,
    pub tenant: String,
    /// Tenant of the client's last keyed command (CLIENT LIST `tenant=`).
    pub last_tenant: Option<crate::tenants::TenantId>,
    pub no_evict: bool,
    pub no_touch: bool,
    pub resp: u8,
    pub user: String,
}

impl ClientHandle {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32) -> Arc<Self> {
        Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            info: Mutex::new(ClientInfo {
                multi: -1,
                resp: 2,
                user: "default".into(),
                ..Default::default()
            }),
            outbox: Mutex::new(BytesMut::new()),
            outbox_len: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            soft_since_ms: AtomicU64::new(0),
            resp3: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// Queues an encoded message; returns false (and marks the client killed) if that takes
    /// its pending output past the pub/sub output buffer limit.
    pub fn push(&self, encoded: &[u8], limit: crate::config::OutputLimit, now_ms: u64) -> bool {
        if self.killed.load(Ordering::Relaxed) {
            return false;
        }
        let queued = {
            let mut q = self.outbox.lock();
            q.extend_from_slice(encoded);
            q.len()
        };
        self.outbox_len.store(queued, Ordering::Relaxed);
        let pending = (queued + self.in_flight.load(Ordering::Relaxed)) as u64;
        let over_hard = limit.hard > 0 && pending > limit.hard;
        let over_soft = limit.soft > 0 && pending > limit.soft;
        let mut kill = over_hard;
        if over_soft {
            let since = self.soft_since_ms.load(Ordering::Relaxed);
            if since == 0 {
                self.soft_since_ms.store(now_ms.max(1), Ordering::Relaxed);
            } else if now_ms.saturating_sub(since) >= limit.soft_seconds * 1000 {
                kill = true;
            }
        } else {
            self.soft_since_ms.store(0, Ordering::Relaxed);
        }
        if kill {
            self.kill();
            return false;
        }
        self.wake.notify_one();
        true
    }

    /// Takes everything queued for this client.
    pub fn take_outbox(&self) -> Option<Bytes> {
        if self.outbox_len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut q = self.outbox.lock();
        self.outbox_len.store(0, Ordering::Relaxed);
        if q.is_empty() {
            None
        } else {
            Some(q.split().freeze())
        }
    }

    /// Records how many taken bytes still wait for the socket.
    pub fn set_in_flight(&self, bytes: usize) {
        self.in_flight.store(bytes, Ordering::Relaxed);
        if bytes == 0 && self.outbox_len.load(Ordering::Relaxed) == 0 {
            self.soft_since_ms.store(0, Ordering::Relaxed);
        }
    }

    /// Output queued for this client and not yet accepted by its socket.
    pub fn pending_output(&self) -> usize {
        self.outbox_len.load(Ordering::Relaxed) + self.in_flight.load(Ordering::Relaxed)
    }

    /// Asks the owning task to close the connection at once (even in the middle of a write).
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }
}

/// Closes a client on behalf of another one (CLIENT KILL, output buffer limit): it leaves
/// CLIENT LIST and the pub/sub registry now, and its task closes the socket as soon as it runs.
pub fn disconnect(shared: &Shared, handle: &ClientHandle) {
    handle.kill();
    shared.clients.lock().remove(&handle.id);
    shared.pubsub.lock().remove_client(handle.id);
}

/// Per-command counters a client collects during a batch, merged into the server's
/// command statistics once per batch.
#[derive(Default)]
pub struct BatchStats {
    pub entries: Vec<(&'static CommandSpec, u32, Duration, u32, u32)>,
}

/// State owned by one connection's task.
pub struct Client {
    pub id: u64,
    pub handle: Arc<ClientHandle>,
    pub db: usize,
    pub authenticated: bool,
    pub resp: u8,
    /// Commands queued by MULTI; `None` outside a transaction.
    pub multi: Option<Vec<(&'static CommandSpec, Vec<Bytes>)>>,
    /// An error while queueing: EXEC will abort with EXECABORT.
    pub multi_failed: bool,
    pub channels: HashSet<Bytes>,
    pub patterns: HashSet<Bytes>,
    pub shard_channels: HashSet<Bytes>,
    /// Close the connection once the current replies are written (QUIT, protocol error).
    pub close_after_reply: bool,
    /// CLIENT REPLY OFF/SKIP state.
    pub reply_off: bool,
    pub reply_skip: bool,
    /// Push messages for this client produced by its own command (a PUBLISH to a channel it
    /// is subscribed to, a keyspace event): written after that command's reply, as in Redis
    /// 7.2, and delivered even when its replies are switched off.
    pub pending_pushes: BytesMut,
    /// CLIENT NO-EVICT and NO-TOUCH switches.
    pub no_evict: bool,
    pub no_touch: bool,
    /// A command held back by CLIENT PAUSE; it runs, before anything read after it, once
    /// the pause ends.
    pub paused_command: Option<Vec<Bytes>>,
    /// Bytes of the query buffer while the current command runs (the command included).
    pub query_buffer: usize,
    /// Keys being watched (db, key) and whether any changed since WATCH.
    pub watched: Vec<(usize, Bytes)>,
    pub batch: BatchStats,
    pub rng: crate::util::Rng,
    /// Tenant of the last keyed command.
    pub last_tenant: Option<crate::tenants::TenantId>,
}

impl Client {
    pub fn new(handle: Arc<ClientHandle>, authenticated: bool) -> Self {
        Client {
            id: handle.id,
            handle,
            db: 0,
            authenticated,
            resp: 2,
            multi: None,
            multi_failed: false,
            channels: HashSet::new(),
            patterns: HashSet::new(),
            shard_channels: HashSet::new(),
            close_after_reply: false,
            reply_off: false,
            reply_skip: false,
            pending_pushes: BytesMut::new(),
            no_evict: false,
            no_touch: false,
            paused_command: None,
            query_buffer: 0,
            watched: Vec::new(),
            batch: BatchStats::default(),
            rng: crate::util::Rng::new(),
            last_tenant: None,
        }
    }

    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }

    /// RESP2 clients with subscriptions may only run the pub/sub commands, PING, QUIT, RESET.
    pub fn in_resp2_subscribed_mode(&self) -> bool {
        self.resp == 2 && self.subscription_count() > 0
    }

    /// Whether the current command's replies are being dropped (CLIENT REPLY OFF/SKIP).
    pub fn replies_muted(&self) -> bool {
        self.reply_off || self.reply_skip
    }

    /// Counts a completed command for INFO commandstats.
    pub fn record(&mut self, spec: &'static CommandSpec, elapsed: Duration, failed: bool) {
        if let Some(e) = self
            .batch
            .entries
            .iter_mut()
            .find(|e| std::ptr::eq(e.0, spec))
        {
            e.1 += 1;
            e.2 += elapsed;
            e.3 += failed as u32;
        } else {
            self.batch
                .entries
                .push((spec, 1, elapsed, failed as u32, 0));
        }
    }

    /// Counts a command rejected before it ran (arity, OOM ...).
    pub fn failed_command(&mut self, spec: &'static CommandSpec, rejected: bool) {
        if let Some(e) = self
            .batch
            .entries
            .iter_mut()
            .find(|e| std::ptr::eq(e.0, spec))
        {
            e.4 += rejected as u32;
        } else {
            self.batch
                .entries
                .push((spec, 0, Duration::ZERO, 0, rejected as u32));
        }
    }

    /// Copies the fields CLIENT LIST shows into the shared handle. `last_command` is the
    /// full name of the command that ran last (`None` keeps the previous one).
    pub fn publish_info(&self, last_command: Option<&str>) {
        let mut info = self.handle.info.lock();
        info.db = self.db;
        info.subscriptions = self.channels.len();
        info.psubscriptions = self.patterns.len();
        info.ssubscriptions = self.shard_channels.len();
        info.multi = self.multi.as_ref().map_or(-1, |m| m.len() as i64);
        info.multi_mem = self
            .multi
            .as_ref()
            .map_or(0, |m| m.iter().flat_map(|(_, a)| a).map(|a| a.len()).sum());
        info.resp = self.resp;
        info.query_buffer = self.query_buffer;
        info.no_evict = self.no_evict;
        info.no_touch = self.no_touch;
        info.last_tenant = self.last_tenant;
        if let Some(c) = last_command {
            info.last_command.clear();
            info.last_command.push_str(c);
        }
        info.last_interaction = Some(Instant::now());
        let mut flags = String::new();
        if self.subscription_count() > 0 {
            flags.push('P');
        }
        if self.multi.is_some() {
            flags.push('x');
        }
        if self.close_after_reply {
            flags.push('c');
        }
        if self.no_evict {
            flags.push('e');
        }
        if self.no_touch {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        info.flags = flags;
    }
}

/// CLIENT PAUSE state, server-wide: until when, and whether only writes wait.
#[derive(Default)]
pub struct Pause {
    /// End of the pause in ms since the epoch; 0 = not paused.
    until_ms: AtomicU64,
    writes_only: AtomicBool,
    /// Woken on CLIENT UNPAUSE so waiting clients resume at once.
    pub resumed: Notify,
}

impl Pause {
    /// Pauses until `until_ms` (a running pause is never shortened) for all commands or
    /// only for writes (the latest call decides which).
    pub fn start(&self, until_ms: u64, writes_only: bool) {
        self.writes_only.store(writes_only, Ordering::Relaxed);
        self.until_ms.fetch_max(until_ms, Ordering::Relaxed);
    }

    pub fn end(&self) {
        self.until_ms.store(0, Ordering::Relaxed);
        self.resumed.notify_waiters();
    }

    /// The end of the running pause and whether it holds back only writes.
    pub fn active(&self, now_ms: u64) -> Option<(u64, bool)> {
        let until = self.until_ms.load(Ordering::Relaxed);
        (until > now_ms).then(|| (until, self.writes_only.load(Ordering::Relaxed)))
    }
}
