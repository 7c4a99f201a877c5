//! Lua scripting as Redis 7.0 has it: EVAL/EVALSHA run a script, FUNCTION LOAD keeps
//! libraries whose functions FCALL runs, both in one Lua 5.1 state with Redis's environment
//! (`env.lua`: the `redis` API, read-only globals, Redis's error handler) and libraries
//! (`libs`: cjson, bit, cmsgpack, struct).
//!
//! A script runs atomically: it holds the keyspace lock from its first instruction to its
//! last, and its `redis.call`s go through the dispatcher as any client's commands do (key
//! specs, tenant quotas, OOM rules, keyspace notifications, WATCH), on a script client of its
//! own whose database starts as the caller's. Their replies come back as RESP and are turned
//! into Lua values exactly as Redis turns them ([`convert`]).
//!
//! A script that runs past `busy-reply-threshold` is *timed out*: other clients then get
//! `-BUSY` for everything but the few commands Redis allows (SCRIPT KILL, FUNCTION KILL,
//! SHUTDOWN NOSAVE ...). For them to be served at all while the script keeps its thread, the
//! script's thread hands its runtime worker to a fresh thread at that moment
//! ([`hand_off_runtime`]); a client that meanwhile needs the keyspace waits off the runtime
//! (see `KeyspaceLock`). SCRIPT KILL sets a flag the script's instruction hook checks.

pub mod convert;
pub mod functions;
pub mod libs;

use crate::client::Client;
use crate::commands::{self, flags, CommandSpec, Ctx, KeyspaceLock};
use crate::protocol::ReplyBuf;
use bytes::Bytes;
use mlua::{HookTriggers, Lua, LuaOptions, MultiValue, RegistryKey, StdLib, Table, Value};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Scripts running in this process (one per server at most): a thread that finds the
/// keyspace locked waits off the runtime only then (see [`lock_during_script`]).
static RUNNING_SCRIPTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether a script runs (and may hold the keyspace for long).
#[inline]
pub fn any_running() -> bool {
    RUNNING_SCRIPTS.load(Ordering::Relaxed) > 0
}

/// Instructions between two checks of the time limit and the kill flag (Redis's count).
const HOOK_INSTRUCTIONS: u32 = 100_000;

/// The scripting engine of one server: the Lua state with its caches, and the state of the
/// running script that other clients look at.
pub struct Scripting {
    vm: Mutex<Option<Vm>>,
    pub run: Arc<RunState>,
    /// What INFO and FUNCTION STATS show, kept outside the Lua state's lock, which a running
    /// script holds.
    counts: Mutex<Counts>,
    codes: Mutex<SavedCode>,
    /// DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may run `noscript` commands (tests use it).
    pub disable_deny_scripts: AtomicBool,
}

/// Sizes of the scripting engine (see [`Scripting::counts`]).
#[derive(Clone, Copy, Default, Debug)]
pub struct Counts {
    pub scripts: usize,
    pub scripts_memory: usize,
    pub libraries: usize,
    pub functions: usize,
    pub functions_memory: usize,
    pub lua_memory: usize,
}

/// The libraries' code, kept beside [`Counts`] for snapshots, which must not wait for the Lua
/// state (a save point can fire while a script holds it).
#[derive(Default)]
struct SavedCode(Vec<Bytes>);

/// What other clients and the instruction hook know about the running script.
#[derive(Default)]
pub struct RunState {
    running: AtomicBool,
    /// When the running script started (ms, keyspace clock).
    started_ms: AtomicU64,
    /// Past `busy-reply-threshold`: others get -BUSY.
    timed_out: AtomicBool,
    /// SCRIPT KILL or FUNCTION KILL asked it to stop.
    killed: AtomicBool,
    /// It ran a write command: it can no longer be killed.
    wrote: AtomicBool,
    /// EVAL (rather than FCALL): names the KILL command in errors.
    eval_mode: AtomicBool,
    /// `busy-reply-threshold` in ms (0 = never time out).
    pub threshold_ms: AtomicU64,
    /// Name of the running script (its SHA, or the function's name) and the command line, for
    /// FUNCTION STATS.
    current: Mutex<Option<(String, Vec<Bytes>)>>,
}

