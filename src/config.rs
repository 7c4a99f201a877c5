//! Configuration: a redis.conf-style file, command-line flags that override it, and the
//! `CONFIG GET/SET` registry.
//!
//! Every directive is declared once in [`DIRECTIVES`] with its default, how its value is
//! checked, and whether `CONFIG SET` may change it at run time. Values are kept in canonical
//! text form (what `CONFIG GET` prints); the server mirrors the ones hot paths read into
//! typed fields when they change.

use crate::glob::glob_match;
use crate::protocol::split_inline_args;
use crate::util::parse_memory;
use std::collections::{BTreeMap, BTreeSet};

/// How a directive's value is checked and canonicalised.
#[derive(Clone, Copy)]
pub enum Kind {
    Bool,
    Int(i64, i64),
    Memory,
    /// A memory value no larger than this.
    MemoryAtMost(u64),
    /// A memory value or a percentage of `maxmemory` (`10%`).
    MemoryOrPercent,
    Enum(&'static [&'static str]),
    Text,
    /// Checked by [`check_special`].
    Special,
}

pub struct Directive {
    pub name: &'static str,
    pub default: &'static str,
    pub kind: Kind,
    /// Whether `CONFIG SET` may change it.
    pub runtime: bool,
    /// Accepted for compatibility with existing redis.conf files; has no effect here.
    pub inert: bool,
    /// Left out of `CONFIG GET` glob matches; shown only when asked for by exact name.
    pub hidden: bool,
}

const fn d(name: &'static str, default: &'static str, kind: Kind, runtime: bool) -> Directive {
    Directive { name, default, kind, runtime, inert: false, hidden: false }
}

const fn inert(name: &'static str, default: &'static str, kind: Kind) -> Directive {
    Directive { name, default, kind, runtime: true, inert: true, hidden: false }
}

/// An inert directive that, as in Redis, can only be set at startup.
const fn inert_fixed(name: &'static str, default: &'static str, kind: Kind) -> Directive {
    Directive { name, default, kind, runtime: false, inert: true, hidden: false }
}

/// An inert directive Redis keeps out of `CONFIG GET *` (debugging knobs).
const fn inert_hidden(name: &'static str, default: &'static str, kind: Kind) -> Directive {
    Directive { name, default, kind, runtime: true, inert: true, hidden: true }
}

