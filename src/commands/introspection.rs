//! Introspection commands: COMMAND, SLOWLOG, MEMORY, DEBUG.

use super::args::{is, text};
use super::flags::NAMES;
use super::flags::*;
use super::table::KeyRef;
use super::{CommandSpec, Ctx};
use crate::{cmd, container, subcmd};
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "command",
        // COMMAND alone lists every command; the subcommands are routed by the table.
        arity: -1,
        flags: LOADING | STALE,
        first_key: 0,
        last_key: 0,
        step: 0,
        group: "server",
        summary: "Returns detailed information about all commands.",
        since: "2.8.13",
        run: command,
        subcommands: COMMAND_SUBCOMMANDS,
        parent: "command",
        find_keys: None,
        key_flags: &[],
    },
    container!("slowlog", "server", "2.2.12", "A container for slow log commands.", SLOWLOG_SUBCOMMANDS),
    container!("memory", "server", "4.0.0", "A container for memory diagnostics commands.", MEMORY_SUBCOMMANDS),
    cmd!(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED,
        (0, 0, 0),
        "server",
        "1.0.0",
        "A container for debugging commands.",
        debug
    ),
];

static COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    subcmd!("command", "count", 2, LOADING | STALE, (0, 0, 0), "Returns a count of commands.", command_count),
    subcmd!(
        "command",
        "docs",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns documentary information about one, multiple or all commands.",
        command_docs
    ),
    subcmd!(
        "command",
        "getkeys",
        -3,
        0,
        (0, 0, 0),
        "Extracts the key names from an arbitrary command.",
        command_getkeys
    ),
    subcmd!(
        "command",
        "getkeysandflags",
        -3,
        0,
        (0, 0, 0),
        "Extracts the key names and access flags for an arbitrary command.",
        command_getkeysandflags
    ),
    subcmd!(
        "command",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        command_help
    ),
    subcmd!(
        "command",
        "info",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns information about one, multiple or all commands.",
        command_info
    ),
    subcmd!("command", "list", -2, LOADING | STALE, (0, 0, 0), "Returns a list of command names.", command_list),
];

static SLOWLOG_SUBCOMMANDS: &[CommandSpec] = &[
    subcmd!("slowlog", "get", -2, ADMIN | LOADING | STALE, (0, 0, 0), "Returns the slow log's entries.", slowlog_get),
    subcmd!(
        "slowlog",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Show helpful text about the different subcommands.",
        slowlog_help
    ),
    subcmd!(
        "slowlog",
        "len",
        2,
        ADMIN | LOADING | STALE,
        (0, 0, 0),
        "Returns the number of entries in the slow log.",
        slowlog_len
    ),
    subcmd!(
        "slowlog",
        "reset",
        2,
        ADMIN | LOADING | STALE,
        (0, 0, 0),
        "Clears all entries from the slow log.",
        slowlog_reset
    ),
];

static MEMORY_SUBCOMMANDS: &[CommandSpec] = &[
    subcmd!("memory", "doctor", 2, 0, (0, 0, 0), "Outputs a memory problems report.", memory_doctor),
    subcmd!(
        "memory",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        memory_help
    ),
    subcmd!("memory", "malloc-stats", 2, 0, (0, 0, 0), "Returns the allocator statistics.", memory_malloc_stats),
    subcmd!("memory", "purge", 2, 0, (0, 0, 0), "Asks the allocator to release memory.", memory_purge),
    subcmd!("memory", "stats", 2, 0, (0, 0, 0), "Returns details about memory usage.", memory_stats),
    subcmd!("memory", "usage", -3, READONLY, (2, 2, 1), "Estimates the memory usage of a key.", memory_usage),
];