impl RunState {
    /// Whether a script is running past the busy threshold.
    #[inline]
    pub fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed)
    }

    #[inline]
    pub fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    /// The -BUSY reply for commands refused while a script is timed out.
    pub fn busy_error(&self) -> &'static str {
        if self.eval_mode.load(Ordering::Relaxed) {
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        } else {
            "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
        }
    }

    /// SCRIPT KILL (`eval` true) or FUNCTION KILL: Ok, or Redis's refusal.
    pub fn kill(&self, eval: bool) -> Result<(), &'static str> {
        if !self.running() {
            return Err("NOTBUSY No scripts in execution right now.");
        }
        if self.wrote.load(Ordering::Relaxed) {
            return Err("UNKILLABLE Sorry the script already executed write commands against the dataset. You can \
                        either wait the script termination or kill the server in a hard way using the SHUTDOWN \
                        NOSAVE command.");
        }
        let eval_mode = self.eval_mode.load(Ordering::Relaxed);
        if eval && !eval_mode {
            return Err("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.");
        }
        if !eval && eval_mode {
            return Err("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
        }
        self.killed.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// How long the running script has run.
    pub fn elapsed_ms(&self) -> u64 {
        crate::storage::now_ms().saturating_sub(self.started_ms.load(Ordering::Relaxed))
    }

    /// The running function's name and command line (FUNCTION STATS).
    pub fn current(&self) -> Option<(String, Vec<Bytes>)> {
        self.current.lock().clone()
    }

    fn start(&self, eval_mode: bool, name: &str, args: &[Bytes]) {
        self.started_ms.store(crate::storage::now_ms(), Ordering::Relaxed);
        self.eval_mode.store(eval_mode, Ordering::Relaxed);
        self.killed.store(false, Ordering::Relaxed);
        self.wrote.store(false, Ordering::Relaxed);
        self.timed_out.store(false, Ordering::Relaxed);
        *self.current.lock() = Some((name.to_string(), args.to_vec()));
        self.running.store(true, Ordering::Release);
        RUNNING_SCRIPTS.fetch_add(1, Ordering::Relaxed);
    }

    fn stop(&self) {
        RUNNING_SCRIPTS.fetch_sub(1, Ordering::Relaxed);
        self.running.store(false, Ordering::Release);
        self.timed_out.store(false, Ordering::Relaxed);
        *self.current.lock() = None;
    }
}

/// Script flags (the shebang line's `flags=`, or a function's `flags`), as Redis's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// No shebang: EVAL's compatibility mode, where the flags below do not apply.
    pub compat: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot: bool,
}

impl ScriptFlags {
    /// Sets the flag named `name`; false for a name Redis does not know.
    pub fn set(&mut self, name: &str) -> bool {
        match name {
            "no-writes" => self.no_writes = true,
            "allow-oom" => self.allow_oom = true,
            "allow-stale" => self.allow_stale = true,
            "no-cluster" => self.no_cluster = true,
            "allow-cross-slot-keys" => self.allow_cross_slot = true,
            _ => return false,
        }
        true
    }

    /// Names, as FUNCTION LIST prints them.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.no_writes {
            v.push("no-writes");
        }
        if self.allow_oom {
            v.push("allow-oom");
        }
        if self.allow_stale {
            v.push("allow-stale");
        }
        if self.no_cluster {
            v.push("no-cluster");
        }
        if self.allow_cross_slot {
            v.push("allow-cross-slot-keys");
        }
        v
    }
}

/// A script EVAL compiled (kept until SCRIPT FLUSH).
struct Script {
    function: RegistryKey,
    flags: ScriptFlags,
}

/// The Lua state and what lives in it.
struct Vm {
    lua: Lua,
    /// The table `env.lua` takes the server's functions from (`dispatch` is set per run).
    api: RegistryKey,
    /// The read-only globals scripts see.
    env: RegistryKey,
    set_args: RegistryKey,
    run: RegistryKey,
    run_with_args: RegistryKey,
    /// EVAL scripts by SHA1.
    scripts: HashMap<String, Script>,
    scripts_memory: usize,
    libraries: functions::Libraries,
    /// What FUNCTION LOAD runs library code with.
    loader: functions::Loader,
    /// Scripts and functions run so far.
    runs: u64,
}

impl Default for Scripting {
    fn default() -> Self {
        let run = Arc::new(RunState::default());
        run.threshold_ms.store(5000, Ordering::Relaxed);
        Scripting {
            vm: Mutex::new(None),
            run,
            counts: Mutex::new(Counts::default()),
            codes: Mutex::new(SavedCode::default()),
            disable_deny_scripts: AtomicBool::new(false),
        }
    }
}

/// The SHA1 of `body` in lowercase hex, as EVALSHA names scripts.
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

/// Redis's error for a failed script run or a failed call, built from Lua's error value.
fn error_text(err: &Table) -> (String, Option<(String, i64)>, bool) {
    let msg = err.raw_get::<_, Option<mlua::String>>("err").ok().flatten();
    let msg = msg.map(|s| String::from_utf8_lossy(s.as_bytes()).into_owned()).unwrap_or_default();
    let source = err.raw_get::<_, Option<mlua::String>>("source").ok().flatten();
    let line = err.raw_get::<_, Option<i64>>("line").ok().flatten();
    let place = match (source, line) {
        (Some(s), Some(l)) => Some((String::from_utf8_lossy(s.as_bytes()).into_owned(), l)),
        _ => None,
    };
    let counted_already = err.raw_get::<_, Option<bool>>("ignore_error_stats_update").ok().flatten().unwrap_or(false);
    (msg, place, counted_already)
}

