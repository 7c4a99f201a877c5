//! KEYCLASS INFO, LIST, OF, RESETSTATS: the statistics of key classes
//! ([`KeyClasses`](crate::keyclass::KeyClasses), kept by the keyspace when
//! `stats-key-pattern` is set).

use super::flags::*;
use super::listing::reply_matching;
use super::{CommandSpec, Ctx};
use crate::{container, subcmd};
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[container!(
    "keyclass",
    "server",
    "1.0.0",
    "Statistics per key class (stats-key-pattern).",
    &[
        subcmd!("keyclass", "info", 3, READONLY, (0, 0, 0), "Returns a key class's keys, memory and hits.", info),
        subcmd!("keyclass", "list", -2, READONLY, (0, 0, 0), "Lists key classes that hold keys or were read.", list),
        subcmd!("keyclass", "of", 3, READONLY | FAST, (2, 2, 1), "Returns the key class a key belongs to.", of),
        subcmd!("keyclass", "resetstats", -2, ADMIN, (0, 0, 0), "Resets key class hits and misses.", resetstats),
        subcmd!("keyclass", "help", 2, READONLY | FAST, (0, 0, 0), "Shows the KEYCLASS subcommands.", help),
    ]
)];

const NOT_CONFIGURED: &str = "ERR no key classes: set stats-key-pattern first";

fn info(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(classes) = ctx.ks.get().classes.as_ref() else {
        return ctx.out.error(NOT_CONFIGURED);
    };
    let s = classes.id_of(&args[2]).map(|id| classes.stats(id)).unwrap_or_default();
    let hit_rate = (s.hits * 100).checked_div(s.hits + s.misses).unwrap_or(0);
    let fields = [
        ("keys", s.keys),
        ("used_memory", s.memory),
        ("hits", s.hits),
        ("misses", s.misses),
        ("hit_rate_percent", hit_rate),
    ];
    ctx.out.map(fields.len());
    for (k, v) in fields {
        ctx.out.bulk(k.as_bytes());
        ctx.out.int(v as i64);
    }
}

fn list(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(pattern) = super::args::match_option(ctx, args) else {
        return;
    };
    let Some(classes) = ctx.ks.get().classes.as_ref() else {
        return ctx.out.error(NOT_CONFIGURED);
    };
    reply_matching(ctx.out, classes.active().map(|(n, _)| n), pattern);
}

fn of(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(classes) = ctx.ks.get().classes.as_ref() else {
        return ctx.out.error(NOT_CONFIGURED);
    };
    ctx.out.bulk(classes.class_name(&args[2]));
}

fn resetstats(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(classes) = ctx.ks.get().classes.as_mut() else {
        return ctx.out.error(NOT_CONFIGURED);
    };
    match args.get(2) {
        None => classes.reset_stats(None),
        Some(name) => {
            if let Some(id) = classes.id_of(name) {
                classes.reset_stats(Some(id));
            }
        }
    }
    ctx.out.ok();
}

fn help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::introspection::help_reply(
        ctx,
        "KEYCLASS",
        &[
            "INFO <class>",
            "    Return the class's keys, used memory, hits and misses.",
            "LIST [MATCH <pattern>]",
            "    List classes that hold keys or were read.",
            "OF <key>",
            "    Return the class a key belongs to.",
            "RESETSTATS [<class>]",
            "    Reset the hits and misses of one class or of all.",
        ],
    );
}
