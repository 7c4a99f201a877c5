//! Server commands: INFO, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, TIME, SHUTDOWN, SAVE ...

use super::args::{is, text};
use super::flags::*;
use super::introspection::help_reply;
use super::{errors, CommandSpec, Ctx};
use crate::{cmd, container, subcmd};
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    container!("config", "server", "2.0.0", "A container for server configuration commands.", CONFIG_SUBCOMMANDS),
    cmd!(
        "info",
        -1,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        super::info::info
    ),
    cmd!(
        "dbsize",
        1,
        READONLY | FAST,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        dbsize
    ),
    cmd!("flushdb", -1, WRITE, (0, 0, 0), "server", "1.0.0", "Remove all keys from the current database.", flushdb),
    cmd!("flushall", -1, WRITE, (0, 0, 0), "server", "1.0.0", "Removes all keys from all databases.", flushall),
    cmd!("swapdb", 3, WRITE | FAST, (0, 0, 0), "server", "4.0.0", "Swaps two Redis databases.", swapdb),
    cmd!("time", 1, LOADING | STALE | FAST, (0, 0, 0), "server", "2.6.0", "Returns the server time.", time),
    cmd!(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.",
        lastsave
    ),
    cmd!(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_MULTI,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk.",
        save
    ),
    cmd!(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Asynchronously saves the database(s) to disk.",
        bgsave
    ),
    cmd!(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Asynchronously rewrites the append-only file to disk.",
        bgrewriteaof
    ),
    cmd!(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.",
        shutdown
    ),
];

static CONFIG_SUBCOMMANDS: &[CommandSpec] = &[
    subcmd!(
        "config",
        "get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "Returns the effective values of configuration parameters.",
        config_get
    ),
    subcmd!(
        "config",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        config_help
    ),
    subcmd!(
        "config",
        "resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "Resets the server's statistics.",
        config_resetstat
    ),
    subcmd!(
        "config",
        "rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "Persists the effective configuration to file.",
        config_rewrite
    ),
    subcmd!(
        "config",
        "set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "Sets configuration parameters in-flight.",
        config_set
    ),
];

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) {
    let db = ctx.db();
    let n = ctx.ks.get().db(db).len();
    ctx.out.int(n as i64);
}

// ----- CONFIG -----

fn config_get(ctx: &mut Ctx, args: &[Bytes]) {
    let pairs: Vec<(&'static str, String)> = {
        let config = ctx.shared.config.read();
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        for pattern in &args[2..] {
            for (name, value) in config.get_matching(&text(pattern)) {
                // Several patterns may match one parameter; Redis lists it once.
                if !pairs.iter().any(|(n, _)| *n == name) {
                    pairs.push((name, value));
                }
            }
        }
        pairs
    };
    ctx.out.map(pairs.len());
    for (name, value) in pairs {
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(value.as_bytes());
    }
}

fn config_set(ctx: &mut Ctx, args: &[Bytes]) {
    if !args.len().is_multiple_of(2) {
        return ctx.out.error("ERR wrong number of arguments for 'config|set' command");
    }
    let pairs: Vec<(String, String)> = args[2..].chunks(2).map(|p| (text(&p[0]), text(&p[1]))).collect();
    // The listeners are fixed at startup: `port` and `bind` accept only their current values.
    let current = |name: &str| ctx.shared.config.read().get(name).to_string();
    for (name, value) in &pairs {
        let moved = |n: &str| name.eq_ignore_ascii_case(n) && *value != current(n);
        if moved("port") {
            return ctx.out.error(&format!(
                "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port: \
                 moving the listener to port {value} at run time is not supported by this server"
            ));
        }
        if moved("bind") {
            return ctx.out.error(
                "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses: \
                 changing the listen addresses at run time is not supported by this server",
            );
        }
    }
    // Protected directives change only as `enable-protected-configs` allows this client.
    let protected_level = current("enable-protected-configs");
    for (name, _) in &pairs {
        let Some(dir) = crate::config::directive(name) else { continue };
        if crate::config::PROTECTED_CONFIGS.contains(&dir.name)
            && !crate::config::protected_action_allowed(&protected_level, &ctx.client.handle.addr)
        {
            return ctx.out.error(&format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config"
            ));
        }
    }
    // Keys belong to tenants by the pattern they were written under: it may change only
    // while the server holds no keys.
    for (name, value) in &pairs {
        let lower = name.to_ascii_lowercase();
        let changes = (lower == "tenant-key-pattern" || lower == "tenant-key-separator")
            && value.split_whitespace().collect::<Vec<_>>().join(" ") != ctx.shared.config.read().get(&lower);
        if changes && ctx.ks.get().total_keys() > 0 {
            return ctx.out.error(&format!(
                "ERR CONFIG SET failed (possibly related to argument '{lower}') - \
                 the tenant key pattern can only change while the server holds no keys (FLUSHALL first)"
            ));
        }
    }
    let changed = match ctx.shared.config.write().set_many(&pairs) {
        Ok(changed) => changed,
        Err(e) => return ctx.out.error(&format!("ERR {e}")),
    };
    // Applying a directive may take the keyspace lock itself.
    ctx.ks.release();
    for dir in changed {
        if let Err(e) = ctx.shared.apply_config(dir.name) {
            return ctx
                .out
                .error(&format!("ERR CONFIG SET failed (possibly related to argument '{}') - {e}", dir.name));
        }
    }
    ctx.out.ok();
}

fn config_resetstat(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.shared.reset_stats(ctx.ks.get());
    ctx.out.ok();
}

fn config_rewrite(ctx: &mut Ctx, _args: &[Bytes]) {
    let result = ctx.shared.config.read().rewrite();
    match result {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(&format!("ERR {e}")),
    }
}

