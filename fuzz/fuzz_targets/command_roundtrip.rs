//! Requests parsed and executed on an in-process server state (keyspace, tenants, tags,
//! pub/sub, config), with no network: the whole path from request bytes to reply bytes.
//!
//! One server state serves every input (building one per input costs milliseconds); after
//! each input it is reset as far as commands can change it: the client is torn down as on
//! a disconnect, every database is flushed and every directive CONFIG SET changed is set
//! back. The input's bytes are parsed as a stream of requests; every command runs through
//! the command table as a connection would run it, and what it writes must be a sequence
//! of complete, well-formed RESP2/RESP3 replies. `DEBUG` is left out (`DEBUG SLEEP` stops
//! the server by design). Strings are capped by a small `proto-max-bulk-len` so that one
//! command cannot allocate gigabytes.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use tenantcache::client::{Client, ClientHandle};
use tenantcache::commands::{self, Ctx};
use std::sync::{Arc, OnceLock};
use tenantcache::config::{Config, DIRECTIVES};
use tenantcache::protocol::{ReplyBuf, RequestLimits, RequestParser};
use tenantcache::server::Shared;

/// Most commands run from one input: enough for a transaction and its setup.
const MAX_COMMANDS: usize = 64;
const MAX_BULK_LEN: usize = 1 << 20;

/// Length of one complete RESP value at the start of `buf`; panics if it is malformed.
fn resp_value_len(buf: &[u8]) -> usize {
    let line_end = buf.windows(2).position(|w| w == b"\r\n").expect("reply line without CRLF");
    let line = std::str::from_utf8(&buf[1..line_end]).expect("reply line is not UTF-8");
    let after = line_end + 2;
    let int = || line.parse::<i64>().unwrap_or_else(|_| panic!("bad length {line:?} after {:?}", buf[0] as char));
    match buf[0] {
        b'+' | b'-' | b':' | b',' | b'#' | b'(' | b'_' => after,
        b'$' | b'!' | b'=' => match int() {
            -1 => after,
            n if n >= 0 => {
                let end = after + n as usize;
                assert_eq!(&buf[end..end + 2], b"\r\n", "bulk reply not followed by CRLF");
                end + 2
            }
            n => panic!("negative bulk length {n}"),
        },
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = int();
            if n == -1 && buf[0] == b'*' {
                return after;
            }
            assert!(n >= 0, "negative aggregate length {n}");
            let items = if matches!(buf[0], b'%' | b'|') { 2 * n } else { n };
            let mut at = after;
            for _ in 0..items {
                at += resp_value_len(&buf[at..]);
            }
            at
        }
        other => panic!("reply starts with {:?}", other as char),
    }
}

/// The server state shared by all inputs, and each directive's value when it was built.
struct State {
    shared: Arc<Shared>,
    initial: Vec<(&'static str, String)>,
}

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let overrides = [("proto-max-bulk-len".to_string(), vec![MAX_BULK_LEN.to_string()])];
        let shared = Shared::new(Config::load(None, &overrides).expect("default config")).expect("server state");
        let initial = {
            let config = shared.config.read();
            DIRECTIVES.iter().map(|d| (d.name, config.get(d.name).to_string())).collect()
        };
        State { shared, initial }
    })
}

fuzz_target!(|data: &[u8]| {
    let State { shared, initial } = state();
    let handle = ClientHandle::new(1, "127.0.0.1:1".into(), "127.0.0.1:6379".into(), -1);
    let mut client = Client::new(handle, true);
    let mut out = ReplyBuf::new();
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(data);
    let limits = RequestLimits::new(MAX_BULK_LEN);
    for _ in 0..MAX_COMMANDS {
        let Ok(Some(args)) = parser.next(&mut buf, &limits) else {
            break;
        };
        if args[0].eq_ignore_ascii_case(b"debug") {
            continue;
        }
        run(shared, &mut client, &mut out, &args);
        if client.close_after_reply {
            break;
        }
    }
    reset(shared, initial, client);
});

/// Undoes what the input's commands did to the shared state.
fn reset(shared: &Shared, initial: &[(&'static str, String)], mut client: Client) {
    // What a connection's end releases.
    tenantcache::commands::blocking::forget(shared, &client);
    tenantcache::pubsub::unsubscribe_all(shared, &mut client);
    commands::transactions::forget_client(shared, &mut client);
    shared.monitors.remove(client.id);
    let mut admin = Client::new(ClientHandle::new(2, "127.0.0.1:2".into(), "127.0.0.1:6379".into(), -1), true);
    let mut out = ReplyBuf::new();
    let changed: Vec<&(&str, String)> = {
        let config = shared.config.read();
        initial.iter().filter(|(name, value)| config.get(name) != value).collect()
    };
    for (name, value) in changed {
        let mut config = shared.config.write();
        if config.set(name, value).is_ok() {
            drop(config);
            let _ = shared.apply_config(name);
        }
    }
    let mut ctx = Ctx::new(shared, &mut admin, &mut out);
    commands::execute(&mut ctx, &[Bytes::from_static(b"FLUSHALL")]);
    commands::execute(&mut ctx, &[Bytes::from_static(b"CLIENT"), Bytes::from_static(b"UNPAUSE")]);
}

fn run(shared: &Shared, client: &mut Client, out: &mut ReplyBuf, args: &[Bytes]) {
    out.buf.clear();
    {
        let mut ctx = Ctx::new(shared, client, out);
        commands::execute(&mut ctx, args);
    }
    // Pushes a command produced for its own client go out after its reply.
    let pushes = client.pending_pushes.split();
    out.raw(&pushes);
    let replies = &out.buf[..];
    let mut at = 0;
    while at < replies.len() {
        at += resp_value_len(&replies[at..]);
    }
}
