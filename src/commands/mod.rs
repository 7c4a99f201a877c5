//! Command execution: the command table, the per-command context handlers receive, and the
//! dispatcher that checks arity, authentication, subscribed mode and transactions before
//! calling a handler.
//!
//! Handlers live in one module per family (`strings`, `keys`, `server`, ...), each exporting
//! a `COMMANDS` table that [`table`] joins into one index.

pub mod args;
pub mod bitmaps;
pub mod blocking;
pub mod client;
pub mod connection;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod info;
pub mod introspection;
pub mod keyclass;
pub mod keys;
pub mod latency;
pub mod listing;
pub mod lists;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod table;
pub mod tags;
pub mod tenants;
pub mod transactions;
pub mod zsets;

use crate::client::Client;
use crate::protocol::ReplyBuf;
use crate::server::Shared;
use crate::storage::Keyspace;
use crate::tenants::TenantId;
use bytes::Bytes;
use parking_lot::{Mutex, MutexGuard};
pub use table::{flags, member_position, CommandSpec};

/// The keyspace lock, taken on first use and held until the end of the batch of pipelined
/// commands (or the whole of EXEC), so a batch pays for one lock, not one per command.
pub struct KeyspaceLock<'a> {
    mutex: &'a Mutex<Keyspace>,
    guard: Option<MutexGuard<'a, Keyspace>>,
}

impl<'a> KeyspaceLock<'a> {
    pub fn new(mutex: &'a Mutex<Keyspace>) -> Self {
        KeyspaceLock { mutex, guard: None }
    }

    #[inline]
    pub fn get(&mut self) -> &mut Keyspace {
        let mutex = self.mutex;
        self.guard.get_or_insert_with(|| {
            let mut g = match mutex.try_lock() {
                Some(g) => g,
                None => crate::scripting::lock_during_script(mutex),
            };
            g.now_ms = crate::storage::now_ms();
            g
        })
    }

    pub fn is_held(&self) -> bool {
        self.guard.is_some()
    }

    /// Lets other clients in (between batches, or while this client waits).
    pub fn release(&mut self) {
        self.guard = None;
    }

    /// Lets other clients in and, if one waits, hands the lock to it before this holder can
    /// take it again (a long job giving way between its steps).
    pub fn release_fair(&mut self) {
        if let Some(guard) = self.guard.take() {
            MutexGuard::unlock_fair(guard);
        }
    }
}

/// What a handler works with: the server, the keyspace, the calling client and its replies.
pub struct Ctx<'a, 'k> {
    pub shared: &'k Shared,
    pub ks: KeyspaceLock<'k>,
    pub client: &'a mut Client,
    pub out: &'a mut ReplyBuf,
    /// Set by EXEC while it runs queued commands (they then see one instant, as in Redis).
    pub in_exec: bool,
    /// Set for the commands a script runs (`redis.call`).
    pub in_script: bool,
    /// Whether the command is logged to the AOF (a script turns it off with
    /// `redis.set_repl(redis.REPL_NONE)`).
    pub propagate: bool,
    /// When the last command of this batch ended: the next one's start, so that a pipelined
    /// command reads the clock once, not twice (the parse between two commands then counts
    /// toward the second one's duration).
    pub clock: Option<std::time::Instant>,
}

impl<'a, 'k> Ctx<'a, 'k> {
    pub fn new(shared: &'k Shared, client: &'a mut Client, out: &'a mut ReplyBuf) -> Self {
        Ctx {
            shared,
            ks: KeyspaceLock::new(&shared.keyspace),
            client,
            out,
            in_exec: false,
            in_script: false,
            propagate: true,
            clock: None,
        }
    }

    /// The client's selected database.
    pub fn db(&self) -> usize {
        self.client.db
    }
}

/// Redis's error texts that several families share.
pub mod errors {
    pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
    pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
    pub const NOT_FLOAT: &str = "ERR value is not a valid float";
    pub const SYNTAX: &str = "ERR syntax error";
    pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
    pub const NO_SUCH_KEY: &str = "ERR no such key";
    pub const DB_INDEX: &str = "ERR DB index is out of range";
    pub const NOAUTH: &str = "NOAUTH Authentication required.";
    pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";
}

