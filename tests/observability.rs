//! Redis-compatible introspection and key classes over TCP: INFO latencystats, LATENCY
//! HISTOGRAM/LATEST/HISTORY/RESET, MONITOR, KEYCLASS and INFO keyclasses, CLIENT LIST tenant.

mod common;

use common::info_field;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

fn info(con: &mut redis::Connection, section: &str) -> String {
    redis::cmd("INFO").arg(section).query(con).unwrap()
}

#[test]
fn info_latencystats_in_redis_format() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let _: () = redis::cmd("SET").arg("a").arg("b").query(&mut con).unwrap();
    let _: String = redis::cmd("GET").arg("a").query(&mut con).unwrap();
    let text = info(&mut con, "latencystats");
    assert!(text.starts_with("# Latencystats\r\n"), "{text}");
    let line = info_field(&text, "latency_percentiles_usec_set").expect("set line");
    let parts: Vec<&str> = line.split(',').collect();
    assert_eq!(parts.len(), 3, "{line}");
    for (part, name) in parts.iter().zip(["p50=", "p99=", "p99.9="]) {
        let v = part.strip_prefix(name).unwrap_or_else(|| panic!("{line}"));
        let (_, decimals) = v.split_once('.').expect("three decimals");
        assert_eq!(decimals.len(), 3, "{line}");
        assert!(v.parse::<f64>().unwrap() > 0.0);
    }
    // Plain INFO leaves the section out, as Redis does.
    assert!(!info(&mut con, "default").contains("latency_percentiles_usec"));

    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("latency-tracking-info-percentiles")
        .arg("0.0 50.0 100.0")
        .query(&mut con)
        .unwrap();
    let got: Vec<String> =
        redis::cmd("CONFIG").arg("GET").arg("latency-tracking-info-percentiles").query(&mut con).unwrap();
    assert_eq!(got[1], "0 50 100");
    let text = info(&mut con, "latencystats");
    let line = info_field(&text, "latency_percentiles_usec_get").unwrap();
    assert!(line.starts_with("p0=") && line.contains(",p50=") && line.contains(",p100="), "{line}");
    let bad: redis::RedisResult<()> =
        redis::cmd("CONFIG").arg("SET").arg("latency-tracking-info-percentiles").arg("10 101").query(&mut con);
    assert!(bad.unwrap_err().to_string().contains("CONFIG SET failed"));

    // Tracking off records nothing; RESETSTAT empties the histograms.
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut con).unwrap();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("latency-tracking").arg("no").query(&mut con).unwrap();
    let _: () = redis::cmd("SET").arg("a").arg("b").query(&mut con).unwrap();
    assert!(info_field(&info(&mut con, "latencystats"), "latency_percentiles_usec_set").is_none());
}

#[test]
fn latency_histogram_counts_calls() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut con).unwrap();
    for _ in 0..3 {
        let _: () = redis::cmd("SET").arg("a").arg("b").query(&mut con).unwrap();
    }
    let _: i64 = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
    let _: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    let reply: redis::Value =
        redis::cmd("LATENCY").arg("HISTOGRAM").arg("set").arg("blabla").arg("client").query(&mut con).unwrap();
    let redis::Value::Array(items) = reply else { panic!("{reply:?}") };
    let names: Vec<String> = items.iter().step_by(2).map(|v| redis::from_redis_value::<String>(v).unwrap()).collect();
    assert_eq!(names, ["client|id", "client|list", "set"]);
    let set: Vec<redis::Value> = redis::from_redis_value(&items[5]).unwrap();
    assert_eq!(redis::from_redis_value::<String>(&set[0]).unwrap(), "calls");
    assert_eq!(redis::from_redis_value::<i64>(&set[1]).unwrap(), 3);
    assert_eq!(redis::from_redis_value::<String>(&set[2]).unwrap(), "histogram_usec");
    // Bucket bounds rise, cumulative counts rise and end at the number of calls.
    let buckets: Vec<i64> = redis::from_redis_value(&set[3]).unwrap();
    assert!(!buckets.is_empty() && buckets.len().is_multiple_of(2));
    assert_eq!(*buckets.last().unwrap(), 3);
    for pair in buckets.chunks(4).filter(|c| c.len() == 4) {
        assert!(pair[0] < pair[2] && pair[1] < pair[3], "{buckets:?}");
    }
}

