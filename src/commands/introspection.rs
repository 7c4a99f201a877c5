//! Introspection commands: COMMAND, SLOWLOG, MEMORY, DEBUG, and the scripting commands
//! (FUNCTION, SCRIPT, EVAL, FCALL).
//!
//! This server has no scripting engine. The function library is therefore always empty, and
//! FUNCTION FLUSH/LIST/STATS answer truthfully for an empty library (test suites and tools
//! call them on every connection); commands that would load or run code reply with a clear
//! error instead of pretending to succeed.

use super::args::{is, text};
use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::{cmd, container, subcmd};
use bytes::Bytes;

/// The reply of every command that would need a script engine.
const NO_SCRIPTING: &str = "ERR scripting is not supported by this server";

pub static COMMANDS: &[CommandSpec] = &[
    container!(
        "function",
        "scripting",
        "7.0.0",
        "A container for function commands.",
        FUNCTION_SUBCOMMANDS
    ),
    container!(
        "script",
        "scripting",
        "2.6.0",
        "A container for Lua scripts management commands.",
        SCRIPT_SUBCOMMANDS
    ),
    cmd!(
        "eval",
        -3,
        NOSCRIPT | STALE | MOVABLE_KEYS,
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Executes a server-side Lua script.",
        scripting_unsupported
    ),
    cmd!(
        "eval_ro",
        -3,
        NOSCRIPT | READONLY | MOVABLE_KEYS,
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Executes a read-only server-side Lua script.",
        scripting_unsupported
    ),
    cmd!(
        "evalsha",
        -3,
        NOSCRIPT | STALE | MOVABLE_KEYS,
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Executes a server-side Lua script by SHA1 digest.",
        scripting_unsupported
    ),
    cmd!(
        "evalsha_ro",
        -3,
        NOSCRIPT | READONLY | MOVABLE_KEYS,
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Executes a read-only server-side Lua script by SHA1 digest.",
        scripting_unsupported
    ),
    cmd!(
        "fcall",
        -3,
        NOSCRIPT | STALE | MOVABLE_KEYS,
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Invokes a function.",
        scripting_unsupported
    ),
    cmd!(
        "fcall_ro",
        -3,
        NOSCRIPT | READONLY | MOVABLE_KEYS,
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Invokes a read-only function.",
        scripting_unsupported
    ),
    cmd!(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "A container for debugging commands.",
        debug
    ),
];

static FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    subcmd!(
        "function",
        "delete",
        3,
        NOSCRIPT | WRITE,
        (0, 0, 0),
        "Deletes a library and its functions.",
        function_delete
    ),
    subcmd!(
        "function",
        "dump",
        2,
        NOSCRIPT,
        (0, 0, 0),
        "Dumps all libraries into a serialized binary payload.",
        scripting_unsupported
    ),
    subcmd!(
        "function",
        "flush",
        -2,
        NOSCRIPT | WRITE,
        (0, 0, 0),
        "Deletes all libraries and functions.",
        function_flush
    ),
    subcmd!(
        "function",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        function_help
    ),
    subcmd!(
        "function",
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        (0, 0, 0),
        "Terminates a function during execution.",
        not_busy
    ),
    subcmd!(
        "function",
        "list",
        -2,
        NOSCRIPT,
        (0, 0, 0),
        "Returns information about all libraries.",
        function_list
    ),
    subcmd!(
        "function",
        "load",
        -3,
        NOSCRIPT | WRITE | DENYOOM,
        (0, 0, 0),
        "Creates a library.",
        scripting_unsupported
    ),
    subcmd!(
        "function",
        "restore",
        -3,
        NOSCRIPT | WRITE | DENYOOM,
        (0, 0, 0),
        "Restores all libraries from a payload.",
        scripting_unsupported
    ),
    subcmd!(
        "function",
        "stats",
        2,
        NOSCRIPT | ALLOW_BUSY,
        (0, 0, 0),
        "Returns information about a function during execution.",
        function_stats
    ),
];

static SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    subcmd!(
        "script",
        "debug",
        3,
        NOSCRIPT,
        (0, 0, 0),
        "Sets the debug mode of server-side Lua scripts.",
        scripting_unsupported
    ),
    subcmd!(
        "script",
        "exists",
        -3,
        NOSCRIPT,
        (0, 0, 0),
        "Determines whether server-side Lua scripts exist in the script cache.",
        script_exists
    ),
    subcmd!(
        "script",
        "flush",
        -2,
        NOSCRIPT,
        (0, 0, 0),
        "Removes all server-side Lua scripts from the script cache.",
        script_flush
    ),
    subcmd!(
        "script",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        script_help
    ),
    subcmd!(
        "script",
        "kill",
        2,
        NOSCRIPT | ALLOW_BUSY,
        (0, 0, 0),
        "Terminates a server-side Lua script during execution.",
        not_busy
    ),
    subcmd!(
        "script",
        "load",
        3,
        NOSCRIPT | STALE,
        (0, 0, 0),
        "Loads a server-side Lua script to the script cache.",
        scripting_unsupported
    ),
];

