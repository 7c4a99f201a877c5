//! The server: shared state, listeners, the accept loop, background cycles (active expiry,
//! ops/sec sampling) and shutdown.

use crate::client::ClientHandle;
use crate::config::{Config, OutputLimit, OutputLimits};
use crate::pubsub::PubSub;
use crate::storage::Keyspace;
use crate::tenants::{KeyPattern, TenantRegistry};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

pub use crate::client::CommandStat;

/// Counters of clients that have disconnected (live clients keep their own).
#[derive(Default)]
pub struct RetiredStats {
    pub commands: HashMap<String, CommandStat>,
    pub total_commands: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
}

pub struct SlowLogEntry {
    pub id: u64,
    pub time: u64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: String,
}

/// Values from the configuration that hot paths read without taking the config lock.
pub struct Settings {
    pub proto_max_bulk_len: AtomicUsize,
    pub query_buffer_limit: AtomicUsize,
    /// `client-output-backpressure-limit`: unwritten replies at which a client is not read.
    pub output_backpressure: AtomicUsize,
    pub maxclients: AtomicUsize,
    pub timeout_secs: AtomicU64,
    pub slowlog_slower_than: AtomicI64,
    pub slowlog_max_len: AtomicUsize,
    pub output_limits: OutputLimitCells,
    pub requirepass: RwLock<Option<String>>,
    pub protected_mode: AtomicBool,
    pub hz: AtomicU64,
    /// Whether the active expire cycle runs (`DEBUG SET-ACTIVE-EXPIRE`, for tests as in Redis).
    pub active_expire: AtomicBool,
    /// `primary-port-http-enabled`: the main port answers an HTTP request line (metrics).
    pub primary_port_http: AtomicBool,
    /// `maxmemory`, and `maxmemory-clients` resolved to bytes (a percentage is of
    /// `maxmemory`; 0 = no client eviction).
    pub maxmemory: AtomicU64,
    pub maxmemory_clients: AtomicU64,
    /// `hll-sparse-max-bytes`: the size past which a sparse HyperLogLog is made dense.
    pub hll_sparse_max_bytes: AtomicUsize,
}

/// `client-output-buffer-limit` per class (normal, replica, pubsub): read by every client
/// batch, so kept in atomics rather than behind a lock shared by all connections. A reader
/// racing a CONFIG SET may see one class half-updated, which only moves the moment a limit
/// takes effect.
#[derive(Default)]
pub struct OutputLimitCells([[AtomicU64; 3]; 3]);

impl OutputLimitCells {
    pub fn get(&self, class: usize) -> OutputLimit {
        let [hard, soft, secs] = &self.0[class];
        OutputLimit {
            hard: hard.load(Ordering::Relaxed),
            soft: soft.load(Ordering::Relaxed),
            soft_seconds: secs.load(Ordering::Relaxed),
        }
    }

    pub fn set(&self, limits: &OutputLimits) {
        for ([hard, soft, secs], l) in self.0.iter().zip(limits) {
            hard.store(l.hard, Ordering::Relaxed);
            soft.store(l.soft, Ordering::Relaxed);
            secs.store(l.soft_seconds, Ordering::Relaxed);
        }
    }
}

