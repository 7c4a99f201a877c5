//! Scripting commands: EVAL, EVALSHA and their read-only forms, SCRIPT, FCALL, FCALL_RO and
//! FUNCTION. The engine behind them is [`crate::scripting`].

use super::args::{is, text};
use super::flags::*;
use super::introspection::help_reply;
use super::table::finders;
use super::{CommandSpec, Ctx};
use crate::{cmd, container, subcmd};
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    container!("function", "scripting", "7.0.0", "A container for function commands.", FUNCTION_SUBCOMMANDS),
    container!("script", "scripting", "2.6.0", "A container for Lua scripts management commands.", SCRIPT_SUBCOMMANDS),
    cmd!(
        "eval",
        -3,
        NOSCRIPT | STALE | MOVABLE_KEYS | RUNS_SCRIPT,
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Executes a server-side Lua script.",
        eval
    )
    .keys_by(finders::script_keys),
    cmd!(
        "eval_ro",
        -3,
        NOSCRIPT | READONLY | STALE | MOVABLE_KEYS | RUNS_SCRIPT,
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Executes a read-only server-side Lua script.",
        eval_ro
    )
    .keys_by(finders::script_read_keys),
    cmd!(
        "evalsha",
        -3,
        NOSCRIPT | STALE | MOVABLE_KEYS | RUNS_SCRIPT,
        (0, 0, 0),
        "scripting",
        "2.6.0",
        "Executes a server-side Lua script by SHA1 digest.",
        evalsha
    )
    .keys_by(finders::script_keys),
    cmd!(
        "evalsha_ro",
        -3,
        NOSCRIPT | READONLY | STALE | MOVABLE_KEYS | RUNS_SCRIPT,
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Executes a read-only server-side Lua script by SHA1 digest.",
        evalsha_ro
    )
    .keys_by(finders::script_read_keys),
    cmd!(
        "fcall",
        -3,
        NOSCRIPT | STALE | MOVABLE_KEYS | RUNS_SCRIPT,
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Invokes a function.",
        fcall
    )
    .keys_by(finders::script_keys),
    cmd!(
        "fcall_ro",
        -3,
        NOSCRIPT | READONLY | STALE | MOVABLE_KEYS | RUNS_SCRIPT,
        (0, 0, 0),
        "scripting",
        "7.0.0",
        "Invokes a read-only function.",
        fcall_ro
    )
    .keys_by(finders::script_read_keys),
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
        function_dump
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
        function_kill
    ),
    subcmd!("function", "list", -2, NOSCRIPT, (0, 0, 0), "Returns information about all libraries.", function_list),
    subcmd!("function", "load", -3, NOSCRIPT | WRITE | DENYOOM, (0, 0, 0), "Creates a library.", function_load),
    subcmd!(
        "function",
        "restore",
        -3,
        NOSCRIPT | WRITE | DENYOOM,
        (0, 0, 0),
        "Restores all libraries from a payload.",
        function_restore
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
    subcmd!("script", "debug", 3, NOSCRIPT, (0, 0, 0), "Sets the debug mode of server-side Lua scripts.", script_debug),
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
        script_kill
    ),
    subcmd!(
        "script",
        "load",
        3,
        NOSCRIPT | STALE,
        (0, 0, 0),
        "Loads a server-side Lua script to the script cache.",
        script_load
    ),
];

fn eval(ctx: &mut Ctx, args: &[Bytes]) {
    crate::scripting::eval(ctx, args, false, false)
}

fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) {
    crate::scripting::eval(ctx, args, false, true)
}

fn evalsha(ctx: &mut Ctx, args: &[Bytes]) {
    crate::scripting::eval(ctx, args, true, false)
}

fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) {
    crate::scripting::eval(ctx, args, true, true)
}

fn fcall(ctx: &mut Ctx, args: &[Bytes]) {
    crate::scripting::fcall(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx, args: &[Bytes]) {
    crate::scripting::fcall(ctx, args, true)
}

fn script_load(ctx: &mut Ctx, args: &[Bytes]) {
    match ctx.shared.scripting.load(&args[2]) {
        Ok(sha) => ctx.out.bulk(sha.as_bytes()),
        Err(e) => ctx.out.error(&e),
    }
}

fn script_exists(ctx: &mut Ctx, args: &[Bytes]) {
    let found = ctx.shared.scripting.exists(&args[2..]);
    ctx.out.array(found.len());
    for f in found {
        ctx.out.int(f as i64);
    }
}

/// Parses the optional `ASYNC|SYNC` of FUNCTION FLUSH / SCRIPT FLUSH; writes the error on failure.
fn flush_mode(ctx: &mut Ctx, args: &[Bytes], command: &str) -> bool {
    if args.len() > 3 {
        let (parent, sub) = command.split_once(' ').unwrap_or((command, ""));
        ctx.out.error(&format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try {parent} HELP.",
            sub.to_ascii_lowercase()
        ));
        return false;
    }
    match args.len() {
        2 => true,
        3 if is(&args[2], "ASYNC") || is(&args[2], "SYNC") => true,
        _ => {
            ctx.out.error(&format!("ERR {command} only supports SYNC|ASYNC option"));
            false
        }
    }
}