/// Old names Redis still accepts, and the directive each stands for.
const ALIASES: &[(&str, &str)] = &[
    ("slave-lazy-flush", "replica-lazy-flush"),
    ("lua-time-limit", "busy-reply-threshold"),
    ("slaveof", "replicaof"),
    // Redis 7 keeps the pre-listpack names as aliases of one setting.
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    // Pre-5.0 replication names.
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("slave-read-only", "replica-read-only"),
    ("slave-priority", "replica-priority"),
    ("slave-announce-ip", "replica-announce-ip"),
    ("slave-announce-port", "replica-announce-port"),
    ("slave-ignore-maxmemory", "replica-ignore-maxmemory"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("min-slaves-max-lag", "min-replicas-max-lag"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("cluster-slave-validity-factor", "cluster-replica-validity-factor"),
    ("cluster-slave-no-failover", "cluster-replica-no-failover"),
];

/// Largest `proto-max-bulk-len`: two bulks of it (a key and its value) fill an entry's buffer.
pub const MAX_BULK_LEN: u64 = crate::storage::entry::MAX_BUFFER as u64 / 2;

const POLICIES: &[&str] = &[
    "noeviction",
    "allkeys-lru",
    "volatile-lru",
    "allkeys-lfu",
    "volatile-lfu",
    "allkeys-random",
    "volatile-random",
    "volatile-ttl",
];
const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
const YESNO_ASYNC: &[&str] = &["no", "yes"];
const PROTECTED_ACTION: &[&str] = &["no", "yes", "local"];

/// Directives Redis 7.0 marks `PROTECTED_CONFIG`: `CONFIG SET` changes them only as
/// `enable-protected-configs` allows.
pub const PROTECTED_CONFIGS: &[&str] = &["dir", "dbfilename"];

/// Whether a protected action (`enable-debug-command`, `enable-protected-configs`,
/// `enable-module-command` set to `level`) is allowed to a client at `peer` (its `ip:port`):
/// `local` allows loopback clients only, as Redis's `islocalClient` decides.
pub fn protected_action_allowed(level: &str, peer: &str) -> bool {
    match level {
        "yes" => true,
        "local" => {
            let ip = peer.rsplit_once(':').map_or(peer, |(ip, _)| ip);
            let ip = ip.trim_start_matches('[').trim_end_matches(']');
            ip == "127.0.0.1" || ip == "::1"
        }
        _ => false,
    }
}

/// Every directive the server knows, in the order `conf/tenantcache.conf` documents them.
pub static DIRECTIVES: &[Directive] = &[
    // Network and clients.
    // Settable only to the port already listened on (CONFIG SET of every parameter to its
    // current value must succeed); see `commands::server::config_set`.
    d("port", "6379", Kind::Int(0, 65535), true),
    d("bind", "* -::*", Kind::Text, true),
    d("requirepass", "", Kind::Text, true),
    d("maxclients", "10000", Kind::Int(1, 1_000_000), true),
    d("timeout", "0", Kind::Int(0, i32::MAX as i64), true),
    d("tcp-keepalive", "300", Kind::Int(0, i32::MAX as i64), true),
    d("databases", "16", Kind::Int(1, 10_000), false),
    d("loglevel", "notice", Kind::Enum(LOGLEVELS), true),
    // A key and its string value share one buffer with a 32-bit length.
    d("proto-max-bulk-len", "536870912", Kind::MemoryAtMost(MAX_BULK_LEN), true),
    // Size at which a sparse HyperLogLog becomes dense (header included), as in Redis.
    d("hll-sparse-max-bytes", "3000", Kind::Memory, true),
    d("client-query-buffer-limit", "1073741824", Kind::Memory, true),
    d("client-output-backpressure-limit", "67108864", Kind::Memory, true),
    d(
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        Kind::Special,
        true,
    ),
    d("notify-keyspace-events", "", Kind::Special, true),
    d("hz", "10", Kind::Int(1, 500), true),
    // Memory and eviction.
    d("maxmemory", "0", Kind::Memory, true),
    d("maxmemory-policy", "noeviction", Kind::Enum(POLICIES), true),
    d("maxmemory-samples", "5", Kind::Int(1, 64), true),
    d("maxmemory-clients", "0", Kind::MemoryOrPercent, true),
    d("lfu-log-factor", "10", Kind::Int(0, i32::MAX as i64), true),
    d("lfu-decay-time", "1", Kind::Int(0, i32::MAX as i64), true),
    // Tenants.
    d("tenant-key-pattern", "{tenant}", Kind::Special, true),
    d("tenant-key-separator", ":", Kind::Special, true),
    d("tenant-default-maxmemory", "0", Kind::Memory, true),
    d("tenant-default-maxkeys", "0", Kind::Int(0, i64::MAX), true),
    d("tenant-default-reserve", "0", Kind::Memory, true),
    // Tags.
    d("tag-max-per-key", "64", Kind::Int(1, 1_000_000), true),
    d("tag-max-len", "256", Kind::Int(1, 1 << 20), true),
    // Introspection.
    d("slowlog-log-slower-than", "10000", Kind::Int(-1, i64::MAX), true),
    d("slowlog-max-len", "128", Kind::Int(0, i64::MAX), true),
    d("latency-monitor-threshold", "0", Kind::Int(0, i64::MAX), true),
    d("latency-tracking", "yes", Kind::Bool, true),
    d("latency-tracking-info-percentiles", "50 99 99.9", Kind::Special, true),
    // Metrics: the Prometheus endpoint (0 = off) and key classes.
    // Settable only to its current value, like `port` (the listener is bound at startup).
    d("metrics-port", "9121", Kind::Int(0, 65535), true),
    // Addresses of the metrics-port listener, in `bind` syntax; settable only to its value.
    d("metrics-bind", "127.0.0.1 -::1", Kind::Text, true),
    d("metrics-max-tenants", "1000", Kind::Int(1, 1_000_000), true),
    // The REST API (see crate::rest): its own listener (0 = off; the main port serves it too
    // once an `http-token` line exists), the addresses it binds, and the largest request
    // (head and body) it reads, 1 MB as Upstash's free tier. Port and bind are settable only
    // to their current values, like metrics-port.
    d("http-port", "0", Kind::Int(0, 65535), true),
    d("http-bind", "* -::*", Kind::Text, true),
    d("http-max-request-bytes", "1048576", Kind::Memory, true),
    d("stats-key-pattern", "", Kind::Special, true),
    d("lazyfree-lazy-user-del", "no", Kind::Enum(YESNO_ASYNC), true),
    d("lazyfree-lazy-user-flush", "no", Kind::Enum(YESNO_ASYNC), true),
    // Protected actions, as in Redis 7: `no`, `yes`, or `local` (loopback clients only).
    // Startup-only, so a client can never grant itself the right.
    d("enable-debug-command", "no", Kind::Enum(PROTECTED_ACTION), false),
    d("enable-protected-configs", "no", Kind::Enum(PROTECTED_ACTION), false),
    d("enable-module-command", "no", Kind::Enum(PROTECTED_ACTION), false),
    // Collection encodings (thresholds for compact representations).
    d("hash-max-listpack-entries", "128", Kind::Int(0, i64::MAX), true),
    d("hash-max-listpack-value", "64", Kind::Int(0, i64::MAX), true),
    d("list-max-listpack-size", "-2", Kind::Int(-5, i64::MAX), true),
    d("list-compress-depth", "0", Kind::Int(0, i64::MAX), true),
    d("set-max-intset-entries", "512", Kind::Int(0, i64::MAX), true),
    d("set-max-listpack-entries", "128", Kind::Int(0, i64::MAX), true),
    d("set-max-listpack-value", "64", Kind::Int(0, i64::MAX), true),
    d("zset-max-listpack-entries", "128", Kind::Int(0, i64::MAX), true),
    d("zset-max-listpack-value", "64", Kind::Int(0, i64::MAX), true),
    // Stream nodes: a new node once the last one holds this many bytes or entries (0 = no
    // limit).
    d("stream-node-max-bytes", "4096", Kind::Memory, true),
    d("stream-node-max-entries", "100", Kind::Int(0, i64::MAX), true),
    // RDB snapshots: save points (`seconds changes` pairs; "" = none; Redis 7.0's default,
    // so the data outlives a restart as with Redis), Dragonfly's cron schedule, where the
    // file lives, compression, and what a bad file at startup does.
    d("save", "3600 1 300 100 60 10000", Kind::Special, true),
    d("snapshot-cron", "", Kind::Special, true),
    d("dir", "./", Kind::Text, true),
    d("dbfilename", "dump.rdb", Kind::Special, true),
    d("rdbcompression", "yes", Kind::Bool, true),
    d("rdb-on-load-error", "refuse", Kind::Enum(&["refuse", "start-empty"]), true),
    // The append-only file (see crate::aof); turned on at run time it starts with a rewrite.
    d("appendonly", "no", Kind::Bool, true),
    d("appendfsync", "everysec", Kind::Enum(&["always", "everysec", "no"]), true),
    // Accepted so that existing redis.conf files and tools work; no effect (no replication
    // or scripting here).
    inert_fixed("daemonize", "no", Kind::Bool),
    d("protected-mode", "yes", Kind::Bool, true),
    inert_fixed("supervised", "no", Kind::Text),
    inert_fixed("pidfile", "", Kind::Text),
    // Empty = standard output; "/dev/stderr" = standard error; else a file appended to.
    d("logfile", "", Kind::Text, false),
    // How long a script runs before other clients get -BUSY and SCRIPT KILL may stop it.
    d("busy-reply-threshold", "5000", Kind::Int(0, i64::MAX), true),
    inert("activerehashing", "yes", Kind::Bool),
    inert("active-expire-effort", "1", Kind::Int(1, 10)),
    inert("activedefrag", "no", Kind::Bool),
    // Threads serving clients. 1 runs every client on one thread, as Redis does: commands
    // from different connections run in the order they arrive and no core is spent on
    // coordination. More threads serve more connections in parallel.
    d("io-threads", "1", Kind::Int(1, 128), false),
    inert("repl-ping-replica-period", "10", Kind::Int(1, i64::MAX)),
    inert("repl-backlog-size", "1048576", Kind::Memory),
    inert("repl-diskless-sync", "yes", Kind::Bool),
    inert_fixed("set-proc-title", "yes", Kind::Bool),
    inert("lazyfree-lazy-eviction", "no", Kind::Bool),
    inert("lazyfree-lazy-expire", "no", Kind::Bool),
    inert("lazyfree-lazy-server-del", "no", Kind::Bool),
    inert("replica-lazy-flush", "no", Kind::Bool),
    inert("close-on-replica-write", "yes", Kind::Bool),
    inert("oom-score-adj", "no", Kind::Text),
    inert("tracking-table-max-keys", "1000000", Kind::Int(0, i64::MAX)),
    inert("maxmemory-eviction-tenacity", "10", Kind::Int(0, 100)),
    inert_hidden("loading-process-events-interval-bytes", "2097152", Kind::Int(1024, i32::MAX as i64)),
    // Keeps the files a rewrite replaced (history) until set back to `no`, as in Redis.
    Directive {
        name: "aof-disable-auto-gc",
        default: "no",
        kind: Kind::Bool,
        runtime: true,
        inert: false,
        hidden: true,
    },
    // A testing knob, as in Redis: microseconds a snapshot or AOF rewrite child waits after
    // each key, so that tests can watch a save in progress.
    Directive {
        name: "rdb-key-save-delay",
        default: "0",
        kind: Kind::Int(i32::MIN as i64, i32::MAX as i64),
        runtime: true,
        inert: false,
        hidden: true,
    },
    // The same for loading at start: microseconds per key (-N: one microsecond for one key in
    // N), so that tests can watch the server answer -LOADING.
    Directive {
        name: "key-load-delay",
        default: "0",
        kind: Kind::Int(i32::MIN as i64, i32::MAX as i64),
        runtime: true,
        inert: false,
        hidden: true,
    },
    // Replication is not supported: a primary given at startup is accepted with a warning
    // and never contacted (the server stays a primary); REPLICAOF is refused.
    inert_fixed("replicaof", "", Kind::Special),
    inert("tls-port", "0", Kind::Int(0, 65535)),
    d("unixsocket", "", Kind::Text, false),
    inert_fixed("tcp-backlog", "511", Kind::Int(0, i64::MAX)),
    d("always-show-logo", "no", Kind::Bool, false),
    inert("crash-log-enabled", "yes", Kind::Bool),
    inert("sanitize-dump-payload", "no", Kind::Text),
    inert("rdbchecksum", "yes", Kind::Bool),
    inert("stop-writes-on-bgsave-error", "yes", Kind::Bool),
    d("aof-use-rdb-preamble", "yes", Kind::Bool, true),
    d("appendfilename", "appendonly.aof", Kind::Text, false),
    d("appenddirname", "appendonlydir", Kind::Text, false),
    inert("jemalloc-bg-thread", "yes", Kind::Bool),
    inert("active-defrag-cycle-min", "1", Kind::Int(1, 99)),
    inert("active-defrag-cycle-max", "25", Kind::Int(1, 99)),
    inert("list-max-ziplist-entries", "128", Kind::Int(0, i64::MAX)),
    inert("list-max-ziplist-value", "64", Kind::Int(0, i64::MAX)),
    // Dragonfly's switch for HTTP (metrics) on the main port.
    d("primary-port-http-enabled", "yes", Kind::Bool, true),
    // The rest of the directives of Redis 7.0/7.2's redis.conf: accepted, shown by CONFIG GET,
    // no effect (replication, cluster, persistence tuning, TLS, ACL files, syslog, ...).
    inert("acl-pubsub-default", "resetchannels", Kind::Enum(&["allchannels", "resetchannels"])),
    inert_fixed("aclfile", "", Kind::Text),
    inert("acllog-max-len", "128", Kind::Int(0, i64::MAX)),
    inert("active-defrag-ignore-bytes", "104857600", Kind::Memory),
    inert("active-defrag-max-scan-fields", "1000", Kind::Int(1, i64::MAX)),
    inert("active-defrag-threshold-lower", "10", Kind::Int(0, 1000)),
    inert("active-defrag-threshold-upper", "100", Kind::Int(0, 1000)),
    d("aof-load-truncated", "yes", Kind::Bool, true),
    inert("aof-rewrite-incremental-fsync", "yes", Kind::Bool),
    d("aof-timestamp-enabled", "no", Kind::Bool, true),
    d("auto-aof-rewrite-min-size", "67108864", Kind::Memory, true),
    d("auto-aof-rewrite-percentage", "100", Kind::Int(0, i32::MAX as i64), true),
    inert("bind-source-addr", "", Kind::Text),
    inert("cluster-allow-pubsubshard-when-down", "yes", Kind::Bool),
    inert("cluster-allow-reads-when-down", "no", Kind::Bool),
    inert("cluster-allow-replica-migration", "yes", Kind::Bool),
    inert("cluster-announce-bus-port", "0", Kind::Int(0, 65535)),
    inert("cluster-announce-hostname", "", Kind::Text),
    inert("cluster-announce-human-nodename", "", Kind::Text),
    inert("cluster-announce-ip", "", Kind::Text),
    inert("cluster-announce-port", "0", Kind::Int(0, 65535)),
    inert("cluster-announce-tls-port", "0", Kind::Int(0, 65535)),
    inert_fixed("cluster-config-file", "nodes.conf", Kind::Text),
    inert_fixed("cluster-enabled", "no", Kind::Bool),
    inert("cluster-link-sendbuf-limit", "0", Kind::Memory),
    inert("cluster-migration-barrier", "1", Kind::Int(0, i32::MAX as i64)),
    inert("cluster-node-timeout", "15000", Kind::Int(0, i64::MAX)),
    inert_fixed("cluster-port", "0", Kind::Int(0, 65535)),
    inert("cluster-preferred-endpoint-type", "ip", Kind::Enum(&["ip", "hostname", "unknown-endpoint"])),
    inert("cluster-replica-no-failover", "no", Kind::Bool),
    inert("cluster-replica-validity-factor", "10", Kind::Int(0, i32::MAX as i64)),
    inert("cluster-require-full-coverage", "yes", Kind::Bool),
    inert("crash-memcheck-enabled", "yes", Kind::Bool),
    d("disable-thp", "yes", Kind::Bool, false),
    // The heap in transparent huge pages (see crate::base::alloc): forks pause far less, a
    // growing heap pauses more (off by default, as Redis keeps THP off).
    d("heap-huge-pages", "no", Kind::Bool, false),
    inert("dynamic-hz", "yes", Kind::Bool),
    inert("ignore-warnings", "", Kind::Text),
    inert_fixed("io-threads-do-reads", "no", Kind::Bool),
    inert("locale-collate", "", Kind::Text),
    inert("masterauth", "", Kind::Text),
    inert("masteruser", "", Kind::Text),
    inert("min-replicas-max-lag", "10", Kind::Int(0, i32::MAX as i64)),
    inert("min-replicas-to-write", "0", Kind::Int(0, i32::MAX as i64)),
    inert("no-appendfsync-on-rewrite", "no", Kind::Bool),
    inert("oom-score-adj-values", "0 200 800", Kind::Text),
    inert("proc-title-template", "{title} {listen-addr} {server-mode}", Kind::Text),
    inert("propagation-error-behavior", "ignore", Kind::Enum(&["ignore", "panic", "panic-on-replicas"])),
    inert("rdb-del-sync-files", "no", Kind::Bool),
    inert("rdb-save-incremental-fsync", "yes", Kind::Bool),
    inert("repl-backlog-ttl", "3600", Kind::Int(0, i64::MAX)),
    inert("repl-disable-tcp-nodelay", "no", Kind::Bool),
    inert("repl-diskless-load", "disabled", Kind::Enum(&["disabled", "on-empty-db", "swapdb"])),
    inert("repl-diskless-sync-delay", "5", Kind::Int(0, i32::MAX as i64)),
    inert("repl-diskless-sync-max-replicas", "0", Kind::Int(0, i32::MAX as i64)),
    inert("repl-timeout", "60", Kind::Int(1, i32::MAX as i64)),
    inert("replica-announce-ip", "", Kind::Text),
    inert("replica-announce-port", "0", Kind::Int(0, 65535)),
    inert("replica-announced", "yes", Kind::Bool),
    inert("replica-ignore-disk-write-errors", "no", Kind::Bool),
    inert("replica-ignore-maxmemory", "yes", Kind::Bool),
    inert("replica-priority", "100", Kind::Int(0, i32::MAX as i64)),
    inert("replica-read-only", "yes", Kind::Bool),
    inert("replica-serve-stale-data", "yes", Kind::Bool),
    inert("shutdown-on-sigint", "default", Kind::Enum(&["default", "save", "nosave", "now", "force"])),
    inert("shutdown-on-sigterm", "default", Kind::Enum(&["default", "save", "nosave", "now", "force"])),
    inert("shutdown-timeout", "10", Kind::Int(0, i32::MAX as i64)),
    inert_fixed("socket-mark-id", "0", Kind::Int(0, u32::MAX as i64)),
    inert_fixed("syslog-enabled", "no", Kind::Bool),
    inert_fixed(
        "syslog-facility",
        "local0",
        Kind::Enum(&["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"]),
    ),
    inert_fixed("syslog-ident", "redis", Kind::Text),
    inert("tls-auth-clients", "yes", Kind::Enum(&["no", "yes", "optional"])),
    inert("tls-ca-cert-dir", "", Kind::Text),
    inert("tls-ca-cert-file", "", Kind::Text),
    inert("tls-cert-file", "", Kind::Text),
    inert("tls-ciphers", "", Kind::Text),
    inert("tls-ciphersuites", "", Kind::Text),
    inert("tls-client-cert-file", "", Kind::Text),
    inert("tls-client-key-file", "", Kind::Text),
    inert("tls-client-key-file-pass", "", Kind::Text),
    inert("tls-cluster", "no", Kind::Bool),
    inert("tls-dh-params-file", "", Kind::Text),
    inert("tls-key-file", "", Kind::Text),
    inert("tls-key-file-pass", "", Kind::Text),
    inert("tls-prefer-server-ciphers", "no", Kind::Bool),
    inert("tls-protocols", "", Kind::Text),
    inert("tls-replication", "no", Kind::Bool),
    inert("tls-session-cache-size", "20480", Kind::Int(0, i32::MAX as i64)),
    inert("tls-session-cache-timeout", "300", Kind::Int(0, i32::MAX as i64)),
    inert("tls-session-caching", "yes", Kind::Bool),
    d("unixsocketperm", "0", Kind::Int(0, 7777), false),
];

pub fn directive(name: &str) -> Option<&'static Directive> {
    let lower = name.to_ascii_lowercase();
    let canonical = ALIASES.iter().find(|(alias, _)| *alias == lower).map_or(lower.as_str(), |(_, target)| target);
    DIRECTIVES.iter().find(|d| d.name == canonical)
}

/// The server's configuration: directive values in canonical form, plus tenant limit lines.
#[derive(Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    /// `tenant NAME option value ...` lines, in file order (applied by the tenants module).
    pub tenant_lines: Vec<Vec<String>>,
    /// `http-token NAME TOKEN [tenant T] [readonly]` lines, in file order (see crate::rest).
    pub http_token_lines: Vec<Vec<String>>,
    /// Where the configuration came from, for the startup log.
    pub source: String,
    /// The configuration file read at startup (CONFIG REWRITE writes back to it).
    pub file: Option<String>,
    /// Directives given in the file or as options (not CONFIG SET), for the startup warnings.
    given: BTreeSet<&'static str>,
    /// Directives of redis.conf that take no value here (`rename-command`, `user`, ...), once each.
    ignored_lines: Vec<&'static str>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            values: DIRECTIVES.iter().map(|d| (d.name, d.default.to_string())).collect(),
            tenant_lines: Vec::new(),
            http_token_lines: Vec::new(),
            source: "embedded defaults".into(),
            file: None,
            given: BTreeSet::new(),
            ignored_lines: Vec::new(),
        }
    }
}

