//! The `unixsocket` listener: clients on a Unix domain socket beside the TCP port, with the
//! file's mode from `unixsocketperm`, and the file gone after shutdown.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn clients_connect_through_the_unix_socket() {
    let scratch = ScratchDir::new("unixsocket");
    let path = format!("{}/tenantcache.sock", scratch.path());
    // A stale file where the socket goes is replaced, as Redis replaces it.
    std::fs::write(&path, b"stale").unwrap();
    let server = Server::start(&["--unixsocket", &path, "--unixsocketperm", "700"]);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700);

    let client = redis::Client::open(format!("unix://{path}")).unwrap();
    let mut con = client.get_connection().unwrap();
    assert_ok(&mut con, &["SET", "over-unix", "v"]);
    // The same keyspace as the TCP port's clients.
    let mut tcp = server.conn();
    assert_eq!(ok::<String>(&mut tcp, &["GET", "over-unix"]), "v");
    // CLIENT LIST names the socket's path as the client's address, as Redis does.
    let me: String = ok(&mut con, &["CLIENT", "INFO"]);
    assert!(me.contains(&format!("addr={path}:0")), "{me}");
    // A pipeline and a blocking pop served like on TCP.
    let replies: Vec<i64> = redis::pipe().rpush("l", 1).rpush("l", 2).llen("l").query(&mut con).unwrap();
    assert_eq!(replies, [1, 2, 2]);
    let popped: (String, String) = redis::cmd("BLPOP").arg("l").arg(1).query(&mut con).unwrap();
    assert_eq!(popped.1, "1");

    // redis-cli's -s reaches it too.
    let cli = std::process::Command::new("redis-cli").args(["-s", &path, "PING"]).output().expect("redis-cli");
    assert_eq!(String::from_utf8_lossy(&cli.stdout).trim(), "PONG");

    let _ = run(&mut tcp, &["SHUTDOWN", "NOSAVE"]);
    wait_for(10, "the socket file to be removed", || !std::path::Path::new(&path).exists());
}
