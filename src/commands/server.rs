//! Server commands: INFO, CONFIG, DBSIZE, FLUSHDB/FLUSHALL, SWAPDB, TIME, SHUTDOWN, SAVE ...

use super::args::text;
use super::flags::*;
use super::introspection::help_reply;
use super::{CommandSpec, Ctx};
use crate::{cmd, container, subcmd};
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    container!(
        "config",
        "server",
        "2.0.0",
        "A container for server configuration commands.",
        CONFIG_SUBCOMMANDS
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
    cmd!(
        "flushall",
        -1,
        WRITE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        flushall
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

fn flushall(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.ks.get().flush_all();
    ctx.out.ok();
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
    if args.len() % 2 != 0 {
        return ctx
            .out
            .error("ERR wrong number of arguments for 'config|set' command");
    }
    let pairs: Vec<(String, String)> = args[2..]
        .chunks(2)
        .map(|p| (text(&p[0]), text(&p[1])))
        .collect();
    let changed = match ctx.shared.config.write().set_many(&pairs) {
        Ok(changed) => changed,
        Err(e) => return ctx.out.error(&format!("ERR {e}")),
    };
    // Applying a directive may take the keyspace lock itself.
    ctx.ks.release();
    for dir in changed {
        if let Err(e) = ctx.shared.apply_config(dir.name) {
            return ctx.out.error(&format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - {e}",
                dir.name
            ));
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
