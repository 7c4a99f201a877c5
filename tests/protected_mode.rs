//! protected-mode as in Redis 7: on by default; with no password, a connection from an address
//! other than 127.0.0.1/::1 gets Redis's -DENIED error and is closed, whatever `bind` says.
//! Remote clients are simulated by connecting to a non-loopback address of this machine
//! (from `hostname -I`); without one the remote cases are skipped (unit tests in
//! src/connection.rs cover the decision).

mod common;

use common::{assert_ok, info_field, ok, Server};
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::time::Duration;

/// A non-loopback IPv4 address of this machine, if it has one.
fn local_non_loopback() -> Option<IpAddr> {
    let out = std::process::Command::new("hostname").arg("-I").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .find(|a| a.is_ipv4() && !a.is_loopback())
}

/// Sends PING from `ip` (as source and destination) and returns all the server writes back
/// until it closes the connection or 2 s pass.
fn ping_from(ip: IpAddr, port: u16) -> String {
    let mut s = TcpStream::connect((ip, port)).expect("connect");
    assert_eq!(s.local_addr().unwrap().ip(), ip, "the peer address must be the non-loopback one");
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = s.write_all(b"PING\r\n");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                if out.ends_with(b"+PONG\r\n") || out.starts_with(b"-NOAUTH") && out.ends_with(b"\r\n") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

#[test]
fn protected_mode_is_on_by_default_and_loopback_is_served() {
    let server = Server::start(&["--bind", "* -::*"]);
    let mut con = server.conn();
    let got: Vec<String> = ok(&mut con, &["CONFIG", "GET", "protected-mode"]);
    assert_eq!(got, ["protected-mode", "yes"]);
    assert_eq!(ok::<String>(&mut con, &["PING"]), "PONG");
}

#[test]
fn remote_client_without_password_is_denied_until_protected_mode_is_off() {
    let Some(ip) = local_non_loopback() else {
        eprintln!("no non-loopback address on this machine: remote cases skipped");
        return;
    };
    let server = Server::start(&["--bind", "* -::*"]);
    assert_eq!(ping_from(ip, server.port), DENIED);
    let mut con = server.conn();
    let info: String = ok(&mut con, &["INFO", "stats"]);
    assert_eq!(info_field(&info, "rejected_connections").as_deref(), Some("1"));
    assert_eq!(ok::<String>(&mut con, &["PING"]), "PONG");

    // Turned off from the loopback interface, as the error suggests.
    assert_ok(&mut con, &["CONFIG", "SET", "protected-mode", "no"]);
    assert_eq!(ping_from(ip, server.port), "+PONG\r\n");
    assert_ok(&mut con, &["CONFIG", "SET", "protected-mode", "yes"]);
    assert_eq!(ping_from(ip, server.port), DENIED);
}

#[test]
fn binding_the_address_does_not_lift_protected_mode() {
    let Some(ip) = local_non_loopback() else {
        eprintln!("no non-loopback address on this machine: remote cases skipped");
        return;
    };
    let server = Server::start(&["--bind", &format!("{ip} 127.0.0.1")]);
    assert_eq!(ping_from(ip, server.port), DENIED);
}

#[test]
fn a_password_or_protected_mode_no_lets_remote_clients_in() {
    let Some(ip) = local_non_loopback() else {
        eprintln!("no non-loopback address on this machine: remote cases skipped");
        return;
    };
    let with_password = Server::start(&["--bind", "*", "--requirepass", "secret"]);
    let reply = ping_from(ip, with_password.port);
    assert!(reply.starts_with("-NOAUTH"), "{reply}");
    let unprotected = Server::start(&["--bind", "*", "--protected-mode", "no"]);
    assert_eq!(ping_from(ip, unprotected.port), "+PONG\r\n");
}
