//! CLIENT subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL, SETINFO, NO-EVICT, NO-TOUCH,
//! REPLY, PAUSE/UNPAUSE, the client-side-caching queries, HELP.
//!
//! CLIENT LIST and CLIENT INFO print Redis 7.2's line format; other clients' lines come from
//! the fields their connections publish after each batch, the caller's own line is current.

use super::args::{is, text};
use super::flags::*;
use super::{errors, CommandSpec, Ctx};
use crate::client::{disconnect, ClientHandle, ClientInfo};
use crate::{container, subcmd};
use bytes::Bytes;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

const CONN: u32 = NOSCRIPT | LOADING | STALE;
const CONN_ADMIN: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] =
    &[container!("client", "connection", "2.4.0", "A container for client connection commands.", SUBCOMMANDS)];

static SUBCOMMANDS: &[CommandSpec] = &[
    subcmd!("client", "id", 2, CONN, (0, 0, 0), "Returns the unique client ID of the connection.", id),
    subcmd!("client", "setname", 3, CONN, (0, 0, 0), "Sets the connection name.", setname),
    subcmd!("client", "getname", 2, CONN, (0, 0, 0), "Returns the name of the connection.", getname),
    subcmd!("client", "list", -2, CONN_ADMIN, (0, 0, 0), "Lists open connections.", list),
    subcmd!("client", "info", 2, CONN, (0, 0, 0), "Returns information about the connection.", info),
    subcmd!("client", "kill", -3, CONN_ADMIN, (0, 0, 0), "Terminates open connections.", kill),
    subcmd!("client", "setinfo", 4, CONN, (0, 0, 0), "Sets information specific to the client or connection.", setinfo),
    subcmd!(
        "client",
        "no-evict",
        3,
        CONN_ADMIN,
        (0, 0, 0),
        "Sets the client eviction mode of the connection.",
        no_evict
    ),
    subcmd!(
        "client",
        "no-touch",
        3,
        CONN,
        (0, 0, 0),
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.",
        no_touch
    ),
    subcmd!("client", "pause", -3, CONN_ADMIN, (0, 0, 0), "Suspends commands processing.", pause),
    subcmd!(
        "client",
        "unblock",
        -3,
        CONN_ADMIN,
        (0, 0, 0),
        "Unblocks a client blocked by a blocking command from a different connection.",
        unblock
    ),
    subcmd!("client", "unpause", 2, CONN_ADMIN, (0, 0, 0), "Resumes processing commands from paused clients.", unpause),
    subcmd!("client", "reply", 3, CONN, (0, 0, 0), "Instructs the server whether to reply to commands.", reply),
    subcmd!(
        "client",
        "tracking",
        -3,
        CONN,
        (0, 0, 0),
        "Controls server-assisted client-side caching for the connection.",
        tracking
    ),
    subcmd!(
        "client",
        "trackinginfo",
        2,
        CONN,
        (0, 0, 0),
        "Returns information about server-assisted client-side caching for the connection.",
        trackinginfo
    ),
    subcmd!(
        "client",
        "getredir",
        2,
        CONN,
        (0, 0, 0),
        "Returns the client ID to which the connection's tracking notifications are redirected.",
        getredir
    ),
    subcmd!(
        "client",
        "caching",
        3,
        CONN,
        (0, 0, 0),
        "Instructs the server whether to track the keys in the next request.",
        caching
    ),
    subcmd!(
        "client",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        help
    ),
];

fn id(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.int(ctx.client.id as i64);
}

