//! Prometheus metrics: the server, its commands, tenants and key classes in the Prometheus
//! text exposition format (version 0.0.4), served by [`http`].
//!
//! Everything is read at scrape time from the counters the server keeps anyway (command
//! statistics, keyspace and tenant counters, latency histograms), so serving metrics adds
//! nothing to the command path. The keyspace lock is held only to copy numbers out.
//!
//! Beside the `tenantcache_*` series, [`redis_exporter`] serves redis_exporter's `redis_*`
//! series, so its dashboards work unchanged.
//!
//! Label cardinality is bounded: past `metrics-max-tenants` tenants (or key classes), the
//! smallest by memory are summed into one series labelled `_other`.

pub mod http;
mod redis_exporter;

use crate::server::Shared;
use std::fmt::{Display, Write};
use std::sync::atomic::Ordering;

/// The Content-Type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Label value of the series that sums the tenants or classes past the limit.
pub const OTHER: &str = "_other";

/// Upper bounds of the duration histogram buckets: powers of two from 2^10 ns (about 1 µs)
/// to 2^33 ns (about 8.6 s), exact boundaries of the latency histograms.
const BUCKET_EXPONENTS: std::ops::RangeInclusive<u32> = 10..=33;

/// One tenant's or key class's figures, as exported.
#[derive(Default, Clone)]
struct Row {
    name: String,
    hits: u64,
    misses: u64,
    keys: u64,
    memory: u64,
    /// Tenants only: limit (0 = none), evictions by reason, rejections, invalidations, expiries.
    limit: u64,
    evicted_quota: u64,
    evicted_pressure: u64,
    rejected: u64,
    invalidated: u64,
    expired: u64,
    commands: u64,
}

impl Row {
    fn add(&mut self, o: &Row) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.keys += o.keys;
        self.memory += o.memory;
        self.evicted_quota += o.evicted_quota;
        self.evicted_pressure += o.evicted_pressure;
        self.rejected += o.rejected;
        self.invalidated += o.invalidated;
        self.expired += o.expired;
        self.commands += o.commands;
    }
}

/// Keeps the `max` largest rows by memory (then keys) and sums the rest into `_other`, so
/// that at most `max` series exist per metric.
fn bound_cardinality(mut rows: Vec<Row>, max: usize) -> Vec<Row> {
    if rows.len() <= max {
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        return rows;
    }
    rows.sort_by(|a, b| b.memory.cmp(&a.memory).then(b.keys.cmp(&a.keys)).then(a.name.cmp(&b.name)));
    let keep = max.saturating_sub(1);
    let mut other = Row { name: OTHER.into(), ..Default::default() };
    for r in &rows[keep..] {
        other.add(r);
    }
    rows.truncate(keep);
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows.push(other);
    rows
}

/// Numbers copied out of the keyspace under its lock.
struct KeyspaceFigures {
    hits: u64,
    misses: u64,
    expired: u64,
    evicted: u64,
    used_memory: u64,
    max_memory: u64,
    /// (db, keys, keys with a TTL) for databases that hold keys.
    dbs: Vec<(usize, u64, u64)>,
    tenants: Vec<Row>,
    classes: Option<Vec<Row>>,
}

fn keyspace_figures(shared: &Shared) -> KeyspaceFigures {
    let ks = shared.lock_keyspace();
    let dbs = (0..ks.databases())
        .map(|db| (db, ks.db(db).len() as u64, ks.volatile(db) as u64))
        .filter(|d| d.1 > 0)
        .collect();
    let mut tenants = Vec::new();
    for id in 0..ks.tenants.count() as crate::tenants::TenantId {
        let s = ks.tenant_stats(id);
        let (keys, memory) = (ks.tenant_keys(id) as u64, ks.tenant_memory(id) as u64);
        let has_limits = !ks.limit_overrides(id).is_empty();
        let active = keys > 0 || s.hits + s.misses + s.commands + s.rejected_writes > 0;
        if !active && !has_limits {
            continue;
        }
        tenants.push(Row {
            name: String::from_utf8_lossy(ks.tenants.name(id)).into_owned(),
            hits: s.hits,
            misses: s.misses,
            keys,
            memory,
            limit: ks.limits(id).maxmemory,
            evicted_quota: s.evicted_quota,
            evicted_pressure: s.evicted_pressure,
            rejected: s.rejected_writes,
            invalidated: s.invalidated_keys,
            expired: s.expired_keys,
            commands: s.commands,
        });
    }
    let classes = ks.classes.as_ref().map(|c| {
        c.active()
            .map(|(name, s)| Row {
                name: String::from_utf8_lossy(name).into_owned(),
                hits: s.hits,
                misses: s.misses,
                keys: s.keys,
                memory: s.memory,
                ..Default::default()
            })
            .collect()
    });
    KeyspaceFigures {
        hits: ks.stats.hits,
        misses: ks.stats.misses,
        expired: ks.stats.expired_keys,
        evicted: ks.stats.evicted_keys,
        used_memory: ks.server_memory() as u64,
        max_memory: ks.maxmemory,
        dbs,
        tenants,
        classes,
    }
}