/// redis.conf directives that are repeated lines rather than settings, accepted with a
/// warning: this server has no modules, ACL users, command renaming or sentinel.
const IGNORED_DIRECTIVES: &[(&str, &str)] = &[
    ("loadmodule", "modules are not supported"),
    ("rename-command", "commands keep their names"),
    ("user", "ACL users are not supported; use requirepass"),
    ("sentinel", "sentinel is not supported"),
];

/// Most nested `include` files.
const MAX_INCLUDE_DEPTH: usize = 16;

/// A configuration that cannot be loaded, reported as Redis reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A file that cannot be read.
    Unreadable { path: String, error: String },
    /// A bad line: its number (file lines first, then one per command-line option), its text
    /// as Redis quotes it, the reason, and the file it is in (none for an option).
    Line { line: usize, text: String, message: String, file: Option<String> },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::Unreadable { path, error } => {
                write!(f, "Fatal error, can't open config file '{path}': {error}")
            }
            ConfigError::Line { line, text, message, file } => {
                write!(
                    f,
                    "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{message}",
                    crate::REDIS_VERSION
                )?;
                if let Some(file) = file {
                    let name = text.split_whitespace().next().unwrap_or_default();
                    write!(f, "\n(in config file '{file}', line {line}, directive '{name}')")?;
                }
                Ok(())
            }
        }
    }
}

