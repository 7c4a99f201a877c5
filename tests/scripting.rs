//! Lua scripting (EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL) against the real binary: replies and
//! error texts as redis-server gives them (the same scripts run on Debian's redis-server where
//! it is installed), a script past busy-reply-threshold answered with -BUSY and stopped by
//! SCRIPT KILL, functions kept across a restart, scripts logged to the AOF as the commands they
//! ran, tenant quotas holding inside scripts, and redis-py's Lock and other client-library
//! scripts (tests/py/test_scripting.py).

mod common;

use common::*;
use redis::Value;
use std::time::{Duration, Instant};

/// Scripts whose replies (or errors) must be byte for byte redis-server's.
const SCRIPTS: &[(&str, &[&str])] = &[
    ("return 'hello'", &[]),
    ("return {1, 2, 3, 'ciao', {1, 2}}", &[]),
    ("return redis.call('set', KEYS[1], ARGV[1])", &["1", "k", "v"]),
    ("return redis.call('get', KEYS[1])", &["1", "k"]),
    ("return redis.call('incr', KEYS[1])", &["1", "k"]),
    ("return redis.pcall('incr', KEYS[1])", &["1", "k"]),
    ("local ok, e = pcall(function() redis.call('incr', 'k') end) return e", &["0"]),
    ("return redis.call('nosuch')", &["0"]),
    ("return redis.call()", &["0"]),
    ("return redis.call({})", &["0"]),
    ("return redis.call('set')", &["0"]),
    ("return a", &["0"]),
    ("a = 1", &["0"]),
    ("setmetatable(_G, {})", &["0"]),
    ("redis.call = 1", &["0"]),
    ("error('boom')", &["0"]),
    ("error({err = 'MY boom'})", &["0"]),
    ("return {err = 'My Error'}", &["0"]),
    ("return redis.error_reply('My Error')", &["0"]),
    ("return redis.status_reply('FINE')", &["0"]),
    ("return 3.99", &["0"]),
    ("return true", &["0"]),
    ("return false", &["0"]),
    ("return nil", &["0"]),
    ("return {1, 2, nil, 4}", &["0"]),
    ("return cjson.encode({1, 2, 'x', {a = 1}})", &["0"]),
    ("return cjson.encode({s = 'a/b\"c\\n'})", &["0"]),
    ("return cjson.decode('[1, 2.5, \"x\", {\"a\": [true, false]}]')[4].a[1]", &["0"]),
    ("return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')", &["0"]),
    ("local e = cmsgpack.pack({1, 2, {a = 'x'}, -1099511627776, 0.1}) return {e, cmsgpack.unpack(e)[3].a}", &["0"]),
    ("return {bit.band(7, 3), bit.bor(1, 2, 4), bit.bxor(5, 1), bit.lshift(1, 31), bit.tohex(255), bit.tohex(-1, -4)}", &["0"]),
    ("return {struct.pack('>I2', 258), struct.unpack('<i4', struct.pack('<i4', -7))}", &["0"]),
    ("return redis.sha1hex('Pizza & Mandolino')", &["0"]),
    ("redis.setresp(3) return redis.call('hgetall', 'h')", &["0"]),
    ("return redis.call('hset', 'h', 'f', 'v')", &["0"]),
    ("return loadstring(string.dump(function() return 1 end))()", &["0"]),
    ("return redis.call('eval', 'return 1', 0)", &["0"]),
    ("return tostring(math.random(1, 1)) .. type(math.random())", &["0"]),
    ("#!lua flags=no-writes\nreturn redis.call('set', 'x', 1)", &["0"]),
    ("#!lua\nreturn 1", &["0"]),
    ("#!lua flags=bogus\nreturn 1", &["0"]),
    ("#!ruby\nreturn 1", &["0"]),
    ("return 1", &["-1"]),
    ("return 1", &["2", "a"]),
    ("return", &["x"]),
];

fn run_all(con: &mut redis::Connection) -> Vec<String> {
    let _: () = redis::cmd("FLUSHALL").query(con).unwrap();
    SCRIPTS
        .iter()
        .map(|(body, args)| {
            let reply: redis::RedisResult<Value> = redis::cmd("EVAL").arg(*body).arg(*args).query(con);
            format!("{body} => {reply:?}")
        })
        .collect()
}

