//! Server commands against the real binary: startup configuration errors, CONFIG GET/SET/
//! REWRITE, INFO, COMMAND, SLOWLOG, MEMORY, FUNCTION and friends, SHUTDOWN.

mod common;

use common::{assert_ok, err, info_field, ok, run, Server};
use redis::{Connection, Value};
use std::process::Command;

fn config_get(con: &mut Connection, name: &str) -> String {
    let pairs: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(con).unwrap();
    assert_eq!(pairs.len(), 2, "CONFIG GET {name}: {pairs:?}");
    pairs[1].clone()
}

fn temp_config(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tenantcache-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tenantcache.conf");
    std::fs::write(&path, contents).unwrap();
    path
}

fn startup_error(contents: &str, name: &str) -> (Option<i32>, String, String) {
    let path = temp_config(name, contents);
    let out = Command::new(env!("CARGO_BIN_EXE_tenantcache")).arg(&path).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), path.display().to_string())
}

#[test]
fn unknown_directive_in_file_stops_startup_naming_file_line_and_directive() {
    let (code, stderr, path) = startup_error("# comment\nport 0\nbogus-directive 1\n", "unknown");
    assert_ne!(code, Some(0));
    assert!(stderr.contains(&path), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("'bogus-directive'"), "{stderr}");
}

#[test]
fn bad_value_in_file_stops_startup_naming_file_line_and_directive() {
    let (code, stderr, path) = startup_error("port 0\nbind 127.0.0.1\nmaxmemory 10xb\n", "badvalue");
    assert_ne!(code, Some(0));
    assert!(stderr.contains(&path), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("'maxmemory'"), "{stderr}");
    let (code, stderr, _) = startup_error("port 0\nhz 100000\n", "range");
    assert_ne!(code, Some(0));
    assert!(stderr.contains("line 2") && stderr.contains("'hz'"), "{stderr}");
}

#[test]
fn config_get_patterns_and_set_pairs() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let pairs: Vec<String> =
        redis::cmd("CONFIG").arg("GET").arg("maxmemory*").arg("maxmemory").arg("hz").query(&mut con).unwrap();
    let names: Vec<&String> = pairs.iter().step_by(2).collect();
    assert!(names.iter().any(|n| *n == "maxmemory-policy"));
    assert_eq!(names.iter().filter(|n| **n == "maxmemory").count(), 1, "listed once: {names:?}");
    assert!(names.iter().any(|n| *n == "hz"));

    assert_ok(&mut con, &["CONFIG", "SET", "hz", "20", "maxmemory", "10mb"]);
    assert_eq!(config_get(&mut con, "hz"), "20");
    assert_eq!(config_get(&mut con, "maxmemory"), "10485760");
    // All or nothing: a bad value leaves the good one unapplied.
    let e = err(&mut con, &["CONFIG", "SET", "hz", "30", "maxmemory", "10xb"]);
    assert!(e.starts_with("ERR CONFIG SET failed (possibly related to argument 'maxmemory')"), "{e}");
    assert_eq!(config_get(&mut con, "hz"), "20");
    assert!(err(&mut con, &["CONFIG", "SET", "hz", "5", "hz", "6"]).contains("duplicate parameter"));
    assert!(err(&mut con, &["CONFIG", "SET", "databases", "4"]).contains("can't set immutable config"));
    assert_eq!(
        err(&mut con, &["CONFIG", "SET", "no-such-thing", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-thing'"
    );
    assert_eq!(
        err(&mut con, &["CONFIG", "SET", "hz", "5", "maxmemory"]),
        "ERR wrong number of arguments for 'config|set' command"
    );
}

#[test]
fn config_get_returns_a_map_in_resp3() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: Value = redis::cmd("HELLO").arg(3).query(&mut con).unwrap();
    match run(&mut con, &["CONFIG", "GET", "hz", "port"]).unwrap() {
        Value::Map(pairs) => assert_eq!(pairs.len(), 2),
        other => panic!("expected a map, got {other:?}"),
    }
}

