//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT (CLIENT lives in `client_cmd`).

use super::args::{is, text};
use super::flags::*;
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    cmd!(
        "ping",
        -1,
        // As Redis: no `loading`, so health checks see -LOADING while the dataset loads.
        FAST | SUBSCRIBED_OK,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        ping
    ),
    cmd!("echo", 2, FAST | STALE | LOADING, (0, 0, 0), "connection", "1.0.0", "Returns the given string.", echo),
    cmd!(
        "quit",
        -1,
        ALLOW_BUSY | NO_AUTH | SUBSCRIBED_OK | NO_MULTI_QUEUE | FAST | STALE | LOADING,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Closes the connection.",
        quit
    ),
    cmd!(
        "reset",
        1,
        NO_AUTH | SUBSCRIBED_OK | NO_MULTI_QUEUE | FAST | STALE | LOADING | NOSCRIPT,
        (0, 0, 0),
        "connection",
        "6.2.0",
        "Resets the connection.",
        reset
    ),
    cmd!(
        "hello",
        -1,
        NO_AUTH | FAST | STALE | LOADING | NOSCRIPT,
        (0, 0, 0),
        "connection",
        "6.0.0",
        "Handshakes with the server.",
        hello
    ),
    cmd!(
        "auth",
        -2,
        NO_AUTH | FAST | STALE | LOADING | NOSCRIPT,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        auth
    ),
    cmd!(
        "select",
        2,
        FAST | STALE | LOADING,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Changes the selected database.",
        select
    ),
];

fn ping(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 2 {
        return ctx.out.error("ERR wrong number of arguments for 'ping' command");
    }
    if ctx.client.in_resp2_subscribed_mode() {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).map_or(&b""[..], |a| &a[..]));
        return;
    }
    match args.get(1) {
        Some(msg) => ctx.out.bulk(msg),
        None => ctx.out.simple("PONG"),
    }
}

fn echo(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out.bulk(&args[1]);
}

fn quit(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

fn reset(ctx: &mut Ctx, _args: &[Bytes]) {
    crate::pubsub::unsubscribe_all(ctx.shared, ctx.client);
    ctx.client.multi = None;
    ctx.client.multi_failed = false;
    super::transactions::unwatch_all(ctx);
    ctx.client.db = 0;
    ctx.client.resp = 2;
    ctx.client.reply_off = false;
    ctx.client.reply_skip = false;
    ctx.out.resp3 = false;
    ctx.client.handle.resp3.store(false, std::sync::atomic::Ordering::Relaxed);
    ctx.client.authenticated = ctx.shared.settings.requirepass.read().is_none();
    ctx.client.handle.info.lock().name.clear();
    ctx.out.simple("RESET");
}

/// Checks a password for the default user; writes the error reply on failure.
fn check_password(ctx: &mut Ctx, user: Option<&[u8]>, pass: &[u8]) -> bool {
    let required = ctx.shared.settings.requirepass.read().clone();
    if let Some(user) = user {
        if !user.eq_ignore_ascii_case(b"default") {
            ctx.out.error("WRONGPASS invalid username-password pair or user is disabled.");
            return false;
        }
    }
    match required {
        None if user.is_none() => {
            ctx.out.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            false
        }
        None => true,
        Some(p) if p.as_bytes() == pass => {
            ctx.client.authenticated = true;
            true
        }
        Some(_) => {
            ctx.out.error("WRONGPASS invalid username-password pair or user is disabled.");
            false
        }
    }
}

fn auth(ctx: &mut Ctx, args: &[Bytes]) {
    let ok = match args.len() {
        2 => check_password(ctx, None, &args[1]),
        3 => check_password(ctx, Some(&args[1]), &args[2]),
        _ => return ctx.out.error(errors::SYNTAX),
    };
    if ok {
        ctx.out.ok();
    }
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) {
    let mut i = 1;
    let mut proto = ctx.client.resp;
    if let Some(v) = args.get(1) {
        match crate::util::parse_i64(v) {
            Some(p) if p == 2 || p == 3 => proto = p as u8,
            Some(_) => return ctx.out.error("NOPROTO unsupported protocol version"),
            None => return ctx.out.error("ERR Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    let mut setname = None;
    while i < args.len() {
        if is(&args[i], "AUTH") && i + 2 < args.len() {
            if !check_password(ctx, Some(&args[i + 1]), &args[i + 2]) {
                return;
            }
            i += 3;
        } else if is(&args[i], "SETNAME") && i + 1 < args.len() {
            let name = text(&args[i + 1]);
            if name.contains(|c: char| c <= ' ' || c > '~') {
                return ctx.out.error("ERR Client names cannot contain spaces, newlines or special characters.");
            }
            setname = Some(name);
            i += 2;
        } else {
            return ctx.out.error(&format!("ERR Syntax error in HELLO option '{}'", text(&args[i])));
        }
    }
    if !ctx.client.authenticated {
        return ctx.out.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(name) = setname {
        ctx.client.handle.info.lock().name = name;
    }
    ctx.client.resp = proto;
    ctx.out.resp3 = proto == 3;
    ctx.client.handle.resp3.store(proto == 3, std::sync::atomic::Ordering::Relaxed);
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(crate::REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(proto as i64);
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
}

fn select(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(db) = crate::util::parse_i64(&args[1]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if db < 0 || db as usize >= ctx.ks.get().databases() {
        return ctx.out.error(errors::DB_INDEX);
    }
    ctx.client.db = db as usize;
    ctx.out.ok();
}