pub struct Shared {
    pub keyspace: Mutex<Keyspace>,
    pub config: RwLock<Config>,
    pub settings: Settings,
    pub pubsub: Mutex<PubSub>,
    pub clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    /// CLIENT PAUSE.
    pub pause: crate::client::Pause,
    pub next_client_id: AtomicU64,
    /// Statistics of disconnected clients; see [`Shared::command_stats`] and [`Shared::totals`].
    pub retired: Mutex<RetiredStats>,
    pub error_stats: Mutex<BTreeMap<String, u64>>,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub pubsub_messages: AtomicU64,
    pub ops_per_sec: AtomicU64,
    pub slowlog: Mutex<VecDeque<SlowLogEntry>>,
    pub slowlog_next_id: AtomicU64,
    pub started: Instant,
    pub port: AtomicU64,
    pub shutting_down: AtomicBool,
    pub shutdown: tokio::sync::Notify,
    pub config_file: Option<String>,
    pub executable: String,
    /// Random 40-hex-digit identity of this run (INFO `run_id`).
    pub run_id: String,
    /// Unix time (seconds) the server started at (LASTSAVE: no save has happened since).
    pub started_unix: u64,
    /// Highest `used_memory` observed (INFO `used_memory_peak`).
    pub memory_peak: AtomicU64,
    /// Clients in MONITOR mode.
    pub monitors: crate::commands::latency::Monitors,
    /// Memory of all connected clients (the sum of their `tot-mem`); shared with the keyspace,
    /// which counts it in `used_memory`.
    pub client_memory: Arc<AtomicUsize>,
    /// Clients closed by `maxmemory-clients` (INFO `evicted_clients`) and by
    /// `client-output-buffer-limit` (INFO `client_output_buffer_limit_disconnections`).
    pub evicted_clients: AtomicU64,
    pub output_limit_disconnections: AtomicU64,
    /// Snapshots: the background save, save points, LASTSAVE, INFO persistence.
    pub persistence: crate::persistence::Persistence,
    /// The append-only file (`appendonly yes`).
    pub aof: crate::aof::Aof,
    /// EVAL and FUNCTION: the Lua state and the running script.
    pub scripting: crate::scripting::Scripting,
    /// The REST API's tokens (`http-token` lines, read at startup).
    pub rest: crate::rest::Rest,
}