/// Runs one command: checks, then the handler, then statistics and keyspace events.
pub fn execute(ctx: &mut Ctx, args: &[Bytes]) {
    check_and_run(ctx, args);
    // Errors written by the checks (arity, NOAUTH, unknown command, queueing) count too.
    count_errors(ctx);
}

/// Adds the error replies written since the last call to `INFO errorstats`; returns whether
/// there were any.
fn count_errors(ctx: &mut Ctx) -> bool {
    let (n, code) = ctx.out.take_uncounted_errors();
    if n > 0 {
        ctx.shared.record_errors(code.unwrap_or("ERR"), n);
    }
    // An error a script passed on was counted where it arose, but the script failed too.
    let passed_on = ctx.out.take_passed_on_errors();
    n > 0 || passed_on > 0
}

fn check_and_run(ctx: &mut Ctx, args: &[Bytes]) {
    // A pipelining client repeats its command: the one it ran last is checked first (a
    // top-level command without subcommands, so that its name alone decides).
    let repeated = ctx.client.last_command.filter(|last| {
        last.parent.is_empty() && last.subcommands.is_empty() && args[0].eq_ignore_ascii_case(last.name.as_bytes())
    });
    let Some(spec) = repeated.or_else(|| table::lookup_command(args)) else {
        return unknown_command(ctx, args);
    };
    ctx.client.last_command = Some(spec);
    if let Err(msg) = check_arity(spec, args) {
        return reject(ctx, Some(spec), &msg);
    }
    // Before authentication, as in Redis: the refusal says how to enable the command.
    if spec.flags & flags::PROTECTED != 0 {
        if let Err(msg) = check_protected(ctx, spec) {
            return reject(ctx, Some(spec), &msg);
        }
    }
    if !ctx.client.authenticated && spec.flags & flags::NO_AUTH == 0 {
        return reject(ctx, Some(spec), errors::NOAUTH);
    }
    if ctx.client.in_resp2_subscribed_mode() && spec.flags & flags::SUBSCRIBED_OK == 0 {
        let msg = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.full_name()
        );
        return reject(ctx, Some(spec), &msg);
    }
    // While the dataset loads at start, only the commands Redis allows then.
    if spec.flags & flags::LOADING == 0
        && ctx.shared.persistence.loading_at_start.load(std::sync::atomic::Ordering::Relaxed)
        && !ctx.client.replaying_log
    {
        return reject(ctx, Some(spec), errors::LOADING);
    }
    // While a script runs past busy-reply-threshold, only the commands Redis allows then.
    if ctx.shared.scripting.run.timed_out() && spec.flags & flags::ALLOW_BUSY == 0 {
        // A slow script in a log being loaded: the server is loading, as Redis says then.
        if ctx.shared.persistence.loading.load(std::sync::atomic::Ordering::Relaxed) {
            return reject(ctx, Some(spec), errors::LOADING);
        }
        let busy = ctx.shared.scripting.run.busy_error();
        return reject(ctx, Some(spec), busy);
    }
    // As Redis, while the last background save or AOF write failed, writes are refused
    // rather than acknowledged and lost; PING too, so that health checks see it.
    // The command is looked at first: reads pay nothing for the check.
    let may_refuse = spec.flags & flags::WRITE != 0 || spec.name == "ping" || spec.name == "exec";
    if may_refuse {
        if let Some(e) = crate::persistence::disk_error(ctx.shared) {
            if spec.name != "exec" || queued_writes(ctx) {
                return reject(ctx, Some(spec), &e.message());
            }
        }
    }
    if ctx.client.multi.is_some() && spec.flags & flags::NO_MULTI_QUEUE == 0 {
        return transactions::queue(ctx, spec, args);
    }
    run(ctx, spec, args);
}

/// Whether the open transaction queued a write.
fn queued_writes(ctx: &Ctx) -> bool {
    ctx.client.multi.as_ref().is_some_and(|queued| queued.iter().any(|(spec, _)| spec.flags & flags::WRITE != 0))
}

