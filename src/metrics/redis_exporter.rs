//! The series redis_exporter derives from INFO, under its names, labels and types
//! (`redis_up`, `redis_commands_total{cmd="get"}`, `redis_db_keys{db="db0"}` ...), so that
//! dashboards and alerts written for Redis behind redis_exporter (Grafana dashboard 763
//! among them) work against tenantcache's own endpoint unchanged.
//!
//! Each value is the one redis_exporter would read from this server's INFO: the same
//! counters INFO prints, converted as the exporter converts them (`usec` to seconds, a
//! `db_keys` series of 0 for every empty database, as its default
//! `include-metrics-for-empty-databases` does).

use super::{Exposition, KeyspaceFigures};
use crate::client::CommandStat;
use crate::server::Shared;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// Microseconds as seconds with no rounding.
fn usec_as_seconds(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// Counters and gauges copied out by the caller for this section.
pub(super) struct Figures<'a> {
    pub keyspace: &'a KeyspaceFigures,
    pub commands: &'a BTreeMap<String, CommandStat>,
    pub connected_clients: usize,
    pub total_commands: u64,
    pub net_input: u64,
    pub net_output: u64,
}

/// Writes the redis_exporter families.
pub(super) fn write(e: &mut Exposition, shared: &Shared, f: &Figures) {
    let ks = f.keyspace;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let (databases, policy) = {
        let config = shared.config.read();
        (config.get_u64("databases") as usize, config.get("maxmemory-policy").to_string())
    };
    let blocked = shared.clients.lock().values().filter(|c| c.is_blocked()).count();

    e.single("redis_up", "gauge", "Information about the Redis instance", 1);
    e.family("redis_instance_info", "gauge", "Information about the Redis instance");
    let port = load(&shared.port).to_string();
    let pid = std::process::id().to_string();
    let os = crate::commands::info::os_name();
    e.sample(
        "redis_instance_info",
        &[
            ("role", "master"),
            ("redis_version", crate::REDIS_VERSION),
            ("redis_build_id", ""),
            ("redis_mode", "standalone"),
            ("os", &os),
            ("maxmemory_policy", &policy),
            ("tcp_port", &port),
            ("run_id", &shared.run_id),
            ("process_id", &pid),
            ("master_replid", &shared.run_id),
        ],
        1,
    );
    e.single("redis_uptime_in_seconds", "gauge", "uptime_in_seconds metric", shared.uptime().as_secs());
    e.single("redis_process_id", "gauge", "process_id metric", std::process::id());

    e.single("redis_connected_clients", "gauge", "connected_clients metric", f.connected_clients);
    e.single("redis_blocked_clients", "gauge", "blocked_clients metric", blocked);
    e.single("redis_max_clients", "gauge", "maxclients metric", shared.settings.maxclients.load(Ordering::Relaxed));
    e.single("redis_connected_slaves", "gauge", "connected_slaves metric", 0);

    let peak = shared.note_memory(ks.used_memory);
    e.single("redis_memory_used_bytes", "gauge", "used_memory metric", ks.used_memory);
    e.single("redis_memory_used_rss_bytes", "gauge", "used_memory_rss metric", crate::commands::info::rss_bytes());
    e.single("redis_memory_used_peak_bytes", "gauge", "used_memory_peak metric", peak);
    e.single("redis_memory_max_bytes", "gauge", "maxmemory metric", ks.max_memory);

    e.single(
        "redis_connections_received_total",
        "counter",
        "total_connections_received metric",
        load(&shared.total_connections),
    );
    e.single(
        "redis_rejected_connections_total",
        "counter",
        "rejected_connections metric",
        load(&shared.rejected_connections),
    );
    e.single("redis_commands_processed_total", "counter", "total_commands_processed metric", f.total_commands);
    e.single("redis_net_input_bytes_total", "counter", "total_net_input_bytes metric", f.net_input);
    e.single("redis_net_output_bytes_total", "counter", "total_net_output_bytes metric", f.net_output);
    e.single("redis_expired_keys_total", "counter", "expired_keys metric", ks.expired);
    e.single("redis_evicted_keys_total", "counter", "evicted_keys metric", ks.evicted);
    e.single("redis_keyspace_hits_total", "counter", "keyspace_hits metric", ks.hits);
    e.single("redis_keyspace_misses_total", "counter", "keyspace_misses metric", ks.misses);

    e.family("redis_commands_total", "counter", "Total number of calls per command");
    for (name, s) in f.commands {
        e.sample("redis_commands_total", &[("cmd", name)], s.calls);
    }
    e.family("redis_commands_duration_seconds_total", "counter", "Total amount of time in seconds spent per command");
    for (name, s) in f.commands {
        e.sample("redis_commands_duration_seconds_total", &[("cmd", name)], usec_as_seconds(s.usec));
    }
    e.family(
        "redis_commands_rejected_calls_total",
        "counter",
        "Total number of errors prior command execution per command",
    );
    for (name, s) in f.commands {
        e.sample("redis_commands_rejected_calls_total", &[("cmd", name)], s.rejected_calls);
    }
    e.family(
        "redis_commands_failed_calls_total",
        "counter",
        "Total number of errors within command execution per command",
    );
    for (name, s) in f.commands {
        e.sample("redis_commands_failed_calls_total", &[("cmd", name)], s.failed_calls);
    }
    e.family("redis_errors_total", "counter", "Total number of errors per error type");
    for (code, count) in shared.error_stats.lock().iter() {
        e.sample("redis_errors_total", &[("err", code)], count);
    }

    // Every database gets db_keys and db_keys_expiring (0 when empty); avg_ttl only those
    // INFO keyspace lists, where it is always 0.
    let keys_of = |db: usize| ks.dbs.iter().find(|d| d.0 == db).map(|d| (d.1, d.2));
    e.family("redis_db_keys", "gauge", "Total number of keys by DB");
    for db in 0..databases {
        e.sample("redis_db_keys", &[("db", &format!("db{db}"))], keys_of(db).map_or(0, |k| k.0));
    }
    e.family("redis_db_keys_expiring", "gauge", "Total number of expiring keys by DB");
    for db in 0..databases {
        e.sample("redis_db_keys_expiring", &[("db", &format!("db{db}"))], keys_of(db).map_or(0, |k| k.1));
    }
    e.family("redis_db_avg_ttl_seconds", "gauge", "Avg TTL in seconds");
    for (db, _, _) in &ks.dbs {
        e.sample("redis_db_avg_ttl_seconds", &[("db", &format!("db{db}"))], 0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn usec_as_seconds_is_exact() {
        assert_eq!(super::usec_as_seconds(0), "0.000000");
        assert_eq!(super::usec_as_seconds(1_234_567), "1.234567");
    }
}