#[test]
fn replies_and_errors_are_redis_servers() {
    let server = Server::start(&[]);
    let ours = run_all(&mut server.conn());
    assert!(ours[0].contains("hello"), "{}", ours[0]);
    if !redis_server_present() {
        return;
    }
    let redis = RedisServer::start(&[]);
    let theirs = run_all(&mut redis.conn());
    for (a, b) in ours.iter().zip(&theirs) {
        assert_eq!(a, b);
    }
}

#[test]
fn evalsha_script_load_exists_flush() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let sha: String = ok(&mut con, &["SCRIPT", "LOAD", "return ARGV[1] .. KEYS[1]"]);
    assert!(sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{sha}");
    let out: String = ok(&mut con, &["EVALSHA", &sha, "1", "k", "a"]);
    assert_eq!(out, "ak");
    let out: String = ok(&mut con, &["EVALSHA", &sha.to_uppercase(), "1", "k", "b"]);
    assert_eq!(out, "bk", "SHAs are matched without regard to case");
    let exists: Vec<i64> = ok(&mut con, &["SCRIPT", "EXISTS", &sha, "0000"]);
    assert_eq!(exists, [1, 0]);
    assert_eq!(info_int(&mut con, "memory", "number_of_cached_scripts"), 1);
    assert_ok(&mut con, &["SCRIPT", "FLUSH"]);
    assert_eq!(err(&mut con, &["EVALSHA", &sha, "0"]), "NOSCRIPT No matching script. Please use EVAL.");
    assert_eq!(info_int(&mut con, "memory", "number_of_cached_scripts"), 0);
    // EVAL caches what it ran, under the SHA1 of its body.
    let seven_sha: String = ok(&mut con, &["EVAL", "return redis.sha1hex('return 7')", "0"]);
    let exists: Vec<i64> = ok(&mut con, &["SCRIPT", "EXISTS", &seven_sha]);
    assert_eq!(exists, [0]);
    let seven: i64 = ok(&mut con, &["EVAL", "return 7", "0"]);
    assert_eq!(seven, 7);
    let seven: i64 = ok(&mut con, &["EVALSHA", &seven_sha, "0"]);
    assert_eq!(seven, 7);
}

/// A script past busy-reply-threshold: others get -BUSY (but SCRIPT KILL and FUNCTION STATS
/// run), the script is killed, and everything is served again.
#[test]
fn a_busy_script_answers_busy_and_is_killed() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["CONFIG", "SET", "busy-reply-threshold", "50"]);
    let runner = spawn_command(&server, &["EVAL", "local i = 0 while true do i = i + 1 end", "0"]);
    let started = Instant::now();
    let mut busy = String::new();
    while started.elapsed() < Duration::from_secs(10) {
        match run(&mut con, &["PING"]) {
            Err(e) if e.to_string().contains("BUSY") => {
                busy = e.to_string();
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    assert!(
        busy.contains("Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE"),
        "{busy}"
    );
    assert!(err(&mut con, &["GET", "k"]).starts_with("BUSY"));
    let Value::Array(stats) = run(&mut con, &["FUNCTION", "STATS"]).unwrap() else { panic!() };
    assert_ne!(stats[1], Value::Nil, "FUNCTION STATS names the running script");
    assert!(err(&mut con, &["FUNCTION", "KILL"]).starts_with("BUSY"), "FUNCTION KILL does not stop an EVAL");
    assert_ok(&mut con, &["SCRIPT", "KILL"]);
    let reply = runner.join().unwrap();
    assert!(reply.unwrap_err().to_string().contains("Script killed by user with SCRIPT KILL"));
    let pong: String = ok(&mut con, &["PING"]);
    assert_eq!(pong, "PONG");
    assert_eq!(err(&mut con, &["SCRIPT", "KILL"]), "NOTBUSY No scripts in execution right now.");
}

#[test]
fn a_script_that_wrote_cannot_be_killed_but_shutdown_nosave_ends_it() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["CONFIG", "SET", "busy-reply-threshold", "50"]);
    let _runner = spawn_command(&server, &["EVAL", "redis.call('set', 'x', 1) while true do end", "0"]);
    wait_for(
        10,
        "the script to time out",
        || matches!(run(&mut con, &["PING"]), Err(e) if e.to_string().contains("BUSY")),
    );
    assert!(err(&mut con, &["SCRIPT", "KILL"]).starts_with("UNKILLABLE"));
    let _ = run(&mut con, &["SHUTDOWN", "NOSAVE"]);
    wait_for(10, "the server to exit", || std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err());
}

