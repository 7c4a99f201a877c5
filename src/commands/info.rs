//! INFO: the server's state as `field:value` lines grouped in `# Section`s, with the field
//! names Redis 7.2 prints (monitoring tools such as redis_exporter parse them by name).
//!
//! Only fields this server can fill truthfully are printed; persistence and replication
//! fields describe a server that has neither (no saves, no replicas).

use super::args::text;
use super::Ctx;
use crate::server::Shared;
use crate::storage::Keyspace;
use bytes::Bytes;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// Memory the server uses before any key is stored (code, runtime, buffers), added to the
/// keyspace's own accounting so `used_memory` of an empty server is not zero, as in Redis.
pub const BASELINE_MEMORY: u64 = crate::storage::BASELINE_MEMORY as u64;

/// Sections in the order Redis prints them; `default` is everything but `commandstats` and
/// `latencystats`.
const SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
    "tenants",
    "keyclasses",
];
/// Sections that plain INFO leaves out (tenants and key classes can be many lines; ask for
/// them by name).
const NOT_DEFAULT: &[&str] = &["commandstats", "latencystats", "tenants", "keyclasses"];

/// `INFO [section ...]` (listed in the server family's table).
pub fn info(ctx: &mut Ctx, args: &[Bytes]) {
    let mut wanted: Vec<&str> = Vec::new();
    let add = |name: &'static str, wanted: &mut Vec<&str>| {
        if !wanted.contains(&name) {
            wanted.push(name);
        }
    };
    if args.len() == 1 {
        for s in SECTIONS.iter().filter(|s| !NOT_DEFAULT.contains(s)) {
            add(s, &mut wanted);
        }
    }
    for arg in &args[1..] {
        let arg = text(arg).to_ascii_lowercase();
        match arg.as_str() {
            "all" | "everything" => SECTIONS.iter().for_each(|s| add(s, &mut wanted)),
            "default" => SECTIONS.iter().filter(|s| !NOT_DEFAULT.contains(s)).for_each(|s| add(s, &mut wanted)),
            other => {
                if let Some(s) = SECTIONS.iter().find(|s| **s == other) {
                    add(s, &mut wanted);
                }
            }
        }
    }
    // Print in Redis's order whatever order the sections were asked in.
    let ordered: Vec<&str> = SECTIONS.iter().copied().filter(|s| wanted.contains(s)).collect();
    let text = render(ctx, &ordered);
    ctx.out.verbatim(text.as_bytes());
}

/// Renders the given sections.
pub fn render(ctx: &mut Ctx, sections: &[&str]) -> String {
    let mut out = String::with_capacity(4096);
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        match *section {
            "server" => server(ctx.shared, &mut out),
            "clients" => clients(ctx.shared, ctx.ks.get(), &mut out),
            "memory" => memory(ctx.shared, ctx.ks.get(), &mut out),
            "persistence" => persistence(ctx.shared, ctx.ks.get(), &mut out),
            "stats" => stats(ctx.shared, ctx.ks.get(), &mut out),
            "replication" => replication(ctx.shared, &mut out),
            "cpu" => cpu(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "commandstats" => commandstats(ctx, &mut out),
            "errorstats" => errorstats(ctx.shared, &mut out),
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace(ctx.ks.get(), &mut out),
            "tenants" => tenants(ctx.ks.get(), &mut out),
            "latencystats" => latencystats(&mut out),
            "keyclasses" => keyclasses(ctx.ks.get(), &mut out),
            _ => {}
        }
    }
    out
}

macro_rules! field {
    ($out:expr, $name:expr, $value:expr) => {
        let _ = write!($out, "{}:{}\r\n", $name, $value);
    };
}

fn server(shared: &Shared, out: &mut String) {
    let uptime = shared.uptime().as_secs();
    let config = shared.config.read();
    let hz = config.get_u64("hz");
    out.push_str("# Server\r\n");
    field!(out, "redis_version", crate::REDIS_VERSION);
    field!(out, "tenantcache_version", crate::VERSION);
    field!(out, "redis_git_sha1", "00000000");
    field!(out, "redis_git_dirty", 0);
    field!(out, "redis_mode", "standalone");
    field!(out, "os", os_name());
    field!(out, "arch_bits", usize::BITS);
    field!(out, "monotonic_clock", "POSIX clock_gettime");
    field!(out, "multiplexing_api", "epoll");
    field!(out, "process_id", std::process::id());
    field!(out, "process_supervised", "no");
    field!(out, "run_id", shared.run_id);
    field!(out, "tcp_port", shared.port.load(Ordering::Relaxed));
    field!(out, "server_time_usec", unix_micros());
    field!(out, "uptime_in_seconds", uptime);
    field!(out, "uptime_in_days", uptime / 86400);
    field!(out, "hz", hz);
    field!(out, "configured_hz", hz);
    field!(out, "lru_clock", (unix_micros() / 1_000_000) & ((1 << 24) - 1));
    field!(out, "executable", shared.executable);
    field!(out, "config_file", shared.config_file.as_deref().unwrap_or(""));
    field!(out, "io_threads_active", 0);
}