/// Writes metric families in the text format.
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = write!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"");
                escape_label(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    /// A family with one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// A family with one sample per row, labelled `label`.
    fn per_row(&mut self, rows: &[Row], label: &str, name: &str, kind: &str, help: &str, value: fn(&Row) -> u64) {
        self.family(name, kind, help);
        for r in rows {
            self.sample(name, &[(label, &r.name)], value(r));
        }
    }
}

/// Label values escape backslash, double quote and newline.
fn escape_label(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Nanoseconds as seconds with no rounding (powers of ten make the decimal exact).
fn ns_as_seconds(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// The whole exposition.
pub fn render(shared: &Shared) -> String {
    let max_series = shared.config.read().get_u64("metrics-max-tenants").max(1) as usize;
    let ks = keyspace_figures(shared);
    let clients = shared.clients.lock().len();
    let commands = shared.command_stats();
    let (total_commands, net_input, net_output) = shared.totals();
    let latency = crate::latency::snapshot_all();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);

    let mut e = Exposition { out: String::with_capacity(16 * 1024) };
    e.single("tenantcache_uptime_seconds", "gauge", "Seconds since the server started.", shared.uptime().as_secs());
    e.single("tenantcache_connected_clients", "gauge", "Client connections open now.", clients);
    e.single(
        "tenantcache_connections_received_total",
        "counter",
        "Client connections accepted.",
        load(&shared.total_connections),
    );
    e.single(
        "tenantcache_commands_processed_total",
        "counter",
        "Commands processed, all commands together.",
        total_commands,
    );
    e.single("tenantcache_net_input_bytes_total", "counter", "Bytes read from clients.", net_input);
    e.single("tenantcache_net_output_bytes_total", "counter", "Bytes written to clients.", net_output);

    e.family("tenantcache_commands_total", "counter", "Calls per command (INFO commandstats calls).");
    for (name, s) in &commands {
        e.sample("tenantcache_commands_total", &[("cmd", name)], s.calls);
    }
    e.family("tenantcache_commands_failed_total", "counter", "Calls per command that replied with an error.");
    for (name, s) in &commands {
        e.sample("tenantcache_commands_failed_total", &[("cmd", name)], s.failed_calls);
    }
    e.family("tenantcache_commands_rejected_total", "counter", "Calls per command refused before they ran.");
    for (name, s) in &commands {
        e.sample("tenantcache_commands_rejected_total", &[("cmd", name)], s.rejected_calls);
    }

    let hist = "tenantcache_command_duration_seconds";
    e.family(hist, "histogram", "Time spent executing each command.");
    for (name, snap) in &latency {
        for exp in BUCKET_EXPONENTS {
            let le = ns_as_seconds(1 << exp);
            e.sample(&format!("{hist}_bucket"), &[("cmd", name), ("le", &le)], snap.count_below(1 << exp));
        }
        e.sample(&format!("{hist}_bucket"), &[("cmd", name), ("le", "+Inf")], snap.count);
        e.sample(&format!("{hist}_sum"), &[("cmd", name)], ns_as_seconds(snap.sum_ns));
        e.sample(&format!("{hist}_count"), &[("cmd", name)], snap.count);
    }

    e.single("tenantcache_keyspace_hits_total", "counter", "Reads that found their key.", ks.hits);
    e.single("tenantcache_keyspace_misses_total", "counter", "Reads that did not find their key.", ks.misses);
    e.single("tenantcache_expired_keys_total", "counter", "Keys removed because their TTL passed.", ks.expired);
    e.single("tenantcache_evicted_keys_total", "counter", "Keys evicted (tenant quota or maxmemory).", ks.evicted);
    e.single("tenantcache_memory_used_bytes", "gauge", "Memory used, as INFO used_memory.", ks.used_memory);
    e.single("tenantcache_memory_max_bytes", "gauge", "The maxmemory setting (0 = no limit).", ks.max_memory);
    e.family("tenantcache_keys", "gauge", "Keys per database.");
    for (db, keys, _) in &ks.dbs {
        e.sample("tenantcache_keys", &[("db", &format!("db{db}"))], keys);
    }
    e.family("tenantcache_expiring_keys", "gauge", "Keys with a TTL per database.");
    for (db, _, volatile) in &ks.dbs {
        e.sample("tenantcache_expiring_keys", &[("db", &format!("db{db}"))], volatile);
    }

    let exporter = redis_exporter::Figures {
        keyspace: &ks,
        commands: &commands,
        connected_clients: clients,
        total_commands,
        net_input,
        net_output,
    };
    redis_exporter::write(&mut e, shared, &exporter);

    let tenants = bound_cardinality(ks.tenants, max_series);
    let t = "tenant";
    e.per_row(
        &tenants,
        t,
        "tenantcache_tenant_hits_total",
        "counter",
        "Reads that found their key, per tenant.",
        |r| r.hits,
    );
    e.per_row(&tenants, t, "tenantcache_tenant_misses_total", "counter", "Reads that missed, per tenant.", |r| {
        r.misses
    });
    e.per_row(&tenants, t, "tenantcache_tenant_keys", "gauge", "Keys per tenant, all databases.", |r| r.keys);
    e.per_row(&tenants, t, "tenantcache_tenant_memory_used_bytes", "gauge", "Memory used per tenant.", |r| r.memory);
    e.family("tenantcache_tenant_memory_limit_bytes", "gauge", "The tenant's maxmemory (0 = no limit).");
    for r in tenants.iter().filter(|r| r.name != OTHER) {
        e.sample("tenantcache_tenant_memory_limit_bytes", &[(t, &r.name)], r.limit);
    }
    e.family(
        "tenantcache_tenant_evicted_keys_total",
        "counter",
        "Keys evicted per tenant: reason=quota (its own limit) or pressure (global maxmemory).",
    );
    for r in &tenants {
        e.sample("tenantcache_tenant_evicted_keys_total", &[(t, &r.name), ("reason", "quota")], r.evicted_quota);
        e.sample("tenantcache_tenant_evicted_keys_total", &[(t, &r.name), ("reason", "pressure")], r.evicted_pressure);
    }
    e.per_row(&tenants, t, "tenantcache_tenant_expired_keys_total", "counter", "Keys expired per tenant.", |r| {
        r.expired
    });
    e.per_row(
        &tenants,
        t,
        "tenantcache_tenant_rejected_writes_total",
        "counter",
        "Writes refused with -OOM because the tenant was at its quota.",
        |r| r.rejected,
    );
    e.per_row(
        &tenants,
        t,
        "tenantcache_tenant_invalidated_keys_total",
        "counter",
        "Keys deleted by TAG.INVALIDATE per tenant.",
        |r| r.invalidated,
    );
    e.per_row(&tenants, t, "tenantcache_tenant_commands_total", "counter", "Keyed commands per tenant.", |r| {
        r.commands
    });

    if let Some(classes) = ks.classes {
        let classes = bound_cardinality(classes, max_series);
        let c = "class";
        e.per_row(
            &classes,
            c,
            "tenantcache_keyclass_hits_total",
            "counter",
            "Reads that found their key, per key class.",
            |r| r.hits,
        );
        e.per_row(
            &classes,
            c,
            "tenantcache_keyclass_misses_total",
            "counter",
            "Reads that missed, per key class.",
            |r| r.misses,
        );
        e.per_row(&classes, c, "tenantcache_keyclass_keys", "gauge", "Keys per key class.", |r| r.keys);
        e.per_row(&classes, c, "tenantcache_keyclass_memory_used_bytes", "gauge", "Entry memory per key class.", |r| {
            r.memory
        });
    }
    e.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, memory: u64) -> Row {
        Row { name: name.into(), memory, keys: 1, hits: 1, ..Default::default() }
    }

    #[test]
    fn folds_smallest_into_other() {
        let rows = vec![row("a", 10), row("b", 30), row("c", 20), row("d", 5)];
        let out = bound_cardinality(rows.clone(), 3);
        let names: Vec<&str> = out.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b", "c", OTHER]);
        assert_eq!(out[2].memory, 15);
        assert_eq!(out[2].hits, 2);
        assert_eq!(bound_cardinality(rows, 4).len(), 4);
    }

    #[test]
    fn label_escaping_and_seconds() {
        let mut s = String::new();
        escape_label(&mut s, "a\"b\\c\nd");
        assert_eq!(s, "a\\\"b\\\\c\\nd");
        assert_eq!(ns_as_seconds(1024), "0.000001024");
        assert_eq!(ns_as_seconds(1 << 33), "8.589934592");
    }
}