/// Refuses a command before it runs, as Redis's `rejectCommand`: inside MULTI the transaction
/// is flagged so that EXEC aborts, and a refused EXEC ends the transaction at once.
fn reject(ctx: &mut Ctx, spec: Option<&'static CommandSpec>, msg: &str) {
    if let Some(spec) = spec {
        ctx.client.failed_command(spec, true);
    }
    if ctx.client.multi.is_some() {
        if spec.is_some_and(|s| s.name == "exec") {
            return transactions::abort(ctx, msg);
        }
        ctx.client.multi_failed = true;
    }
    ctx.out.error(msg);
}

/// Runs a command that passed the checks (also used by EXEC for queued commands).
///
/// The keyspace clock is read when the batch takes the keyspace lock: the commands of one
/// batch of pipelined commands (and of one EXEC) see the same millisecond.
pub fn run(ctx: &mut Ctx, spec: &'static CommandSpec, args: &[Bytes]) {
    count_errors(ctx);
    // A script's commands were admitted with it; while a script runs, the commands others may
    // run then (SCRIPT KILL ...) leave the keyspace alone.
    if !ctx.in_exec && !ctx.in_script && !ctx.shared.scripting.run.running() {
        evict_before_command(ctx);
    }
    match admit(ctx, spec, args) {
        Ok(admitted) => run_admitted(ctx, spec, args, admitted),
        Err(()) => {
            count_errors(ctx);
        }
    }
    if ctx.ks.is_held() {
        ctx.ks.get().forget_first_key();
    }
    // What eviction before a refused command changed.
    drain_effects(ctx, false, None);
}

/// Drains the effect stream (see [`crate::storage::effect`]) after a command: blocked pops
/// learn which keys became poppable and keyspace notifications are published, in the order
/// the changes happened. With `serve` (not inside EXEC, which serves once it is done),
/// clients blocked on those keys are then served, in their own order; their pops record
/// effects of their own, drained in turn.
///
/// With the AOF on, `logged` is the command that just ran: keys its lookups expired (or
/// eviction removed) are logged as DEL, then the command itself, then the pops it served
/// (see [`crate::aof`]).
fn drain_effects(ctx: &mut Ctx, serve: bool, mut logged: Option<crate::aof::Pending>) {
    if !ctx.ks.is_held() {
        return;
    }
    let aof = ctx.shared.aof.enabled();
    let mut served: Vec<blocking::ServedPop> = Vec::new();
    loop {
        let ks = ctx.ks.get();
        if ks.has_effects() {
            let effects = ks.take_effects();
            if aof {
                crate::aof::log_removals(ctx.shared, &effects);
            }
            for e in &effects {
                match e.change {
                    crate::storage::Change::Poppable => ks.blocking.signal(e.db, &e.key),
                    // Group readers blocked on a flushed stream learn that it is gone.
                    crate::storage::Change::Flushed(_) if !ks.blocking.is_empty() => {
                        for key in ks.blocking.keys_in_db(e.db) {
                            ks.blocking.signal(e.db, &key);
                        }
                    }
                    _ => {}
                }
            }
            crate::pubsub::publish_keyspace_events(ctx, &effects);
        }
        // Skipped whole with the AOF off: this runs after every command.
        if aof {
            if let Some(pending) = logged.take() {
                match ctx.client.log_as.take() {
                    Some(commands) => crate::aof::log_commands(ctx.shared, ctx.client.db, &commands),
                    None => {
                        let reply = ctx.out.buf.get(pending.reply_mark..).unwrap_or_default();
                        crate::aof::log_command(ctx.shared, ctx.ks.get(), ctx.client.db, &pending, reply);
                    }
                }
            }
            for (db, args, reply) in served.drain(..) {
                crate::aof::log_served_pop(ctx.shared, ctx.ks.get(), db, &args, &reply);
            }
        }
        let ks = ctx.ks.get();
        if !serve || !ks.blocking.has_ready() {
            return;
        }
        blocking::serve_ready(ks, aof.then_some(&mut served));
    }
}

/// What admission decided for a command about to run.
#[derive(Clone, Copy, Default)]
struct Admitted {
    /// The write's demand (in the client's `write_demand`) is re-checked after it ran.
    limited: bool,
    /// The write names keys of a tenant that refuses writes over its quota: their state was
    /// recorded, and the write is undone if it took the tenant over.
    guarded: bool,
}