/// `name "arg" "arg"`, as Redis quotes a command-line option in its errors.
pub fn option_text(name: &str, args: &[String]) -> String {
    let mut out = name.to_string();
    for a in args {
        out.push_str(" \"");
        for c in a.chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

impl Config {
    /// Reads `path` (if given), then applies `--name value` overrides in order.
    pub fn load(path: Option<&str>, overrides: &[(String, Vec<String>)]) -> Result<Config, String> {
        Config::load_all(path, None, overrides).map_err(|e| e.to_string().trim_start().to_string())
    }

    /// Reads `path` (if given), then `stdin_text` (a configuration read from standard input),
    /// then applies `--name value` overrides in order, as `redis-server` does.
    pub fn load_all(
        path: Option<&str>,
        stdin_text: Option<&str>,
        overrides: &[(String, Vec<String>)],
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        // Redis numbers lines over the file, the text read from stdin and the options together.
        let mut lines_before_options = 0;
        if let Some(path) = path {
            let text = read_config_file(path)?;
            config.apply_text_at(&text, 0, Some(path))?;
            lines_before_options += text.lines().count();
            config.source = path.to_string();
            config.file = Some(path.to_string());
        }
        if let Some(text) = stdin_text {
            config.apply_text_at(text, lines_before_options, None)?;
            lines_before_options += text.lines().count();
            config.source = match path {
                Some(p) => format!("{p} and standard input"),
                None => "standard input".into(),
            };
        }
        for (i, (name, args)) in overrides.iter().enumerate() {
            config.apply_directive(name, args).map_err(|message| ConfigError::Line {
                line: lines_before_options + 2 + i,
                text: option_text(name, args),
                message,
                file: None,
            })?;
            if config.source == "embedded defaults" {
                config.source = "embedded defaults and command-line options".into();
            } else if !config.source.ends_with("options") {
                config.source.push_str(" and command-line options");
            }
        }
        Ok(config)
    }

    /// Applies a redis.conf text; on error returns (line number, directive, message).
    pub fn apply_text(&mut self, text: &str) -> Result<(), (usize, String, String)> {
        self.apply_text_at(text, 0, None).map_err(|e| match e {
            ConfigError::Line { line, text, message, .. } => {
                (line, text.split_whitespace().next().unwrap_or("").to_string(), message)
            }
            ConfigError::Unreadable { path, error } => (0, "include".into(), format!("{path}: {error}")),
        })
    }

    /// Applies a redis.conf text whose first line is line `first_line + 1`.
    fn apply_text_at(&mut self, text: &str, first_line: usize, file: Option<&str>) -> Result<(), ConfigError> {
        self.apply_text_nested(text, first_line, file, 0)
    }

    fn apply_text_nested(
        &mut self,
        text: &str,
        first_line: usize,
        file: Option<&str>,
        depth: usize,
    ) -> Result<(), ConfigError> {
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let bad = |message: String| ConfigError::Line {
                line: first_line + i + 1,
                text: trimmed.to_string(),
                message,
                file: file.map(str::to_string),
            };
            let args = split_inline_args(trimmed.as_bytes())
                .ok_or_else(|| bad("Unbalanced quotes in configuration line".to_string()))?;
            let args: Vec<String> = args.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect();
            let Some((name, rest)) = args.split_first() else { continue };
            if name.eq_ignore_ascii_case("include") {
                if rest.len() != 1 {
                    return Err(bad("Bad directive or wrong number of arguments".into()));
                }
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(bad("include nesting is too deep".into()));
                }
                let included = read_config_file(&rest[0])?;
                self.apply_text_nested(&included, 0, Some(&rest[0]), depth + 1)?;
                continue;
            }
            self.apply_directive(name, rest).map_err(bad)?;
        }
        Ok(())
    }

    /// Applies one directive from a file or a flag.
    pub fn apply_directive(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        if name.eq_ignore_ascii_case("tenant") {
            if args.len() < 3 || args.len().is_multiple_of(2) {
                return Err("expected: tenant NAME option value [option value ...]".into());
            }
            self.tenant_lines.push(args.to_vec());
            return Ok(());
        }
        if name.eq_ignore_ascii_case("http-token") {
            crate::rest::auth::Token::parse(args)?;
            self.http_token_lines.push(args.to_vec());
            return Ok(());
        }
        if let Some((ignored, _)) = IGNORED_DIRECTIVES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            if args.is_empty() {
                return Err("Bad directive or wrong number of arguments".into());
            }
            if !self.ignored_lines.contains(ignored) {
                self.ignored_lines.push(ignored);
            }
            return Ok(());
        }
        let dir = directive(name).ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let mut value = args.join(" ");
        // Like Redis, repeated `save` lines add schedule points (the first one replaces the default).
        if dir.name == "save" && self.given.contains("save") && !value.is_empty() && !self.get("save").is_empty() {
            value = format!("{} {value}", self.get("save"));
        }
        self.set_value(dir, &value)?;
        self.given.insert(dir.name);
        Ok(())
    }

    /// The startup warnings: one per directive that was given a value it cannot have any
    /// effect with (an accepted-for-compatibility directive set away from its default), and
    /// one per ignored kind of line (`rename-command`, `user`, ...).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for name in &self.given {
            let dir = directive(name).expect("given directives exist");
            if dir.inert && self.values[dir.name] != dir.default {
                out.push(format!(
                    "'{}' is accepted for compatibility and has no effect in this server (value '{}')",
                    dir.name, self.values[dir.name]
                ));
            }
        }
        for name in &self.ignored_lines {
            let why = IGNORED_DIRECTIVES.iter().find(|(n, _)| n == name).map_or("", |(_, w)| w);
            out.push(format!(
                "'{name}' lines are accepted for compatibility and have no effect in this server ({why})"
            ));
        }
        out
    }

    /// `CONFIG SET name value`: checks and stores a value; errors are Redis's texts after
    /// `CONFIG SET failed (possibly related to argument '...') - `.
    pub fn set(&mut self, name: &str, value: &str) -> Result<&'static Directive, String> {
        let dir = directive(name)
            .ok_or_else(|| format!("Unknown option or number of arguments for CONFIG SET - '{name}'"))?;
        if !dir.runtime {
            return Err(format!(
                "CONFIG SET failed (possibly related to argument '{}') - can't set immutable config",
                dir.name
            ));
        }
        if matches!(dir.name, "metrics-port" | "metrics-bind")
            && canonicalize(dir, value).is_ok_and(|v| v != self.get(dir.name))
        {
            return Err(format!(
                "CONFIG SET failed (possibly related to argument '{0}') - the metrics listener is bound at \
                 startup: changing {0} at run time is not supported by this server",
                dir.name
            ));
        }
        if matches!(dir.name, "http-port" | "http-bind")
            && canonicalize(dir, value).is_ok_and(|v| v != self.get(dir.name))
        {
            return Err(format!(
                "CONFIG SET failed (possibly related to argument '{0}') - the REST listener is bound at \
                 startup: changing {0} at run time is not supported by this server",
                dir.name
            ));
        }
        self.set_value(dir, value)
            .map_err(|e| format!("CONFIG SET failed (possibly related to argument '{}') - {e}", dir.name))?;
        Ok(dir)
    }

    /// `CONFIG SET name value [name value ...]`: every pair is checked before any takes
    /// effect, so either all change or none does. Returns the directives that changed.
    pub fn set_many(&mut self, pairs: &[(String, String)]) -> Result<Vec<&'static Directive>, String> {
        let mut staged = self.clone();
        let mut changed: Vec<&'static Directive> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            let dir = staged.set(name, value)?;
            if changed.iter().any(|d| std::ptr::eq(*d, dir)) {
                return Err(format!("CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"));
            }
            changed.push(dir);
        }
        *self = staged;
        Ok(changed)
    }

    /// `CONFIG REWRITE`: rewrites the configuration file with the current values. Lines of
    /// directives keep their place (the first occurrence gets the current value, repeats are
    /// dropped), comments and `tenant` lines stay as they are, and directives that differ from
    /// their default and were not in the file are appended.
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = &self.file else {
            return Err("The server is running without a config file".into());
        };
        let old = std::fs::read_to_string(path).unwrap_or_default();
        let mut written: Vec<&'static str> = Vec::new();
        let mut out = String::with_capacity(old.len() + 256);
        for line in old.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            match directive(first).filter(|_| !line.trim_start().starts_with('#')) {
                Some(dir) if written.contains(&dir.name) => continue,
                Some(dir) => {
                    written.push(dir.name);
                    out.push_str(&self.config_line(dir));
                }
                None => out.push_str(line),
            }
            out.push('\n');
        }
        let mut appended_header = false;
        for dir in DIRECTIVES {
            if written.contains(&dir.name) || self.values[dir.name] == dir.default {
                continue;
            }
            if !appended_header {
                out.push_str("# Generated by CONFIG REWRITE\n");
                appended_header = true;
            }
            out.push_str(&self.config_line(dir));
            out.push('\n');
        }
        // Write a sibling file and rename it over the original, so a crash never leaves half a file.
        let tmp = format!("{path}.rewrite-{}", std::process::id());
        std::fs::write(&tmp, out).map_err(|e| format!("Rewriting config file: {e}"))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("Rewriting config file: {e}")
        })
    }

    /// `name value` as a config file line, quoting the value when the file syntax needs it.
    fn config_line(&self, dir: &Directive) -> String {
        let value = &self.values[dir.name];
        let plain =
            !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
        if plain {
            format!("{} {}", dir.name, value)
        } else {
            let mut quoted = String::from("\"");
            for c in value.chars() {
                match c {
                    '"' | '\\' => {
                        quoted.push('\\');
                        quoted.push(c);
                    }
                    '\n' => quoted.push_str("\\n"),
                    '\r' => quoted.push_str("\\r"),
                    '\t' => quoted.push_str("\\t"),
                    c if (c as u32) < 0x20 => quoted.push_str(&format!("\\x{:02x}", c as u32)),
                    c => quoted.push(c),
                }
            }
            quoted.push('"');
            format!("{} {}", dir.name, quoted)
        }
    }

    fn set_value(&mut self, dir: &'static Directive, value: &str) -> Result<(), String> {
        let canonical = match self.values.get(dir.name) {
            // As in Redis, a value names only the classes it changes; the others keep theirs
            // (redis.conf has one line per class).
            Some(current) if dir.name == "client-output-buffer-limit" => {
                let current = parse_output_limits(current, None)?;
                format_output_limits(&parse_output_limits(value, Some(current))?)
            }
            _ => canonicalize(dir, value)?,
        };
        self.values.insert(dir.name, canonical);
        Ok(())
    }

    /// `CONFIG GET` for one glob pattern: (name, value) pairs.
    pub fn get_matching(&self, pattern: &str) -> Vec<(&'static str, String)> {
        let is_glob = pattern.contains(['*', '?', '[']);
        let mut out: Vec<(&'static str, String)> = DIRECTIVES
            .iter()
            .filter(|d| !(d.hidden && is_glob) && glob_match(pattern.as_bytes(), d.name.as_bytes(), true))
            .map(|d| (d.name, self.values[d.name].clone()))
            .collect();
        for (alias, target) in ALIASES {
            if glob_match(pattern.as_bytes(), alias.as_bytes(), true) {
                out.push((alias, self.values[target].clone()));
            }
        }
        out
    }

    /// Records the port actually listened on (differs from the setting when that is 0).
    pub fn set_listening_port(&mut self, port: u16) {
        self.values.insert("port", port.to_string());
    }

    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn get_i64(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    pub fn get_u64(&self, name: &str) -> u64 {
        self.get(name).parse().unwrap_or(0)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }
}

/// A configuration file's text, or Redis's error for a file that cannot be opened.
fn read_config_file(path: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
        path: path.to_string(),
        // "No such file or directory", as strerror words it.
        error: e.to_string().split(" (os error").next().unwrap_or_default().to_string(),
    })
}

