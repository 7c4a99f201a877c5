//! The Prometheus endpoint: scraped over real HTTP/1.1 after a scripted workload, on
//! `metrics-port` and on the main port, with exact counter values per tenant and key class,
//! the whole output checked by a Prometheus text-format parser.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Metrics ports for the tests in this file (each test its own, as tests run in parallel).
const PORT_SCRAPE: u16 = 33101;
const PORT_FOLD: u16 = 33102;
const PORT_PATHS: u16 = 33103;

/// One HTTP/1.1 exchange: (status, headers in lowercase, body).
fn http(port: u16, request: &str) -> (u16, HashMap<String, String>, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8(raw).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("response head");
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect::<HashMap<_, _>>();
    // A HEAD response announces the length of the body it leaves out.
    if let Some(len) = headers.get("content-length").filter(|_| !request.starts_with("HEAD")) {
        assert_eq!(len.parse::<usize>().unwrap(), body.len(), "Content-Length matches the body");
    }
    (status, headers, body.to_string())
}

fn get(port: u16, path: &str) -> (u16, HashMap<String, String>, String) {
    http(port, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/plain\r\n\r\n"))
}

/// Parsed samples: (metric name, sorted labels) -> value.
type Samples = HashMap<(String, Vec<(String, String)>), f64>;

fn parse(body: &str) -> Samples {
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text format");
    let mut out = Samples::new();
    for s in scrape.samples {
        let mut labels: Vec<(String, String)> = s.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let value = match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(buckets) => {
                // Keep the histogram's buckets as their own samples, keyed by `le`.
                for b in buckets {
                    let mut l = labels.clone();
                    l.push(("le".into(), b.less_than.to_string()));
                    l.sort();
                    out.insert((format!("{}_bucket", s.metric), l), b.count);
                }
                continue;
            }
            prometheus_parse::Value::Summary(_) => continue,
        };
        labels.sort();
        out.insert((s.metric, labels), value);
    }
    out
}

fn value(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut l: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    l.sort();
    *samples.get(&(name.to_string(), l)).unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
}

fn cmd(con: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap_or_else(|e| redis::Value::SimpleString(format!("error: {e}")))
}