/// As Redis's `performEvictions` before every command: memory can pass `maxmemory` without
/// any write (client buffers grow, `maxmemory` is lowered), and keys are evicted by the
/// policy to bring it back, whatever the next command is.
fn evict_before_command(ctx: &mut Ctx) {
    if ctx.shared.settings.maxmemory.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        return;
    }
    let ks = ctx.ks.get();
    if ks.limits_active() && ks.server_memory() as u64 > ks.maxmemory {
        ks.evict_to_maxmemory();
    }
}

/// Whether memory is over `maxmemory` (after the eviction before the command).
pub fn over_maxmemory(ctx: &mut Ctx) -> bool {
    if ctx.shared.settings.maxmemory.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        return false;
    }
    let ks = ctx.ks.get();
    ks.limits_active() && ks.server_memory() as u64 > ks.maxmemory
}

/// Runs the handler of an admitted command, then what follows every command: limits of the
/// tenants it wrote to, blocked clients it served, statistics, latency, slowlog.
fn run_admitted(ctx: &mut Ctx, spec: &'static CommandSpec, args: &[Bytes], admitted: Admitted) {
    let started = ctx.clock.take().unwrap_or_else(std::time::Instant::now);
    let marks = admitted.guarded.then(|| (ctx.out.len(), ctx.ks.get().effects_mark()));
    // A script is logged as the commands it ran (see crate::scripting).
    let runs_script = spec.flags & flags::RUNS_SCRIPT != 0;
    // A script is shown to MONITOR before the commands it runs, as Redis shows it.
    if runs_script && ctx.shared.monitors.active() {
        latency::feed_monitors(ctx, spec, args);
    }
    let logged = (ctx.shared.aof.enabled() && !runs_script && ctx.propagate).then(|| crate::aof::Pending {
        spec,
        args,
        dirty_before: ctx.ks.get().dirty,
        reply_mark: ctx.out.len(),
    });
    (spec.run)(ctx, args);
    if let Some((reply_mark, effects_mark)) = marks {
        let ks = ctx.ks.get();
        if let Some(tenant) = ks.undo_if_over_quota() {
            // Refused as if before it ran: no reply of its own, no effects, not counted as a call.
            ks.drop_effects_since(effects_mark);
            let name = String::from_utf8_lossy(ks.tenants.name(tenant)).into_owned();
            ctx.out.buf.truncate(reply_mark);
            ctx.out.error(&crate::storage::evict::Refusal::TenantQuota(name).message());
            ctx.client.failed_command(spec, true);
            count_errors(ctx);
            return;
        }
    }
    if admitted.limited {
        let ks = ctx.ks.get();
        for &(t, _, _) in &ctx.client.write_demand {
            ks.enforce_limits(t);
        }
    }
    // Clients blocked on keys this command filled are served now, in their own order; inside
    // EXEC or a script that waits until the whole transaction or script is done, as in Redis.
    let serve = !ctx.in_exec && !ctx.in_script;
    drain_effects(ctx, serve, logged);
    let ended = std::time::Instant::now();
    let elapsed = ended.duration_since(started);
    ctx.clock = Some(ended);
    // Commands EXEC runs count their own errors, so EXEC fails only for its own error.
    let failed = count_errors(ctx);
    ctx.client.record(spec, elapsed, failed);
    observe(ctx, spec, args, elapsed);
    if elapsed.as_micros() as i64 >= ctx.shared.slowlog_threshold_us() && spec.flags & flags::NO_SLOWLOG == 0 {
        ctx.shared.slowlog_push(args, elapsed, ctx.client);
    }
}

/// Latency histograms, the latency monitor and MONITOR clients: each costs a relaxed load
/// when off, and the histogram is a thread-owned bucket (see [`crate::latency`]).
#[inline]
fn observe(ctx: &mut Ctx, spec: &'static CommandSpec, args: &[Bytes], elapsed: std::time::Duration) {
    crate::latency::record(spec, elapsed.as_nanos() as u64);
    if crate::latency::monitor_threshold_ms() > 0 {
        let event = if spec.flags & flags::FAST != 0 { "fast-command" } else { "command" };
        crate::latency::add_sample_if_needed(event, elapsed.as_millis() as u64);
    }
    if ctx.shared.monitors.active() && spec.flags & flags::RUNS_SCRIPT == 0 {
        latency::feed_monitors(ctx, spec, args);
    }
}