/// Compiles `tenant-key-pattern` and `tenant-key-separator` from the configuration.
pub fn tenant_patterns(config: &Config) -> Result<(Vec<KeyPattern>, u8), String> {
    let sep = config.get("tenant-key-separator").as_bytes().first().copied().unwrap_or(b':');
    let patterns = config
        .get("tenant-key-pattern")
        .split_whitespace()
        .map(|p| KeyPattern::compile(p, sep, "{tenant}"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((patterns, sep))
}

impl Shared {
    /// The keyspace, for work outside a command (cycles, disconnects, CONFIG SET): while a
    /// script holds it, the wait does not hold up the runtime (see `crate::scripting`).
    pub fn lock_keyspace(&self) -> parking_lot::MutexGuard<'_, crate::storage::Keyspace> {
        match self.keyspace.try_lock() {
            Some(g) => g,
            None => crate::scripting::lock_during_script(&self.keyspace),
        }
    }

    pub fn new(config: Config) -> Result<Arc<Shared>, String> {
        let (patterns, sep) = tenant_patterns(&config)?;
        let databases = config.get_u64("databases") as usize;
        let keyspace = Keyspace::new(databases, TenantRegistry::new(patterns, sep));
        let client_memory = keyspace.client_memory.clone();
        let config_file = config.file.clone();
        let started_unix = crate::storage::now_ms() / 1000;
        let rest = crate::rest::Rest::from_config(&config)?;
        let shared = Arc::new(Shared {
            keyspace: Mutex::new(keyspace),
            settings: Settings {
                proto_max_bulk_len: AtomicUsize::new(0),
                query_buffer_limit: AtomicUsize::new(0),
                output_backpressure: AtomicUsize::new(64 << 20),
                maxclients: AtomicUsize::new(0),
                timeout_secs: AtomicU64::new(0),
                slowlog_slower_than: AtomicI64::new(0),
                slowlog_max_len: AtomicUsize::new(0),
                output_limits: OutputLimitCells::default(),
                requirepass: RwLock::new(None),
                protected_mode: AtomicBool::new(true),
                hz: AtomicU64::new(10),
                active_expire: AtomicBool::new(true),
                primary_port_http: AtomicBool::new(true),
                maxmemory: AtomicU64::new(0),
                maxmemory_clients: AtomicU64::new(0),
                hll_sparse_max_bytes: AtomicUsize::new(3000),
            },
            config: RwLock::new(config),
            pubsub: Mutex::new(PubSub::default()),
            clients: Mutex::new(BTreeMap::new()),
            pause: Default::default(),
            next_client_id: AtomicU64::new(1),
            retired: Mutex::new(RetiredStats::default()),
            error_stats: Mutex::new(BTreeMap::new()),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            pubsub_messages: AtomicU64::new(0),
            ops_per_sec: AtomicU64::new(0),
            slowlog: Mutex::new(VecDeque::new()),
            slowlog_next_id: AtomicU64::new(0),
            started: Instant::now(),
            port: AtomicU64::new(0),
            shutting_down: AtomicBool::new(false),
            shutdown: tokio::sync::Notify::new(),
            config_file,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| std::env::args().next().unwrap_or_default()),
            run_id: random_hex_id(),
            started_unix,
            memory_peak: AtomicU64::new(0),
            monitors: Default::default(),
            client_memory,
            evicted_clients: AtomicU64::new(0),
            output_limit_disconnections: AtomicU64::new(0),
            persistence: crate::persistence::Persistence::new(started_unix),
            aof: crate::aof::Aof::default(),
            scripting: crate::scripting::Scripting::default(),
            rest,
        });
        let names: Vec<&str> = crate::config::DIRECTIVES.iter().map(|d| d.name).collect();
        for name in names {
            shared.apply_config(name)?;
        }
        let tenant_lines = shared.config.read().tenant_lines.clone();
        for line in tenant_lines {
            crate::commands::tenants::apply_config_line(&shared, &line)?;
        }
        Ok(shared)
    }

    /// Mirrors directive `name` from the configuration into the place that uses it.
    pub fn apply_config(&self, name: &str) -> Result<(), String> {
        // Work on a copy: the keyspace lock may be taken below, and it must never be waited
        // for while the configuration lock is held (handlers take them the other way round).
        let config = self.config.read().clone();
        let s = &self.settings;
        match name {
            "proto-max-bulk-len" => s.proto_max_bulk_len.store(config.get_u64(name) as usize, Ordering::Relaxed),
            "client-query-buffer-limit" => s.query_buffer_limit.store(config.get_u64(name) as usize, Ordering::Relaxed),
            "client-output-backpressure-limit" => {
                // Never 0: a client must be able to get at least one reply going.
                s.output_backpressure.store((config.get_u64(name) as usize).max(1), Ordering::Relaxed)
            }
            "maxclients" => s.maxclients.store(config.get_u64(name) as usize, Ordering::Relaxed),
            "timeout" => s.timeout_secs.store(config.get_u64(name), Ordering::Relaxed),
            "hz" => s.hz.store(config.get_u64(name), Ordering::Relaxed),
            "hll-sparse-max-bytes" => {
                s.hll_sparse_max_bytes.store(config.get_u64(name).min(usize::MAX as u64) as usize, Ordering::Relaxed)
            }
            "busy-reply-threshold" => self.scripting.run.threshold_ms.store(config.get_u64(name), Ordering::Relaxed),
            "primary-port-http-enabled" => s.primary_port_http.store(config.get_bool(name), Ordering::Relaxed),
            "slowlog-log-slower-than" => s.slowlog_slower_than.store(config.get_i64(name), Ordering::Relaxed),
            "slowlog-max-len" => {
                let max = config.get_u64(name) as usize;
                s.slowlog_max_len.store(max, Ordering::Relaxed);
                let mut log = self.slowlog.lock();
                while log.len() > max {
                    log.pop_back();
                }
            }
            "client-output-buffer-limit" => {
                s.output_limits.set(&crate::config::parse_output_limits(config.get(name), None)?);
            }
            "requirepass" => {
                let pass = config.get(name);
                *s.requirepass.write() = if pass.is_empty() { None } else { Some(pass.to_string()) };
            }
            "protected-mode" => s.protected_mode.store(config.get_bool(name), Ordering::Relaxed),
            "notify-keyspace-events" => {
                self.lock_keyspace().notify_flags = crate::storage::notify::parse(config.get(name)).unwrap_or(0);
            }
            "tenant-key-pattern" | "tenant-key-separator" => {
                let (patterns, sep) = tenant_patterns(&config)?;
                let mut ks = self.lock_keyspace();
                ks.tenants.set_patterns(patterns, sep);
                // Key classes share the separator.
                let classes = crate::keyclass::KeyClasses::compile(config.get("stats-key-pattern"), sep)?;
                ks.set_key_classes(classes);
            }
            "stats-key-pattern" => {
                let (_, sep) = tenant_patterns(&config)?;
                let classes = crate::keyclass::KeyClasses::compile(config.get(name), sep)?;
                self.lock_keyspace().set_key_classes(classes);
            }
            "latency-tracking" | "latency-tracking-info-percentiles" | "latency-monitor-threshold" => {
                crate::latency::configure(name, config.get(name))
            }
            "loglevel" => crate::logging::set_level(config.get(name)),
            "appendfsync" => self.aof.set_fsync(crate::aof::Fsync::parse(config.get(name))),
            "aof-disable-auto-gc" if !config.get_bool(name) => crate::aof::delete_history(self),
            "aof-timestamp-enabled" => crate::aof::TIMESTAMPS.store(config.get_bool(name), Ordering::Relaxed),
            "appendonly" if self.aof.serving() => {
                let mut ks = self.lock_keyspace();
                if config.get_bool(name) {
                    crate::aof::enable_at_runtime(self, &mut ks)?;
                } else {
                    crate::aof::disable_at_runtime(self, &mut ks);
                }
            }
            "maxmemory-clients" => {
                self.resolve_maxmemory_clients(&config);
                // Like Redis, a lower limit takes effect at once.
                self.evict_clients();
            }
            _ => {
                let mut ks = self.lock_keyspace();
                ks.apply_setting(name, config.get(name));
                if name == "maxmemory" {
                    s.maxmemory.store(config.get_u64(name), Ordering::Relaxed);
                    self.resolve_maxmemory_clients(&config);
                }
                if name == "maxmemory" || name == "maxmemory-policy" {
                    // Like Redis, a lower limit takes effect at once, not at the next write.
                    ks.evict_to_maxmemory();
                    let (effects, flags) = (ks.take_effects(), ks.notify_flags);
                    if self.aof.enabled() {
                        crate::aof::log_removals(self, &effects);
                    }
                    drop(ks);
                    crate::pubsub::publish_events(self, &effects, flags, None);
                }
            }
        }
        Ok(())
    }

    /// Mirrors `maxmemory-clients` as bytes: a percentage is of `maxmemory` (and means no
    /// limit while `maxmemory` is 0), as in Redis.
    fn resolve_maxmemory_clients(&self, config: &Config) {
        let value = config.get("maxmemory-clients");
        let bytes = match value.strip_suffix('%') {
            Some(pct) => pct.parse::<u64>().unwrap_or(0) * config.get_u64("maxmemory") / 100,
            None => value.parse().unwrap_or(0),
        };
        self.settings.maxmemory_clients.store(bytes, Ordering::Relaxed);
    }

    /// Records that `handle`'s client now holds `bytes`, keeping the server total exact.
    /// O(1): one swap on the client's own counter and one add on the total.
    pub fn set_client_memory(&self, handle: &ClientHandle, bytes: usize) {
        let before = handle.tot_mem.swap(bytes, Ordering::Relaxed);
        if bytes > before {
            self.client_memory.fetch_add(bytes - before, Ordering::Relaxed);
        } else if before > bytes {
            self.client_memory.fetch_sub(before - bytes, Ordering::Relaxed);
        }
    }

    /// Whether the clients together hold more than `maxmemory-clients` (cheap; called after
    /// every read and batch).
    pub fn clients_over_limit(&self) -> bool {
        let limit = self.settings.maxmemory_clients.load(Ordering::Relaxed);
        limit > 0 && self.client_memory.load(Ordering::Relaxed) as u64 > limit
    }

    /// Redis's `evictClients`: while the clients hold more than `maxmemory-clients`, closes
    /// the one holding the most (CLIENT NO-EVICT clients are never chosen). Only runs the
    /// scan when the limit is actually exceeded.
    pub fn evict_clients(&self) {
        if !self.clients_over_limit() {
            return;
        }
        let limit = self.settings.maxmemory_clients.load(Ordering::Relaxed);
        let mut candidates: Vec<(usize, Arc<ClientHandle>)> = self
            .clients
            .lock()
            .values()
            .filter(|c| !c.no_evict.load(Ordering::Relaxed) && !c.is_killed())
            .map(|c| (c.tot_mem.load(Ordering::Relaxed), c.clone()))
            .collect();
        candidates.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
        for (_, handle) in candidates {
            if self.client_memory.load(Ordering::Relaxed) as u64 <= limit {
                break;
            }
            tracing::info!("Evicting client: {}", crate::commands::client::describe_handle(&handle));
            self.evicted_clients.fetch_add(1, Ordering::Relaxed);
            crate::client::disconnect(self, &handle);
        }
    }

    pub fn slowlog_threshold_us(&self) -> i64 {
        let t = self.settings.slowlog_slower_than.load(Ordering::Relaxed);
        if t < 0 {
            i64::MAX
        } else {
            t
        }
    }

    pub fn slowlog_push(&self, args: &[bytes::Bytes], elapsed: Duration, client: &crate::client::Client) {
        let max = self.settings.slowlog_max_len.load(Ordering::Relaxed);
        if max == 0 {
            return;
        }
        // Like Redis: at most 32 arguments, each at most 128 bytes.
        let mut logged: Vec<Vec<u8>> = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i == 31 && args.len() > 32 {
                logged.push(format!("... ({} more arguments)", args.len() - 31).into_bytes());
                break;
            }
            if a.len() > 128 {
                let mut v = a[..128].to_vec();
                v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                logged.push(v);
            } else {
                logged.push(a.to_vec());
            }
        }
        let entry = SlowLogEntry {
            id: self.slowlog_next_id.fetch_add(1, Ordering::Relaxed),
            time: crate::storage::now_ms() / 1000,
            duration_us: elapsed.as_micros() as u64,
            args: logged,
            addr: client.handle.addr.clone(),
            name: client.handle.info.lock().name.clone(),
        };
        let mut log = self.slowlog.lock();
        log.push_front(entry);
        while log.len() > max {
            log.pop_back();
        }
    }

    /// Keeps a disconnecting client's counters in the server totals.
    pub fn retire_client(&self, info: &crate::client::ClientInfo) {
        let mut r = self.retired.lock();
        for (spec, stat) in &info.commands {
            r.commands.entry(spec.full_name()).or_default().add(stat);
        }
        r.total_commands += info.total_commands;
        r.net_input_bytes += info.net_input_bytes;
        r.net_output_bytes += info.net_output_bytes;
    }

    /// Per-command counters of all clients, past and present, by full command name.
    pub fn command_stats(&self) -> std::collections::BTreeMap<String, CommandStat> {
        let mut all: std::collections::BTreeMap<String, CommandStat> =
            self.retired.lock().commands.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let clients: Vec<_> = self.clients.lock().values().cloned().collect();
        for c in clients {
            for (spec, stat) in &c.info.lock().commands {
                all.entry(spec.full_name()).or_default().add(stat);
            }
        }
        all
    }

    /// (commands processed, bytes read, bytes written) over all clients, past and present.
    pub fn totals(&self) -> (u64, u64, u64) {
        let r = self.retired.lock();
        let mut t = (r.total_commands, r.net_input_bytes, r.net_output_bytes);
        drop(r);
        let clients: Vec<_> = self.clients.lock().values().cloned().collect();
        for c in clients {
            let info = c.info.lock();
            t.0 += info.total_commands;
            t.1 += info.net_input_bytes;
            t.2 += info.net_output_bytes;
        }
        t
    }

    /// CONFIG RESETSTAT: zeroes the counters INFO reports (not the slow log, as in Redis).
    pub fn reset_stats(&self, ks: &mut Keyspace) {
        ks.stats = Default::default();
        *self.retired.lock() = RetiredStats::default();
        let clients: Vec<_> = self.clients.lock().values().cloned().collect();
        for c in clients {
            let mut info = c.info.lock();
            info.commands.clear();
            info.total_commands = 0;
            info.net_input_bytes = 0;
            info.net_output_bytes = 0;
        }
        if let Some(classes) = ks.classes.as_mut() {
            classes.reset_stats(None);
        }
        crate::latency::reset_histograms();
        self.error_stats.lock().clear();
        for counter in [
            &self.total_connections,
            &self.rejected_connections,
            &self.pubsub_messages,
            &self.evicted_clients,
            &self.output_limit_disconnections,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }

    /// Counts `n` error replies with code `code` (INFO errorstats).
    pub fn record_errors(&self, code: &str, n: u64) {
        // Like Redis, stop adding new codes past 128 so bogus codes cannot grow the table.
        let mut stats = self.error_stats.lock();
        if let Some(count) = stats.get_mut(code) {
            *count += n;
        } else if stats.len() < 128 {
            stats.insert(code.to_string(), n);
        }
    }

    /// Records `used` as a memory sample; returns the peak so far.
    pub fn note_memory(&self, used: u64) -> u64 {
        self.memory_peak.fetch_max(used, Ordering::Relaxed).max(used)
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Starts shutting the server down: clients are closed and the process exits.
    pub fn request_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.shutdown.notify_waiters();
        self.shutdown.notify_one();
    }
}

