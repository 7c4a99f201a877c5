//! Bad input on the wire: every malformed request gets Redis's `-ERR Protocol error: ...`
//! reply and closes only the offending connection; wrong arity and unknown commands get
//! their errors and keep the connection open.

mod common;

use common::Server;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(2);

/// Sends `bytes` on a fresh connection; returns what was read and whether the server closed it.
fn exchange(server: &Server, bytes: &[u8]) -> (String, bool) {
    let (out, closed) = server.exchange(bytes, WAIT);
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// Asserts that `bytes` draws exactly `-ERR Protocol error: <what>` and a close, and that a
/// connection opened before it is still served.
fn assert_protocol_error(server: &Server, bytes: &[u8], what: &str) {
    let mut bystander = server.conn();
    let (reply, closed) = exchange(server, bytes);
    assert_eq!(reply, format!("-ERR Protocol error: {what}\r\n"), "input {:?}", String::from_utf8_lossy(bytes));
    assert!(closed, "connection left open after a protocol error");
    let pong: String = redis::cmd("PING").query(&mut bystander).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn malformed_multibulk_requests_close_only_that_connection() {
    let server = Server::start(&[]);
    assert_protocol_error(&server, b"*3000000000\r\n", "invalid multibulk length");
    assert_protocol_error(&server, b"*abc\r\n", "invalid multibulk length");
    assert_protocol_error(&server, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "expected '$', got 'f'");
    assert_protocol_error(&server, b"*1\r\nfoo\r\n", "expected '$', got 'f'");
    assert_protocol_error(&server, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", "invalid bulk length");
    assert_protocol_error(&server, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", "invalid bulk length");
}

#[test]
fn oversized_bulk_is_refused_before_it_is_read() {
    let server = Server::start(&[]);
    // Over the default proto-max-bulk-len of 512mb.
    assert_protocol_error(&server, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", "invalid bulk length");
    // The limit follows CONFIG SET.
    let mut con = server.conn();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("proto-max-bulk-len").arg("1mb").query(&mut con).unwrap();
    assert_protocol_error(&server, b"*2\r\n$4\r\nECHO\r\n$2000000\r\n", "invalid bulk length");
    // A key and its value share a buffer with a 32-bit length, so a bulk is at most 2 GiB - 1.
    let err = redis::cmd("CONFIG").arg("SET").arg("proto-max-bulk-len").arg("10gb").query::<()>(&mut con).unwrap_err();
    assert!(err.to_string().contains("at most 2147483647 bytes"), "{err}");
    let limit: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("proto-max-bulk-len").query(&mut con).unwrap();
    assert_eq!(limit[1], "1048576");
    let _: () = redis::cmd("CONFIG").arg("SET").arg("proto-max-bulk-len").arg("2147483647").query(&mut con).unwrap();
}

#[test]
fn overlong_header_lines_are_refused() {
    let server = Server::start(&[]);
    let mut long_count = b"*".to_vec();
    long_count.extend(std::iter::repeat_n(b'1', 70 * 1024));
    assert_protocol_error(&server, &long_count, "too big mbulk count string");
    let mut long_inline = b"SET k ".to_vec();
    long_inline.extend(std::iter::repeat_n(b'a', 70 * 1024));
    assert_protocol_error(&server, &long_inline, "too big inline request");
}

#[test]
fn unbalanced_inline_quotes() {
    let server = Server::start(&[]);
    assert_protocol_error(&server, b"set \"\"\"test-key\"\"\" test-value\r\nping\r\n", "unbalanced quotes in request");
    assert_protocol_error(&server, b"set 'k v\r\n", "unbalanced quotes in request");
}

#[test]
fn empty_and_negative_requests_are_ignored() {
    let server = Server::start(&[]);
    let (reply, closed) = exchange(&server, b"\r\n*-10\r\n*0\r\nPING\r\nQUIT\r\n");
    assert_eq!(reply, "+PONG\r\n+OK\r\n");
    assert!(closed);
}

#[test]
fn inline_and_multibulk_mix_in_one_pipeline() {
    let server = Server::start(&[]);
    let (reply, _) = exchange(&server, b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\necho \"a\\x41 b\"\r\nQUIT\r\n");
    assert_eq!(reply, "+PONG\r\n$2\r\nhi\r\n$4\r\naA b\r\n+OK\r\n");
}

#[test]
fn wrong_arity_and_unknown_commands_keep_the_connection() {
    let server = Server::start(&[]);
    let (reply, closed) =
        exchange(&server, b"PING x y z\r\nFOO bar baz\r\nCONFIG NOPE\r\nCONFIG GET\r\nPING\r\nQUIT\r\n");
    assert_eq!(
        reply,
        "-ERR wrong number of arguments for 'ping' command\r\n\
         -ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n\
         -ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n\
         -ERR wrong number of arguments for 'config|get' command\r\n\
         +PONG\r\n+OK\r\n"
    );
    assert!(closed);
}

#[test]
fn non_integer_arguments_are_refused() {
    let server = Server::start(&[]);
    let (reply, _) = exchange(&server, b"SELECT abc\r\nSLOWLOG GET x\r\nSWAPDB a 1\r\nQUIT\r\n");
    assert_eq!(
        reply,
        "-ERR value is not an integer or out of range\r\n\
         -ERR value is not an integer or out of range\r\n\
         -ERR invalid first DB index\r\n+OK\r\n"
    );
}

#[test]
fn query_buffer_limit_closes_the_connection() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("client-query-buffer-limit").arg("1mb").query(&mut con).unwrap();
    let mut request = b"*2\r\n$4\r\nECHO\r\n$3000000\r\n".to_vec();
    request.extend(std::iter::repeat_n(b'x', 1_500_000));
    let (reply, closed) = exchange(&server, &request);
    assert_eq!(reply, "");
    assert!(closed, "a client over the query buffer limit must be disconnected");
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn binary_safe_arguments() {
    let server = Server::start(&[]);
    let (reply, _) = exchange(&server, b"*2\r\n$4\r\nECHO\r\n$5\r\na\r\n\x00b\r\nQUIT\r\n");
    assert_eq!(reply.as_bytes(), b"$5\r\na\r\n\x00b\r\n+OK\r\n");
}

#[test]
fn large_pipelines_keep_order() {
    let server = Server::start(&[]);
    let mut request = Vec::new();
    let mut expected = String::new();
    for i in 0..5000 {
        let arg = i.to_string();
        request.extend_from_slice(format!("*2\r\n$4\r\nECHO\r\n${}\r\n{}\r\n", arg.len(), arg).as_bytes());
        expected.push_str(&format!("${}\r\n{}\r\n", arg.len(), arg));
    }
    request.extend_from_slice(b"QUIT\r\n");
    expected.push_str("+OK\r\n");
    let (reply, _) = exchange(&server, &request);
    assert_eq!(reply, expected);
}

#[test]
fn pipelined_commands_each_run_as_named() {
    // A subcommand named like a command (CONFIG SET, then SET), repeated commands in mixed
    // case, pipelined keys that are and are not there, a first key used twice: every command
    // runs as its own name says, whatever the one before it was.
    let server = Server::start(&[]);
    let pipeline = b"*2\r\n$3\r\nSET\r\n$1\r\na\r\n\
*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n\
*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\n2\r\n\
*2\r\n$3\r\nGeT\r\n$1\r\na\r\n\
*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n\
*3\r\n$6\r\nRENAME\r\n$1\r\nb\r\n$1\r\nb\r\n\
*2\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n\
*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$16\r\nmaxmemory-policy\r\n\
*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n";
    let (out, closed) = exchange(&server, pipeline);
    assert!(!closed, "{out}");
    assert_eq!(
        out,
        "-ERR wrong number of arguments for 'set' command\r\n+OK\r\n+OK\r\n+OK\r\n$1\r\n1\r\n$-1\r\n+OK\r\n\
-ERR wrong number of arguments for 'config|get' command\r\n*2\r\n$16\r\nmaxmemory-policy\r\n$11\r\nallkeys-lru\r\n:3\r\n"
    );
}