#[test]
fn config_set_takes_effect() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    // Slow log: log everything, then nothing.
    assert_ok(&mut con, &["SLOWLOG", "RESET"]);
    assert_ok(&mut con, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    let _ = ok::<String>(&mut con, &["ECHO", "x"]);
    assert!(ok::<i64>(&mut con, &["SLOWLOG", "LEN"]) >= 1);
    assert_ok(&mut con, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    assert_ok(&mut con, &["SLOWLOG", "RESET"]);
    let _ = ok::<String>(&mut con, &["ECHO", "x"]);
    assert_eq!(ok::<i64>(&mut con, &["SLOWLOG", "LEN"]), 0);
    // maxclients: a second client is turned away.
    assert_ok(&mut con, &["CONFIG", "SET", "maxclients", "1"]);
    let refused = server.raw(b"PING\r\n", std::time::Duration::from_secs(2));
    assert_eq!(refused, b"-ERR max number of clients reached\r\n");
    assert_ok(&mut con, &["CONFIG", "SET", "maxclients", "100"]);
    // requirepass: new connections must authenticate.
    assert_ok(&mut con, &["CONFIG", "SET", "requirepass", "secret"]);
    let reply = server.raw(b"PING\r\nAUTH secret\r\nPING\r\nQUIT\r\n", std::time::Duration::from_secs(2));
    assert_eq!(String::from_utf8_lossy(&reply), "-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n+OK\r\n");
}

#[test]
fn config_rewrite_writes_back_to_the_file() {
    let path = temp_config("rewrite", "# my settings\nport 0\nbind 127.0.0.1\nhz 10\nloglevel warning\n");
    let path_text = path.to_str().unwrap();
    let server = Server::start_with_config(path_text, &[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["CONFIG", "SET", "hz", "25", "maxmemory", "1mb"]);
    assert_ok(&mut con, &["CONFIG", "REWRITE"]);
    let written = std::fs::read_to_string(&path).unwrap();
    drop(server);
    assert!(written.starts_with("# my settings\n"), "{written}");
    assert!(written.contains("\nhz 25\n"), "{written}");
    assert!(written.contains("\nmaxmemory 1048576\n"), "{written}");
    assert!(!written.contains("hz 10"), "{written}");
    // The rewritten file starts a server again.
    let again = Server::start_with_config(path_text, &[]);
    assert_eq!(config_get(&mut again.conn(), "hz"), "25");
}

#[test]
fn config_rewrite_without_a_file_is_an_error() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(err(&mut con, &["CONFIG", "REWRITE"]), "ERR The server is running without a config file");
}

#[test]
fn info_sections_and_fields() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    // Start from zero whatever the client library sent while connecting.
    assert_ok(&mut con, &["CONFIG", "RESETSTAT"]);
    assert_ok(&mut con, &["SET", "k", "v"]);
    let _ = run(&mut con, &["NOSUCHCOMMAND"]);
    let info = ok::<String>(&mut con, &["INFO"]);
    assert_eq!(info_field(&info, "redis_version").as_deref(), Some(tenantcache::REDIS_VERSION));
    assert_eq!(info_field(&info, "redis_mode").as_deref(), Some("standalone"));
    assert_eq!(info_field(&info, "loading").as_deref(), Some("0"));
    assert_eq!(info_field(&info, "role").as_deref(), Some("master"));
    assert_eq!(info_field(&info, "connected_slaves").as_deref(), Some("0"));
    assert_eq!(info_field(&info, "cluster_enabled").as_deref(), Some("0"));
    assert_eq!(info_field(&info, "tcp_port"), Some(server.port.to_string()));
    assert_eq!(info_field(&info, "process_id"), Some(server.pid().to_string()));
    let run_id = info_field(&info, "run_id").unwrap();
    assert!(run_id.len() == 40 && run_id.bytes().all(|b| b.is_ascii_hexdigit()), "{run_id}");
    assert_eq!(info_field(&info, "db0").as_deref(), Some("keys=1,expires=0,avg_ttl=0"));
    assert_eq!(info_field(&info, "errorstat_ERR").as_deref(), Some("count=1"));
    assert!(info_field(&info, "used_memory").unwrap().parse::<u64>().unwrap() > 0);
    assert!(info_field(&info, "used_cpu_user").is_some());
    assert!(info_field(&info, "keyspace_hits").is_some());
    // commandstats only on request (or with all/everything).
    assert!(!info.contains("cmdstat_"));
    let stats = ok::<String>(&mut con, &["INFO", "commandstats"]);
    assert!(stats.starts_with("# Commandstats\r\n"), "{stats}");
    assert!(stats.contains("cmdstat_set:calls=1,usec="), "{stats}");
    let two = ok::<String>(&mut con, &["INFO", "cpu", "CLUSTER"]);
    assert!(two.contains("# CPU") && two.contains("# Cluster") && !two.contains("# Server"), "{two}");
    let all = ok::<String>(&mut con, &["INFO", "everything"]);
    assert!(all.contains("# Server") && all.contains("# Commandstats") && all.contains("# Keyspace"));
    // Statistics reset.
    assert_ok(&mut con, &["CONFIG", "RESETSTAT"]);
    let stats = ok::<String>(&mut con, &["INFO", "errorstats"]);
    assert!(!stats.contains("errorstat_ERR"), "{stats}");
}