/// A random 40-hex-digit identifier, like Redis's run id.
fn random_hex_id() -> String {
    let mut rng = crate::util::Rng::new();
    let mut id = String::with_capacity(40);
    while id.len() < 40 {
        id.push_str(&format!("{:016x}", rng.next_u64() ^ std::process::id() as u64));
    }
    id.truncate(40);
    id
}

/// Parses `bind` into listen addresses; a leading `-` marks an address that may be unavailable.
pub(crate) fn listen_addresses(bind: &str, port: u16) -> Vec<(SocketAddr, bool)> {
    bind.split_whitespace()
        .filter_map(|a| {
            let (optional, a) = match a.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, a),
            };
            let ip: std::net::IpAddr = match a {
                "*" => "0.0.0.0".parse().ok()?,
                "::*" => "::".parse().ok()?,
                other => match other.parse() {
                    Ok(ip) => ip,
                    // A host name (`bind localhost`, as Redis and Dragonfly accept): its first
                    // IPv4 address, else its first address.
                    Err(_) => {
                        use std::net::ToSocketAddrs;
                        let resolved: Vec<SocketAddr> = (other, port).to_socket_addrs().ok()?.collect();
                        resolved.iter().find(|a| a.is_ipv4()).or(resolved.first())?.ip()
                    }
                },
            };
            Some((SocketAddr::new(ip, port), optional))
        })
        .collect()
}