impl Scripting {
    /// Runs `f` on the Lua state, creating it on first use.
    fn with_vm<R>(&self, f: impl FnOnce(&mut Vm) -> R) -> R {
        let mut guard = self.vm.lock();
        let vm = guard.get_or_insert_with(|| Vm::new().expect("the Lua state starts"));
        let r = f(vm);
        self.publish(vm);
        r
    }

    fn publish(&self, vm: &Vm) {
        let (libraries, functions, functions_memory) = vm.libraries.stats();
        *self.counts.lock() = Counts {
            scripts: vm.scripts.len(),
            scripts_memory: vm.scripts_memory,
            libraries,
            functions,
            functions_memory,
            lua_memory: vm.lua.used_memory(),
        };
        self.codes.lock().0 = vm.libraries.libs.values().map(|l| l.code.clone()).collect();
    }

    /// Every library's code, for a snapshot.
    pub fn library_codes(&self) -> Vec<Bytes> {
        self.codes.lock().0.clone()
    }

    /// Loads the libraries a snapshot holds in place of the loaded ones (when it holds any).
    pub fn restore_saved_libraries(&self, codes: &[Vec<u8>]) -> Result<(), String> {
        if codes.is_empty() && self.counts().libraries == 0 {
            return Ok(());
        }
        self.libraries(|lua, libs, loader| {
            libs.flush(lua);
            for code in codes {
                libs.load(lua, loader, &Bytes::copy_from_slice(code), true)?;
            }
            Ok(())
        })
    }

    /// The engine's sizes (INFO memory, FUNCTION STATS), answered even while a script runs.
    pub fn counts(&self) -> Counts {
        *self.counts.lock()
    }

    /// SCRIPT LOAD: compiles and caches `body`; its SHA1, or the compile error.
    pub fn load(&self, body: &Bytes) -> Result<String, String> {
        self.with_vm(|vm| vm.script(body).map(|(sha, _)| sha))
    }

    /// SCRIPT EXISTS, for each SHA.
    pub fn exists(&self, shas: &[Bytes]) -> Vec<bool> {
        self.with_vm(|vm| {
            shas.iter().map(|s| vm.scripts.contains_key(&String::from_utf8_lossy(s).to_ascii_lowercase())).collect()
        })
    }

    /// SCRIPT FLUSH: forgets every EVAL script (the libraries stay, as in Redis, which also
    /// starts a fresh Lua state for them: here they stay in the same state).
    pub fn flush_scripts(&self) {
        self.with_vm(|vm| {
            for (_, script) in vm.scripts.drain() {
                let _ = vm.lua.remove_registry_value(script.function);
            }
            vm.scripts_memory = 0;
            let _ = vm.lua.gc_collect();
        })
    }

    /// FUNCTION LOAD, LIST, DELETE, FLUSH, DUMP, RESTORE: see [`functions`].
    pub fn libraries<R>(&self, f: impl FnOnce(&Lua, &mut functions::Libraries, &functions::Loader) -> R) -> R {
        self.with_vm(|vm| f(&vm.lua, &mut vm.libraries, &vm.loader))
    }
}