#[test]
fn failed_and_rejected_calls_are_counted() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["CONFIG", "RESETSTAT"]);
    let _ = run(&mut con, &["SELECT", "x"]);
    let _ = run(&mut con, &["SELECT"]);
    let stats = ok::<String>(&mut con, &["INFO", "commandstats"]);
    let line = stats.lines().find(|l| l.starts_with("cmdstat_select:")).unwrap().to_string();
    assert!(line.contains("calls=1,") && line.ends_with("rejected_calls=1,failed_calls=1"), "{line}");
    let errors = ok::<String>(&mut con, &["INFO", "errorstats"]);
    assert!(errors.contains("errorstat_ERR:count=2"), "{errors}");
}

#[test]
fn keyspace_commands() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "a", "1"]);
    assert_ok(&mut con, &["SET", "b", "2"]);
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 2);
    assert_ok(&mut con, &["SWAPDB", "0", "1"]);
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 0);
    assert_ok(&mut con, &["SELECT", "1"]);
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 2);
    assert_eq!(err(&mut con, &["SWAPDB", "0", "99"]), "ERR DB index is out of range");
    assert_eq!(err(&mut con, &["SWAPDB", "0", "x"]), "ERR invalid second DB index");
    assert_eq!(err(&mut con, &["FLUSHDB", "LATER"]), "ERR syntax error");
    assert_ok(&mut con, &["FLUSHDB", "ASYNC"]);
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 0);
    assert_ok(&mut con, &["SET", "c", "1"]);
    assert_ok(&mut con, &["FLUSHALL", "SYNC"]);
    assert_eq!(ok::<i64>(&mut con, &["DBSIZE"]), 0);
    let time: Vec<String> = redis::cmd("TIME").query(&mut con).unwrap();
    let secs: u64 = time[0].parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(secs.abs_diff(now) <= 2);
    assert!(time[1].parse::<u32>().unwrap() < 1_000_000);
    assert!(ok::<i64>(&mut con, &["LASTSAVE"]) <= now as i64);
    // SAVE and BGSAVE are covered by tests/persistence.rs (they write files).
    assert_eq!(err(&mut con, &["BGSAVE", "NOW"]), "ERR syntax error");
}

#[test]
fn slowlog_entries() {
    let server = Server::start(&["--slowlog-log-slower-than", "0"]);
    let mut con = server.conn();
    let _: Value = redis::cmd("CLIENT").arg("SETNAME").arg("me").query(&mut con).unwrap_or(Value::Nil);
    assert_ok(&mut con, &["SLOWLOG", "RESET"]);
    assert_ok(&mut con, &["SET", "key", "value"]);
    let Value::Array(entries) = run(&mut con, &["SLOWLOG", "GET", "1"]).unwrap() else { panic!() };
    assert_eq!(entries.len(), 1);
    let Value::Array(entry) = &entries[0] else { panic!() };
    assert_eq!(entry.len(), 6);
    assert!(matches!(entry[1], Value::Int(t) if t > 1_600_000_000));
    assert_eq!(
        entry[3],
        Value::Array(vec![
            Value::BulkString(b"SET".to_vec()),
            Value::BulkString(b"key".to_vec()),
            Value::BulkString(b"value".to_vec())
        ])
    );
    assert!(matches!(&entry[4], Value::BulkString(addr) if addr.starts_with(b"127.0.0.1:")));
    assert_eq!(err(&mut con, &["SLOWLOG", "GET", "-2"]), "ERR count should be greater than or equal to -1");
    assert_ok(&mut con, &["SLOWLOG", "RESET"]);
    // RESET itself may be logged afterwards, nothing before it.
    assert!(ok::<i64>(&mut con, &["SLOWLOG", "LEN"]) <= 1);
}