fn clients(shared: &Shared, ks: &Keyspace, out: &mut String) {
    let (connected, blocked, pubsub) = {
        let clients = shared.clients.lock();
        let pubsub = clients.values().filter(|c| {
            let i = c.info.lock();
            i.subscriptions + i.psubscriptions + i.ssubscriptions > 0
        });
        let blocked = clients.values().filter(|c| c.is_blocked()).count();
        (clients.len(), blocked, pubsub.count())
    };
    out.push_str("# Clients\r\n");
    field!(out, "connected_clients", connected);
    field!(out, "cluster_connections", 0);
    field!(out, "maxclients", shared.settings.maxclients.load(Ordering::Relaxed));
    field!(out, "client_recent_max_input_buffer", 0);
    field!(out, "client_recent_max_output_buffer", 0);
    field!(out, "blocked_clients", blocked);
    field!(out, "tracking_clients", 0);
    field!(out, "pubsub_clients", pubsub);
    field!(out, "clients_in_timeout_table", 0);
    field!(out, "total_blocking_keys", ks.blocking.blocking_keys());
    field!(out, "total_blocking_keys_on_nokey", 0);
}

/// `used_memory` as INFO and MEMORY STATS report it.
pub fn used_memory(ks: &Keyspace) -> u64 {
    ks.server_memory() as u64
}

/// Resident set size from `/proc/self/statm` (0 where it is unavailable).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(4096) as u64
}

/// Total physical memory from `/proc/meminfo` (0 where it is unavailable).
fn total_system_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes as Redis prints them for humans: `1.00M`, `512B` ...
pub fn human_bytes(n: u64) -> String {
    const UNITS: &[(f64, &str)] = &[
        (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0, "E"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0, "P"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "T"),
        (1024.0 * 1024.0 * 1024.0, "G"),
        (1024.0 * 1024.0, "M"),
        (1024.0, "K"),
    ];
    let d = n as f64;
    for (unit, suffix) in UNITS {
        if d >= *unit {
            return format!("{:.2}{}", d / unit, suffix);
        }
    }
    format!("{n}B")
}

fn memory(shared: &Shared, ks: &mut Keyspace, out: &mut String) {
    let used = used_memory(ks);
    let peak = shared.note_memory(used);
    let rss = rss_bytes();
    let dataset = ks.used_memory() as u64;
    let maxmemory = ks.maxmemory;
    let policy = ks.policy.name();
    let system = total_system_memory();
    out.push_str("# Memory\r\n");
    field!(out, "used_memory", used);
    field!(out, "used_memory_human", human_bytes(used));
    field!(out, "used_memory_rss", rss);
    field!(out, "used_memory_rss_human", human_bytes(rss));
    field!(out, "used_memory_peak", peak);
    field!(out, "used_memory_peak_human", human_bytes(peak));
    field!(out, "used_memory_peak_perc", format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64));
    field!(out, "used_memory_overhead", BASELINE_MEMORY + ks.clients_memory() as u64);
    field!(out, "used_memory_startup", BASELINE_MEMORY);
    field!(out, "used_memory_dataset", dataset);
    field!(out, "used_memory_dataset_perc", format!("{:.2}%", dataset as f64 * 100.0 / used.max(1) as f64));
    field!(out, "total_system_memory", system);
    field!(out, "total_system_memory_human", human_bytes(system));
    // One Lua state serves EVAL and FUNCTION here; Redis 7.0 has one each.
    let scripting = shared.scripting.counts();
    let lua = scripting.lua_memory as u64;
    field!(out, "used_memory_lua", lua);
    field!(out, "used_memory_vm_eval", lua);
    field!(out, "used_memory_lua_human", human_bytes(lua));
    field!(out, "used_memory_scripts_eval", scripting.scripts_memory);
    field!(out, "number_of_cached_scripts", scripting.scripts);
    field!(out, "number_of_functions", scripting.functions);
    field!(out, "number_of_libraries", scripting.libraries);
    field!(out, "used_memory_vm_functions", 0);
    field!(out, "used_memory_vm_total", lua);
    field!(out, "used_memory_vm_total_human", human_bytes(lua));
    field!(out, "used_memory_functions", scripting.functions_memory);
    let scripts = (scripting.scripts_memory + scripting.functions_memory) as u64;
    field!(out, "used_memory_scripts", scripts);
    field!(out, "used_memory_scripts_human", human_bytes(scripts));
    field!(out, "maxmemory", maxmemory);
    field!(out, "maxmemory_human", human_bytes(maxmemory));
    field!(out, "maxmemory_policy", policy);
    field!(out, "mem_fragmentation_ratio", format!("{:.2}", rss as f64 / used.max(1) as f64));
    field!(out, "mem_fragmentation_bytes", rss as i64 - used as i64);
    field!(out, "mem_not_counted_for_evict", 0);
    field!(out, "mem_replication_backlog", 0);
    field!(out, "mem_total_replication_buffers", 0);
    field!(out, "mem_clients_slaves", 0);
    field!(out, "mem_clients_normal", ks.clients_memory());
    field!(out, "mem_cluster_links", 0);
    field!(out, "mem_aof_buffer", 0);
    field!(out, "mem_allocator", "mimalloc");
    field!(out, "active_defrag_running", 0);
    field!(out, "lazyfree_pending_objects", 0);
    field!(out, "lazyfreed_objects", 0);
}