fn canonicalize(dir: &Directive, value: &str) -> Result<String, String> {
    match dir.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(min, max) => {
            let n: i64 = value.trim().parse().map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if n < min || n > max {
                return Err(format!("argument must be between {min} and {max} inclusive"));
            }
            Ok(n.to_string())
        }
        Kind::Memory => {
            // Negative values are rejected; Redis accepts a percentage only for maxmemory-clients.
            parse_memory(value).map(|n| n.to_string()).ok_or_else(|| "argument must be a memory value".to_string())
        }
        Kind::MemoryAtMost(max) => match parse_memory(value) {
            Some(n) if n <= max => Ok(n.to_string()),
            Some(_) => Err(format!("argument must be a memory value of at most {max} bytes")),
            None => Err("argument must be a memory value".into()),
        },
        Kind::MemoryOrPercent => match value.strip_suffix('%') {
            Some(pct) => match pct.parse::<u64>() {
                Ok(p) if p <= 100 => Ok(format!("{p}%")),
                Ok(_) => Err("percentage argument must be less or equal to 100".into()),
                Err(_) => Err("argument must be a memory or percent value".into()),
            },
            None => parse_memory(value)
                .map(|n| n.to_string())
                .ok_or_else(|| "argument must be a memory or percent value".to_string()),
        },
        Kind::Enum(options) => {
            let lower = value.to_ascii_lowercase();
            if options.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err("argument(s) must be one of the following: ".to_string() + &options.join(", "))
            }
        }
        Kind::Text => Ok(value.to_string()),
        Kind::Special => check_special(dir.name, value),
    }
}