/// Counts the command for its key's tenant and, for commands that may grow memory while
/// limits are set, makes room under the tenant rules or refuses with `-OOM`. Returns whether
/// the write's demand (left in the client's `write_demand`) must be re-checked after the
/// command ran.
#[allow(clippy::result_unit_err)]
fn admit(ctx: &mut Ctx, spec: &'static CommandSpec, args: &[Bytes]) -> Result<Admitted, ()> {
    let Some(first_key) = spec.first_key_position(args) else {
        // A keyless command that may grow memory (FUNCTION LOAD ...) is refused over
        // `maxmemory` as any other, as Redis refuses every `denyoom` command then.
        if spec.flags & flags::DENYOOM != 0 && !ctx.in_exec && !ctx.in_script && over_maxmemory(ctx) {
            ctx.out.error(&crate::storage::evict::Refusal::MaxMemory.message());
            ctx.client.failed_command(spec, true);
            return Err(());
        }
        return Ok(Admitted::default());
    };
    let db = ctx.client.db;
    let ks = ctx.ks.get();
    let key = &args[first_key];
    let at = ks.remember_first_key(key);
    let first = at.tenant;
    ks.tenant_stats_mut(first).commands += 1;
    ctx.client.last_tenant = Some(first);
    if !ks.limits_active() || !spec.may_grow() {
        return Ok(Admitted::default());
    }
    // The client's buffer is reused: no allocation per write.
    let demand = &mut ctx.client.write_demand;
    demand.clear();
    add_write_demand(ks, db, spec, args, demand);
    merge_demand(demand);
    // Inside EXEC the whole transaction was admitted before its first command ran.
    if !ctx.in_exec {
        match make_room_for(ks, demand) {
            // A script met `maxmemory` before its first write or not at all (see
            // crate::scripting); a tenant's quota holds for it as for any client.
            Err(crate::storage::evict::Refusal::MaxMemory) if ctx.in_script => {}
            Err(refusal) => {
                ctx.out.error(&refusal.message());
                ctx.client.failed_command(spec, true);
                return Err(());
            }
            Ok(()) => {}
        }
    }
    // The estimate cannot know how much a write grows a value (SETRANGE far out, a STORE
    // destination, RENAME into the tenant): a tenant that must never pass its quota gets the
    // write undone afterwards if it did.
    let guarded = if single_fixed_key(spec) {
        args.get(spec.first_key as usize).is_some_and(|key| ks.guard_write(std::iter::once(&key[..])))
    } else {
        let written = spec.key_refs(args);
        let keys = written.iter().filter(|k| k.flags != table::key_access::READ).map(|k| &args[k.pos][..]);
        ks.guard_write(keys)
    };
    Ok(Admitted { limited: true, guarded })
}

/// Whether the command names exactly one key, at a fixed place (SET, INCR, LPUSH, HSET ...).
#[inline]
fn single_fixed_key(spec: &CommandSpec) -> bool {
    spec.find_keys.is_none() && spec.first_key > 0 && spec.first_key == spec.last_key
}

/// Memory a write may take, per tenant: (tenant, bytes written, keys that may be new).
pub type WriteDemand = Vec<(TenantId, usize, usize)>;

/// Adds what `args` may write to `demand`, grouped by the tenants of the keys it may write
/// (the sources a STORE form only reads take no room).
fn add_write_demand(ks: &mut Keyspace, db: usize, spec: &CommandSpec, args: &[Bytes], demand: &mut WriteDemand) {
    let payload = |written: usize| args[1..].iter().map(|a| a.len()).sum::<usize>() / written.max(1);
    // Most writes name one key at a fixed place: no key list to build for them.
    if single_fixed_key(spec) {
        if let Some(key) = args.get(spec.first_key as usize) {
            add_key_demand(ks, db, key, payload(1), demand);
        }
        return;
    }
    let mut written = spec.key_refs(args);
    written.retain(|k| table::key_access::receives_data(k.flags));
    let payload = payload(written.len());
    for k in written {
        add_key_demand(ks, db, &args[k.pos], payload, demand);
    }
}