fn config_help(ctx: &mut Ctx, _args: &[Bytes]) {
    help_reply(
        ctx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
}

// ----- keyspace-wide commands -----

/// Parses the optional `ASYNC|SYNC` of FLUSHDB / FLUSHALL; writes the error on failure.
fn flush_option(ctx: &mut Ctx, args: &[Bytes]) -> bool {
    match args.len() {
        1 => true,
        2 if is(&args[1], "ASYNC") || is(&args[1], "SYNC") => true,
        _ => {
            ctx.out.error(errors::SYNTAX);
            false
        }
    }
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) {
    if flush_option(ctx, args) {
        let db = ctx.db();
        // Large tables are freed in the background either way, so ASYNC and SYNC behave alike.
        ctx.ks.get().flush_db(db);
        ctx.out.ok();
    }
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) {
    if flush_option(ctx, args) {
        let ks = ctx.ks.get();
        ks.flush_all();
        crate::persistence::after_flushall(ctx.shared, ks);
        ctx.out.ok();
    }
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) {
    let databases = ctx.ks.get().databases() as i64;
    let Some(a) = crate::util::parse_i64(&args[1]) else {
        return ctx.out.error("ERR invalid first DB index");
    };
    let Some(b) = crate::util::parse_i64(&args[2]) else {
        return ctx.out.error("ERR invalid second DB index");
    };
    if !(0..databases).contains(&a) || !(0..databases).contains(&b) {
        return ctx.out.error(errors::DB_INDEX);
    }
    ctx.ks.get().swap_db(a as usize, b as usize);
    ctx.out.ok();
}

fn time(ctx: &mut Ctx, _args: &[Bytes]) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros() as i64);
}

fn lastsave(ctx: &mut Ctx, _args: &[Bytes]) {
    // The start time until the first save, as in Redis.
    ctx.out.int(ctx.shared.persistence.last_save() as i64);
}

/// BGREWRITEAOF: a forked child writes the new base of the append-only file.
fn bgrewriteaof(ctx: &mut Ctx, _args: &[Bytes]) {
    let ks = ctx.ks.get();
    match crate::aof::bgrewriteaof(ctx.shared, ks) {
        Ok(status) => ctx.out.simple(status),
        Err(e) => ctx.out.error(&e),
    }
}

/// SAVE: writes the snapshot in the foreground.
fn save(ctx: &mut Ctx, _args: &[Bytes]) {
    let ks = ctx.ks.get();
    match crate::persistence::save(ctx.shared, ks) {
        Ok(_) => ctx.out.ok(),
        Err(e) if e.starts_with("Background") => ctx.out.error(&format!("ERR {e}")),
        Err(_) => ctx.out.error("ERR"),
    }
}

/// BGSAVE [SCHEDULE]: forks a child that writes the snapshot. Inside EXEC the save is
/// scheduled for the cron, as Redis does.
fn bgsave(ctx: &mut Ctx, args: &[Bytes]) {
    let schedule = match args.len() {
        1 => false,
        2 if is(&args[1], "SCHEDULE") => true,
        _ => return ctx.out.error(errors::SYNTAX),
    };
    let shared = ctx.shared;
    if shared.persistence.bgsave_in_progress() {
        return ctx.out.error("ERR Background save already in progress");
    }
    if ctx.in_exec {
        crate::persistence::schedule_bgsave(shared);
        return ctx.out.simple("Background saving scheduled");
    }
    // The only kind of child here is a background save, so SCHEDULE starts at once too.
    let _ = schedule;
    match crate::persistence::bgsave(shared, ctx.ks.get()) {
        Ok(_) => ctx.out.simple("Background saving started"),
        Err(e) => ctx.out.error(&format!("ERR {e}")),
    }
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. Saves when SAVE is given or save points are
/// configured (not with NOSAVE); a failed save keeps the server up unless FORCE is given.
/// There are no replicas to wait for, so NOW changes nothing.
fn shutdown(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut save, mut nosave, mut force, mut abort, mut now) = (false, false, false, false, false);
    for arg in &args[1..] {
        if is(arg, "SAVE") {
            save = true;
        } else if is(arg, "NOSAVE") {
            nosave = true;
        } else if is(arg, "FORCE") {
            force = true;
        } else if is(arg, "ABORT") {
            abort = true;
        } else if is(arg, "NOW") {
            now = true;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    if (save && nosave) || (abort && (save || nosave || force || now)) {
        return ctx.out.error(errors::SYNTAX);
    }
    if abort {
        return ctx.out.error("ERR No shutdown in progress.");
    }
    // A script that cannot be killed holds the keyspace: SHUTDOWN NOSAVE ends the process
    // without it, as in Redis; anything else would wait for the script.
    if ctx.shared.scripting.run.timed_out() {
        if !nosave {
            return ctx.out.error(ctx.shared.scripting.run.busy_error());
        }
        tracing::warn!("User requested shutdown...");
        tracing::warn!("Redis is now ready to exit, bye bye...");
        std::process::exit(0);
    }
    let _ = now;
    tracing::warn!("User requested shutdown...");
    let save = save || (!nosave && crate::persistence::save_points_configured(ctx.shared));
    if let Err(e) = crate::persistence::shutdown_save(ctx.shared, ctx.ks.get(), save) {
        if !force {
            tracing::warn!("Error trying to save the DB, can't exit: {e}");
            return ctx.out.error("ERR Errors trying to SHUTDOWN. Check logs.");
        }
    }
    // Like Redis, a successful SHUTDOWN replies nothing: the connection just closes.
    ctx.client.close_after_reply = true;
    ctx.shared.request_shutdown();
}