#[test]
fn functions_load_call_list_and_survive_a_restart() {
    let dir = ScratchDir::new("scripting-functions");
    let code = "#!lua name=mylib\n\
                local function hello(keys, args) return 'hello ' .. args[1] end\n\
                redis.register_function('hello', hello)\n\
                redis.register_function{function_name='count', callback=function(keys) return redis.call('incr', keys[1]) end}\n\
                redis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";
    {
        let server = Server::start(&["--dir", dir.path(), "--save", "3600 1"]);
        let mut con = server.conn();
        let name: String = ok(&mut con, &["FUNCTION", "LOAD", code]);
        assert_eq!(name, "mylib");
        assert_eq!(err(&mut con, &["FUNCTION", "LOAD", code]), "ERR Library 'mylib' already exists");
        let hello: String = ok(&mut con, &["FCALL", "HELLO", "0", "world"]);
        assert_eq!(hello, "hello world");
        let n: i64 = ok(&mut con, &["FCALL", "count", "1", "c"]);
        assert_eq!(n, 1);
        let peek: String = ok(&mut con, &["FCALL_RO", "peek", "1", "c"]);
        assert_eq!(peek, "1");
        assert!(err(&mut con, &["FCALL_RO", "count", "1", "c"])
            .contains("Can not execute a script with write flag using *_ro command"));
        assert_eq!(err(&mut con, &["FCALL", "nope", "0"]), "ERR Function not found");
        let listed = format!("{:?}", run(&mut con, &["FUNCTION", "LIST", "WITHCODE"]).unwrap());
        assert!(
            listed.contains("mylib") && listed.contains("no-writes") && listed.contains("register_function"),
            "{listed}"
        );
        let dump: Vec<u8> = ok(&mut con, &["FUNCTION", "DUMP"]);
        assert_ok(&mut con, &["FUNCTION", "FLUSH"]);
        assert_eq!(err(&mut con, &["FCALL", "hello", "0", "x"]), "ERR Function not found");
        let _: () = redis::cmd("FUNCTION").arg("RESTORE").arg(&dump).query(&mut con).unwrap();
        let hello: String = ok(&mut con, &["FCALL", "hello", "0", "again"]);
        assert_eq!(hello, "hello again");
        let _: () = redis::cmd("SHUTDOWN").query(&mut con).unwrap_or(());
        wait_for(10, "the server to exit", || std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err());
    }
    let server = Server::start(&["--dir", dir.path(), "--save", ""]);
    let mut con = server.conn();
    let hello: String = ok(&mut con, &["FCALL", "hello", "0", "after restart"]);
    assert_eq!(hello, "hello after restart");
    let n: i64 = ok(&mut con, &["FCALL", "count", "1", "c"]);
    assert_eq!(n, 2);
    if redis_server_present() {
        // redis-server loads the snapshot, functions included.
        let redis = RedisServer::start_in(&dir.0, &[]);
        let hello: String = ok(&mut redis.conn(), &["FCALL", "hello", "0", "redis"]);
        assert_eq!(hello, "hello redis");
    }
}

