//! CLIENT subcommands over real TCP: identity and names, CLIENT LIST/INFO in Redis 7.2's
//! format and its filters, CLIENT KILL in both forms, REPLY ON/OFF/SKIP, and error texts.

mod common;

use common::{err, ok, run, Server};
use redis::{Connection, RedisResult, Value};
use std::time::Duration;

/// `CLIENT args`: the raw reply.
fn client(con: &mut Connection, args: &[&str]) -> RedisResult<Value> {
    run(con, &[&["CLIENT"], args].concat())
}

/// `CLIENT args`, which must succeed: its reply as text.
fn text(con: &mut Connection, args: &[&str]) -> String {
    ok(con, &[&["CLIENT"], args].concat())
}

/// `CLIENT args`, which must fail: the full error line.
fn error(con: &mut Connection, args: &[&str]) -> String {
    err(con, &[&["CLIENT"], args].concat())
}

/// `field=value` from one CLIENT LIST line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ').find_map(|kv| kv.strip_prefix(&format!("{name}="))).unwrap_or_else(|| panic!("no {name} in {line}"))
}

#[test]
fn id_and_names() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
    assert!(id > 0);
    assert_eq!(client(&mut con, &["GETNAME"]).unwrap(), Value::Nil);
    assert_eq!(text(&mut con, &["SETNAME", "worker-1"]), "OK");
    assert_eq!(text(&mut con, &["GETNAME"]), "worker-1");
    assert_eq!(
        error(&mut con, &["SETNAME", "has space"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(text(&mut con, &["SETNAME", ""]), "OK");
    assert_eq!(client(&mut con, &["GETNAME"]).unwrap(), Value::Nil);
    let info = text(&mut con, &["INFO"]);
    assert_eq!(field(&info, "id"), id.to_string());
    assert!(info.ends_with('\n') && info.lines().count() == 1);
}

#[test]
fn list_line_format() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let list = text(&mut con, &["LIST"]);
    let line = list.lines().next().unwrap();
    let names: Vec<&str> = line.split(' ').map(|kv| kv.split('=').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp",
            "lib-name",
            "lib-ver",
            "tenant"
        ]
    );
    assert_eq!(field(line, "flags"), "N");
    assert_eq!(field(line, "cmd"), "client|list");
    assert_eq!(field(line, "multi"), "-1");
    assert_eq!(field(line, "resp"), "2");
    assert_eq!(field(line, "user"), "default");
    assert_eq!(field(line, "events"), "r");
    // The query buffer holds the running command: `*2\r\n$6\r\nclient\r\n$4\r\nlist\r\n`.
    assert_eq!(field(line, "qbuf"), "26");
    assert_eq!(field(line, "argv-mem"), "10");
    assert!(field(line, "addr").starts_with("127.0.0.1:"));
    assert_eq!(field(line, "laddr"), format!("127.0.0.1:{}", server.port));
}

#[test]
fn list_filters_and_other_clients_state() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let mut sub = server.conn();
    redis::cmd("CLIENT").arg("SETNAME").arg("listener").query::<()>(&mut sub).unwrap();
    redis::cmd("SELECT").arg(3).query::<()>(&mut sub).unwrap();
    let sub_id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut sub).unwrap();
    let mut pubsub = sub.as_pubsub();
    pubsub.subscribe("ch").unwrap();
    pubsub.psubscribe("p*").unwrap();

    let list = text(&mut con, &["LIST", "TYPE", "pubsub"]);
    assert_eq!(list.lines().count(), 1, "{list}");
    let line = list.lines().next().unwrap();
    assert_eq!(field(line, "id"), sub_id.to_string());
    assert_eq!(field(line, "name"), "listener");
    assert_eq!(field(line, "flags"), "P");
    assert_eq!(field(line, "db"), "3");
    assert_eq!((field(line, "sub"), field(line, "psub"), field(line, "ssub")), ("1", "1", "0"));
    assert_eq!(field(line, "cmd"), "psubscribe");

    let normal = text(&mut con, &["LIST", "TYPE", "normal"]);
    assert_eq!(normal.lines().count(), 1);
    assert_eq!(text(&mut con, &["LIST", "TYPE", "master"]), "");
    assert_eq!(error(&mut con, &["LIST", "TYPE", "bogus"]), "ERR Unknown client type 'bogus'");
    let by_id = text(&mut con, &["LIST", "ID", &sub_id.to_string(), "999999"]);
    assert_eq!(by_id.lines().count(), 1);
    assert_eq!(error(&mut con, &["LIST", "ID", "abc"]), "ERR Invalid client ID");
    assert_eq!(error(&mut con, &["LIST", "FOO"]), "ERR syntax error");
}