pub(crate) fn bind_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(511)?;
    TcpListener::from_std(socket.into())
}

/// Runs the server until SIGTERM, SIGINT or SHUTDOWN.
pub async fn run(config: Config) -> Result<(), String> {
    let port = config.get_u64("port") as u16;
    let bind = config.get("bind").to_string();
    let source = config.source.clone();
    let shared = Shared::new(config)?;

    let show_logo = config_bool(&shared, "always-show-logo");
    let mut listeners = Vec::new();
    let mut actual_port = port;
    for (addr, optional) in listen_addresses(&bind, port) {
        let addr = SocketAddr::new(addr.ip(), if actual_port != 0 { actual_port } else { addr.port() });
        match bind_listener(addr) {
            Ok(l) => {
                actual_port = l.local_addr().map(|a| a.port()).unwrap_or(actual_port);
                listeners.push(l);
            }
            Err(e) if optional => tracing::debug!("not listening on {addr}: {e}"),
            Err(e) => {
                // Redis's words, which the Redis test suite and scripts look for.
                let reason = e.to_string();
                let reason = reason.split(" (os error").next().unwrap_or_default();
                tracing::warn!("Warning: Could not create server TCP listening socket {addr}: bind: {reason}");
                return Err(format!("Failed listening on port {} (tcp), aborting.", addr.port()));
            }
        }
    }
    if listeners.is_empty() {
        return Err("no address to listen on (check 'bind')".into());
    }
    crate::logging::set_running();
    shared.port.store(actual_port as u64, Ordering::Relaxed);
    shared.config.write().set_listening_port(actual_port);
    let addrs: Vec<String> = listeners.iter().filter_map(|l| l.local_addr().ok()).map(|a| a.to_string()).collect();
    if show_logo && crate::logging::enabled(tracing::Level::INFO) {
        crate::logging::raw(&banner(actual_port));
    } else {
        tracing::info!("Running mode=standalone, port={actual_port}.");
    }
    tracing::info!(
        "tenantcache {} (redis {}) pid {} listening on {} (config: {})",
        crate::VERSION,
        crate::REDIS_VERSION,
        std::process::id(),
        addrs.join(", "),
        source
    );
    // Bound before the ready line, so a scrape right after it finds the endpoint.
    crate::metrics::http::start(&shared);
    crate::rest::start(&shared)?;
    tracing::info!("Server initialized");
    // Clients are served while the dataset loads, as Redis serves them: refused with -LOADING
    // but for INFO and the like. The load runs on a thread of its own and hands the keyspace
    // over between keys.
    shared.persistence.loading_at_start.store(true, Ordering::Relaxed);
    for listener in listeners {
        tokio::spawn(accept_loop(shared.clone(), listener, "client", crate::connection::serve));
    }
    if let Some((listener, path)) = unix_listener(&shared)? {
        let serve = move |shared, socket, _| crate::connection::serve_unix(shared, socket, path.clone());
        tokio::spawn(accept_loop(shared.clone(), listener, "unix socket", serve));
    }
    // With appendonly yes the AOF decides what is loaded, as in Redis.
    let aof = crate::aof::configured(&shared);
    let loader = shared.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        if aof {
            crate::aof::load_at_start(&loader)
        } else {
            crate::persistence::load_at_start(&loader)
        }
    })
    .await
    .map_err(|e| format!("the dataset load failed: {e}"))?;
    shared.persistence.loading_at_start.store(false, Ordering::Relaxed);
    loaded?;
    if aof {
        crate::aof::start(&shared)?;
    }
    shared.aof.set_serving();
    // Before the ready line: a SIGTERM from then on saves and exits as configured, never
    // ends the process by the default action.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot install SIGTERM handler: {e}"))?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| format!("cannot install SIGINT handler: {e}"))?;
    // Written at every loglevel: scripts and test harnesses wait for this line (Redis 7.2
    // words it "Ready to accept connections tcp"; the port follows, as it may have been 0).
    crate::logging::always(tracing::Level::INFO, &format!("Ready to accept connections tcp port {actual_port}"));

    tokio::spawn(crate::expire::active_expire_cycle(shared.clone()));
    tokio::spawn(ops_sampler(shared.clone()));
    tokio::spawn(clients_cron(shared.clone()));
    tokio::spawn(persistence_cron(shared.clone()));

    // A signal saves first when save points are configured, as in Redis; if that save fails
    // the server stays up (SHUTDOWN NOSAVE still ends it). SHUTDOWN saved in its handler.
    loop {
        let signalled = tokio::select! {
            _ = sigterm.recv() => {
                tracing::warn!("Received SIGTERM scheduling shutdown...");
                true
            }
            _ = sigint.recv() => {
                tracing::warn!("Received SIGINT scheduling shutdown...");
                true
            }
            _ = shared.shutdown.notified() => false,
        };
        if signalled && !crate::persistence::shutdown_handled(&shared) {
            let save = crate::persistence::save_points_configured(&shared);
            let ks = shared.lock_keyspace();
            if crate::persistence::shutdown_save(&shared, &ks, save).is_err() {
                tracing::warn!("Error trying to save the DB, can't exit.");
                continue;
            }
        }
        break;
    }
    shared.shutting_down.store(true, Ordering::SeqCst);
    let clients: Vec<_> = shared.clients.lock().values().cloned().collect();
    for c in clients {
        c.kill();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let unixsocket = shared.config.read().get("unixsocket").to_string();
    if !unixsocket.is_empty() {
        // As Redis: the socket file goes with the server.
        let _ = std::fs::remove_file(&unixsocket);
    }
    tracing::warn!("tenantcache is now ready to exit, bye bye...");
    Ok(())
}