#[test]
fn a_script_is_logged_to_the_aof_as_the_commands_it_ran() {
    let dir = ScratchDir::new("scripting-aof");
    {
        let server =
            Server::start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes", "--appendfsync", "always"]);
        let mut con = server.conn();
        let script = "redis.call('set', KEYS[1], 'v') redis.call('incrby', KEYS[2], 5) \
                      redis.call('expire', KEYS[1], 100) return redis.call('spop', KEYS[3])";
        let _: () = redis::cmd("SADD").arg("s").arg("only").query(&mut con).unwrap();
        let popped: String = ok(&mut con, &["EVAL", script, "3", "a", "n", "s"]);
        assert_eq!(popped, "only");
        // redis.set_repl(REPL_NONE) keeps the commands after it out of the AOF.
        let quiet = "redis.set_repl(redis.REPL_NONE) redis.call('set', KEYS[1], 'h') \
                     redis.set_repl(redis.REPL_ALL) return redis.call('set', KEYS[2], 's')";
        assert_ok(&mut con, &["EVAL", quiet, "2", "hidden", "shown"]);
        let text =
            String::from_utf8_lossy(&std::fs::read(dir.0.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap())
                .into_owned();
        assert!(!text.to_ascii_lowercase().contains("eval"), "the script itself is not logged: {text}");
        assert!(text.contains("shown") && !text.contains("hidden"), "set_repl decides what is logged: {text}");
        let multi = text.find("MULTI").expect("wrapped in MULTI");
        let exec = text.rfind("EXEC").expect("and EXEC");
        // The popped last member is logged as the key's deletion.
        for word in ["set", "incrby", "PEXPIREAT", "DEL"] {
            let at = text
                .to_ascii_lowercase()
                .find(&word.to_ascii_lowercase())
                .unwrap_or_else(|| panic!("{word} logged: {text}"));
            assert!(multi < at && at < exec, "{word} inside the transaction: {text}");
        }
    }
    let server = Server::start(&["--dir", dir.path(), "--save", "", "--appendonly", "yes"]);
    let mut con = server.conn();
    let v: String = ok(&mut con, &["GET", "a"]);
    assert_eq!(v, "v");
    let n: i64 = ok(&mut con, &["GET", "n"]);
    assert_eq!(n, 5);
    let exists: i64 = ok(&mut con, &["EXISTS", "s"]);
    assert_eq!(exists, 0);
    let hidden: i64 = ok(&mut con, &["EXISTS", "hidden"]);
    let shown: i64 = ok(&mut con, &["EXISTS", "shown"]);
    assert_eq!((hidden, shown), (0, 1), "what set_repl kept out of the AOF is not replayed");
}

#[test]
fn monitor_shows_the_script_then_its_commands_from_lua() {
    let server = Server::start(&[]);
    let mut monitor = Raw::connect(&server);
    monitor.send(&["MONITOR"]);
    assert_eq!(monitor.read(), "+OK");
    let mut con = server.conn();
    assert_ok(&mut con, &["EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "mk"]);
    // The client's own CLIENT SETINFO lines come first.
    let first = (0..10).map(|_| monitor.read()).find(|l| l.contains("\"EVAL\"")).expect("EVAL shown");
    let second = monitor.read();
    assert!(first.contains("\"EVAL\"") && !first.contains("[0 lua]"), "{first}");
    assert!(second.contains("[0 lua] \"set\" \"mk\" \"v\""), "{second}");
}

#[test]
fn a_script_cannot_take_a_tenant_past_its_quota() {
    let server = Server::start(&["--tenant-key-pattern", "{tenant}:*"]);
    let mut con = server.conn();
    assert_ok(&mut con, &["TENANT", "SETLIMIT", "acme", "MAXKEYS", "3", "ONLIMIT", "reject"]);
    let script = "for i = 1, 10 do redis.call('set', 'acme:' .. i, 'x') end return 1";
    let e = err(&mut con, &["EVAL", script, "0"]);
    assert!(e.starts_with("OOM") && e.contains("acme"), "{e}");
    let keys: Vec<String> = ok(&mut con, &["KEYS", "acme:*"]);
    assert!(keys.len() <= 3, "{keys:?}");
}

#[test]
fn client_library_scripts_work_with_redis_py() {
    let server = Server::start(&[]);
    let script = format!("{}/tests/py/test_scripting.py", env!("CARGO_MANIFEST_DIR"));
    let output =
        std::process::Command::new("python3").arg(script).arg(server.port.to_string()).output().expect("python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("No module named 'redis'"), "redis-py is not installed: pip install redis");
    assert!(output.status.success(), "redis-py scripting tests failed:\n{stdout}\n{stderr}");
}