#[test]
fn latency_monitor_events() {
    let server = common::Server::start(&["--enable-debug-command", "yes"]);
    let mut con = server.conn();
    let latest: Vec<redis::Value> = redis::cmd("LATENCY").arg("LATEST").query(&mut con).unwrap();
    assert!(latest.is_empty());
    let _: () = redis::cmd("CONFIG").arg("SET").arg("latency-monitor-threshold").arg("10").query(&mut con).unwrap();
    let _: () = redis::cmd("DEBUG").arg("SLEEP").arg("0.03").query(&mut con).unwrap();
    let latest: Vec<(String, i64, i64, i64)> = redis::cmd("LATENCY").arg("LATEST").query(&mut con).unwrap();
    assert_eq!(latest.len(), 1);
    let (event, time, ms, max) = &latest[0];
    assert_eq!(event, "command");
    assert!(*ms >= 30 && *max >= *ms && *time > 0, "{latest:?}");
    let history: Vec<(i64, i64)> = redis::cmd("LATENCY").arg("HISTORY").arg("command").query(&mut con).unwrap();
    assert_eq!(history, vec![(*time, *ms)]);
    let none: Vec<(i64, i64)> = redis::cmd("LATENCY").arg("HISTORY").arg("blabla").query(&mut con).unwrap();
    assert!(none.is_empty());
    let doctor: String = redis::cmd("LATENCY").arg("DOCTOR").query(&mut con).unwrap();
    assert!(doctor.contains("command"), "{doctor}");
    assert_eq!(redis::cmd("LATENCY").arg("RESET").arg("blabla").query::<i64>(&mut con).unwrap(), 0);
    assert_eq!(redis::cmd("LATENCY").arg("RESET").query::<i64>(&mut con).unwrap(), 1);
    let latest: Vec<redis::Value> = redis::cmd("LATENCY").arg("LATEST").query(&mut con).unwrap();
    assert!(latest.is_empty());
    let err = redis::cmd("LATENCY").arg("HELP").arg("xxx").query::<()>(&mut con).unwrap_err();
    assert!(err.to_string().contains("wrong number of arguments for 'latency|help' command"), "{err}");
}

/// A raw MONITOR connection, read line by line.
struct Monitor {
    lines: BufReader<TcpStream>,
}

impl Monitor {
    fn start(port: u16) -> Monitor {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"MONITOR\r\n").unwrap();
        let mut m = Monitor { lines: BufReader::new(s) };
        assert_eq!(m.next(), "+OK");
        m
    }

    /// The next line, skipping the CLIENT SETINFO the client library sends on connecting.
    fn next(&mut self) -> String {
        loop {
            let mut line = String::new();
            self.lines.read_line(&mut line).expect("monitor line");
            if !line.contains(r#""CLIENT" "SETINFO""#) {
                return line.trim_end().to_string();
            }
        }
    }
}