fn config_bool(shared: &Shared, name: &str) -> bool {
    shared.config.read().get_bool(name)
}

/// The startup banner of `always-show-logo`; like Redis's, it names the port and the PID.
fn banner(port: u16) -> String {
    format!(
        "\n  tenantcache {} (Redis {} compatible) {} bit\n  Running mode: standalone\n  Port: {port}\n  PID: {}\n\n",
        crate::VERSION,
        crate::REDIS_VERSION,
        usize::BITS,
        std::process::id()
    )
}

/// A listening socket the accept loop takes clients from.
pub trait Listener: Send + 'static {
    type Stream: Send + 'static;
    type Peer: Send + 'static;
    fn accept(&self) -> impl std::future::Future<Output = std::io::Result<(Self::Stream, Self::Peer)>> + Send;
}

impl Listener for TcpListener {
    type Stream = tokio::net::TcpStream;
    type Peer = std::net::SocketAddr;
    async fn accept(&self) -> std::io::Result<(Self::Stream, Self::Peer)> {
        let (socket, peer) = TcpListener::accept(self).await?;
        let _ = socket.set_nodelay(true);
        Ok((socket, peer))
    }
}

impl Listener for tokio::net::UnixListener {
    type Stream = tokio::net::UnixStream;
    type Peer = tokio::net::unix::SocketAddr;
    async fn accept(&self) -> std::io::Result<(Self::Stream, Self::Peer)> {
        tokio::net::UnixListener::accept(self).await
    }
}