/// Writes a HELP reply in Redis's layout: a title line, the given lines, then HELP itself.
pub fn help_reply(ctx: &mut Ctx, command: &str, lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(&format!("{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for line in lines {
        ctx.out.simple(line);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Print this help.");
}

/// DEBUG POPULATE count [prefix] [size]: `count` string keys `<prefix>:<n>` (prefix `key`)
/// holding `value:<n>`, cut or zero-padded to `size` bytes when given; keys that exist are
/// left alone. As in Redis, nothing is logged or announced.
fn debug_populate(ctx: &mut Ctx, args: &[Bytes]) {
    let positive = |arg: &[u8]| crate::util::parse_i64(arg).filter(|n| *n >= 0);
    let Some(count) = positive(&args[2]) else {
        return ctx.out.error("ERR value is out of range, must be positive");
    };
    let size = match args.get(4) {
        Some(arg) => match positive(arg) {
            Some(n) => Some(n as usize),
            None => return ctx.out.error("ERR value is out of range, must be positive"),
        },
        None => None,
    };
    let prefix: &[u8] = args.get(3).map_or(b"key", |p| &p[..]);
    let db = ctx.db();
    let ks = ctx.ks.get();
    for n in 0..count {
        let mut key = prefix.to_vec();
        key.extend_from_slice(format!(":{n}").as_bytes());
        if ks.peek(db, &key).is_some() {
            continue;
        }
        let mut value = format!("value:{n}").into_bytes();
        if let Some(size) = size {
            value.resize(size, 0);
        }
        ks.insert(db, crate::storage::Entry::string(&key, &value, 0), &[]);
    }
    ctx.out.ok();
}

/// DEBUG: only the subcommands that are meaningful here; the rest reply with an error that
/// says so, rather than pretending to work.
fn debug(ctx: &mut Ctx, args: &[Bytes]) {
    let sub = text(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "help" => help_reply(
            ctx,
            "DEBUG",
            &[
                "AOF-FLUSH-SLEEP <microsec>",
                "    Server will sleep before flushing the AOF, this is used for testing.",
                "DIGEST",
                "    Output a hex signature representing the current DB content.",
                "POPULATE <count> [<prefix>] [<size>]",
                "    Create <count> string keys named key:<num>. If <prefix> is specified then",
                "    it is used instead of the 'key' prefix. These are not propagated to",
                "    replicas. Cluster slots are not respected so keys not belonging to the",
                "    current node can be created in cluster mode.",
                "DIGEST-VALUE <key> [<key> ...]",
                "    Output a hex signature of the values of all the specified keys.",
                "LOADAOF",
                "    Flush the AOF buffers on disk and reload the AOF in memory.",
                "LOG <message>",
                "    Write <message> to the server log.",
                "OBJECT <key>",
                "    Show low level info about the key and associated value.",
                "QUICKLIST-PACKED-THRESHOLD <size>",
                "    Sets the threshold for elements to be inserted as plain vs packed nodes",
                "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
                "RELOAD",
                "    Save the RDB on disk and reload it back to memory.",
                "SET-ACTIVE-EXPIRE <0|1>",
                "    Setting it to 0 disables expiring keys in background when they are not accessed.",
                "PROTOCOL <type>",
                "    Reply with a test value of the specified type. <type> can be: string,",
                "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
                "    true, false.",
                "SET-DISABLE-DENY-SCRIPTS <0|1>",
                "    Enable/disable the check that denies commands marked as not allowed in scripts (noscript).",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        ),
        "reload" if args.len() == 2 => {
            let ks = ctx.ks.get();
            match crate::persistence::debug_reload(ctx.shared, ks) {
                Ok(()) => ctx.out.ok(),
                Err(e) => {
                    tracing::warn!("DEBUG RELOAD: {e}");
                    ctx.out.error("ERR Error trying to load the RDB dump, check server logs.");
                }
            }
        }
        "populate" if (3..=5).contains(&args.len()) => debug_populate(ctx, args),
        "aof-flush-sleep" if args.len() == 3 => {
            let us = crate::util::parse_i64(&args[2]).unwrap_or(0).max(0) as u64;
            ctx.shared.aof.flush_sleep_us.store(us, std::sync::atomic::Ordering::Relaxed);
            ctx.out.ok();
        }
        "loadaof" if args.len() == 2 => {
            // The load takes the keyspace for itself, under one hold.
            ctx.ks.release();
            match crate::aof::debug_loadaof(ctx.shared) {
                Ok(()) => ctx.out.ok(),
                Err(e) => {
                    // As Redis: the dataset is gone and what is on disk cannot be read.
                    tracing::error!("DEBUG LOADAOF: {e}");
                    std::process::exit(1);
                }
            }
        }
        "protocol" if args.len() == 3 => debug_protocol(ctx, &text(&args[2]).to_ascii_lowercase()),
        "set-disable-deny-scripts" if args.len() == 3 => {
            let on = crate::util::parse_i64(&args[2]).is_some_and(|n| n != 0);
            ctx.shared.scripting.disable_deny_scripts.store(on, std::sync::atomic::Ordering::Relaxed);
            ctx.out.ok();
        }
        "set-active-expire" if args.len() == 3 => {
            // As Redis's `atoi`: anything but a non-zero number turns it off.
            let on = crate::util::parse_i64(&args[2]).is_some_and(|n| n != 0);
            ctx.shared.settings.active_expire.store(on, std::sync::atomic::Ordering::Relaxed);
            ctx.out.ok();
        }
        "quicklist-packed-threshold" if args.len() == 3 => {
            // As Redis: 0 restores the default; a size near 4 GiB or more is refused.
            match crate::util::parse_memory(&text(&args[2])) {
                Some(size) if size <= (1 << 32) - (1 << 20) => {
                    let size = if size == 0 { crate::storage::DEFAULT_LIST_PACKED_THRESHOLD } else { size as usize };
                    ctx.ks.get().encoding.list_packed_threshold = size;
                    ctx.out.ok();
                }
                _ => ctx.out.error("ERR argument must be a memory value bigger than 1 and smaller than 4gb"),
            }
        }
        "object" if args.len() == 3 => debug_object(ctx, &args[2]),
        "digest" if args.len() == 2 => {
            let digest = crate::engine::persist::digest::keyspace_digest(ctx.ks.get());
            ctx.out.simple(&crate::engine::persist::digest::hex(&digest));
        }
        "digest-value" => {
            let db = ctx.db();
            let ks = ctx.ks.get();
            let digests: Vec<String> = args[2..]
                .iter()
                .map(|key| {
                    let digest = ks.get(db, key).map_or([0; 20], crate::engine::persist::digest::value_digest);
                    crate::engine::persist::digest::hex(&digest)
                })
                .collect();
            ctx.out.array(digests.len());
            for d in &digests {
                ctx.out.simple(d);
            }
        }
        "log" if args.len() == 3 => {
            tracing::warn!("DEBUG LOG: {}", text(&args[2]));
            ctx.out.ok();
        }
        "sleep" if args.len() == 3 => {
            let pause = match sleep_duration(&args[2]) {
                Ok(pause) => pause,
                Err(msg) => return ctx.out.error(msg),
            };
            // Like Redis, the whole server stops: hold the keyspace while sleeping.
            ctx.ks.get();
            std::thread::sleep(pause);
            ctx.out.ok();
        }
        "log" | "sleep" => {
            ctx.out.error(&format!("ERR wrong number of arguments for 'debug|{sub}' command"));
        }
        _ => ctx.out.error(&format!(
            "ERR DEBUG {} is not supported by this server (supported: AOF-FLUSH-SLEEP, DIGEST, DIGEST-VALUE, LOADAOF, LOG, OBJECT, POPULATE, PROTOCOL, QUICKLIST-PACKED-THRESHOLD, RELOAD, SET-ACTIVE-EXPIRE, SET-DISABLE-DENY-SCRIPTS, SLEEP, HELP)",
            text(&args[1]).to_ascii_uppercase()
        )),
    }
}

/// DEBUG OBJECT key: Redis's line about the value (address, encoding, serialized length, LRU
/// clock and idle seconds), without touching the key.
/// DEBUG PROTOCOL: one reply of each RESP type, as Redis's debug.c writes them.
fn debug_protocol(ctx: &mut Ctx, kind: &str) {
    let out = &mut *ctx.out;
    match kind {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        // Redis's test value, not π.
        #[allow(clippy::approx_constant)]
        "double" => out.double(3.141),
        "bignum" => {
            if out.resp3 {
                out.raw(b"(1234567999999999999999999999999999999\r\n")
            } else {
                out.bulk(b"1234567999999999999999999999999999999")
            }
        }
        "null" => out.null(),
        "array" | "set" => {
            if kind == "array" {
                out.array(3)
            } else {
                out.set(3)
            }
            for j in 0..3 {
                out.int(j);
            }
        }
        "map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        "attrib" => {
            if out.resp3 {
                out.raw(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !out.resp3 {
                return out.error("ERR RESP2 is not supported by this command");
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        "verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        _ => out.error(
            "ERR Wrong protocol type name. Please use one of the following: \
             string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
}

fn debug_object(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db();
    let compress = ctx.shared.config.read().get_bool("rdbcompression");
    let ks = ctx.ks.get();
    let options = crate::engine::persist::snapshot::write_options(ks, compress);
    let Some(entry) = ks.peek_stored(db, key) else {
        return ctx.out.error("ERR no such key");
    };
    let (address, encoding, access) =
        (std::ptr::from_ref(entry) as *const u8 as usize, super::keys::encoding_of(entry), entry.access());
    // The value's serialized length: its DUMP payload without the type byte and the footer.
    let length = crate::engine::persist::snapshot::dump_entry(entry, options).map_or(0, |p| p.len().saturating_sub(11));
    let idle = ctx.ks.get().idle_seconds_since(access);
    ctx.out.simple(&format!(
        "Value at:{address:#x} refcount:1 encoding:{encoding} serializedlength:{length} lru:{} lru_seconds_idle:{idle}",
        access & 0x00ff_ffff
    ));
}

/// The pause of `DEBUG SLEEP seconds`: a decimal number of seconds whose microseconds fit
/// a signed 64-bit integer, as Redis computes them.
fn sleep_duration(arg: &[u8]) -> Result<std::time::Duration, &'static str> {
    let secs = crate::util::parse_f64(arg).filter(|s| !s.is_nan()).ok_or(super::errors::NOT_FLOAT)?;
    let micros = secs * 1e6;
    if !(0.0..=i64::MAX as f64).contains(&micros) {
        return Err("ERR value is out of range");
    }
    Ok(std::time::Duration::from_micros(micros as u64))
}

// ----- COMMAND -----

/// ACL categories Redis assigns by command group.
fn group_category(group: &str) -> Option<&'static str> {
    Some(match group {
        "generic" => "@keyspace",
        "string" => "@string",
        "list" => "@list",
        "hash" => "@hash",
        "set" => "@set",
        "sorted-set" => "@sortedset",
        "pubsub" => "@pubsub",
        "transactions" => "@transaction",
        "scripting" => "@scripting",
        "connection" => "@connection",
        "hyperloglog" => "@hyperloglog",
        "geo" => "@geo",
        "stream" => "@stream",
        "bitmap" => "@bitmap",
        _ => return None,
    })
}

/// The ACL categories of a command, derived from its flags and group.
fn categories(spec: &CommandSpec) -> Vec<&'static str> {
    let mut cats = Vec::new();
    let group = if spec.parent.is_empty() || spec.parent == spec.name {
        spec.group
    } else {
        super::table::lookup(spec.parent.as_bytes()).map_or("", |p| p.group)
    };
    if let Some(c) = group_category(group) {
        cats.push(c);
    }
    if spec.flags & WRITE != 0 {
        cats.push("@write");
    }
    if spec.flags & READONLY != 0 {
        cats.push("@read");
    }
    if spec.flags & ADMIN != 0 {
        cats.push("@admin");
        cats.push("@dangerous");
    }
    if spec.flags & PUBSUB != 0 && !cats.contains(&"@pubsub") {
        cats.push("@pubsub");
    }
    if spec.flags & BLOCKING != 0 {
        cats.push("@blocking");
    }
    cats.push(if spec.flags & FAST != 0 { "@fast" } else { "@slow" });
    cats
}

/// One COMMAND INFO entry (Redis 7 layout: name, arity, flags, first key, last key, step,
/// ACL categories, tips, key specs, subcommands).
fn write_command_info(ctx: &mut Ctx, spec: &CommandSpec) {
    ctx.out.array(10);
    ctx.out.bulk(spec.full_name().as_bytes());
    ctx.out.int(spec.arity as i64);
    let names: Vec<&str> = NAMES.iter().filter(|(bit, _)| spec.flags & bit != 0).map(|(_, n)| *n).collect();
    ctx.out.set(names.len());
    for n in names {
        ctx.out.simple(n);
    }
    ctx.out.int(spec.first_key as i64);
    ctx.out.int(spec.last_key as i64);
    ctx.out.int(spec.step as i64);
    let cats = categories(spec);
    ctx.out.set(cats.len());
    for c in cats {
        ctx.out.simple(c);
    }
    ctx.out.set(0);
    write_key_specs(ctx, spec);
    ctx.out.array(spec.subcommands.len());
    for sub in spec.subcommands {
        write_command_info(ctx, sub);
    }
}

fn write_key_specs(ctx: &mut Ctx, spec: &CommandSpec) {
    if spec.first_key <= 0 {
        return ctx.out.array(0);
    }
    ctx.out.array(1);
    ctx.out.map(3);
    ctx.out.bulk(b"flags");
    let flags = spec.fixed_key_flags(0);
    ctx.out.set(flags.len());
    for f in flags {
        ctx.out.simple(f);
    }
    ctx.out.bulk(b"begin_search");
    ctx.out.map(2);
    ctx.out.bulk(b"type");
    ctx.out.bulk(b"index");
    ctx.out.bulk(b"spec");
    ctx.out.map(1);
    ctx.out.bulk(b"index");
    ctx.out.int(spec.first_key as i64);
    ctx.out.bulk(b"find_keys");
    ctx.out.map(2);
    ctx.out.bulk(b"type");
    ctx.out.bulk(b"range");
    ctx.out.bulk(b"spec");
    ctx.out.map(3);
    ctx.out.bulk(b"lastkey");
    // Relative to the first key, as Redis's key specs express it.
    ctx.out.int(if spec.last_key < 0 { spec.last_key as i64 } else { (spec.last_key - spec.first_key) as i64 });
    ctx.out.bulk(b"keystep");
    ctx.out.int(spec.step as i64);
    ctx.out.bulk(b"limit");
    ctx.out.int(0);
}

fn all_commands_sorted() -> Vec<&'static CommandSpec> {
    let mut all: Vec<&'static CommandSpec> = super::table::all().collect();
    all.sort_by_key(|s| s.name);
    all
}

fn command(ctx: &mut Ctx, _args: &[Bytes]) {
    let all = all_commands_sorted();
    ctx.out.array(all.len());
    for spec in all {
        write_command_info(ctx, spec);
    }
}

fn command_count(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.int(super::table::all().count() as i64);
}

fn command_info(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() == 2 {
        return command(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in &args[2..] {
        match super::table::lookup_full_name(&text(name)) {
            Some(spec) => write_command_info(ctx, spec),
            None => ctx.out.null_array(),
        }
    }
}

fn write_command_docs(ctx: &mut Ctx, spec: &CommandSpec) {
    let group = if spec.group.is_empty() {
        super::table::lookup(spec.parent.as_bytes()).map_or("server", |p| p.group)
    } else {
        spec.group
    };
    let since = if spec.since.is_empty() {
        super::table::lookup(spec.parent.as_bytes()).map_or("", |p| p.since)
    } else {
        spec.since
    };
    let has_subs = !spec.subcommands.is_empty();
    ctx.out.map(3 + has_subs as usize);
    ctx.out.bulk(b"summary");
    ctx.out.bulk(spec.summary.as_bytes());
    ctx.out.bulk(b"since");
    ctx.out.bulk(since.as_bytes());
    ctx.out.bulk(b"group");
    ctx.out.bulk(group.as_bytes());
    if has_subs {
        ctx.out.bulk(b"subcommands");
        ctx.out.map(spec.subcommands.len());
        for sub in spec.subcommands {
            ctx.out.bulk(sub.full_name().as_bytes());
            write_command_docs(ctx, sub);
        }
    }
}

fn command_docs(ctx: &mut Ctx, args: &[Bytes]) {
    let specs: Vec<&'static CommandSpec> = if args.len() == 2 {
        all_commands_sorted()
    } else {
        args[2..].iter().filter_map(|n| super::table::lookup_full_name(&text(n))).collect()
    };
    ctx.out.map(specs.len());
    for spec in specs {
        ctx.out.bulk(spec.full_name().as_bytes());
        write_command_docs(ctx, spec);
    }
}

fn command_list(ctx: &mut Ctx, args: &[Bytes]) {
    enum Filter {
        All,
        Module,
        AclCat(String),
        Pattern(Bytes),
    }
    let filter = match args.len() {
        2 => Filter::All,
        5 if is(&args[2], "FILTERBY") && is(&args[3], "MODULE") => Filter::Module,
        5 if is(&args[2], "FILTERBY") && is(&args[3], "ACLCAT") => {
            Filter::AclCat(format!("@{}", text(&args[4]).to_ascii_lowercase()))
        }
        5 if is(&args[2], "FILTERBY") && is(&args[3], "PATTERN") => Filter::Pattern(args[4].clone()),
        _ => return ctx.out.error(super::errors::SYNTAX),
    };
    let mut names = Vec::new();
    for spec in all_commands_sorted() {
        let entries = std::iter::once(spec).chain(spec.subcommands.iter());
        for s in entries {
            let name = s.full_name();
            let keep = match &filter {
                Filter::All => true,
                Filter::Module => false,
                Filter::AclCat(cat) => categories(s).contains(&cat.as_str()),
                Filter::Pattern(p) => crate::glob::glob_match(p, name.as_bytes(), true),
            };
            if keep {
                names.push(name);
            }
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

/// The keys of `cmd_args` (a full command line) with their access flags, or the error to
/// reply, as Redis's `getKeysSubcommandImpl`.
fn command_keys(cmd_args: &[Bytes]) -> Result<Vec<KeyRef>, &'static str> {
    let spec = super::table::lookup_command(cmd_args).ok_or("ERR Invalid command specified")?;
    if !spec.has_keys() {
        return Err("ERR The command has no key arguments");
    }
    let n = cmd_args.len() as i32;
    if (spec.arity > 0 && n != spec.arity) || n < -spec.arity {
        return Err("ERR Invalid number of arguments specified for command");
    }
    let keys = spec.key_refs(cmd_args);
    // Scripts may name no key; every other command names at least one.
    if keys.is_empty() && spec.group != "scripting" {
        return Err("ERR Invalid arguments specified for command");
    }
    Ok(keys)
}

fn command_getkeys(ctx: &mut Ctx, args: &[Bytes]) {
    match command_keys(&args[2..]) {
        Ok(keys) => {
            ctx.out.array(keys.len());
            for k in keys {
                ctx.out.bulk(&args[2 + k.pos]);
            }
        }
        Err(e) => ctx.out.error(e),
    }
}

fn command_getkeysandflags(ctx: &mut Ctx, args: &[Bytes]) {
    match command_keys(&args[2..]) {
        Ok(keys) => {
            ctx.out.array(keys.len());
            for k in keys {
                ctx.out.array(2);
                ctx.out.bulk(&args[2 + k.pos]);
                ctx.out.set(k.flags.len());
                for f in k.flags {
                    ctx.out.simple(f);
                }
            }
        }
        Err(e) => ctx.out.error(e),
    }
}

fn command_help(ctx: &mut Ctx, _args: &[Bytes]) {
    help_reply(
        ctx,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all commands.",
            "COUNT",
            "    Return the total number of commands in this server.",
            "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
            "    Return a list of all commands in this server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full command.",
        ],
    );
}

// ----- SLOWLOG -----

fn slowlog_get(ctx: &mut Ctx, args: &[Bytes]) {
    let count = match args.get(2) {
        None => 10,
        Some(arg) => match crate::util::parse_i64(arg) {
            Some(-1) => usize::MAX,
            Some(n) if n >= 0 => n as usize,
            Some(_) => return ctx.out.error("ERR count should be greater than or equal to -1"),
            None => return ctx.out.error(super::errors::NOT_INTEGER),
        },
    };
    let log = ctx.shared.slowlog.lock();
    let n = count.min(log.len());
    ctx.out.array(n);
    for entry in log.iter().take(n) {
        ctx.out.array(6);
        ctx.out.int(entry.id as i64);
        ctx.out.int(entry.time as i64);
        ctx.out.int(entry.duration_us as i64);
        ctx.out.array(entry.args.len());
        for a in &entry.args {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(entry.addr.as_bytes());
        ctx.out.bulk(entry.name.as_bytes());
    }
}

fn slowlog_len(ctx: &mut Ctx, _args: &[Bytes]) {
    let n = ctx.shared.slowlog.lock().len();
    ctx.out.int(n as i64);
}

fn slowlog_reset(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.shared.slowlog.lock().clear();
    ctx.out.ok();
}

fn slowlog_help(ctx: &mut Ctx, _args: &[Bytes]) {
    help_reply(
        ctx,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

// ----- MEMORY -----

fn memory_usage(ctx: &mut Ctx, args: &[Bytes]) {
    match args.len() {
        3 => {}
        5 if is(&args[3], "SAMPLES") => {
            // Every value is measured exactly, so the sample count only has to be valid.
            if super::args::int(ctx, &args[4]).is_none() {
                return;
            }
        }
        _ => return ctx.out.error(super::errors::SYNTAX),
    }
    let db = ctx.db();
    match ctx.ks.get().get(db, &args[2]) {
        // The entry plus its slot pointer in the table.
        Some(entry) => {
            let bytes = entry.memory() + std::mem::size_of::<usize>();
            ctx.out.int(bytes as i64)
        }
        None => ctx.out.null(),
    }
}

fn memory_doctor(ctx: &mut Ctx, _args: &[Bytes]) {
    let used = super::info::used_memory(ctx.ks.get());
    let report = format!(
        "Memory report: {} in use ({} of it keys and values). This server has no allocator \
         fragmentation or fork-related diagnostics to run; INFO memory and MEMORY STATS show the details.",
        super::info::human_bytes(used),
        super::info::human_bytes(used - super::info::BASELINE_MEMORY)
    );
    ctx.out.verbatim(report.as_bytes());
}

fn memory_stats(ctx: &mut Ctx, _args: &[Bytes]) {
    let ks = ctx.ks.get();
    let used = super::info::used_memory(ks);
    let dataset = ks.used_memory() as u64;
    let keys: usize = (0..ks.databases()).map(|db| ks.db(db).len()).sum();
    let dbs: Vec<(usize, usize, usize)> =
        (0..ks.databases()).map(|db| (db, ks.db(db).len(), ks.volatile(db))).filter(|d| d.1 > 0).collect();
    let peak = ctx.shared.note_memory(used);
    let rss = super::info::rss_bytes();
    ctx.out.map(10 + dbs.len());
    int_field(ctx, "peak.allocated", peak as i64);
    int_field(ctx, "total.allocated", used as i64);
    int_field(ctx, "startup.allocated", super::info::BASELINE_MEMORY as i64);
    int_field(ctx, "overhead.total", super::info::BASELINE_MEMORY as i64);
    int_field(ctx, "keys.count", keys as i64);
    int_field(ctx, "keys.bytes-per-key", if keys > 0 { (dataset / keys as u64) as i64 } else { 0 });
    int_field(ctx, "dataset.bytes", dataset as i64);
    for (db, keys, _) in dbs {
        ctx.out.bulk(format!("db.{db}").as_bytes());
        ctx.out.map(2);
        // Entries account for their own bytes, so a table's slot pointers are its only
        // overhead; expiry times live in the entries, so there is no separate expires table.
        int_field(ctx, "overhead.hashtable.main", (keys * std::mem::size_of::<usize>()) as i64);
        int_field(ctx, "overhead.hashtable.expires", 0);
    }
    ctx.out.bulk(b"dataset.percentage");
    ctx.out.double(dataset as f64 * 100.0 / used.max(1) as f64);
    ctx.out.bulk(b"peak.percentage");
    ctx.out.double(used as f64 * 100.0 / peak.max(1) as f64);
    ctx.out.bulk(b"fragmentation");
    ctx.out.double(rss as f64 / used.max(1) as f64);
}

fn int_field(ctx: &mut Ctx, name: &str, value: i64) {
    ctx.out.bulk(name.as_bytes());
    ctx.out.int(value);
}

fn memory_malloc_stats(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.verbatim(b"Stats not supported for the current allocator");
}

fn memory_purge(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.ok();
}

fn memory_help(ctx: &mut Ctx, _args: &[Bytes]) {
    help_reply(
        ctx,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value.",
        ],
    );
}