/// Adds a write of `payload` bytes to `key` to its tenant's demand (one row per key; see
/// [`merge_demand`]).
fn add_key_demand(ks: &mut Keyspace, db: usize, key: &[u8], payload: usize, demand: &mut WriteDemand) {
    let t = ks.tenants.resolve(key);
    let new = (ks.limits(t).maxkeys > 0 && !ks.exists(db, key)) as usize;
    demand.push((t, payload + ENTRY_OVERHEAD, new));
}

/// Sums the rows of one tenant into one. Sorted rather than searched: a write may name a
/// million keys of as many tenants.
fn merge_demand(demand: &mut WriteDemand) {
    if demand.len() < 2 {
        return;
    }
    demand.sort_unstable_by_key(|e| e.0);
    demand.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
            kept.2 += later.2;
        }
        same
    });
}

/// Makes room for `demand` under the tenant rules, or returns the refusal.
fn make_room_for(ks: &mut Keyspace, demand: &WriteDemand) -> Result<(), crate::storage::evict::Refusal> {
    for &(t, bytes, new_keys) in demand {
        ks.make_room(t, bytes, new_keys)?;
    }
    Ok(())
}

/// Admits a whole transaction before EXEC runs it: if it queued commands that may grow memory
/// (`denyoom`) and the room cannot be made, EXEC is refused, as Redis refuses it when out of
/// memory, rather than failing some of its commands.
fn admit_transaction(ctx: &mut Ctx, queued: &[(&'static CommandSpec, Vec<Bytes>)]) -> Result<(), String> {
    let db = ctx.client.db;
    let ks = ctx.ks.get();
    if !ks.limits_active() {
        return Ok(());
    }
    let mut demand = Vec::new();
    for (spec, args) in queued.iter().filter(|(s, _)| s.may_grow()) {
        add_write_demand(ks, db, spec, args, &mut demand);
    }
    merge_demand(&mut demand);
    make_room_for(ks, &demand).map_err(|refusal| refusal.message())
}

/// Bytes a new key costs beyond its key and value (entry header, allocation rounding, slot).
const ENTRY_OVERHEAD: usize = 64;

/// Whether the client may run a protected command (DEBUG, MODULE), as its
/// `enable-*-command` directive says; the refusal is Redis's text.
fn check_protected(ctx: &Ctx, spec: &CommandSpec) -> Result<(), String> {
    let (command, directive) = match spec.name {
        "debug" => ("DEBUG", "enable-debug-command"),
        _ => ("MODULE", "enable-module-command"),
    };
    let level = ctx.shared.config.read().get(directive).to_string();
    if crate::config::protected_action_allowed(&level, &ctx.client.handle.addr) {
        return Ok(());
    }
    Err(format!(
        "ERR {command} command not allowed. If the {directive} option is set to \"local\", you can run it from a \
         local connection, otherwise you need to set this option in the configuration file, and then restart the \
         server."
    ))
}

fn check_arity(spec: &CommandSpec, args: &[Bytes]) -> Result<(), String> {
    let n = args.len() as i32;
    let ok = if spec.arity >= 0 { n == spec.arity } else { n >= -spec.arity };
    if ok {
        Ok(())
    } else {
        Err(format!("ERR wrong number of arguments for '{}' command", spec.full_name()))
    }
}

fn unknown_command(ctx: &mut Ctx, args: &[Bytes]) {
    if let Some(parent) = table::lookup(&args[0]) {
        if !parent.subcommands.is_empty() {
            let sub = args.get(1).map(|s| String::from_utf8_lossy(s).into_owned()).unwrap_or_default();
            let msg = format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                truncate(&sub, 128),
                parent.name.to_ascii_uppercase()
            );
            return reject(ctx, None, &msg);
        }
    }
    let name = String::from_utf8_lossy(&args[0]).into_owned();
    let mut msg = format!("ERR unknown command '{}', with args beginning with: ", truncate(&name, 128));
    for a in args[1..].iter() {
        let a = String::from_utf8_lossy(a);
        if msg.len() > 128 {
            break;
        }
        msg.push_str(&format!("'{}' ", truncate(&a, 128 - msg.len().min(128))));
    }
    reject(ctx, None, &msg);
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
