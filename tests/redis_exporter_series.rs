//! redis_exporter's series on /metrics: every metric that Grafana dashboard 763 (redis_exporter's
//! own dashboard, tests/assets/grafana-763.json) queries is served, with the exporter's label
//! names and types, and values that match INFO as the exporter would convert them.

mod common;

use common::{ok, Server};
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// PromQL words that are not metric names.
const PROMQL_WORDS: &[&str] = &[
    "sum",
    "max",
    "min",
    "avg",
    "count",
    "rate",
    "irate",
    "increase",
    "delta",
    "max_over_time",
    "min_over_time",
    "avg_over_time",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
    "label_values",
    "topk",
    "bottomk",
    "abs",
    "histogram_quantile",
];

/// The metric names in one PromQL expression (or Grafana `label_values(...)` query): the
/// identifiers outside label matchers `{..}`, ranges `[..]`, strings and `by (..)` lists.
fn metric_names(expr: &str, out: &mut BTreeSet<String>) {
    let bytes = expr.as_bytes();
    let (mut i, mut braces, mut brackets) = (0, 0, 0);
    let mut after_grouping = false;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'{' => braces += 1,
            b'}' => braces -= 1,
            b'[' => brackets += 1,
            b']' => brackets -= 1,
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' if after_grouping => {
                // `by (cmd)`: label names, not metrics.
                while i < bytes.len() && bytes[i] != b')' {
                    i += 1;
                }
                after_grouping = false;
            }
            c if (c.is_ascii_alphabetic() || c == b'_' || c == b'$') && braces == 0 && brackets == 0 => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':') {
                    i += 1;
                }
                let word = &expr[start..i.max(start + 1)];
                after_grouping = matches!(word, "by" | "without" | "on" | "ignoring");
                // A Grafana variable, a function, or the label argument of label_values.
                let label_argument = expr[..start].trim_end().ends_with(',');
                if !word.starts_with('$') && !PROMQL_WORDS.contains(&word) && !label_argument {
                    out.insert(word.to_string());
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// Every `expr` of the dashboard's panels and every query of its template variables.
fn dashboard_queries(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if let (true, Some(s)) = (k == "expr" || k == "definition", v.as_str()) {
                    out.push(s.to_string());
                }
                dashboard_queries(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| dashboard_queries(v, out)),
        _ => {}
    }
}

fn scrape(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    raw.split_once("\r\n\r\n").expect("response head").1.to_string()
}

/// One sample: its labels and value.
type Sample = (HashMap<String, String>, f64);

/// Samples by name, and each family's TYPE.
struct Exposition {
    samples: HashMap<String, Vec<Sample>>,
    types: HashMap<String, String>,
}

fn parse(body: &str) -> Exposition {
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("valid text format");
    let mut samples: HashMap<String, Vec<_>> = HashMap::new();
    for s in scrape.samples {
        let value = match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => continue,
        };
        let labels = s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        samples.entry(s.metric).or_default().push((labels, value));
    }
    let types = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    Exposition { samples, types }
}

fn value(e: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    e.samples
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .iter()
        .find(|(l, _)| labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
        .unwrap_or_else(|| panic!("{name}{labels:?} missing"))
        .1
}

#[test]
fn every_series_dashboard_763_queries_is_served() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/assets/grafana-763.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
    let mut queries = Vec::new();
    dashboard_queries(&dashboard, &mut queries);
    let mut names = BTreeSet::new();
    for q in &queries {
        metric_names(q, &mut names);
    }
    // The extraction itself: the dashboard's series, nothing from PromQL or Grafana syntax.
    assert!(names.len() >= 15 && names.iter().all(|n| n.starts_with("redis_")), "{names:?}");

    let server = Server::start(&["--maxmemory", "64mb"]);
    let mut con = server.conn();
    let _: () = ok(&mut con, &["SET", "org_a:k", "v"]);
    let _: bool = ok(&mut con, &["SET", "org_a:t", "v", "EX", "100"]);
    let _: Option<String> = ok(&mut con, &["GET", "org_a:k"]);
    let metrics = parse(&scrape(server.port));
    let missing: Vec<&String> = names.iter().filter(|n| !metrics.samples.contains_key(*n)).collect();
    assert!(missing.is_empty(), "series the dashboard queries but /metrics lacks: {missing:?}");
    // The labels its queries group by.
    assert!(metrics.samples["redis_commands_total"].iter().all(|(l, _)| l.contains_key("cmd")));
    assert!(metrics.samples["redis_commands_duration_seconds_total"].iter().all(|(l, _)| l.contains_key("cmd")));
    assert!(metrics.samples["redis_db_keys"].iter().all(|(l, _)| l.contains_key("db")));
}