#[test]
fn monitor_streams_executed_commands() {
    let server = common::Server::start(&[]);
    let mut mon = Monitor::start(server.port);
    let mut con = server.conn();
    let _: () = redis::cmd("SET").arg("foo").arg("bar \"quoted\"\n").query(&mut con).unwrap();
    let line = mon.next();
    assert!(line.starts_with('+'), "{line}");
    assert!(line.contains(" [0 127.0.0.1:"), "{line}");
    assert!(line.ends_with(r#"] "SET" "foo" "bar \"quoted\"\n""#), "{line}");

    // MULTI, the queued command when EXEC runs it, then EXEC; admin commands are not shown.
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut con).unwrap();
    let (): () = redis::pipe().atomic().cmd("SET").arg("k").arg("v").ignore().query(&mut con).unwrap();
    assert!(mon.next().ends_with(r#""MULTI""#));
    assert!(mon.next().ends_with(r#""SET" "k" "v""#));
    assert!(mon.next().ends_with(r#""EXEC""#));

    // Passwords are redacted.
    let _ = redis::cmd("AUTH").arg("secret").query::<()>(&mut con);
    assert!(mon.next().ends_with(r#""AUTH" "(redacted)""#));
}

#[test]
fn key_classes_count_keys_memory_hits_and_misses() {
    let server = common::Server::start(&["--stats-key-pattern", "cache:{class}"]);
    let mut con = server.conn();
    for k in ["cache:user:1", "cache:user:2", "cache:domain_tenant:example.com", "plain"] {
        let _: () = redis::cmd("SET").arg(k).arg("value").query(&mut con).unwrap();
    }
    let _: Option<String> = redis::cmd("GET").arg("cache:user:1").query(&mut con).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("cache:user:3").query(&mut con).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("cache:domain_tenant:x").query(&mut con).unwrap();
    let _: () = redis::cmd("APPEND").arg("cache:user:2").arg("x".repeat(500)).query(&mut con).unwrap();

    let user: Vec<(String, i64)> = redis::cmd("KEYCLASS").arg("INFO").arg("user").query(&mut con).unwrap();
    let get = |v: &[(String, i64)], k: &str| v.iter().find(|(n, _)| n == k).unwrap().1;
    assert_eq!(get(&user, "keys"), 2);
    assert_eq!(get(&user, "hits"), 1);
    assert_eq!(get(&user, "misses"), 1);
    assert_eq!(get(&user, "hit_rate_percent"), 50);
    assert!(get(&user, "used_memory") > 500);
    let domain: Vec<(String, i64)> = redis::cmd("KEYCLASS").arg("INFO").arg("domain_tenant").query(&mut con).unwrap();
    assert_eq!((get(&domain, "keys"), get(&domain, "hits"), get(&domain, "misses")), (1, 0, 1));
    let of: String = redis::cmd("KEYCLASS").arg("OF").arg("cache:user:77").query(&mut con).unwrap();
    assert_eq!(of, "user");
    let mut list: Vec<String> = redis::cmd("KEYCLASS").arg("LIST").query(&mut con).unwrap();
    list.sort();
    assert_eq!(list, ["default", "domain_tenant", "user"]);

    let text = info(&mut con, "keyclasses");
    let line = info_field(&text, "keyclass_user").unwrap();
    assert!(line.starts_with("keys=2,used_memory=") && line.ends_with(",hits=1,misses=1"), "{line}");

    // Deleting and flushing take keys and memory back out.
    let _: i64 = redis::cmd("DEL").arg("cache:user:1").query(&mut con).unwrap();
    let user: Vec<(String, i64)> = redis::cmd("KEYCLASS").arg("INFO").arg("user").query(&mut con).unwrap();
    assert_eq!(get(&user, "keys"), 1);
    let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
    let user: Vec<(String, i64)> = redis::cmd("KEYCLASS").arg("INFO").arg("user").query(&mut con).unwrap();
    assert_eq!((get(&user, "keys"), get(&user, "used_memory")), (0, 0));
}

#[test]
fn key_classes_set_at_run_time_count_existing_keys() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let err = redis::cmd("KEYCLASS").arg("LIST").query::<Vec<String>>(&mut con).unwrap_err();
    assert!(err.to_string().contains("stats-key-pattern"), "{err}");
    for i in 0..10 {
        let _: () = redis::cmd("SET").arg(format!("sess:web:{i}")).arg("v").query(&mut con).unwrap();
    }
    let _: () = redis::cmd("CONFIG").arg("SET").arg("stats-key-pattern").arg("sess:{class}").query(&mut con).unwrap();
    let web: Vec<(String, i64)> = redis::cmd("KEYCLASS").arg("INFO").arg("web").query(&mut con).unwrap();
    assert_eq!(web[0], ("keys".to_string(), 10));
    let bad = redis::cmd("CONFIG").arg("SET").arg("stats-key-pattern").arg("sess:{tenant}").query::<()>(&mut con);
    assert!(bad.is_err());
}

/// A key carries its class: overwrites, renames and copies move its counts to the right class,
/// and new patterns re-classify the keys already stored.
#[test]
fn key_classes_follow_keys_that_move_or_are_reclassified() {
    let server = common::Server::start(&["--stats-key-pattern", "cache:{class}"]);
    let mut con = server.conn();
    let class = |con: &mut redis::Connection, name: &str| -> (i64, i64, i64, i64) {
        let v: Vec<(String, i64)> = redis::cmd("KEYCLASS").arg("INFO").arg(name).query(con).unwrap();
        let get = |k: &str| v.iter().find(|(n, _)| n == k).unwrap().1;
        (get("keys"), get("used_memory"), get("hits"), get("misses"))
    };
    let _: () = redis::cmd("SET").arg("cache:user:1").arg("v").query(&mut con).unwrap();
    let _: () = redis::cmd("SET").arg("cache:user:1").arg("v".repeat(100)).query(&mut con).unwrap();
    let (keys, memory, _, _) = class(&mut con, "user");
    assert_eq!(keys, 1, "an overwrite is the same key");
    assert!(memory > 100, "{memory}");

    let _: () = redis::cmd("RENAME").arg("cache:user:1").arg("cache:item:1").query(&mut con).unwrap();
    assert_eq!(class(&mut con, "user"), (0, 0, 0, 0));
    assert_eq!(class(&mut con, "item"), (1, memory, 0, 0));

    let _: bool = redis::cmd("COPY").arg("cache:item:1").arg("cache:user:9").query(&mut con).unwrap();
    let _: i64 = redis::cmd("INCR").arg("cache:user:counter").query(&mut con).unwrap();
    let _: i64 = redis::cmd("INCR").arg("cache:user:counter").query(&mut con).unwrap();
    let _: String = redis::cmd("GET").arg("cache:user:9").query(&mut con).unwrap();
    let _: Option<String> = redis::cmd("GET").arg("cache:item:2").query(&mut con).unwrap();
    let (keys, _, hits, misses) = class(&mut con, "user");
    assert_eq!((keys, hits, misses), (2, 1, 0));
    // COPY read its source (a hit, as in Redis).
    assert_eq!(class(&mut con, "item"), (1, memory, 1, 1));

    // New patterns: the three keys now share the class `cache`, and reads count there.
    let _: () = redis::cmd("CONFIG").arg("SET").arg("stats-key-pattern").arg("{class}").query(&mut con).unwrap();
    let _: String = redis::cmd("GET").arg("cache:user:9").query(&mut con).unwrap();
    let (keys, cache_memory, hits, _) = class(&mut con, "cache");
    assert_eq!((keys, hits), (3, 1));
    assert!(cache_memory > 2 * memory, "{cache_memory}");
    let _: i64 =
        redis::cmd("DEL").arg("cache:user:9").arg("cache:item:1").arg("cache:user:counter").query(&mut con).unwrap();
    assert_eq!(class(&mut con, "cache"), (0, 0, 1, 0));
}

#[test]
fn client_list_shows_the_tenant_of_the_last_keyed_command() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut con).unwrap();
    assert!(list.trim_end().ends_with(" tenant="), "{list}");
    let _: () = redis::cmd("SET").arg("acme:k").arg("v").query(&mut con).unwrap();
    let list: String = redis::cmd("CLIENT").arg("INFO").query(&mut con).unwrap();
    assert!(list.trim_end().ends_with(" tenant=acme"), "{list}");
}

#[test]
fn metrics_port_accepts_only_its_current_value_at_run_time() {
    let server = common::Server::start(&["--metrics-port", "0"]);
    let mut con = server.conn();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("metrics-port").arg("0").query(&mut con).unwrap();
    let err = redis::cmd("CONFIG").arg("SET").arg("metrics-port").arg("33190").query::<()>(&mut con).unwrap_err();
    assert!(err.to_string().contains("metrics-port"), "{err}");
}