/// Writes a HELP reply in Redis's layout: a title line, the given lines, then HELP itself.
pub fn help_reply(ctx: &mut Ctx, command: &str, lines: &[&str]) {
    ctx.out.array(lines.len() + 3);
    ctx.out.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        ctx.out.simple(line);
    }
    ctx.out.simple("HELP");
    ctx.out.simple("    Print this help.");
}

fn scripting_unsupported(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.error(NO_SCRIPTING);
}

fn not_busy(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.error("NOTBUSY No scripts in execution right now.");
}

fn function_delete(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.error("ERR Library not found");
}

/// Parses the optional `ASYNC|SYNC` of FUNCTION FLUSH / SCRIPT FLUSH; writes the error on failure.
fn flush_mode(ctx: &mut Ctx, args: &[Bytes], command: &str) -> bool {
    match args.len() {
        2 => true,
        3 if is(&args[2], "ASYNC") || is(&args[2], "SYNC") => true,
        _ => {
            ctx.out
                .error(&format!("ERR {command} only supports SYNC|ASYNC option"));
            false
        }
    }
}

fn function_flush(ctx: &mut Ctx, args: &[Bytes]) {
    if flush_mode(ctx, args, "FUNCTION FLUSH") {
        ctx.out.ok();
    }
}

fn function_list(ctx: &mut Ctx, args: &[Bytes]) {
    let mut i = 2;
    let mut library_name = false;
    while i < args.len() {
        if is(&args[i], "WITHCODE") {
            i += 1;
        } else if is(&args[i], "LIBRARYNAME") {
            if library_name {
                return ctx.out.error("ERR library name can be given only once");
            }
            if i + 1 >= args.len() {
                return ctx.out.error("ERR library name argument was not given");
            }
            library_name = true;
            i += 2;
        } else {
            return ctx
                .out
                .error(&format!("ERR Unknown argument {}", text(&args[i])));
        }
    }
    ctx.out.array(0);
}

fn function_stats(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.map(2);
    ctx.out.bulk(b"running_script");
    ctx.out.null();
    // No engine is registered, so there is nothing to list under `engines`.
    ctx.out.bulk(b"engines");
    ctx.out.map(0);
}

fn function_help(ctx: &mut Ctx, _args: &[Bytes]) {
    help_reply(
        ctx,
        "FUNCTION",
        &[
            "LIST [LIBRARYNAME <pattern>] [WITHCODE]",
            "    Return general information on all the libraries (always empty: this server has no scripting engine).",
            "STATS",
            "    Return information about the current function running.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "KILL",
            "    Kill the current running function.",
        ],
    );
}

fn script_exists(ctx: &mut Ctx, args: &[Bytes]) {
    // The script cache is always empty.
    ctx.out.array(args.len() - 2);
    for _ in &args[2..] {
        ctx.out.int(0);
    }
}

fn script_flush(ctx: &mut Ctx, args: &[Bytes]) {
    if flush_mode(ctx, args, "SCRIPT FLUSH") {
        ctx.out.ok();
    }
}

fn script_help(ctx: &mut Ctx, _args: &[Bytes]) {
    help_reply(
        ctx,
        "SCRIPT",
        &[
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache (always 0: this server has no scripting engine).",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
        ],
    );
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
                "LOG <message>",
                "    Write <message> to the server log.",
                "SLEEP <seconds>",
                "    Stop the server for <seconds>. Decimals allowed.",
            ],
        ),
        "log" if args.len() == 3 => {
            tracing::warn!("DEBUG LOG: {}", text(&args[2]));
            ctx.out.ok();
        }
        "sleep" if args.len() == 3 => {
            let Some(secs) =
                crate::util::parse_f64(&args[2]).filter(|s| s.is_finite() && *s >= 0.0)
            else {
                return ctx.out.error(super::errors::NOT_FLOAT);
            };
            // Like Redis, the whole server stops: hold the keyspace while sleeping.
            ctx.ks.get();
            let pause = std::time::Duration::from_secs_f64(secs);
            tokio::task::block_in_place(|| std::thread::sleep(pause));
            ctx.out.ok();
        }
        "log" | "sleep" => {
            ctx.out.error(&format!(
                "ERR wrong number of arguments for 'debug|{sub}' command"
            ));
        }
        _ => ctx.out.error(&format!(
            "ERR DEBUG {} is not supported by this server (supported: LOG, SLEEP, HELP)",
            text(&args[1]).to_ascii_uppercase()
        )),
    }
}