#[test]
fn memory_commands() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "k", &"x".repeat(1000)]);
    let usage = ok::<i64>(&mut con, &["MEMORY", "USAGE", "k"]);
    assert!((1000..2000).contains(&usage), "{usage}");
    assert_eq!(ok::<i64>(&mut con, &["MEMORY", "USAGE", "k", "SAMPLES", "5"]), usage);
    assert_eq!(run(&mut con, &["MEMORY", "USAGE", "missing"]).unwrap(), Value::Nil);
    assert_eq!(err(&mut con, &["MEMORY", "USAGE", "k", "BOGUS"]), "ERR syntax error");
    let Value::Array(stats) = run(&mut con, &["MEMORY", "STATS"]).unwrap() else { panic!() };
    assert!(stats.contains(&Value::BulkString(b"keys.count".to_vec())));
    let _: String = redis::cmd("MEMORY").arg("DOCTOR").query(&mut con).unwrap();
}

#[test]
fn command_introspection_comes_from_the_table() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let count = ok::<i64>(&mut con, &["COMMAND", "COUNT"]);
    let Value::Array(all) = run(&mut con, &["COMMAND"]).unwrap() else { panic!() };
    assert_eq!(all.len() as i64, count);
    let Value::Array(info) = run(&mut con, &["COMMAND", "INFO", "get", "nosuch", "config|get"]).unwrap() else {
        panic!()
    };
    assert_eq!(info.len(), 3);
    assert_eq!(info[1], Value::Nil);
    let Value::Array(get) = &info[0] else { panic!() };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!(&get[3..6], &[Value::Int(1), Value::Int(1), Value::Int(1)]);
    let Value::Array(config_get) = &info[2] else { panic!() };
    assert_eq!(config_get[0], Value::BulkString(b"config|get".to_vec()));

    let keys: Vec<String> = redis::cmd("COMMAND").arg("GETKEYS").arg("SET").arg("k").arg("v").query(&mut con).unwrap();
    assert_eq!(keys, vec!["k"]);
    assert_eq!(err(&mut con, &["COMMAND", "GETKEYS", "PING"]), "ERR The command has no key arguments");
    assert_eq!(err(&mut con, &["COMMAND", "GETKEYS", "NOPE", "x"]), "ERR Invalid command specified");
    assert_eq!(err(&mut con, &["COMMAND", "GETKEYS", "GET"]), "ERR Invalid number of arguments specified for command");

    let names: Vec<String> =
        redis::cmd("COMMAND").arg("LIST").arg("FILTERBY").arg("PATTERN").arg("config*").query(&mut con).unwrap();
    assert!(names.contains(&"config".to_string()) && names.contains(&"config|set".to_string()), "{names:?}");

    // What redis-cli reads for its hints.
    let _: Value = redis::cmd("HELLO").arg(3).query(&mut con).unwrap();
    let Value::Map(docs) = run(&mut con, &["COMMAND", "DOCS", "config"]).unwrap() else { panic!() };
    assert_eq!(docs.len(), 1);
    let Value::Map(fields) = &docs[0].1 else { panic!() };
    let keys: Vec<&Value> = fields.iter().map(|(k, _)| k).collect();
    for expected in ["summary", "since", "group", "subcommands"] {
        assert!(keys.contains(&&Value::BulkString(expected.as_bytes().to_vec())), "{expected} missing");
    }
}

#[test]
fn the_function_library_starts_empty() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["FUNCTION", "FLUSH"]);
    assert_ok(&mut con, &["FUNCTION", "FLUSH", "ASYNC"]);
    assert_eq!(run(&mut con, &["FUNCTION", "LIST"]).unwrap(), Value::Array(vec![]));
    let Value::Array(stats) = run(&mut con, &["FUNCTION", "STATS"]).unwrap() else { panic!() };
    assert_eq!(stats[0], Value::BulkString(b"running_script".to_vec()));
    assert_eq!(stats[1], Value::Nil);
    assert_eq!(
        run(&mut con, &["SCRIPT", "EXISTS", "a", "b"]).unwrap(),
        Value::Array(vec![Value::Int(0), Value::Int(0)])
    );
}