fn script_flush(ctx: &mut Ctx, args: &[Bytes]) {
    if flush_mode(ctx, args, "SCRIPT FLUSH") {
        ctx.shared.scripting.flush_scripts();
        ctx.out.ok();
    }
}

fn script_kill(ctx: &mut Ctx, _args: &[Bytes]) {
    match ctx.shared.scripting.run.kill(true) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

fn function_kill(ctx: &mut Ctx, _args: &[Bytes]) {
    match ctx.shared.scripting.run.kill(false) {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

fn script_debug(ctx: &mut Ctx, args: &[Bytes]) {
    if is(&args[2], "NO") {
        return ctx.out.ok();
    }
    if is(&args[2], "YES") || is(&args[2], "SYNC") {
        return ctx.out.error("ERR SCRIPT DEBUG is not supported: the Lua debugger is not available on this server");
    }
    ctx.out.error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
}

fn script_help(ctx: &mut Ctx, _args: &[Bytes]) {
    help_reply(
        ctx,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
}

fn function_load(ctx: &mut Ctx, args: &[Bytes]) {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        if is(&args[i], "REPLACE") {
            replace = true;
            i += 1;
            continue;
        }
        return ctx.out.error(&format!("ERR Unknown option given: {}", text(&args[i])));
    }
    if i >= args.len() {
        return ctx.out.error("ERR Function code is missing");
    }
    let code = args[i].clone();
    let loaded = ctx.shared.scripting.libraries(|lua, libs, loader| libs.load(lua, loader, &code, replace));
    match loaded {
        Ok(name) => {
            ctx.ks.get().dirty += 1;
            ctx.out.bulk(name.as_bytes())
        }
        Err(e) => ctx.out.error(&e),
    }
}

fn function_delete(ctx: &mut Ctx, args: &[Bytes]) {
    let name = text(&args[2]);
    if ctx.shared.scripting.libraries(|lua, libs, _| libs.delete(lua, &name)) {
        ctx.ks.get().dirty += 1;
        ctx.out.ok()
    } else {
        ctx.out.error("ERR Library not found")
    }
}

fn function_flush(ctx: &mut Ctx, args: &[Bytes]) {
    if flush_mode(ctx, args, "FUNCTION FLUSH") {
        ctx.shared.scripting.libraries(|lua, libs, _| libs.flush(lua));
        ctx.ks.get().dirty += 1;
        ctx.out.ok();
    }
}

fn function_list(ctx: &mut Ctx, args: &[Bytes]) {
    let mut i = 2;
    let mut pattern: Option<Bytes> = None;
    let mut with_code = false;
    while i < args.len() {
        if is(&args[i], "WITHCODE") && !with_code {
            with_code = true;
            i += 1;
        } else if is(&args[i], "LIBRARYNAME") && pattern.is_none() {
            if i + 1 >= args.len() {
                return ctx.out.error("ERR library name argument was not given");
            }
            pattern = Some(args[i + 1].clone());
            i += 2;
        } else {
            return ctx.out.error(&format!("ERR Unknown argument {}", text(&args[i])));
        }
    }
    type Listed = (String, Bytes, Vec<(String, Option<String>, Vec<&'static str>)>);
    let listed: Vec<Listed> = ctx.shared.scripting.libraries(|_, libs, _| {
        libs.libs
            .iter()
            .filter(|(name, _)| pattern.as_ref().is_none_or(|p| crate::glob::glob_match(p, name.as_bytes(), false)))
            .map(|(name, lib)| {
                let functions = lib
                    .functions
                    .iter()
                    .map(|(fname, f)| (fname.clone(), f.description.clone(), f.flags.names()))
                    .collect();
                (name.clone(), lib.code.clone(), functions)
            })
            .collect()
    });
    ctx.out.array(listed.len());
    for (name, code, functions) in listed {
        ctx.out.map(if with_code { 4 } else { 3 });
        ctx.out.bulk(b"library_name");
        ctx.out.bulk(name.as_bytes());
        ctx.out.bulk(b"engine");
        ctx.out.bulk(b"LUA");
        ctx.out.bulk(b"functions");
        ctx.out.array(functions.len());
        for (fname, description, flags) in functions {
            ctx.out.map(3);
            ctx.out.bulk(b"name");
            ctx.out.bulk(fname.as_bytes());
            ctx.out.bulk(b"description");
            match description {
                Some(d) => ctx.out.bulk(d.as_bytes()),
                None => ctx.out.null(),
            }
            ctx.out.bulk(b"flags");
            ctx.out.set(flags.len());
            for f in flags {
                ctx.out.bulk(f.as_bytes());
            }
        }
        if with_code {
            ctx.out.bulk(b"library_code");
            ctx.out.bulk(&code);
        }
    }
}

fn function_stats(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.map(2);
    ctx.out.bulk(b"running_script");
    let run = &ctx.shared.scripting.run;
    match run.current().filter(|_| run.running()) {
        Some((name, line)) => {
            ctx.out.map(3);
            ctx.out.bulk(b"name");
            ctx.out.bulk(name.as_bytes());
            ctx.out.bulk(b"command");
            ctx.out.array(line.len());
            for a in &line {
                ctx.out.bulk(a);
            }
            ctx.out.bulk(b"duration_ms");
            ctx.out.int(run.elapsed_ms() as i64);
        }
        None => ctx.out.null(),
    }
    let counts = ctx.shared.scripting.counts();
    let (libraries, functions) = (counts.libraries, counts.functions);
    ctx.out.bulk(b"engines");
    ctx.out.map(1);
    ctx.out.bulk(b"LUA");
    ctx.out.map(2);
    ctx.out.bulk(b"libraries_count");
    ctx.out.int(libraries as i64);
    ctx.out.bulk(b"functions_count");
    ctx.out.int(functions as i64);
}

/// FUNCTION DUMP: the libraries' code in Redis's payload format (one FUNCTION2 record per
/// library, then the RDB version and a CRC64), so FUNCTION RESTORE here or in Redis takes it.
fn function_dump(ctx: &mut Ctx, _args: &[Bytes]) {
    let codes = ctx.shared.scripting.library_codes();
    let codes: Vec<&[u8]> = codes.iter().map(|c| &c[..]).collect();
    match crate::engine::persist::rdb::dump_functions(&codes) {
        Ok(payload) => ctx.out.bulk(&payload),
        Err(e) => ctx.out.error(&format!("ERR {e}")),
    }
}

fn function_restore(ctx: &mut Ctx, args: &[Bytes]) {
    #[derive(PartialEq)]
    enum Policy {
        Append,
        Replace,
        Flush,
    }
    if args.len() > 4 {
        return ctx.out.error("ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.");
    }
    let policy = match args.get(3) {
        None => Policy::Append,
        Some(p) if is(p, "APPEND") => Policy::Append,
        Some(p) if is(p, "REPLACE") => Policy::Replace,
        Some(p) if is(p, "FLUSH") => Policy::Flush,
        Some(_) => {
            return ctx.out.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
        }
    };
    let codes = match crate::engine::persist::rdb::read_functions_payload(&args[2]) {
        Ok(codes) => codes,
        Err(crate::engine::persist::rdb::PayloadError::VersionOrChecksum) => {
            return ctx.out.error("ERR DUMP payload version or checksum are wrong")
        }
        Err(_) => return ctx.out.error("ERR given type is not a function"),
    };
    let restored = ctx.shared.scripting.libraries(|lua, libs, loader| -> Result<(), String> {
        // Loaded into a fresh set first, so that a failure changes nothing.
        let mut fresh = crate::scripting::functions::Libraries::default_sharing(libs);
        let checked = (|| {
            for code in codes {
                fresh.load(lua, loader, &Bytes::from(code), false)?;
            }
            for (name, lib) in &fresh.libs {
                if policy == Policy::Append && libs.libs.contains_key(name) {
                    return Err(format!("ERR Library {name} already exists"));
                }
                if policy == Policy::Flush {
                    continue;
                }
                // Functions of libraries that stay must not be registered again.
                let kept = libs.libs.iter().filter(|(other, _)| !fresh.libs.contains_key(*other));
                for (_, other) in kept {
                    if let Some(f) =
                        lib.functions.keys().find(|f| other.functions.keys().any(|g| g.eq_ignore_ascii_case(f)))
                    {
                        return Err(format!("ERR Function {f} already exists"));
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = checked {
            fresh.flush(lua);
            return Err(e);
        }
        if policy == Policy::Flush {
            libs.flush(lua);
        }
        let names: Vec<String> = fresh.libs.keys().cloned().collect();
        for name in names {
            libs.delete(lua, &name);
            let lib = fresh.libs.remove(&name).expect("listed");
            libs.libs.insert(name, lib);
        }
        Ok(())
    });
    match restored {
        Ok(()) => {
            ctx.ks.get().dirty += 1;
            ctx.out.ok()
        }
        Err(e) => ctx.out.error(&e),
    }
}

fn function_help(ctx: &mut Ctx, _args: &[Bytes]) {
    help_reply(
        ctx,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
}
