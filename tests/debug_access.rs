//! DEBUG and the protected actions of Redis 7 against the real binary: `enable-debug-command`
//! (off by default, `local`, `yes`, from the command line or a config file),
//! `enable-protected-configs` guarding `dir` and `dbfilename`, `enable-module-command`, all
//! startup-only; and DEBUG input that is out of range answered with an error, never a crash.

mod common;

use common::{assert_ok, err, ok, Server};
use redis::Connection;

const DEBUG_NOT_ALLOWED: &str =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
                                 you can run it from a local connection, otherwise you need to set this option in the \
                                 configuration file, and then restart the server.";

fn config_get(con: &mut Connection, name: &str) -> String {
    let pairs: Vec<String> = redis::cmd("CONFIG").arg("GET").arg(name).query(con).unwrap();
    assert_eq!(pairs.len(), 2, "CONFIG GET {name}: {pairs:?}");
    pairs[1].clone()
}

#[test]
fn debug_is_refused_by_default_with_redis_text() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "enable-debug-command"), "no");
    for args in [&["DEBUG", "SLEEP", "0"][..], &["DEBUG", "HELP"], &["DEBUG", "LOG", "x"], &["debug", "bogus"]] {
        assert_eq!(err(&mut con, args), DEBUG_NOT_ALLOWED, "{args:?}");
    }
    // Arity is checked first, as in Redis.
    assert_eq!(err(&mut con, &["DEBUG"]), "ERR wrong number of arguments for 'debug' command");
}

#[test]
fn debug_is_refused_before_authentication_is_asked_for() {
    let server = Server::start(&["--requirepass", "secret"]);
    let mut con = server.conn();
    assert_eq!(err(&mut con, &["DEBUG", "SLEEP", "0"]), DEBUG_NOT_ALLOWED);
}

#[test]
fn debug_local_allows_loopback_clients() {
    let server = Server::start(&["--enable-debug-command", "local"]);
    let mut con = server.conn();
    assert_eq!(config_get(&mut con, "enable-debug-command"), "local");
    assert_ok(&mut con, &["DEBUG", "SLEEP", "0"]);
}

#[test]
fn enable_debug_command_is_read_from_a_config_file() {
    let dir = std::env::temp_dir().join(format!("tenantcache-debug-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tenantcache.conf");
    std::fs::write(&path, "enable-debug-command yes\nenable-protected-configs local\nenable-module-command yes\n")
        .unwrap();
    let server = Server::start_with_config(path.to_str().unwrap(), &[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["DEBUG", "SLEEP", "0"]);
    assert_eq!(config_get(&mut con, "enable-protected-configs"), "local");
    assert_eq!(config_get(&mut con, "enable-module-command"), "yes");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn protected_actions_are_startup_only() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    for name in ["enable-debug-command", "enable-protected-configs", "enable-module-command"] {
        assert_eq!(
            err(&mut con, &["CONFIG", "SET", name, "yes"]),
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")
        );
        assert_eq!(config_get(&mut con, name), "no");
    }
    assert_eq!(err(&mut con, &["DEBUG", "SLEEP", "0"]), DEBUG_NOT_ALLOWED);
}

#[test]
fn bad_values_for_the_protected_actions_stop_startup() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tenantcache"))
        .args(["--port", "0", "--enable-debug-command", "maybe"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("enable-debug-command"));
}

#[test]
fn protected_configs_need_enable_protected_configs() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    for (name, value) in [("dir", "/tmp"), ("dbfilename", "other.rdb"), ("DIR", "/tmp")] {
        assert_eq!(
            err(&mut con, &["CONFIG", "SET", name, value]),
            format!("ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config")
        );
    }
    // Unchanged: the scratch directory the test helper gives every server.
    assert_eq!(config_get(&mut con, "dir"), server.scratch().to_str().unwrap());
    assert_eq!(config_get(&mut con, "dbfilename"), "dump.rdb");
    // Refused as a whole: the other pair did not change either.
    assert!(
        err(&mut con, &["CONFIG", "SET", "maxmemory", "10mb", "dir", "/tmp"]).contains("can't set protected config")
    );
    assert_eq!(config_get(&mut con, "maxmemory"), "0");

    let server = Server::start(&["--enable-protected-configs", "yes"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["CONFIG", "SET", "dir", "/tmp", "dbfilename", "other.rdb"]);
    assert_eq!(config_get(&mut con, "dir"), "/tmp");
    assert_eq!(config_get(&mut con, "dbfilename"), "other.rdb");

    let server = Server::start(&["--enable-protected-configs", "local"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["CONFIG", "SET", "dir", "/tmp"]);
}

#[test]
fn debug_sleep_out_of_range_is_an_error_and_the_client_stays() {
    let server = Server::start(&["--enable-debug-command", "yes"]);
    let mut con = server.conn();
    for value in ["1e20", "inf", "-1", "-0.5", "1e300", "9.3e12"] {
        assert_eq!(err(&mut con, &["DEBUG", "SLEEP", value]), "ERR value is out of range", "DEBUG SLEEP {value}");
    }
    for value in ["nan", "abc", "", "1x"] {
        assert_eq!(err(&mut con, &["DEBUG", "SLEEP", value]), "ERR value is not a valid float", "DEBUG SLEEP {value}");
    }
    assert_eq!(err(&mut con, &["DEBUG", "SLEEP"]), "ERR wrong number of arguments for 'debug|sleep' command");
    assert_ok(&mut con, &["DEBUG", "SLEEP", "0.001"]);
    // The same connection and the server both still answer.
    let pong: String = ok(&mut con, &["PING"]);
    assert_eq!(pong, "PONG");
    let clients: String = ok(&mut server.conn(), &["CLIENT", "LIST"]);
    assert_eq!(clients.lines().count(), 2, "{clients}");
}

#[test]
fn no_debug_input_closes_the_connection() {
    // DEBUG RELOAD writes a snapshot: into a scratch directory, not the working directory.
    let dir = std::env::temp_dir().join(format!("tenantcache-debug-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server = Server::start(&["--enable-debug-command", "yes", "--maxclients", "2", "--dir", dir.to_str().unwrap()]);
    let mut con = server.conn();
    let hostile: &[&[&str]] = &[
        &["DEBUG", "SLEEP", "18446744073709551616"],
        &["DEBUG", "SLEEP", "-1e308"],
        &["DEBUG", "SLEEP", "0x10"],
        &["DEBUG", "LOG", "\u{0}\r\n"],
        &["DEBUG", "HELP", "extra"],
        &["DEBUG", "RELOAD"],
        &["DEBUG", "OBJECT", "nokey"],
        &["DEBUG", "\u{ff}"],
    ];
    for args in hostile {
        let _ = common::run(&mut con, args);
        let pong: String = ok(&mut con, &["PING"]);
        assert_eq!(pong, "PONG", "after {args:?}");
    }
    // The connection kept its one slot: a second client still fits under maxclients 2.
    let mut other = server.conn();
    let _: String = ok(&mut other, &["PING"]);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