#[test]
fn setinfo_and_switches() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(text(&mut con, &["SETINFO", "LIB-NAME", "redis-rs"]), "OK");
    assert_eq!(text(&mut con, &["SETINFO", "lib-ver", "0.27"]), "OK");
    assert_eq!(error(&mut con, &["SETINFO", "lib-color", "x"]), "ERR Unrecognized option 'lib-color'");
    assert_eq!(
        error(&mut con, &["SETINFO", "lib-name", "a b"]),
        "ERR lib-name cannot contain spaces, newlines or special characters."
    );
    assert_eq!(text(&mut con, &["NO-EVICT", "on"]), "OK");
    assert_eq!(text(&mut con, &["NO-TOUCH", "ON"]), "OK");
    assert_eq!(error(&mut con, &["NO-EVICT", "maybe"]), "ERR syntax error");
    let info = text(&mut con, &["INFO"]);
    assert_eq!(field(&info, "lib-name"), "redis-rs");
    assert_eq!(field(info.trim_end(), "lib-ver"), "0.27");
    assert_eq!(field(&info, "flags"), "eT");
    assert_eq!(text(&mut con, &["NO-EVICT", "off"]), "OK");
    assert_eq!(text(&mut con, &["NO-TOUCH", "off"]), "OK");
    assert_eq!(field(&text(&mut con, &["INFO"]), "flags"), "N");
}

#[test]
fn kill_old_and_new_forms() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    let mut victim = server.conn();
    let victim_info = text(&mut victim, &["INFO"]);
    let victim_addr = field(&victim_info, "addr").to_string();
    let victim_id = field(&victim_info, "id").to_string();

    assert_eq!(error(&mut admin, &["KILL", "127.0.0.1:1"]), "ERR No such client");
    assert_eq!(text(&mut admin, &["KILL", &victim_addr]), "OK");
    // Gone from the list at once, and its connection is closed.
    assert!(!text(&mut admin, &["LIST"]).contains(&format!("id={victim_id} ")));
    assert!(redis::cmd("PING").query::<String>(&mut victim).is_err());

    let mut second = server.conn();
    let second_id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut second).unwrap();
    let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(second_id).query(&mut admin).unwrap();
    assert_eq!(killed, 1);
    assert!(redis::cmd("PING").query::<String>(&mut second).is_err());

    // New form skips the caller unless SKIPME no.
    let mut a = server.conn();
    let mut b = server.conn();
    let killed: i64 = redis::cmd("CLIENT").arg(&["KILL", "TYPE", "normal"]).query(&mut a).unwrap();
    assert_eq!(killed, 2); // b and admin
    assert_eq!(redis::cmd("PING").query::<String>(&mut a).unwrap(), "PONG");
    assert!(redis::cmd("PING").query::<String>(&mut b).is_err());
    let killed: i64 = redis::cmd("CLIENT").arg(&["KILL", "USER", "default", "SKIPME", "no"]).query(&mut a).unwrap();
    assert_eq!(killed, 1);
    assert!(redis::cmd("PING").query::<String>(&mut a).is_err());
}

