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
    /// Memory this client holds (buffers, queued commands, subscriptions) as last counted
    /// into the server's client memory; CLIENT LIST's `tot-mem` and client eviction read it.
    pub tot_mem: AtomicUsize,
    /// CLIENT NO-EVICT: never closed by `maxmemory-clients`.
    pub no_evict: AtomicBool,
    pub resp3: AtomicBool,
    pub killed: AtomicBool,
    /// Waiting in a blocking pop; set and cleared under the keyspace lock by the blocking
    /// registry, so INFO's `blocked_clients` and CLIENT LIST's `b` flag are never stale.
    blocked: AtomicBool,
    pub wake: Notify,
    /// When the client last ran a batch (ms since epoch), and a request from the clients
    /// cron to give back its buffers because it has been idle.
    pub last_active_ms: AtomicU64,
    pub release_buffers: AtomicBool,
    /// `last_active_ms` as it was when the buffers were last given back.
    pub released_at_ms: AtomicU64,
}

/// Fields CLIENT LIST shows that change while the client runs.
#[derive(Default, Clone)]
pub struct ClientInfo {
    pub name: String,
    pub lib_name: String,
    pub lib_ver: String,
    pub db: usize,
    /// The last command that ran (`None` before the first one).
    pub last_command: Option<&'static CommandSpec>,
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
    /// This client's command counters (INFO commandstats sums them over all clients).
    pub commands: Vec<(&'static CommandSpec, CommandStat)>,
    pub total_commands: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
}

/// Counters for one command (INFO commandstats).
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandStat {
    pub calls: u64,
    pub usec: u64,
    pub failed_calls: u64,
    pub rejected_calls: u64,
}

impl CommandStat {
    pub fn add(&mut self, other: &CommandStat) {
        self.calls += other.calls;
        self.usec += other.usec;
        self.failed_calls += other.failed_calls;
        self.rejected_calls += other.rejected_calls;
    }
}

impl ClientHandle {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32) -> Arc<Self> {
        Arc::new(ClientHandle {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            info: Mutex::new(ClientInfo { multi: -1, resp: 2, user: "default".into(), ..Default::default() }),
            outbox: Mutex::new(BytesMut::new()),
            outbox_len: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            soft_since_ms: AtomicU64::new(0),
            tot_mem: AtomicUsize::new(0),
            no_evict: AtomicBool::new(false),
            resp3: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            wake: Notify::new(),
            last_active_ms: AtomicU64::new(crate::storage::now_ms()),
            release_buffers: AtomicBool::new(false),
            released_at_ms: AtomicU64::new(0),
        })
    }