fn persistence(shared: &Shared, ks: &Keyspace, out: &mut String) {
    out.push_str("# Persistence\r\n");
    crate::persistence::info(shared, ks, out);
    crate::aof::info(shared, out);
}

fn stats(shared: &Shared, ks: &mut Keyspace, out: &mut String) {
    let (channels, patterns, shard_channels) = {
        let p = shared.pubsub.lock();
        (p.channels.len(), p.patterns.len(), p.shard_channels.len())
    };
    let total_errors: u64 = shared.error_stats.lock().values().sum();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    out.push_str("# Stats\r\n");
    field!(out, "total_connections_received", load(&shared.total_connections));
    let (commands, net_input, net_output) = shared.totals();
    field!(out, "total_commands_processed", commands);
    field!(out, "instantaneous_ops_per_sec", load(&shared.ops_per_sec));
    field!(out, "total_net_input_bytes", net_input);
    field!(out, "total_net_output_bytes", net_output);
    field!(out, "total_net_repl_input_bytes", 0);
    field!(out, "total_net_repl_output_bytes", 0);
    field!(out, "rejected_connections", load(&shared.rejected_connections));
    field!(out, "sync_full", 0);
    field!(out, "sync_partial_ok", 0);
    field!(out, "sync_partial_err", 0);
    field!(out, "expired_keys", ks.stats.expired_keys);
    field!(out, "evicted_keys", ks.stats.evicted_keys);
    field!(out, "evicted_clients", load(&shared.evicted_clients));
    field!(out, "keyspace_hits", ks.stats.hits);
    field!(out, "keyspace_misses", ks.stats.misses);
    field!(out, "pubsub_channels", channels);
    field!(out, "pubsub_patterns", patterns);
    field!(out, "pubsubshard_channels", shard_channels);
    let (latest_fork_usec, total_forks) = shared.persistence.fork_stats();
    field!(out, "latest_fork_usec", latest_fork_usec);
    field!(out, "total_forks", total_forks);
    field!(out, "migrate_cached_sockets", 0);
    field!(out, "slave_expires_tracked_keys", 0);
    field!(out, "tracking_total_keys", 0);
    field!(out, "tracking_total_items", 0);
    field!(out, "tracking_total_prefixes", 0);
    field!(out, "unexpected_error_replies", 0);
    field!(out, "total_error_replies", total_errors);
    // Redis 7.4 reports this one; the earlier fields are 7.2's.
    field!(out, "client_output_buffer_limit_disconnections", load(&shared.output_limit_disconnections));
    field!(out, "dump_payload_sanitizations", 0);
}

fn replication(shared: &Shared, out: &mut String) {
    out.push_str("# Replication\r\n");
    field!(out, "role", "master");
    field!(out, "connected_slaves", 0);
    field!(out, "master_failover_state", "no-failover");
    field!(out, "master_replid", shared.run_id);
    field!(out, "master_replid2", "0000000000000000000000000000000000000000");
    field!(out, "master_repl_offset", 0);
    field!(out, "second_repl_offset", -1);
    field!(out, "repl_backlog_active", 0);
    field!(out, "repl_backlog_size", shared.config.read().get_u64("repl-backlog-size"));
    field!(out, "repl_backlog_first_byte_offset", 0);
    field!(out, "repl_backlog_histlen", 0);
}

/// (system, user) CPU seconds for `who` (RUSAGE_SELF or RUSAGE_CHILDREN).
fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_stime), secs(ru.ru_utime))
}