impl Vm {
    fn new() -> mlua::Result<Vm> {
        // The debug library is needed by the error handler; env.lua removes it from the globals.
        let lua = unsafe {
            Lua::unsafe_new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG, LuaOptions::new())
        };
        libs::load(&lua)?;
        let api = lua.create_table()?;
        api.set("sha1hex", lua.create_function(|_, s: mlua::String| Ok(sha1_hex(s.as_bytes())))?)?;
        api.set(
            "log",
            lua.create_function(|_, (level, text): (i64, mlua::String)| {
                let text = String::from_utf8_lossy(text.as_bytes()).into_owned();
                match level {
                    0 => tracing::debug!("{text}"),
                    1 => tracing::info!("{text}"),
                    2 => tracing::info!("{text}"),
                    _ => tracing::warn!("{text}"),
                }
                Ok(())
            })?,
        )?;
        let rng = Arc::new(Mutex::new(libs::Rand48::seeded(crate::storage::now_ms() as i32)));
        let r = rng.clone();
        api.set("random", lua.create_function(move |_, args: MultiValue| libs::math_random(&mut r.lock(), args))?)?;
        let r = rng;
        api.set(
            "randomseed",
            lua.create_function(move |_, seed: mlua::Number| {
                *r.lock() = libs::Rand48::seeded(seed as i32);
                Ok(())
            })?,
        )?;
        api.set("version", crate::REDIS_VERSION)?;
        api.set("version_num", version_num(crate::REDIS_VERSION))?;
        let libraries = functions::Libraries::default();
        functions::install(&lua, &api, &libraries)?;
        lua.set_named_registry_value(API_REGISTRY_NAME, api.clone())?;
        api.set("call", lua.create_function(|lua, args: MultiValue| redis_call(lua, true, args))?)?;
        api.set("pcall", lua.create_function(|lua, args: MultiValue| redis_call(lua, false, args))?)?;
        api.set("acl_check", lua.create_function(|lua, args: MultiValue| acl_check(lua, args))?)?;
        let no_dispatch = lua.create_function(|lua, _: Value| {
            Ok((convert::error_table(lua, "ERR redis.call/pcall can only be called inside a script invocation")?, true))
        })?;
        api.set("no_dispatch", no_dispatch.clone())?;
        api.set("dispatch", no_dispatch)?;
        let exports: Table = lua.load(include_str!("env.lua")).set_name("=redis_env").call(api.clone())?;
        let env: Table = exports.get("env")?;
        let set_args: mlua::Function = exports.get("set_args")?;
        let run_fn: mlua::Function = exports.get("run")?;
        let run_with_args: mlua::Function = exports.get("run_with_args")?;
        let loader = functions::Loader {
            env: lua.create_registry_value(exports.get::<_, Table>("function_env")?)?,
            set_loading: lua.create_registry_value(exports.get::<_, mlua::Function>("set_loading")?)?,
            run: lua.create_registry_value(run_fn.clone())?,
        };
        let keys = (
            lua.create_registry_value(api)?,
            lua.create_registry_value(env)?,
            lua.create_registry_value(set_args)?,
            lua.create_registry_value(run_fn)?,
            lua.create_registry_value(run_with_args)?,
        );
        drop(exports);
        Ok(Vm {
            api: keys.0,
            env: keys.1,
            set_args: keys.2,
            run: keys.3,
            run_with_args: keys.4,
            lua,
            scripts: HashMap::new(),
            scripts_memory: 0,
            libraries,
            loader,
            runs: 0,
        })
    }

    /// The cached script of `body`, compiling it first if needed: (sha, flags).
    fn script(&mut self, body: &Bytes) -> Result<(String, ScriptFlags), String> {
        let sha = sha1_hex(body);
        if let Some(s) = self.scripts.get(&sha) {
            return Ok((sha, s.flags));
        }
        let (flags, skip) = parse_shebang(body)?;
        let env: Table = self.lua.registry_value(&self.env).map_err(|e| e.to_string())?;
        // The shebang line is left out but its line feed kept, so line numbers stay the user's.
        let function = self
            .lua
            .load(&body[skip..])
            .set_name("@user_script")
            .set_mode(mlua::ChunkMode::Text)
            .set_environment(env)
            .into_function()
            .map_err(|e| format!("ERR Error compiling script (new function): {}", lua_message(&e)))?;
        let key = self.lua.create_registry_value(function).map_err(|e| e.to_string())?;
        self.scripts_memory += body.len() + 40 + 64;
        self.scripts.insert(sha.clone(), Script { function: key, flags });
        Ok((sha, flags))
    }
}

/// Where the registry keeps the `api` table.
const API_REGISTRY_NAME: &str = "tenantcache.scripting.api";

/// redis.call (`raise`) and redis.pcall: run the command through the run's `dispatch`. A
/// failing redis.call raises its error table: left in `api.pending_error`, where the error
/// handler and pcall take it, because a Rust function can raise only its own error values.
fn redis_call<'lua>(lua: &'lua Lua, raise: bool, args: MultiValue<'lua>) -> mlua::Result<Value<'lua>> {
    let api: Table = lua.named_registry_value(API_REGISTRY_NAME)?;
    let dispatch: mlua::Function = api.raw_get("dispatch")?;
    // The arguments reach the run's dispatch as bytes, not as Lua values again (a call may
    // have thousands of them: more than a second Lua call could take).
    let (reply, failed): (Value, bool) = match convert::lua_args(lua, args)? {
        Ok(argv) => {
            lua.set_app_data(CallArgs(argv));
            dispatch.call(raise)?
        }
        Err(e) => (Value::Table(convert::error_table(lua, &e)?), raise),
    };
    if failed {
        let message = match &reply {
            Value::Table(t) => error_text(t).0,
            _ => String::new(),
        };
        api.raw_set("pending_error", reply)?;
        return Err(mlua::Error::RuntimeError(message));
    }
    Ok(reply)
}

