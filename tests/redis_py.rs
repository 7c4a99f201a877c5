//! redis-py against the real server: runs tests/py/test_transactions.py (pipelines in
//! MULTI/EXEC, the WATCH retry loop with two clients, rate limiters), tests/py/test_info.py
//! (redis-py's INFO parser: one dict per tenant and key class) and tests/py/test_families.py
//! (bitmaps with the BITFIELD builder, HyperLogLog, geo with GEOSEARCH's parsed replies,
//! streams with XREADGROUP/XAUTOCLAIM/XINFO's parsers, over RESP2 and RESP3) and requires
//! them to pass.
//! Needs python3 with the `redis` package (`pip install redis`; .ci/run installs it).

mod common;

use common::Server;
use std::process::Command;

/// Runs one script of tests/py against `server` and requires it to pass.
fn run_script(server: &Server, script: &str) {
    let script = format!("{}/tests/py/{script}", env!("CARGO_MANIFEST_DIR"));
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

#[test]
fn redis_py_transactions() {
    run_script(&Server::start(&[]), "test_transactions.py");
}

#[test]
fn redis_py_info_parser() {
    run_script(&Server::start(&["--stats-key-pattern", "cache:{class}"]), "test_info.py");
}

#[test]
fn redis_py_bitmaps_hyperloglog_geo_streams() {
    run_script(&Server::start(&[]), "test_families.py");
}