fn cpu(out: &mut String) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (sys_children, user_children) = rusage(libc::RUSAGE_CHILDREN);
    out.push_str("# CPU\r\n");
    field!(out, "used_cpu_sys", format!("{sys:.6}"));
    field!(out, "used_cpu_user", format!("{user:.6}"));
    field!(out, "used_cpu_sys_children", format!("{sys_children:.6}"));
    field!(out, "used_cpu_user_children", format!("{user_children:.6}"));
}

fn commandstats(ctx: &mut Ctx, out: &mut String) {
    // This client's current batch is not merged yet; merge it so INFO sees itself.
    ctx.client.publish_info();
    let stats = ctx.shared.command_stats();
    out.push_str("# Commandstats\r\n");
    for (name, s) in &stats {
        let per_call = if s.calls > 0 { s.usec as f64 / s.calls as f64 } else { 0.0 };
        let _ = write!(
            out,
            "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
            s.calls, s.usec, s.rejected_calls, s.failed_calls
        );
    }
}

fn errorstats(shared: &Shared, out: &mut String) {
    out.push_str("# Errorstats\r\n");
    for (code, count) in shared.error_stats.lock().iter() {
        let _ = write!(out, "errorstat_{code}:count={count}\r\n");
    }
}

fn keyspace(ks: &mut Keyspace, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for db in 0..ks.databases() {
        let keys = ks.db(db).len();
        if keys > 0 {
            let _ = write!(out, "db{db}:keys={keys},expires={},avg_ttl=0\r\n", ks.volatile(db));
        }
    }
}

/// One line per tenant that holds keys or has limits, shaped like the keyspace section's
/// `db0:keys=..` lines (`tenant_org_abc:keys=3,used_memory=..`) so that client libraries'
/// INFO parsers, which split a line at its first ':' and its value at ',' and '=', give one
/// entry per tenant.
fn tenants(ks: &mut Keyspace, out: &mut String) {
    out.push_str("# Tenants\r\n");
    for id in 0..ks.tenants.count() as crate::tenants::TenantId {
        let keys = ks.tenant_keys(id);
        if keys == 0 && ks.limit_overrides(id).is_empty() {
            continue;
        }
        let s = ks.tenant_stats(id);
        let name = info_key_name(ks.tenants.name(id));
        let _ = write!(
            out,
            "tenant_{name}:keys={keys},used_memory={},hits={},misses={},evicted_keys={},expired_keys={}\r\n",
            ks.tenant_memory(id),
            s.hits,
            s.misses,
            s.evicted_quota + s.evicted_pressure,
            s.expired_keys
        );
    }
}

/// Per command, the percentiles of `latency-tracking-info-percentiles` in microseconds, in
/// Redis 7's format: `latency_percentiles_usec_get:p50=1.003,p99=3.007,p99.9=8.031`.
fn latencystats(out: &mut String) {
    out.push_str("# Latencystats\r\n");
    for (name, snap) in crate::latency::snapshot_all() {
        let _ = write!(out, "latency_percentiles_usec_{name}:{}\r\n", crate::latency::percentile_line(&snap));
    }
}

/// One line per key class that holds keys or was read, like the tenants section:
/// `keyclass_user:keys=2,used_memory=..`.
fn keyclasses(ks: &mut Keyspace, out: &mut String) {
    out.push_str("# Keyclasses\r\n");
    let Some(classes) = ks.classes.as_ref() else {
        return;
    };
    for (name, s) in classes.active() {
        let _ = write!(
            out,
            "keyclass_{}:keys={},used_memory={},hits={},misses={}\r\n",
            info_key_name(name),
            s.keys,
            s.memory,
            s.hits,
            s.misses
        );
    }
}

/// A tenant or key class name as part of an INFO field name: bytes that INFO parsers split on
/// (':', ',', '='), '%' itself, and anything but printable ASCII are percent-encoded (`%3A`),
/// so every name stays one field and can be decoded back.
pub fn info_key_name(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for &b in name {
        if b.is_ascii_graphic() && !matches!(b, b':' | b',' | b'=' | b'%') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The `os` field: kernel name, release and machine, as Redis prints it.
pub fn os_name() -> String {
    // SAFETY: uname only writes into the zeroed struct we pass.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return std::env::consts::OS.to_string();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!("{} {} {}", field(&u.sysname), field(&u.release), field(&u.machine))
}

fn unix_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::info_key_name;

    #[test]
    fn names_with_parser_separators_stay_one_field() {
        assert_eq!(info_key_name(b"org_abc"), "org_abc");
        assert_eq!(info_key_name(b"a:b,c=d%e"), "a%3Ab%2Cc%3Dd%25e");
        assert_eq!(info_key_name(b"sp ace\n\xff"), "sp%20ace%0A%FF");
    }
}