/// The arguments of the redis.call being dispatched.
struct CallArgs(Vec<Bytes>);

/// `7.0.15` as Redis's REDIS_VERSION_NUM (0x00070f00).
fn version_num(v: &str) -> i64 {
    let mut parts = v.split('.').map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a << 16) | (b << 8) | c
}

/// The message of a Lua error as Lua wrote it (without mlua's decorations).
pub fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        other => other.to_string(),
    }
}

/// Parses a `#!lua flags=...` first line: the flags and the bytes to skip (the line without
/// its line feed). No shebang: compatibility mode.
pub fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags { compat: true, ..Default::default() }, 0));
    }
    let Some(end) = memchr::memchr(b'\n', body) else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_whitespace();
    let Some(engine) = parts.next() else {
        return Err("ERR Invalid engine in script shebang".into());
    };
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = ScriptFlags::default();
    for part in parts {
        match part.strip_prefix("flags=") {
            Some(list) => {
                for f in list.split(',').filter(|f| !f.is_empty()) {
                    if !flags.set(f) {
                        return Err(format!("ERR Unexpected flag in script shebang: {f}"));
                    }
                }
            }
            None => return Err(format!("ERR Unknown lua shebang option: {part}")),
        }
    }
    Ok((flags, end))
}

/// What a run is: an EVAL script or a function.
pub struct Invocation<'a> {
    /// The script's SHA, or the function's name (error texts, FUNCTION STATS).
    pub name: &'a str,
    pub eval: bool,
    pub flags: ScriptFlags,
    /// EVAL_RO, EVALSHA_RO, FCALL_RO.
    pub read_only_command: bool,
    pub keys: &'a [Bytes],
    pub args: &'a [Bytes],
}

/// EVAL, EVALSHA and their _RO forms: `args` is the whole command line.
pub fn eval(ctx: &mut Ctx, args: &[Bytes], by_sha: bool, read_only_command: bool) {
    let Some((keys, argv)) = split_keys(ctx, args, commands::errors::NOT_INTEGER) else {
        return;
    };
    // The keyspace first, then the Lua state: the one order every path takes them in.
    ctx.ks.get();
    let scripting = &ctx.shared.scripting;
    let mut guard = scripting.vm.lock();
    let vm = guard.get_or_insert_with(|| Vm::new().expect("the Lua state starts"));
    let scripts_before = vm.scripts.len();
    let (sha, flags) = if by_sha {
        let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        match vm.scripts.get(&sha) {
            Some(s) if sha.len() == 40 => {
                let flags = s.flags;
                (sha, flags)
            }
            _ => return ctx.out.error("NOSCRIPT No matching script. Please use EVAL."),
        }
    } else {
        match vm.script(&args[1]) {
            Ok(found) => found,
            Err(e) => return ctx.out.error(&e),
        }
    };
    let function: mlua::Function = vm.lua.registry_value(&vm.scripts[&sha].function).expect("cached script");
    let inv = Invocation { name: &sha, eval: true, flags, read_only_command, keys, args: argv };
    let compiled = vm.scripts.len() != scripts_before;
    run_function(ctx, vm, function, &inv, args);
    vm.runs += 1;
    // The figures INFO shows change with a new script, and the Lua memory now and then.
    if compiled || vm.runs.is_multiple_of(PUBLISH_PERIOD) {
        scripting.publish(vm);
    }
}

/// Runs between two updates of the figures INFO shows (and between two garbage collection
/// steps, as Redis's LUA_GC_CYCLE_PERIOD).
const PUBLISH_PERIOD: u64 = 50;

/// Size of that garbage collection step: enough that the garbage of 50 small runs is gone by
/// the next one, so the state stays near its live size.
const GC_STEP_KB: i32 = 200;

/// FCALL and FCALL_RO.
pub fn fcall(ctx: &mut Ctx, args: &[Bytes], read_only_command: bool) {
    let Some((keys, argv)) = split_keys(ctx, args, "ERR Bad number of keys provided") else {
        return;
    };
    ctx.ks.get();
    let scripting = &ctx.shared.scripting;
    let mut guard = scripting.vm.lock();
    let vm = guard.get_or_insert_with(|| Vm::new().expect("the Lua state starts"));
    let name = String::from_utf8_lossy(&args[1]).into_owned();
    let Some((function, flags)) = vm.libraries.function(&vm.lua, &name) else {
        return ctx.out.error("ERR Function not found");
    };
    let inv = Invocation { name: &name, eval: false, flags, read_only_command, keys, args: argv };
    run_function(ctx, vm, function, &inv, args);
    vm.runs += 1;
    if vm.runs.is_multiple_of(PUBLISH_PERIOD) {
        scripting.publish(vm);
    }
}