#[test]
fn kill_errors() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(error(&mut con, &["KILL"]), "ERR wrong number of arguments for 'client|kill' command");
    assert_eq!(error(&mut con, &["KILL", "ID", "0"]), "ERR client-id should be greater than 0");
    assert_eq!(error(&mut con, &["KILL", "ID", "x"]), "ERR client-id should be greater than 0");
    assert_eq!(error(&mut con, &["KILL", "TYPE", "nope"]), "ERR Unknown client type 'nope'");
    assert_eq!(error(&mut con, &["KILL", "USER", "nobody"]), "ERR No such user 'nobody'");
    assert_eq!(error(&mut con, &["KILL", "SKIPME", "maybe"]), "ERR syntax error");
    assert_eq!(error(&mut con, &["KILL", "ID", "1", "extra"]), "ERR syntax error");
    assert_eq!(error(&mut con, &["KILL", "FOO", "bar"]), "ERR syntax error");
    assert_eq!(error(&mut con, &["NOPE"]), "ERR unknown subcommand 'NOPE'. Try CLIENT HELP.");
    assert!(error(&mut con, &["TRACKING", "on"]).contains("not supported"));
    assert_eq!(client(&mut con, &["GETREDIR"]).unwrap(), Value::Int(-1));
}

#[test]
fn reply_on_off_skip() {
    let server = Server::start(&[]);
    let wait = Duration::from_millis(300);
    let out = server.raw(b"CLIENT REPLY OFF\r\nPING\r\nECHO a\r\nCLIENT REPLY ON\r\nECHO b\r\n", wait);
    assert_eq!(String::from_utf8_lossy(&out), "+OK\r\n$1\r\nb\r\n");
    let out = server.raw(b"CLIENT REPLY SKIP\r\nECHO a\r\nECHO b\r\n", wait);
    assert_eq!(String::from_utf8_lossy(&out), "$1\r\nb\r\n");
    let out = server.raw(b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING\r\n", wait);
    assert_eq!(String::from_utf8_lossy(&out), "+OK\r\n+PONG\r\n");
    let out = server.raw(b"CLIENT REPLY MAYBE\r\n", wait);
    assert_eq!(String::from_utf8_lossy(&out), "-ERR syntax error\r\n");
}

#[test]
fn help_lists_subcommands() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let help: Vec<String> = redis::cmd("CLIENT").arg("HELP").query(&mut con).unwrap();
    assert_eq!(help[0], "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    assert!(help.iter().any(|l| l == "KILL <ip:port>"));
    assert_eq!(help.last().unwrap(), "    Print this help.");
}

#[test]
fn pause_write_holds_writes_until_unpause() {
    let server = Server::start(&[]);
    let mut admin = server.conn();
    assert_eq!(text(&mut admin, &["PAUSE", "100000", "WRITE"]), "OK");
    let client = server.client();
    let (connected_tx, connected) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        let mut con = client.get_connection().unwrap();
        connected_tx.send(()).unwrap();
        redis::cmd("SET").arg("k").arg("v").query::<()>(&mut con).unwrap();
        std::time::Instant::now()
    });
    // Reads go on while writes wait.
    let mut reader = server.conn();
    connected.recv().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(redis::cmd("GET").arg("k").query::<Option<String>>(&mut reader).unwrap(), None);
    assert!(!writer.is_finished());
    let unpaused_at = std::time::Instant::now();
    assert_eq!(text(&mut admin, &["UNPAUSE"]), "OK");
    let written_at = writer.join().unwrap();
    assert!(written_at >= unpaused_at, "the write completed before UNPAUSE");
    assert_eq!(redis::cmd("GET").arg("k").query::<String>(&mut reader).unwrap(), "v");
}

#[test]
fn pause_all_holds_everything_until_the_timeout() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(text(&mut con, &["PAUSE", "300"]), "OK");
    let started = std::time::Instant::now();
    assert_eq!(redis::cmd("PING").query::<String>(&mut con).unwrap(), "PONG");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(error(&mut con, &["PAUSE", "10", "READ"]), "ERR CLIENT PAUSE mode must be WRITE or ALL");
    assert_eq!(error(&mut con, &["PAUSE", "-1"]), "ERR timeout is negative");
    assert_eq!(error(&mut con, &["PAUSE", "x"]), "ERR timeout is not an integer or out of range");
}