#[test]
fn debug_offers_only_what_it_supports() {
    let server = Server::start(&["--enable-debug-command", "yes"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["DEBUG", "LOG", "hello"]);
    assert_ok(&mut con, &["DEBUG", "SLEEP", "0"]);
    let started = std::time::Instant::now();
    assert_ok(&mut con, &["DEBUG", "SLEEP", "0.2"]);
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    assert!(err(&mut con, &["DEBUG", "JMAP"]).starts_with("ERR DEBUG JMAP is not supported"));
}

#[test]
fn shutdown_stops_the_server() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(err(&mut con, &["SHUTDOWN", "ABORT"]), "ERR No shutdown in progress.");
    assert_eq!(err(&mut con, &["SHUTDOWN", "SAVE", "NOSAVE"]), "ERR syntax error");
    assert!(run(&mut con, &["SHUTDOWN", "NOSAVE"]).is_err(), "the connection closes without a reply");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "server still accepting connections");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn command_getkeys_of_movable_key_commands() {
    let server = common::Server::start(&[]);
    let mut con = server.conn();
    let keys = |con: &mut redis::Connection, words: &[&str]| -> Vec<String> {
        let mut c = redis::cmd("COMMAND");
        c.arg("GETKEYS").arg(words);
        c.query(con).unwrap_or_else(|e| panic!("{words:?}: {e}"))
    };
    let cases: &[(&[&str], &[&str])] = &[
        (&["SINTERCARD", "2", "a", "b", "LIMIT", "1"], &["a", "b"]),
        (&["ZINTERCARD", "1", "a"], &["a"]),
        (&["ZUNION", "2", "a", "b", "WITHSCORES"], &["a", "b"]),
        (&["ZINTER", "1", "a", "WEIGHTS", "2"], &["a"]),
        (&["ZDIFF", "3", "a", "b", "c"], &["a", "b", "c"]),
        (&["ZUNIONSTORE", "dst", "2", "a", "b", "AGGREGATE", "MAX"], &["dst", "a", "b"]),
        (&["ZINTERSTORE", "dst", "1", "a"], &["dst", "a"]),
        (&["ZDIFFSTORE", "dst", "2", "a", "b"], &["dst", "a", "b"]),
        (&["LMPOP", "2", "a", "b", "LEFT", "COUNT", "3"], &["a", "b"]),
        (&["BLMPOP", "0", "1", "a", "RIGHT"], &["a"]),
        (&["ZMPOP", "2", "a", "b", "MIN"], &["a", "b"]),
        (&["BZMPOP", "1.5", "2", "a", "b", "MAX", "COUNT", "2"], &["a", "b"]),
        (&["BZPOPMIN", "a", "b", "0"], &["a", "b"]),
        (&["EVAL", "return 1", "2", "a", "b", "arg"], &["a", "b"]),
        (&["EVAL", "return 1", "0"], &[]),
    ];
    for (words, expected) in cases {
        assert_eq!(keys(&mut con, words), *expected, "{words:?}");
    }
    // A count that names no valid keys, as Redis.
    for words in [&["ZUNION", "3", "a", "b"][..], &["LMPOP", "0", "a", "LEFT"], &["ZUNIONSTORE", "d", "x", "a"]] {
        let mut c = redis::cmd("COMMAND");
        c.arg("GETKEYS").arg(words);
        let e = c.query::<Value>(&mut con).unwrap_err();
        assert_eq!(e.detail(), Some("Invalid arguments specified for command"), "{words:?}");
    }

    // GETKEYSANDFLAGS gives each key the access of its role.
    let v: Value =
        redis::cmd("COMMAND").arg(&["GETKEYSANDFLAGS", "ZUNIONSTORE", "dst", "1", "src"]).query(&mut con).unwrap();
    let flags = |key: &str, f: &[&str]| {
        Value::Array(vec![
            Value::BulkString(key.as_bytes().to_vec()),
            Value::Array(f.iter().map(|s| Value::SimpleString(s.to_string())).collect()),
        ])
    };
    assert_eq!(v, Value::Array(vec![flags("dst", &["OW", "UPDATE"]), flags("src", &["RO", "ACCESS"])]));
    let v: Value = redis::cmd("COMMAND").arg(&["GETKEYSANDFLAGS", "LMPOP", "1", "l", "LEFT"]).query(&mut con).unwrap();
    assert_eq!(v, Value::Array(vec![flags("l", &["RW", "ACCESS", "DELETE"])]));
}