/// `script numkeys key... arg...`: the keys and the arguments, or the error replied.
fn split_keys<'a>(ctx: &mut Ctx, args: &'a [Bytes], not_a_number: &str) -> Option<(&'a [Bytes], &'a [Bytes])> {
    let Some(n) = crate::util::parse_i64(&args[2]) else {
        ctx.out.error(not_a_number);
        return None;
    };
    if n < 0 {
        ctx.out.error("ERR Number of keys can't be negative");
        return None;
    }
    if n as usize > args.len() - 3 {
        ctx.out.error("ERR Number of keys can't be greater than number of args");
        return None;
    }
    let n = n as usize;
    Some((&args[3..3 + n], &args[3 + n..]))
}

/// Checks Redis makes before a script with flags runs (scriptPrepareForRun).
fn refuse_before_run(ctx: &mut Ctx, inv: &Invocation) -> Option<String> {
    if inv.flags.compat {
        return None;
    }
    if !inv.flags.no_writes {
        if let Some(e) = crate::persistence::disk_error(ctx.shared) {
            return Some(e.script_message());
        }
    }
    if !inv.flags.no_writes && inv.read_only_command {
        return Some("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    if !(inv.flags.allow_oom || inv.flags.no_writes) && commands::over_maxmemory(ctx) {
        return Some(
            "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'".into(),
        );
    }
    None
}

/// Runs a compiled script or function to its end and writes its reply.
fn run_function(ctx: &mut Ctx, vm: &Vm, function: mlua::Function, inv: &Invocation, line: &[Bytes]) {
    if let Some(refusal) = refuse_before_run(ctx, inv) {
        return ctx.out.error(&refusal);
    }
    let shared = ctx.shared;
    let run = shared.scripting.run.clone();
    // Held from the first instruction to the last: the script is atomic.
    ctx.ks.get();
    let pre_oom = commands::over_maxmemory(ctx);
    let mut call = ScriptCall {
        shared,
        ks: std::mem::replace(&mut ctx.ks, KeyspaceLock::new(&shared.keyspace)),
        client: Client::new(ctx.client.handle.clone(), true),
        out: ReplyBuf::for_message(false, 256),
        read_only: inv.read_only_command || (!inv.flags.compat && inv.flags.no_writes),
        allow_oom: !inv.flags.compat && inv.flags.allow_oom,
        pre_oom,
        wrote: false,
        run: run.clone(),
        propagate: true,
    };
    call.client.db = ctx.client.db;
    call.client.resp = 2;
    call.client.last_tenant = ctx.client.last_tenant;
    run.start(inv.eval, inv.name, line);
    let threshold = run.threshold_ms.load(Ordering::Relaxed);
    if threshold > 0 {
        vm.lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS), instruction_hook(run.clone()));
    }
    let aof = shared.aof.enabled() && !ctx.in_exec;
    if aof {
        crate::aof::begin_exec(shared);
    }
    let lua = &vm.lua;
    let api: Table = lua.registry_value(&vm.api).expect("api table");
    let call = std::cell::RefCell::new(call);
    let outcome = lua.scope(|scope| {
        let call = &call;
        let dispatch = scope.create_function(|lua, raise: bool| {
            let argv = lua.remove_app_data::<CallArgs>().map(|a| a.0).unwrap_or_default();
            call.borrow_mut().call(lua, raise, argv)
        })?;
        let setresp = scope.create_function(|_, resp: i64| {
            call.borrow_mut().client.resp = resp as u8;
            Ok(())
        })?;
        let set_repl = scope.create_function(|_, flags: i64| {
            call.borrow_mut().propagate = flags & 1 != 0;
            Ok(())
        })?;
        api.raw_set("dispatch", dispatch)?;
        api.raw_set("setresp", setresp)?;
        api.raw_set("set_repl", set_repl)?;
        let result = if inv.eval {
            let set_args: mlua::Function = lua.registry_value(&vm.set_args)?;
            set_args.call::<_, ()>((string_array(lua, inv.keys)?, string_array(lua, inv.args)?))?;
            let run_fn: mlua::Function = lua.registry_value(&vm.run)?;
            run_fn.call::<_, (bool, Value)>(function)
        } else {
            let run_fn: mlua::Function = lua.registry_value(&vm.run_with_args)?;
            run_fn.call::<_, (bool, Value)>((function, string_array(lua, inv.keys)?, string_array(lua, inv.args)?))
        };
        let no_dispatch: mlua::Function = api.raw_get("no_dispatch")?;
        api.raw_set("dispatch", no_dispatch)?;
        let outcome = match result {
            Ok((true, value)) => {
                let resp3 = call.borrow().client.resp == 3;
                convert::lua_to_reply(&value, ctx.out, resp3);
                Ok(())
            }
            Ok((false, err)) => Err(failure_text(&run, inv, &err)),
            Err(e) => Err(failure_text(&run, inv, &Value::String(lua.create_string(lua_message(&e))?))),
        };
        Ok(outcome)
    });
    vm.lua.remove_hook();
    if aof {
        crate::aof::end_exec(shared);
    }
    run.stop();
    let mut call = call.into_inner();
    // Every few runs, as Redis does, a step of garbage collection rather than a full cycle.
    if vm.runs.is_multiple_of(PUBLISH_PERIOD) {
        let _ = vm.lua.gc_step_kbytes(GC_STEP_KB);
    }
    ctx.ks = std::mem::replace(&mut call.ks, KeyspaceLock::new(&shared.keyspace));
    for (spec, stat) in call.client.batch.entries.drain(..) {
        ctx.client.batch.add(spec, &stat);
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err((text, counted))) => {
            if counted {
                ctx.out.error(&text);
            } else {
                ctx.out.error_uncounted(&text);
            }
        }
        Err(e) => ctx.out.error(&format!("ERR Error running script: {}", lua_message(&e))),
    }
}