/// Redis accepts names and library attributes made of printable ASCII without spaces.
fn valid_attribute(value: &[u8]) -> bool {
    value.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn setname(ctx: &mut Ctx, args: &[Bytes]) {
    if !valid_attribute(&args[2]) {
        return ctx.out.error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    ctx.client.handle.info.lock().name = text(&args[2]);
    ctx.out.ok();
}

fn getname(ctx: &mut Ctx, _args: &[Bytes]) {
    let name = ctx.client.handle.info.lock().name.clone();
    if name.is_empty() {
        ctx.out.null();
    } else {
        ctx.out.bulk(name.as_bytes());
    }
}

fn setinfo(ctx: &mut Ctx, args: &[Bytes]) {
    let attr = text(&args[2]);
    let lib_name = is(&args[2], "lib-name");
    if !lib_name && !is(&args[2], "lib-ver") {
        return ctx.out.error(&format!("ERR Unrecognized option '{attr}'"));
    }
    if !valid_attribute(&args[3]) {
        return ctx.out.error(&format!("ERR {attr} cannot contain spaces, newlines or special characters."));
    }
    let mut info = ctx.client.handle.info.lock();
    if lib_name {
        info.lib_name = text(&args[3]);
    } else {
        info.lib_ver = text(&args[3]);
    }
    drop(info);
    ctx.out.ok();
}

/// Parses `ON`/`OFF`; writes the syntax error otherwise.
fn on_off(ctx: &mut Ctx, arg: &[u8]) -> Option<bool> {
    if is(arg, "on") {
        Some(true)
    } else if is(arg, "off") {
        Some(false)
    } else {
        ctx.out.error(errors::SYNTAX);
        None
    }
}

/// CLIENT NO-EVICT: exempts the client from client eviction (`maxmemory-clients`); shown
/// as flag `e`. Turning it off makes the client a candidate again at once.
fn no_evict(ctx: &mut Ctx, args: &[Bytes]) {
    if let Some(on) = on_off(ctx, &args[2]) {
        ctx.client.no_evict = on;
        ctx.client.handle.no_evict.store(on, Ordering::Relaxed);
        ctx.out.ok();
    }
}

/// CLIENT NO-TOUCH: recorded and shown as flag `T`.
fn no_touch(ctx: &mut Ctx, args: &[Bytes]) {
    if let Some(on) = on_off(ctx, &args[2]) {
        ctx.client.no_touch = on;
        ctx.out.ok();
    }
}

/// CLIENT REPLY: only ON answers; OFF and SKIP are silent (the connection drops the
/// replies of the commands that follow, but never push messages).
fn reply(ctx: &mut Ctx, args: &[Bytes]) {
    if is(&args[2], "on") {
        ctx.client.reply_off = false;
        ctx.client.reply_skip = false;
        ctx.out.ok();
    } else if is(&args[2], "off") {
        ctx.client.reply_off = true;
    } else if is(&args[2], "skip") {
        if !ctx.client.reply_off {
            ctx.client.reply_skip = true;
        }
    } else {
        ctx.out.error(errors::SYNTAX);
    }
}

/// CLIENT PAUSE timeout [WRITE|ALL]: held commands wait in their connections (see
/// `connection::held_by_pause`) until the timeout passes or CLIENT UNPAUSE.
fn pause(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 4 {
        return ctx.out.error(errors::SYNTAX);
    }
    let mut writes_only = false;
    if let Some(mode) = args.get(3) {
        if is(mode, "write") {
            writes_only = true;
        } else if !is(mode, "all") {
            return ctx.out.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
        }
    }
    let timeout = match crate::util::parse_i64(&args[2]) {
        Some(t) if t < 0 => return ctx.out.error("ERR timeout is negative"),
        Some(t) => t as u64,
        None => return ctx.out.error("ERR timeout is not an integer or out of range"),
    };
    ctx.shared.pause.start(crate::storage::now_ms().saturating_add(timeout), writes_only);
    ctx.out.ok();
}

fn unpause(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.shared.pause.end();
    ctx.out.ok();
}

fn tracking(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.error("ERR CLIENT TRACKING (client-side caching) is not supported by this server");
}

/// Tracking is never on, so its state is always the same.
fn trackinginfo(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.map(3);
    ctx.out.bulk(b"flags");
    ctx.out.set(1);
    ctx.out.bulk(b"off");
    ctx.out.bulk(b"redirect");
    ctx.out.int(-1);
    ctx.out.bulk(b"prefixes");
    ctx.out.array(0);
}

fn getredir(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.int(-1);
}

fn caching(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.error(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
    );
}

/// Client types as CLIENT LIST TYPE and CLIENT KILL TYPE name them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn client_type(name: &[u8]) -> Option<ClientType> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some(ClientType::Normal),
        b"slave" | b"replica" => Some(ClientType::Replica),
        b"pubsub" => Some(ClientType::PubSub),
        b"master" => Some(ClientType::Master),
        _ => None,
    }
}