#[test]
fn redis_exporter_series_match_info_with_its_names_labels_and_types() {
    let server = Server::start(&["--maxmemory", "64mb", "--databases", "4"]);
    let mut con = server.conn();
    for i in 0..3 {
        let _: () = ok(&mut con, &["SET", &format!("org_a:{i}"), "v"]);
    }
    let _: bool = ok(&mut con, &["SET", "org_a:ttl", "v", "EX", "100"]);
    let _: Option<String> = ok(&mut con, &["GET", "org_a:0"]);
    let _: Option<String> = ok(&mut con, &["GET", "org_a:missing"]);
    let m = parse(&scrape(server.port));

    let counters = [
        "redis_commands_total",
        "redis_commands_duration_seconds_total",
        "redis_keyspace_hits_total",
        "redis_keyspace_misses_total",
        "redis_expired_keys_total",
        "redis_evicted_keys_total",
        "redis_net_input_bytes_total",
        "redis_net_output_bytes_total",
        "redis_commands_processed_total",
        "redis_connections_received_total",
    ];
    let gauges = [
        "redis_up",
        "redis_uptime_in_seconds",
        "redis_connected_clients",
        "redis_blocked_clients",
        "redis_memory_used_bytes",
        "redis_memory_max_bytes",
        "redis_db_keys",
        "redis_db_keys_expiring",
        "redis_instance_info",
    ];
    for name in counters {
        assert_eq!(m.types.get(name).map(String::as_str), Some("counter"), "{name}");
    }
    for name in gauges {
        assert_eq!(m.types.get(name).map(String::as_str), Some("gauge"), "{name}");
    }

    assert_eq!(value(&m, "redis_up", &[]), 1.0);
    assert_eq!(value(&m, "redis_memory_max_bytes", &[]), 64.0 * 1024.0 * 1024.0);
    assert!(value(&m, "redis_memory_used_bytes", &[]) > 0.0);
    // This connection, and the scrape's own on the main port.
    assert!(value(&m, "redis_connected_clients", &[]) >= 1.0);
    assert_eq!(value(&m, "redis_blocked_clients", &[]), 0.0);
    assert_eq!(value(&m, "redis_keyspace_hits_total", &[]), 1.0);
    assert_eq!(value(&m, "redis_keyspace_misses_total", &[]), 1.0);
    assert_eq!(value(&m, "redis_commands_total", &[("cmd", "set")]), 4.0);
    assert_eq!(value(&m, "redis_commands_total", &[("cmd", "get")]), 2.0);
    // As the exporter reads INFO's db lines, and writes 0 for every empty database.
    assert_eq!(value(&m, "redis_db_keys", &[("db", "db0")]), 4.0);
    assert_eq!(value(&m, "redis_db_keys_expiring", &[("db", "db0")]), 1.0);
    for db in ["db1", "db2", "db3"] {
        assert_eq!(value(&m, "redis_db_keys", &[("db", db)]), 0.0);
        assert_eq!(value(&m, "redis_db_keys_expiring", &[("db", db)]), 0.0);
    }
    assert!(!m.samples["redis_db_keys"].iter().any(|(l, _)| l["db"] == "db4"));
    let info = value(&m, "redis_instance_info", &[("role", "master"), ("redis_mode", "standalone")]);
    assert_eq!(info, 1.0);

    // Seconds from INFO commandstats' usec, exactly.
    let stats: String = ok(&mut con, &["INFO", "commandstats"]);
    let usec: f64 = common::info_field(&stats, "cmdstat_set")
        .unwrap()
        .split(',')
        .find_map(|f| f.strip_prefix("usec="))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(value(&m, "redis_commands_duration_seconds_total", &[("cmd", "set")]), usec / 1e6);
}

#[test]
fn metric_names_are_taken_from_queries() {
    let mut names = BTreeSet::new();
    metric_names(
        r#"sum(irate(redis_commands_duration_seconds_total{ns=~"$ns", i =~ "$i"}[1m])) by (cmd) / sum(irate(redis_commands_total{x="y"}[1m])) by (cmd)"#,
        &mut names,
    );
    metric_names(r#"label_values(redis_up{namespace=~"$namespace"}, instance)"#, &mut names);
    metric_names(r#"sum (redis_db_keys{instance=~"$instance"}) by (db, instance) - redis_x"#, &mut names);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(
        names,
        ["redis_commands_duration_seconds_total", "redis_commands_total", "redis_db_keys", "redis_up", "redis_x"]
    );
}