    /// Queues an encoded message; returns false (and marks the client killed) if that takes
    /// its pending output past `limit` (the pub/sub or replica class limit).
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
        if self.over_output_limit(queued + self.in_flight.load(Ordering::Relaxed), limit, || now_ms) {
            self.kill();
            return false;
        }
        self.wake.notify_one();
        true
    }

    /// Whether `pending` bytes of output break `limit`, as Redis's
    /// `checkClientOutputBufferLimits`: over the hard limit at once, over the soft limit for
    /// `soft_seconds` without a break. Keeps the time the soft limit was first passed; the
    /// clock is read only while over it.
    pub fn over_output_limit(
        &self,
        pending: usize,
        limit: crate::config::OutputLimit,
        now_ms: impl Fn() -> u64,
    ) -> bool {
        let pending = pending as u64;
        if limit.hard > 0 && pending >= limit.hard {
            return true;
        }
        if limit.soft > 0 && pending >= limit.soft {
            let now = now_ms().max(1);
            let since = self.soft_since_ms.load(Ordering::Relaxed);
            if since == 0 {
                self.soft_since_ms.store(now, Ordering::Relaxed);
                return false;
            }
            return now.saturating_sub(since) >= limit.soft_seconds * 1000;
        }
        if self.soft_since_ms.load(Ordering::Relaxed) != 0 {
            self.soft_since_ms.store(0, Ordering::Relaxed);
        }
        false
    }

    /// Bytes queued by other clients and not yet taken by the owner.
    pub fn outbox_len(&self) -> usize {
        self.outbox_len.load(Ordering::Relaxed)
    }

    /// Queues the reply of a blocking command served by another connection. Unlike pub/sub
    /// messages it is the answer to this client's own command, so no output limit applies.
    pub fn deliver(&self, encoded: &[u8]) {
        let queued = {
            let mut q = self.outbox.lock();
            q.extend_from_slice(encoded);
            q.len()
        };
        self.outbox_len.store(queued, Ordering::Relaxed);
        self.wake.notify_one();
    }

    pub fn set_blocked(&self, blocked: bool) {
        self.blocked.store(blocked, Ordering::Relaxed);
    }

    pub fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::Relaxed)
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

    /// Records how many bytes of replies and messages the owner holds that the socket has
    /// not accepted yet.
    pub fn set_in_flight(&self, bytes: usize) {
        self.in_flight.store(bytes, Ordering::Relaxed);
        if bytes == 0 && self.outbox_len.load(Ordering::Relaxed) == 0 && self.soft_since_ms.load(Ordering::Relaxed) != 0
        {
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
    // Its buffers are as good as freed: client eviction and maxmemory stop counting them now.
    shared.set_client_memory(handle, 0);
}

/// Closes a client whose pending output broke its class's `client-output-buffer-limit`
/// (`class` names it in the log), without writing anything more to it, as Redis does.
pub fn close_for_output_limit(shared: &Shared, handle: &ClientHandle) {
    if handle.is_killed() && !shared.clients.lock().contains_key(&handle.id) {
        return; // already closed
    }
    tracing::warn!(
        "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
        crate::commands::client::describe_handle(handle)
    );
    shared.output_limit_disconnections.fetch_add(1, Ordering::Relaxed);
    disconnect(shared, handle);
}

/// Fixed memory of a client besides its buffers (its state, the handle, the task).
pub const CLIENT_BASE_MEMORY: usize = 2048;

/// Memory one WATCHed key costs: the client's entry, the keyspace's watcher entry and a
/// typical key.
pub const WATCH_OVERHEAD: usize = 128;

/// Memory one subscription costs besides its name: the client's set entry and the
/// registry's entry.
pub const SUBSCRIPTION_OVERHEAD: usize = 160;

/// Per-command counters a client collects during a batch, merged into the server's
/// command statistics once per batch.
#[derive(Default)]
pub struct BatchStats {
    pub entries: Vec<(&'static CommandSpec, CommandStat)>,
}

impl BatchStats {
    /// Adds another batch's counters for `spec` (a script's commands count for its caller).
    pub fn add(&mut self, spec: &'static CommandSpec, stat: &CommandStat) {
        let e = self.entry(spec);
        e.calls += stat.calls;
        e.usec += stat.usec;
        e.failed_calls += stat.failed_calls;
        e.rejected_calls += stat.rejected_calls;
    }

    fn entry(&mut self, spec: &'static CommandSpec) -> &mut CommandStat {
        let i = match self.entries.iter().position(|(s, _)| std::ptr::eq(*s, spec)) {
            Some(i) => i,
            None => {
                self.entries.push((spec, CommandStat::default()));
                self.entries.len() - 1
            }
        };
        &mut self.entries[i].1
    }
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
    /// The last command that ran, and bytes read and written since the last batch.
    pub last_command: Option<&'static CommandSpec>,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Set while a blocking pop waits for a list; the connection runs nothing else meanwhile.
    pub blocked: Option<crate::commands::blocking::Blocked>,
    /// Keys this client WATCHes, as (db, key); the keyspace keeps who watches what.
    pub watched: Vec<(usize, Bytes)>,
    pub batch: BatchStats,
    pub rng: crate::util::Rng,
    /// Tenant of the last keyed command.
    pub last_tenant: Option<crate::tenants::TenantId>,
    /// What the running write may take per tenant (kept to reuse its buffer).
    pub write_demand: crate::commands::WriteDemand,
    /// With the AOF on, the commands that replay the running command, when a handler logs it
    /// in another form than its arguments (XREADGROUP as the XCLAIMs of what it delivered).
    pub log_as: Option<Vec<Vec<bytes::Bytes>>>,
    /// Memory of the client's subscriptions (names plus [`SUBSCRIPTION_OVERHEAD`] each),
    /// kept as they change so that counting it costs nothing per batch.
    pub subscription_memory: usize,
    /// Bytes of the arguments of the commands MULTI queued (as of the last batch).
    pub multi_memory: usize,
    /// Largest amount of replies held at once (CLIENT LIST `rbp`).
    pub reply_peak: usize,
    /// Commands wait in the query buffer because the replies reached
    /// `client-output-backpressure-limit`; they run once the socket takes some.
    pub input_waiting: bool,
    /// The AOF loader's own client: it runs what the log holds even while the server refuses
    /// other clients' commands with -LOADING.
    pub replaying_log: bool,
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
            last_command: None,
            net_input_bytes: 0,
            net_output_bytes: 0,
            blocked: None,
            watched: Vec::new(),
            batch: BatchStats::default(),
            rng: crate::util::Rng::new(),
            last_tenant: None,
            write_demand: Vec::new(),
            log_as: None,
            subscription_memory: 0,
            multi_memory: 0,
            reply_peak: 0,
            input_waiting: false,
            replaying_log: false,
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
        let stat = self.batch.entry(spec);
        stat.calls += 1;
        stat.usec += elapsed.as_micros() as u64;
        stat.failed_calls += failed as u64;
    }

    /// Marks the last command as failed after all (a blocked command answered with an error
    /// when it was woken).
    pub fn fail_last_command(&mut self) {
        if let Some(spec) = self.last_command {
            self.batch.entry(spec).failed_calls += 1;
        }
    }

    /// Counts a command rejected before it ran (arity, OOM ...).
    pub fn failed_command(&mut self, spec: &'static CommandSpec, rejected: bool) {
        self.batch.entry(spec).rejected_calls += rejected as u64;
    }

    /// Copies the fields CLIENT LIST and INFO show into the shared handle, and merges the
    /// batch's command counters into the client's own (one uncontended lock per batch:
    /// statistics never go through a lock or atomic that all connections share).
    pub fn publish_info(&mut self) {
        let mut info = self.handle.info.lock();
        info.db = self.db;
        info.subscriptions = self.channels.len();
        info.psubscriptions = self.patterns.len();
        info.ssubscriptions = self.shard_channels.len();
        info.multi = self.multi.as_ref().map_or(-1, |m| m.len() as i64);
        self.multi_memory = self.multi.as_ref().map_or(0, |m| m.iter().flat_map(|(_, a)| a).map(|a| a.len()).sum());
        info.multi_mem = self.multi_memory;
        info.resp = self.resp;
        info.query_buffer = self.query_buffer;
        info.no_evict = self.no_evict;
        self.handle.no_evict.store(self.no_evict, Ordering::Relaxed);
        info.no_touch = self.no_touch;
        info.last_tenant = self.last_tenant;
        if self.last_command.is_some() {
            info.last_command = self.last_command;
        }
        info.last_interaction = Some(Instant::now());
        info.net_input_bytes += std::mem::take(&mut self.net_input_bytes);
        info.net_output_bytes += std::mem::take(&mut self.net_output_bytes);
        for (spec, stat) in self.batch.entries.drain(..) {
            info.total_commands += stat.calls;
            match info.commands.iter_mut().find(|(s, _)| std::ptr::eq(*s, spec)) {
                Some((_, total)) => total.add(&stat),
                None => info.commands.push((spec, stat)),
            }
        }
        let flags = &mut info.flags;
        flags.clear();
        for (on, c) in [
            (self.subscription_count() > 0, 'P'),
            (self.multi.is_some(), 'x'),
            (self.handle.is_blocked(), 'b'),
            (self.close_after_reply, 'c'),
            (self.no_evict, 'e'),
            (self.no_touch, 'T'),
        ] {
            if on {
                flags.push(c);
            }
        }
        if flags.is_empty() {
            flags.push('N');
        }
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

    /// The end of the running pause and whether it holds back only writes. Asked before
    /// every command: the clock is read only while a pause is set.
    pub fn active(&self) -> Option<(u64, bool)> {
        let until = self.until_ms.load(Ordering::Relaxed);
        (until != 0 && until > crate::storage::now_ms()).then(|| (until, self.writes_only.load(Ordering::Relaxed)))
    }
}
