//! redis-py against the real server: runs tests/py/test_transactions.py (pipelines in
//! MULTI/EXEC, the WATCH retry loop with two clients, rate limiters) and requires it to pass.
//! Needs python3 with the `redis` package (`pip install redis`; .ci/run installs it).

mod common;

use common::Server;
use std::process::Command;

#[test]
fn redis_py_transactions() {
    let server = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/test_transactions.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(server.port.to_string())
        .output()
        .expect("python3 must be installed to run the redis-py tests");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("No module named 'redis'"), "redis-py is not installed: pip install redis");
    assert!(output.status.success(), "redis-py tests failed:\n{stdout}\n{stderr}");
    println!("{stdout}");
}