/// The error reply of a failed run: `-msg script: name, on source:line.` as Redis writes it;
/// whether it counts in the error statistics (not when a command's error was counted already).
fn failure_text(run: &RunState, inv: &Invocation, err: &Value) -> (String, bool) {
    if run.killed.load(Ordering::Relaxed) {
        return ("ERR Script killed by user with SCRIPT KILL...".into(), true);
    }
    let (msg, place, ignore) = match err {
        Value::Table(t) => error_text(t),
        Value::String(s) => {
            (format!("ERR Error running script {}, {:.100}", inv.name, s.to_string_lossy()), None, false)
        }
        other => (format!("ERR Error running script {}, {:.100}", inv.name, format!("{other:?}")), None, false),
    };
    let mut text = msg.trim_start_matches('-').replace(['\r', '\n'], " ");
    if let Some((source, line)) = place {
        text.push_str(&format!(" script: {}, on {}:{}.", inv.name, source, line));
    }
    (text, !ignore)
}

/// The instruction hook: times the script out at the threshold (handing the runtime over so
/// that others are answered), and stops it once killed.
fn instruction_hook(run: Arc<RunState>) -> impl Fn(&Lua, mlua::Debug) -> mlua::Result<()> + Send + 'static {
    move |lua, _| {
        if run.killed.load(Ordering::Relaxed) {
            tracing::warn!("Lua script killed by user with SCRIPT KILL.");
            // From now on at every line, so that a pcall cannot keep it alive.
            lua.set_hook(HookTriggers::EVERY_LINE, instruction_hook(run.clone()));
            return Err(mlua::Error::RuntimeError("Script killed by user with SCRIPT KILL...".into()));
        }
        if !run.timed_out() {
            let elapsed = crate::storage::now_ms().saturating_sub(run.started_ms.load(Ordering::Relaxed));
            let threshold = run.threshold_ms.load(Ordering::Relaxed);
            if threshold > 0 && elapsed >= threshold {
                let (name, kill) = match run.current() {
                    Some((name, _)) => {
                        (name, if run.eval_mode.load(Ordering::Relaxed) { "SCRIPT KILL" } else { "FUNCTION KILL" })
                    }
                    None => (String::new(), "SCRIPT KILL"),
                };
                tracing::warn!(
                    "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the \
                     script using the {kill} command. Script name is: {name}."
                );
                run.timed_out.store(true, Ordering::Relaxed);
            }
        }
        // Again at every check while timed out: when this thread's wait ends, it takes the
        // worker back if the worker is between two threads at that moment (another thread
        // handing it on), and would then hold up everyone again.
        if run.timed_out() {
            hand_off_runtime();
        }
        Ok(())
    }
}

/// Moves the runtime worker this thread drives to another thread, so that the other
/// connections are served while this thread goes on running the script. A task spawned here
/// runs only once the new thread has taken the worker over; until then this thread waits
/// (bounded) in `block_in_place`, so that when it returns the worker stays with the new thread.
fn hand_off_runtime() {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return;
    }
    let moved = Arc::new(AtomicBool::new(false));
    let flag = moved.clone();
    handle.spawn(async move { flag.store(true, Ordering::Release) });
    tokio::task::block_in_place(|| {
        for _ in 0..200 {
            if moved.load(Ordering::Acquire) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
    });
}