#[test]
fn scrape_after_workload_has_exact_counts_per_tenant_and_class() {
    let port = PORT_SCRAPE.to_string();
    let server = common::Server::start(&[
        "--metrics-port",
        &port,
        "--stats-key-pattern",
        "*:{class}",
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let mut con = server.conn();
    // acme: 3 keys of class user, 1 hit, 2 misses (one per class).
    for k in ["acme:user:1", "acme:user:2", "acme:user:3"] {
        cmd(&mut con, &["SET", k, "v"]);
    }
    cmd(&mut con, &["GET", "acme:user:1"]);
    cmd(&mut con, &["GET", "acme:user:9"]);
    cmd(&mut con, &["GET", "acme:session:1"]);
    // globex: one session key read twice.
    cmd(&mut con, &["SET", "globex:session:1", "v"]);
    cmd(&mut con, &["GET", "globex:session:1"]);
    cmd(&mut con, &["GET", "globex:session:1"]);
    // tiny evicts its own keys at 1 key; strict refuses writes at 1 key.
    cmd(&mut con, &["TENANT", "SETLIMIT", "tiny", "MAXKEYS", "1", "MAXMEMORY", "1mb", "ONLIMIT", "evict"]);
    cmd(&mut con, &["TENANT", "SETLIMIT", "strict", "MAXKEYS", "1", "ONLIMIT", "reject"]);
    cmd(&mut con, &["SET", "tiny:user:1", "v"]);
    cmd(&mut con, &["SET", "tiny:user:2", "v"]);
    cmd(&mut con, &["SET", "strict:user:1", "v"]);
    let refused = cmd(&mut con, &["SET", "strict:user:2", "v"]);
    assert!(format!("{refused:?}").contains("over its quota"), "{refused:?}");
    // Two acme keys carry a tag and are invalidated.
    cmd(&mut con, &["TAG.SET", "acme:user:4", "v", "TAGS", "plan"]);
    cmd(&mut con, &["TAG.SET", "acme:user:5", "v", "TAGS", "plan"]);
    cmd(&mut con, &["TAG.INVALIDATE", "plan"]);

    let (status, headers, body) = get(PORT_SCRAPE, "/metrics");
    assert_eq!(status, 200);
    assert!(headers["content-type"].starts_with("text/plain; version=0.0.4"), "{headers:?}");
    let m = parse(&body);

    let t = |name: &str, tenant: &str| value(&m, name, &[("tenant", tenant)]);
    assert_eq!(t("tenantcache_tenant_hits_total", "acme"), 1.0);
    assert_eq!(t("tenantcache_tenant_misses_total", "acme"), 2.0);
    assert_eq!(t("tenantcache_tenant_keys", "acme"), 3.0);
    assert_eq!(t("tenantcache_tenant_invalidated_keys_total", "acme"), 2.0);
    assert_eq!(t("tenantcache_tenant_hits_total", "globex"), 2.0);
    assert_eq!(t("tenantcache_tenant_misses_total", "globex"), 0.0);
    assert_eq!(t("tenantcache_tenant_keys", "globex"), 1.0);
    assert_eq!(t("tenantcache_tenant_keys", "tiny"), 1.0);
    assert_eq!(t("tenantcache_tenant_memory_limit_bytes", "tiny"), 1048576.0);
    assert_eq!(t("tenantcache_tenant_memory_limit_bytes", "acme"), 0.0);
    assert!(t("tenantcache_tenant_memory_used_bytes", "acme") > 0.0);
    let evicted = |tenant: &str, reason: &str| {
        value(&m, "tenantcache_tenant_evicted_keys_total", &[("tenant", tenant), ("reason", reason)])
    };
    assert_eq!(evicted("tiny", "quota"), 1.0);
    assert_eq!(evicted("tiny", "pressure"), 0.0);
    assert_eq!(t("tenantcache_tenant_rejected_writes_total", "strict"), 1.0);
    assert_eq!(t("tenantcache_tenant_keys", "strict"), 1.0);

    let c = |name: &str, class: &str| value(&m, name, &[("class", class)]);
    assert_eq!(c("tenantcache_keyclass_keys", "user"), 5.0); // acme 3, tiny 1, strict 1
    assert_eq!(c("tenantcache_keyclass_hits_total", "user"), 1.0);
    assert_eq!(c("tenantcache_keyclass_misses_total", "user"), 1.0);
    assert_eq!(c("tenantcache_keyclass_keys", "session"), 1.0);
    assert_eq!(c("tenantcache_keyclass_hits_total", "session"), 2.0);
    assert_eq!(c("tenantcache_keyclass_misses_total", "session"), 1.0);
    assert!(
        c("tenantcache_keyclass_memory_used_bytes", "user") > c("tenantcache_keyclass_memory_used_bytes", "session")
    );

    assert_eq!(value(&m, "tenantcache_keyspace_hits_total", &[]), 3.0);
    assert_eq!(value(&m, "tenantcache_keyspace_misses_total", &[]), 2.0);
    assert_eq!(value(&m, "tenantcache_evicted_keys_total", &[]), 1.0);
    assert_eq!(value(&m, "tenantcache_keys", &[("db", "db0")]), 6.0);
    assert_eq!(value(&m, "tenantcache_connected_clients", &[]), 1.0);
    assert_eq!(value(&m, "tenantcache_memory_max_bytes", &[]), 0.0);
    assert!(value(&m, "tenantcache_memory_used_bytes", &[]) > 0.0);

    assert_eq!(value(&m, "tenantcache_commands_total", &[("cmd", "get")]), 5.0);
    assert_eq!(value(&m, "tenantcache_commands_total", &[("cmd", "tenant|setlimit")]), 2.0);
    // SET ran 8 times; the refused one was rejected before it ran.
    assert_eq!(value(&m, "tenantcache_commands_total", &[("cmd", "set")]), 7.0);
    assert_eq!(value(&m, "tenantcache_commands_rejected_total", &[("cmd", "set")]), 1.0);
    let get_count = value(&m, "tenantcache_command_duration_seconds_count", &[("cmd", "get")]);
    assert_eq!(get_count, 5.0);
    assert_eq!(value(&m, "tenantcache_command_duration_seconds_bucket", &[("cmd", "get"), ("le", "inf")]), 5.0);
    assert!(value(&m, "tenantcache_command_duration_seconds_sum", &[("cmd", "get")]) > 0.0);
}

#[test]
fn smallest_tenants_fold_into_other() {
    let port = PORT_FOLD.to_string();
    let server = common::Server::start(&["--metrics-port", &port, "--metrics-max-tenants", "3"]);
    let mut con = server.conn();
    // Tenants t1..t5 hold 1..5 keys: t5 and t4 keep their own series, the rest fold.
    for t in 1..=5 {
        for k in 0..t {
            cmd(&mut con, &["SET", &format!("t{t}:k{k}"), "value"]);
        }
        cmd(&mut con, &["GET", &format!("t{t}:k0")]);
    }
    let (_, _, body) = get(PORT_FOLD, "/metrics");
    let m = parse(&body);
    let tenants: Vec<String> =
        m.keys().filter(|(name, _)| name == "tenantcache_tenant_keys").map(|(_, l)| l[0].1.clone()).collect();
    assert_eq!(tenants.len(), 3, "{tenants:?}");
    let t = |name: &str, tenant: &str| value(&m, name, &[("tenant", tenant)]);
    assert_eq!(t("tenantcache_tenant_keys", "t5"), 5.0);
    assert_eq!(t("tenantcache_tenant_keys", "t4"), 4.0);
    assert_eq!(t("tenantcache_tenant_keys", "_other"), 6.0);
    assert_eq!(t("tenantcache_tenant_hits_total", "_other"), 3.0);
    assert_eq!(t("tenantcache_tenant_commands_total", "_other"), 9.0);
}

#[test]
fn main_port_answers_http_and_keeps_inline_get() {
    let port = PORT_PATHS.to_string();
    let server = common::Server::start(&["--metrics-port", &port]);
    let mut con = server.conn();
    cmd(&mut con, &["SET", "/metrics", "a key that looks like a path"]);

    // The main port answers an HTTP request line with the same exposition.
    let (status, headers, body) = get(server.port, "/metrics");
    assert_eq!(status, 200);
    assert_eq!(headers["connection"], "close");
    let m = parse(&body);
    assert_eq!(value(&m, "tenantcache_commands_total", &[("cmd", "set")]), 1.0);

    // An inline GET without an HTTP version is still the Redis command.
    let reply = server.raw(b"GET /metrics\r\n", Duration::from_millis(300));
    assert_eq!(reply, b"$28\r\na key that looks like a path\r\n");

    // Other paths and methods, and HEAD.
    assert_eq!(get(PORT_PATHS, "/nope").0, 404);
    assert_eq!(http(PORT_PATHS, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").0, 405);
    let (status, headers, body) = http(PORT_PATHS, "HEAD /metrics HTTP/1.0\r\n\r\n");
    assert_eq!((status, body.as_str()), (200, ""));
    assert!(headers["content-length"].parse::<usize>().unwrap() > 1000);
    let (status, _, body) = get(PORT_PATHS, "/metrics?name[]=x");
    assert_eq!(status, 200);
    assert!(body.contains("# TYPE tenantcache_commands_total counter"));
}