/// Accepts connections on `listener` until shutdown, each served by its own task running
/// `serve` (RESP clients on TCP or the Unix socket, or REST calls on `http-port`); `what`
/// names the listener in logs.
pub async fn accept_loop<L, F, Fut>(shared: Arc<Shared>, listener: L, what: &'static str, serve: F)
where
    L: Listener,
    F: Fn(Arc<Shared>, L::Stream, L::Peer) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((socket, peer)) => {
                if shared.shutting_down.load(Ordering::Relaxed) {
                    return;
                }
                shared.total_connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(shared.clone(), socket, peer));
            }
            Err(e) => {
                tracing::warn!("{what} accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The `unixsocket` listener, if one is configured: a stale socket file is replaced, as Redis
/// replaces it, and `unixsocketperm` (octal, as in redis.conf) sets the file's mode.
fn unix_listener(shared: &Shared) -> Result<Option<(tokio::net::UnixListener, Arc<str>)>, String> {
    let (path, perm) = {
        let config = shared.config.read();
        (config.get("unixsocket").to_string(), config.get("unixsocketperm").to_string())
    };
    if path.is_empty() {
        return Ok(None);
    }
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)
        .map_err(|e| format!("Failed opening Unix socket: {e} (unixsocket {path})"))?;
    // The directive reads the mode as written, "700", which redis.conf means in octal.
    let mode = u32::from_str_radix(&perm, 8).map_err(|_| format!("Invalid unixsocketperm '{perm}'"))?;
    if mode != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("Failed setting the permissions of the Unix socket {path}: {e}"))?;
    }
    tracing::info!("The server is now ready to accept connections at {path}");
    Ok(Some((listener, path.into())))
}

