//! Client state: what one connection owns ([`Client`]) and what other connections may read or
//! signal ([`ClientHandle`]: CLIENT LIST/KILL, pub/sub delivery, output-buffer limits).

use crate::commands::CommandSpec;
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
    pub created: Instant,
    pub info: Mutex<ClientInfo>,
    /// Messages pushed by other clients (pub/sub), written by the owner between batches.
    outbox: Mutex<BytesMut>,
    outbox_len: AtomicUsize,
    /// When the outbox first went over the soft limit (ms since start; 0 = not over).
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
    pub last_command: String,
    pub last_interaction: Option<Instant>,
    pub subscriptions: usize,
    pub psubscriptions: usize,
    pub ssubscriptions: usize,
    pub multi: i64,
    pub flags: String,
    pub query_buffer: usize,
    pub tenant: String,
    pub no_evict: bool,
    pub resp: u8,
    pub user: String,
}

impl ClientHandle {
    pub fn new(id: u64, addr: String, laddr: String) -> Arc<Self> {
        Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            created: Instant::now(),
            info: Mutex::new(ClientInfo { multi: -1, resp: 2, user: "default".into(), ..Default::default() }),
            outbox: Mutex::new(BytesMut::new()),
            outbox_len: AtomicUsize::new(0),
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
        let len = {
            let mut q = self.outbox.lock();
            q.extend_from_slice(encoded);
            q.len()
        };
        self.outbox_len.store(len, Ordering::Relaxed);
        let over_hard = limit.hard > 0 && len as u64 > limit.hard;
        let over_soft = limit.soft > 0 && len as u64 > limit.soft;
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
        self.soft_since_ms.store(0, Ordering::Relaxed);
        if q.is_empty() {
            None
        } else {
            Some(q.split().freeze())
        }
    }

    pub fn pending_output(&self) -> usize {
        self.outbox_len.load(Ordering::Relaxed)
    }

    pub fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::Relaxed)
    }
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
    /// Keys being watched (db, key) and whether any changed since WATCH.
    pub watched: Vec<(usize, Bytes)>,
    pub batch: BatchStats,
    pub rng: crate::util::Rng,
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
            watched: Vec::new(),
            batch: BatchStats::default(),
            rng: crate::util::Rng::new(),
        }
    }

    pub fn subscription_count(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }

    /// RESP2 clients with subscriptions may only run the pub/sub commands, PING, QUIT, RESET.
    pub fn in_resp2_subscribed_mode(&self) -> bool {
        self.resp == 2 && self.subscription_count() > 0
    }

    /// Counts a completed command for INFO commandstats.
    pub fn record(&mut self, spec: &'static CommandSpec, elapsed: Duration, failed: bool) {
        if let Some(e) = self.batch.entries.iter_mut().find(|e| std::ptr::eq(e.0, spec)) {
            e.1 += 1;
            e.2 += elapsed;
            e.3 += failed as u32;
        } else {
            self.batch.entries.push((spec, 1, elapsed, failed as u32, 0));
        }
    }

    /// Counts a command rejected before it ran (arity, OOM ...).
    pub fn failed_command(&mut self, spec: &'static CommandSpec, rejected: bool) {
        if let Some(e) = self.batch.entries.iter_mut().find(|e| std::ptr::eq(e.0, spec)) {
            e.4 += rejected as u32;
        } else {
            self.batch.entries.push((spec, 0, Duration::ZERO, 0, rejected as u32));
        }
    }

    /// Copies the fields CLIENT LIST shows into the shared handle.
    pub fn publish_info(&self, last_command: Option<&str>, query_buffer: usize) {
        let mut info = self.handle.info.lock();
        info.db = self.db;
        info.subscriptions = self.channels.len();
        info.psubscriptions = self.patterns.len();
        info.ssubscriptions = self.shard_channels.len();
        info.multi = self.multi.as_ref().map_or(-1, |m| m.len() as i64);
        info.resp = self.resp;
        info.query_buffer = query_buffer;
        if let Some(c) = last_command {
            info.last_command = c.to_string();
        }
        info.last_interaction = Some(Instant::now());
        let mut flags = String::new();
        if self.subscription_count() > 0 {
            flags.push('P');
        }
        if self.multi.is_some() {
            flags.push('x');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        info.flags = flags;
    }
}