/// A client is of type pubsub while it has any subscription (any protocol), as in Redis.
fn type_of(info: &ClientInfo) -> ClientType {
    if info.subscriptions + info.psubscriptions + info.ssubscriptions > 0 {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

/// Brings the caller's published fields up to date before it describes itself.
fn refresh_own_info(ctx: &mut Ctx) {
    ctx.client.publish_info();
}

/// One CLIENT LIST line (without the newline). `argv_mem` is non-zero only for the caller,
/// whose command is still being executed.
fn describe(out: &mut String, handle: &ClientHandle, info: &ClientInfo, argv_mem: usize, tenant: &str) {
    let age = handle.created.elapsed().as_secs();
    let idle = info.last_interaction.map_or(age, |t| t.elapsed().as_secs());
    let omem = handle.pending_output();
    let events = if omem > 0 { "rw" } else { "r" };
    let cmd = info.last_command.map_or_else(|| "NULL".to_string(), |spec| spec.full_name());
    // As counted into `used_memory` after the client's last read or batch (buffers, queued
    // transaction, subscriptions, fixed state), plus the arguments of the running command.
    let tot_mem = handle.tot_mem.load(Ordering::Relaxed) + argv_mem;
    let _ = write!(
        out,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
         qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl=0 oll={} omem={} tot-mem={} \
         events={} cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={} tenant={}",
        handle.id,
        handle.addr,
        handle.laddr,
        handle.fd,
        info.name,
        age,
        idle,
        info.flags,
        info.db,
        info.subscriptions,
        info.psubscriptions,
        info.ssubscriptions,
        info.multi,
        info.query_buffer,
        info.query_buffer_free,
        argv_mem,
        info.multi_mem,
        info.reply_buffer_size,
        info.reply_buffer_peak,
        (omem > 0) as usize,
        omem,
        tot_mem,
        events,
        cmd,
        info.user,
        info.resp,
        info.lib_name,
        info.lib_ver,
        tenant,
    );
}

/// The tenant of the client's last keyed command (empty before its first one).
/// The CLIENT LIST line of a client, for the log (without its tenant: the keyspace may be
/// locked by the caller).
pub fn describe_handle(handle: &ClientHandle) -> String {
    let info = handle.info.lock().clone();
    let mut out = String::new();
    describe(&mut out, handle, &info, 0, "");
    out
}

fn tenant_name(ctx: &mut Ctx, info: &ClientInfo) -> String {
    info.last_tenant.map(|t| String::from_utf8_lossy(ctx.ks.get().tenants.name(t)).into_owned()).unwrap_or_default()
}

fn argv_mem(args: &[Bytes]) -> usize {
    args.iter().map(|a| a.len()).sum()
}

fn list(ctx: &mut Ctx, args: &[Bytes]) {
    let mut only_type = None;
    let mut only_ids = None;
    if args.len() == 4 && is(&args[2], "type") {
        match client_type(&args[3]) {
            Some(t) => only_type = Some(t),
            None => return ctx.out.error(&format!("ERR Unknown client type '{}'", text(&args[3]))),
        }
    } else if args.len() > 3 && is(&args[2], "id") {
        let mut ids = Vec::new();
        for a in &args[3..] {
            match crate::util::parse_i64(a) {
                Some(id) => ids.push(id),
                None => return ctx.out.error("ERR Invalid client ID"),
            }
        }
        only_ids = Some(ids);
    } else if args.len() != 2 {
        return ctx.out.error(errors::SYNTAX);
    }
    refresh_own_info(ctx);
    let handles: Vec<Arc<ClientHandle>> = match &only_ids {
        // In the order asked for, as Redis does.
        Some(ids) => {
            let clients = ctx.shared.clients.lock();
            ids.iter().filter_map(|id| u64::try_from(*id).ok().and_then(|id| clients.get(&id)).cloned()).collect()
        }
        None => ctx.shared.clients.lock().values().cloned().collect(),
    };
    let mut out = String::new();
    for handle in handles {
        let info = handle.info.lock().clone();
        if only_type.is_some_and(|t| t != type_of(&info)) {
            continue;
        }
        let argv = if handle.id == ctx.client.id { argv_mem(args) } else { 0 };
        let tenant = tenant_name(ctx, &info);
        describe(&mut out, &handle, &info, argv, &tenant);
        out.push('\n');
    }
    ctx.out.verbatim(out.as_bytes());
}

fn info(ctx: &mut Ctx, args: &[Bytes]) {
    refresh_own_info(ctx);
    let handle = ctx.client.handle.clone();
    let info = handle.info.lock().clone();
    let mut out = String::new();
    let tenant = tenant_name(ctx, &info);
    describe(&mut out, &handle, &info, argv_mem(args), &tenant);
    out.push('\n');
    ctx.out.verbatim(out.as_bytes());
}

/// What CLIENT KILL's filters select.
#[derive(Default)]
struct KillFilter {
    addr: Option<String>,
    laddr: Option<String>,
    id: Option<u64>,
    client_type: Option<ClientType>,
    user: Option<String>,
    skip_me: bool,
}

/// Parses the new form `CLIENT KILL <filter> <value> ...`; writes the error on failure.
fn kill_filter(ctx: &mut Ctx, args: &[Bytes]) -> Option<KillFilter> {
    let mut f = KillFilter { skip_me: true, ..Default::default() };
    let mut i = 2;
    while i < args.len() {
        let Some(value) = args.get(i + 1) else {
            ctx.out.error(errors::SYNTAX);
            return None;
        };
        let option = &args[i];
        if is(option, "id") {
            match crate::util::parse_i64(value) {
                Some(id) if id > 0 => f.id = Some(id as u64),
                _ => {
                    ctx.out.error("ERR client-id should be greater than 0");
                    return None;
                }
            }
        } else if is(option, "type") {
            match client_type(value) {
                Some(t) => f.client_type = Some(t),
                None => {
                    ctx.out.error(&format!("ERR Unknown client type '{}'", text(value)));
                    return None;
                }
            }
        } else if is(option, "addr") {
            f.addr = Some(text(value));
        } else if is(option, "laddr") {
            f.laddr = Some(text(value));
        } else if is(option, "user") {
            // `default` is the only user until ACLs exist.
            if value.as_ref() != b"default" {
                ctx.out.error(&format!("ERR No such user '{}'", text(value)));
                return None;
            }
            f.user = Some(text(value));
        } else if is(option, "skipme") {
            if is(value, "yes") {
                f.skip_me = true;
            } else if is(value, "no") {
                f.skip_me = false;
            } else {
                ctx.out.error(errors::SYNTAX);
                return None;
            }
        } else {
            ctx.out.error(errors::SYNTAX);
            return None;
        }
        i += 2;
    }
    Some(f)
}

/// CLIENT KILL addr (old form: OK or "No such client", may kill the caller) or
/// CLIENT KILL <filter> <value> ... (new form: the number killed, skips the caller by default).
/// Killed clients leave CLIENT LIST at once; the caller itself closes after this reply.
fn kill(ctx: &mut Ctx, args: &[Bytes]) {
    let old_form = args.len() == 3;
    let filter = if old_form {
        KillFilter { addr: Some(text(&args[2])), skip_me: false, ..Default::default() }
    } else {
        match kill_filter(ctx, args) {
            Some(f) => f,
            None => return,
        }
    };
    ctx.client.publish_info();
    let handles: Vec<Arc<ClientHandle>> = ctx.shared.clients.lock().values().cloned().collect();
    let mut killed = 0;
    for handle in handles {
        let info = handle.info.lock().clone();
        let matches = filter.addr.as_ref().is_none_or(|a| *a == handle.addr)
            && filter.laddr.as_ref().is_none_or(|a| *a == handle.laddr)
            && filter.id.is_none_or(|id| id == handle.id)
            && filter.client_type.is_none_or(|t| t == type_of(&info))
            && filter.user.as_ref().is_none_or(|u| *u == info.user);
        if !matches {
            continue;
        }
        if handle.id == ctx.client.id {
            if filter.skip_me {
                continue;
            }
            ctx.client.close_after_reply = true;
        } else {
            disconnect(ctx.shared, &handle);
        }
        killed += 1;
    }
    if !old_form {
        ctx.out.int(killed);
    } else if killed == 0 {
        ctx.out.error("ERR No such client");
    } else {
        ctx.out.ok();
    }
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends another client's blocking pop as if it timed out
/// (null reply) or with an error; 1 if that client was blocked.
fn unblock(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(id) = crate::util::parse_i64(&args[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let as_error = match args.get(3) {
        None => false,
        Some(reason) if args.len() == 4 && is(reason, "timeout") => false,
        Some(reason) if args.len() == 4 && is(reason, "error") => true,
        Some(_) => return ctx.out.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
    };
    let unblocked = super::blocking::unblock_with(&mut ctx.ks.get().blocking, id as u64, |out| {
        if as_error {
            out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
        } else {
            out.null_array();
        }
    });
    ctx.out.int(unblocked as i64);
}

fn help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::introspection::help_reply(
        ctx,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "    * ID <client-id> [<client-id> ...]",
            "      Return clients of specified ids.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
}