/// Waits for `mutex` without holding up the runtime while a script holds it: the thread
/// gives its runtime worker to another thread first (see [`hand_off_runtime`]).
pub fn lock_during_script<T>(mutex: &Mutex<T>) -> parking_lot::MutexGuard<'_, T> {
    if !any_running() {
        return mutex.lock();
    }
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            return tokio::task::block_in_place(|| mutex.lock());
        }
    }
    mutex.lock()
}

fn string_array<'lua>(lua: &'lua Lua, items: &[Bytes]) -> mlua::Result<Table<'lua>> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(t)
}

/// redis.acl_check_cmd: every user may run every command here (no ACL users yet).
fn acl_check<'lua>(lua: &'lua Lua, args: MultiValue<'lua>) -> mlua::Result<(Value<'lua>, bool)> {
    let argv = match convert::lua_args(lua, args)? {
        Ok(argv) => argv,
        Err(e) => return Ok((Value::Table(convert::error_table(lua, &e)?), true)),
    };
    if commands::table::lookup_command(&argv).is_none() {
        return Ok((
            Value::Table(convert::error_table(lua, "ERR Invalid command passed to redis.acl_check_cmd()")?),
            true,
        ));
    }
    Ok((Value::Boolean(true), false))
}

/// One script run's side of the dispatcher: its client, its replies, its keyspace lock.
struct ScriptCall<'k> {
    shared: &'k crate::server::Shared,
    ks: KeyspaceLock<'k>,
    client: Client,
    out: ReplyBuf,
    read_only: bool,
    allow_oom: bool,
    /// Memory was over `maxmemory` when the script started.
    pre_oom: bool,
    wrote: bool,
    run: Arc<RunState>,
    /// redis.set_repl: whether the script's commands reach the AOF.
    propagate: bool,
}

impl<'k> ScriptCall<'k> {
    /// redis.call / redis.pcall: runs the command; its reply as a Lua value, and whether it
    /// is an error that redis.call raises.
    fn call<'lua>(&mut self, lua: &'lua Lua, raise: bool, argv: Vec<Bytes>) -> mlua::Result<(Value<'lua>, bool)> {
        let spec = match self.check(&argv) {
            Ok(spec) => spec,
            Err(e) => {
                self.shared.record_errors(e.split(' ').next().unwrap_or("ERR"), 1);
                if let Some(spec) = commands::table::lookup_command(&argv) {
                    self.client.failed_command(spec, true);
                }
                let t = convert::error_table(lua, &e)?;
                t.raw_set("ignore_error_stats_update", true)?;
                return Ok((Value::Table(t), raise));
            }
        };
        self.out.resp3 = self.client.resp == 3;
        self.out.buf.clear();
        {
            let mut ctx = Ctx {
                shared: self.shared,
                ks: std::mem::replace(&mut self.ks, KeyspaceLock::new(&self.shared.keyspace)),
                client: &mut self.client,
                out: &mut self.out,
                in_exec: false,
                in_script: true,
                propagate: self.propagate,
                clock: None,
            };
            commands::run(&mut ctx, spec, &argv);
            self.ks = ctx.ks;
        }
        let reply = convert::reply_to_lua(lua, &self.out.buf)?;
        // The reply is one RESP value: an error reply is what redis.call raises.
        let failed = raise && self.out.buf.first() == Some(&b'-');
        Ok((reply, failed))
    }

    /// The checks Redis's scriptCall makes before a command runs from a script.
    fn check(&mut self, argv: &[Bytes]) -> Result<&'static CommandSpec, String> {
        let Some(spec) = commands::table::lookup_command(argv) else {
            return Err("ERR Unknown Redis command called from script".into());
        };
        let n = argv.len() as i32;
        if (spec.arity > 0 && spec.arity != n) || n < -spec.arity {
            return Err("ERR Wrong number of args calling Redis command from script".into());
        }
        if spec.flags & flags::NOSCRIPT != 0 && !self.shared.scripting.disable_deny_scripts.load(Ordering::Relaxed) {
            return Err("ERR This Redis command is not allowed from script".into());
        }
        // As Redis, a read-only script runs no command that may reach replicas either.
        let writes = spec.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0;
        if self.read_only && writes {
            return Err("ERR Write commands are not allowed from read-only scripts.".into());
        }
        // Before the script's first write only: after it, failing would leave half a script.
        if spec.flags & flags::WRITE != 0 && !self.wrote {
            if let Some(e) = crate::persistence::disk_error(self.shared) {
                return Err(e.message());
            }
        }
        if !self.allow_oom && !self.wrote && self.pre_oom && spec.flags & flags::DENYOOM != 0 {
            return Err("OOM command not allowed when used memory > 'maxmemory'.".into());
        }
        if spec.flags & flags::WRITE != 0 {
            self.wrote = true;
            self.run.wrote.store(true, Ordering::Relaxed);
        }
        Ok(spec)
    }
}