fn check_special(name: &str, value: &str) -> Result<String, String> {
    match name {
        "notify-keyspace-events" => crate::storage::notify::parse(value)
            .map(crate::storage::notify::format)
            .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()),
        "client-output-buffer-limit" => parse_output_limits(value, None).map(|l| format_output_limits(&l)),
        "replicaof" => {
            let words: Vec<&str> = value.split_whitespace().collect();
            match words.as_slice() {
                [] => Ok(String::new()),
                [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => Ok(String::new()),
                [host, port] => Ok(format!("{host} {port}")),
                _ => Err("wrong number of arguments".into()),
            }
        }
        "save" => {
            let words: Vec<&str> = value.split_whitespace().collect();
            let valid = words.len().is_multiple_of(2) && words.iter().all(|w| w.parse::<u32>().is_ok());
            if !valid {
                return Err("Invalid save parameters".into());
            }
            Ok(words.join(" "))
        }
        "snapshot-cron" => {
            let text = value.split_whitespace().collect::<Vec<_>>().join(" ");
            if !text.is_empty() {
                crate::base::cron::CronSchedule::parse(&text)?;
            }
            Ok(text)
        }
        "dbfilename" => {
            if value.is_empty() || value.contains('/') {
                Err("dbfilename can't be a path, just a filename".into())
            } else {
                Ok(value.to_string())
            }
        }
        "tenant-key-separator" => {
            if value.len() == 1 {
                Ok(value.to_string())
            } else {
                Err("the separator must be exactly one character".into())
            }
        }
        "latency-tracking-info-percentiles" => crate::latency::parse_percentiles(value),
        "stats-key-pattern" => {
            crate::keyclass::compile_patterns(value, b':')?;
            Ok(value.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        "tenant-key-pattern" => {
            let patterns: Vec<&str> = value.split_whitespace().collect();
            if patterns.is_empty() {
                return Err("at least one pattern is required".into());
            }
            for p in &patterns {
                crate::tenants::KeyPattern::compile(p, b':', "{tenant}")?;
            }
            Ok(patterns.join(" "))
        }
        _ => Ok(value.to_string()),
    }
}

/// `client-output-buffer-limit` for one client class: hard limit, soft limit, soft seconds.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct OutputLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_seconds: u64,
}

/// Output buffer limits for the classes `normal`, `replica`, `pubsub`.
pub type OutputLimits = [OutputLimit; 3];

/// Parses `class hard soft seconds [class ...]` over `base` (the current limits).
pub fn parse_output_limits(value: &str, base: Option<OutputLimits>) -> Result<OutputLimits, String> {
    let default = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
    let mut limits = match base {
        Some(b) => b,
        None if value == default => [OutputLimit::default(); 3],
        None => parse_output_limits(default, Some([OutputLimit::default(); 3]))?,
    };
    let words: Vec<&str> = value.split_whitespace().collect();
    if !words.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    for chunk in words.chunks(4) {
        let class = match chunk[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => 2,
            _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
        };
        let hard = parse_memory(chunk[1]);
        let soft = parse_memory(chunk[2]);
        let secs = chunk[3].parse::<u64>().ok();
        match (hard, soft, secs) {
            (Some(hard), Some(soft), Some(soft_seconds)) => limits[class] = OutputLimit { hard, soft, soft_seconds },
            _ => return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into()),
        }
    }
    Ok(limits)
}