/// Ten times a second, closes clients that have stayed over a soft output buffer limit for
/// its seconds while no new output arrived (a publish or reply checks it otherwise), and
/// evicts clients over `maxmemory-clients`. Once a second, asks clients idle for 2 s or
/// more to give back their read buffers.
async fn clients_cron(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        let now = crate::storage::now_ms();
        let clients: Vec<_> = shared.clients.lock().values().cloned().collect();
        let limits = &shared.settings.output_limits;
        for c in &clients {
            let pending = c.pending_output();
            if pending > 0 {
                let subscriber = {
                    let i = c.info.lock();
                    i.subscriptions + i.psubscriptions + i.ssubscriptions > 0
                };
                let limit = if shared.monitors.contains(c.id) {
                    limits.get(1)
                } else if subscriber {
                    limits.get(2)
                } else {
                    limits.get(0)
                };
                if c.over_output_limit(pending, limit, || now) {
                    crate::client::close_for_output_limit(&shared, c);
                }
            }
        }
        shared.evict_clients();
        if !ticks.is_multiple_of(10) {
            continue;
        }
        for c in clients {
            let active = c.last_active_ms.load(Ordering::Relaxed);
            let released = c.released_at_ms.load(Ordering::Relaxed) == active;
            if now.saturating_sub(active) >= 2000 && !released && !c.release_buffers.load(Ordering::Relaxed) {
                c.release_buffers.store(true, Ordering::Relaxed);
                c.wake.notify_one();
            }
        }
    }
}

/// Ten times a second: reaps a finished background save and starts one when a save point or
/// the snapshot cron schedule calls for it (see [`crate::persistence::cron`]).
async fn persistence_cron(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        if shared.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        crate::persistence::cron(&shared);
        crate::aof::cron(&shared);
    }
}

/// Samples total commands every 100 ms for `instantaneous_ops_per_sec` (Redis averages 16 samples).
async fn ops_sampler(shared: Arc<Shared>) {
    let mut samples: VecDeque<u64> = VecDeque::new();
    let mut last = shared.totals().0;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let now = shared.totals().0;
        samples.push_back((now - last) * 10);
        last = now;
        if samples.len() > 16 {
            samples.pop_front();
        }
        let avg = samples.iter().sum::<u64>() / samples.len() as u64;
        shared.ops_per_sec.store(avg, Ordering::Relaxed);
        let used = crate::commands::info::used_memory(&shared.lock_keyspace());
        shared.note_memory(used);
    }
}