pub fn format_output_limits(l: &OutputLimits) -> String {
    format!(
        "normal {} {} {} slave {} {} {} pubsub {} {} {}",
        l[0].hard,
        l[0].soft,
        l[0].soft_seconds,
        l[1].hard,
        l[1].soft,
        l[1].soft_seconds,
        l[2].hard,
        l[2].soft,
        l[2].soft_seconds
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_errors() {
        let mut c = Config::default();
        c.apply_text("# comment\nport 7000\nmaxmemory 10mb\nmaxmemory-policy allkeys-lru\n").unwrap();
        assert_eq!(c.get("port"), "7000");
        assert_eq!(c.get("maxmemory"), "10485760");
        let err = c.apply_text("port 1\nbogus 1\n").unwrap_err();
        assert_eq!((err.0, err.1.as_str()), (2, "bogus"));
        assert!(c.apply_text("maxmemory 10xb").is_err());
        assert!(c.set("daemonize", "yes").is_err());
        assert!(c.set("nope", "1").is_err());
        assert_eq!(c.get_matching("maxmemory-p*").len(), 1);
    }

    #[test]
    fn output_limits() {
        let l = parse_output_limits("pubsub 1mb 0 0", None).unwrap();
        assert_eq!(l[2].hard, 1 << 20);
        assert_eq!(l[1].hard, 268435456);
        assert!(parse_output_limits("pubsub 1 2", None).is_err());
    }

    #[test]
    fn output_limit_lines_each_set_their_class() {
        let line = |v: &str| ("client-output-buffer-limit".to_string(), v.split(' ').map(String::from).collect());
        let config = Config::load(None, &[line("normal 1mb 512kb 10"), line("pubsub 32mb 8mb 60")]).unwrap();
        assert_eq!(
            config.get("client-output-buffer-limit"),
            "normal 1048576 524288 10 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
    }
}
