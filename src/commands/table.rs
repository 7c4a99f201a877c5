//! The command table: every command's name, arity, flags and key positions in one place,
//! as in Redis's `commands.def`. Arity follows Redis: N means exactly N arguments including
//! the name, -N means at least N. Key positions drive COMMAND GETKEYS/INFO, tenant
//! resolution and quota checks, so handlers never re-derive them. Commands whose keys are
//! named by a count argument (`movablekeys`) carry a [`KeyFinder`], as Redis's getkeys procs.

use super::Ctx;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::OnceLock;

pub type Handler = fn(&mut Ctx, &[Bytes]);

pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const FAST: u32 = 1 << 9;
    pub const NO_AUTH: u32 = 1 << 10;
    /// Allowed in RESP2 subscribed mode.
    pub const SUBSCRIBED_OK: u32 = 1 << 11;
    /// Runs at once even inside MULTI (MULTI, EXEC, DISCARD, WATCH, QUIT, RESET).
    pub const NO_MULTI_QUEUE: u32 = 1 << 12;
    pub const NO_SLOWLOG: u32 = 1 << 13;
    /// Refused inside MULTI (WATCH, SUBSCRIBE in RESP2 ...).
    pub const NO_MULTI: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    /// Keys are named by a count argument (numkeys), not fixed positions.
    pub const MOVABLE_KEYS: u32 = 1 << 16;
    /// Runs only as its `enable-*-command` directive allows (DEBUG, MODULE). Not listed by
    /// COMMAND INFO, as Redis hides it.
    pub const PROTECTED: u32 = 1 << 17;
    /// A command that is not a write yet reaches replicas and the AOF (Redis's
    /// `may-replicate`: PUBLISH, SPUBLISH, PFCOUNT storing its cache): held by CLIENT PAUSE
    /// WRITE, logged when it changed the keyspace. Not listed by COMMAND INFO, as in Redis.
    pub const MAY_REPLICATE: u32 = 1 << 18;
    /// Runs a script (EVAL, FCALL ...): the commands the script runs are logged to the AOF,
    /// not the script itself.
    pub const RUNS_SCRIPT: u32 = 1 << 19;

    /// Flag names as COMMAND INFO prints them.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        (MOVABLE_KEYS, "movablekeys"),
    ];
}

/// A key argument found by a [`KeyFinder`]: its position and its access flags, as Redis's key
/// specs name them (COMMAND GETKEYSANDFLAGS prints them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: &'static [&'static str],
}

/// Finds the keys of a command line whose keys cannot be given as (first, last, step).
/// An empty result for arguments that name no valid keys (the command then replies an error).
pub type KeyFinder = fn(&[Bytes]) -> Vec<KeyRef>;

/// Access flags of keys as key specs name them.
pub mod key_access {
    pub const READ: &[&str] = &["RO", "ACCESS"];
    /// Read and changed in place.
    pub const UPDATE: &[&str] = &["RW", "ACCESS", "UPDATE"];
    /// Read, and maybe changed or deleted: the keys of a pop.
    pub const POP: &[&str] = &["RW", "ACCESS", "DELETE"];
    /// Overwritten without being read: the destination of a STORE form.
    pub const OVERWRITE: &[&str] = &["OW", "UPDATE"];
    /// Receives data it does not read first (the destination of SMOVE).
    pub const INSERT: &[&str] = &["RW", "INSERT"];
    /// Deleted without being read (DEL, UNLINK).
    pub const DELETE: &[&str] = &["RM", "DELETE"];
    /// Changed only by removing data from it (HDEL, SREM, LTRIM ...).
    pub const REMOVE: &[&str] = &["RW", "DELETE"];

    /// Whether a key with these flags may receive data (and so grow), as opposed to being
    /// read or only losing data.
    pub fn receives_data(flags: &[&str]) -> bool {
        flags.iter().any(|f| matches!(*f, "UPDATE" | "INSERT" | "OW"))
    }
}

/// `numkeys key [key ...]` with the count at `args[at]`: the keys, with `flags`. No keys when
/// the count is not an integer from 1 (0 with `allow_none`) to the number of arguments left.
fn counted_keys(args: &[Bytes], at: usize, flags: &'static [&'static str], allow_none: bool) -> Vec<KeyRef> {
    let Some(n) = args.get(at).and_then(|a| crate::util::parse_i64(a)) else {
        return Vec::new();
    };
    let min = if allow_none { 0 } else { 1 };
    if n < min || n as usize > args.len() - at - 1 {
        return Vec::new();
    }
    (at + 1..at + 1 + n as usize).map(|pos| KeyRef { pos, flags }).collect()
}

/// Key finders of the movable-key commands, by the shape of their arguments.
pub mod finders {
    use super::{counted_keys, key_access, KeyRef};
    use bytes::Bytes;

    /// `CMD numkeys key ...` reading its keys: SINTERCARD, ZINTERCARD, ZUNION, ZINTER, ZDIFF.
    pub fn reads_counted_at_1(args: &[Bytes]) -> Vec<KeyRef> {
        counted_keys(args, 1, key_access::READ, false)
    }

    /// `CMD numkeys key ...` popping from its keys: LMPOP, ZMPOP.
    pub fn pops_counted_at_1(args: &[Bytes]) -> Vec<KeyRef> {
        counted_keys(args, 1, key_access::POP, false)
    }

    /// `CMD timeout numkeys key ...`: BLMPOP, BZMPOP.
    pub fn pops_counted_at_2(args: &[Bytes]) -> Vec<KeyRef> {
        counted_keys(args, 2, key_access::POP, false)
    }

    /// `CMD destination numkeys key ...`: ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE. The
    /// destination comes first, as Redis's key specs list it.
    pub fn store_and_reads_counted_at_2(args: &[Bytes]) -> Vec<KeyRef> {
        let sources = counted_keys(args, 2, key_access::READ, false);
        if sources.is_empty() {
            return sources;
        }
        let mut keys = Vec::with_capacity(1 + sources.len());
        keys.push(KeyRef { pos: 1, flags: key_access::OVERWRITE });
        keys.extend(sources);
        keys
    }

    /// `CMD script numkeys key ... arg ...`: EVAL, FCALL and their variants, which may name
    /// no key at all.
    pub fn script_keys(args: &[Bytes]) -> Vec<KeyRef> {
        counted_keys(args, 2, key_access::UPDATE, true)
    }

    /// The same for EVAL_RO, EVALSHA_RO, FCALL_RO, which only read their keys.
    pub fn script_read_keys(args: &[Bytes]) -> Vec<KeyRef> {
        counted_keys(args, 2, key_access::READ, true)
    }
}

pub struct CommandSpec {
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    /// Position of the first key (0 = no keys), the last key (-1 = last argument) and the step.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// Family name as COMMAND DOCS reports it (`string`, `generic`, `server` ...).
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub run: Handler,
    pub subcommands: &'static [CommandSpec],
    /// For subcommands: the container's name (filled in by the index, `""` otherwise).
    pub parent: &'static str,
    /// For `movablekeys` commands: where their keys are.
    pub find_keys: Option<KeyFinder>,
    /// Access flags of the keys at fixed positions, in order (the last one stands for the
    /// keys after it); empty for the command's generic flags ([`CommandSpec::default_key_flags`]).
    pub key_flags: &'static [&'static [&'static str]],
}

impl CommandSpec {
    /// `get`, or `config|get` for a subcommand.
    pub fn full_name(&self) -> String {
        // Containers name themselves as their own parent.
        if self.parent.is_empty() || self.parent == self.name {
            self.name.to_string()
        } else {
            format!("{}|{}", self.parent, self.name)
        }
    }

    /// The spec with a key finder for its movable keys (used in the command tables).
    pub const fn keys_by(self, find: KeyFinder) -> CommandSpec {
        CommandSpec { find_keys: Some(find), ..self }
    }

    /// The spec with access flags for its keys at fixed positions (used in the command
    /// tables for writes that only delete, pop or move data out).
    pub const fn key_access(self, key_flags: &'static [&'static [&'static str]]) -> CommandSpec {
        CommandSpec { key_flags, ..self }
    }

    /// Access flags of the `i`-th key at a fixed position.
    pub fn fixed_key_flags(&self, i: usize) -> &'static [&'static str] {
        match self.key_flags.get(i).or(self.key_flags.last()) {
            Some(flags) => flags,
            None => self.default_key_flags(),
        }
    }

    /// Whether running the command may make keys take more memory: a write that is
    /// `denyoom` or that names a key receiving data. Writes that only delete or pop skip
    /// quota checks.
    pub fn may_grow(&self) -> bool {
        if self.flags & flags::WRITE == 0 {
            return false;
        }
        if self.flags & flags::DENYOOM != 0 || self.find_keys.is_some() {
            return true;
        }
        self.first_key > 0 && (self.key_flags.is_empty() || self.key_flags.iter().any(|f| key_access::receives_data(f)))
    }

    /// Access flags of keys at fixed positions: what a write or a read command does to them.
    pub fn default_key_flags(&self) -> &'static [&'static str] {
        if self.flags & flags::WRITE != 0 {
            key_access::UPDATE
        } else {
            key_access::READ
        }
    }

    /// Whether the command names keys at all (fixed positions or a finder).
    pub fn has_keys(&self) -> bool {
        self.first_key > 0 || self.find_keys.is_some()
    }

    /// The key arguments of `args` with their access flags; keys at fixed positions get the
    /// command's generic flags.
    pub fn key_refs(&self, args: &[Bytes]) -> Vec<KeyRef> {
        if let Some(find) = self.find_keys {
            return find(args);
        }
        self.range_positions(args)
            .into_iter()
            .enumerate()
            .map(|(i, pos)| KeyRef { pos, flags: self.fixed_key_flags(i) })
            .collect()
    }

    /// Position of the first key argument in `args`, if any (without listing the others when
    /// they are at fixed positions: this runs for every command).
    pub fn first_key_position(&self, args: &[Bytes]) -> Option<usize> {
        match self.find_keys {
            Some(find) => find(args).first().map(|k| k.pos),
            None => (self.first_key > 0 && args.len() > self.first_key as usize).then_some(self.first_key as usize),
        }
    }

    /// Positions of the key arguments in `args`.
    pub fn key_positions(&self, args: &[Bytes]) -> Vec<usize> {
        match self.find_keys {
            Some(find) => find(args).into_iter().map(|k| k.pos).collect(),
            None => self.range_positions(args),
        }
    }

    /// Positions given by (first, last, step).
    fn range_positions(&self, args: &[Bytes]) -> Vec<usize> {
        if self.first_key <= 0 {
            return Vec::new();
        }
        let n = args.len() as i32;
        let last = if self.last_key < 0 { n + self.last_key } else { self.last_key.min(n - 1) };
        let step = self.step.max(1);
        (self.first_key..=last).step_by(step as usize).map(|i| i as usize).collect()
    }
}

/// Declares a command spec without subcommands.
#[macro_export]
macro_rules! cmd {
    ($name:literal, $arity:expr, $flags:expr, ($first:expr, $last:expr, $step:expr), $group:literal, $since:literal, $summary:literal, $run:expr) => {
        $crate::commands::CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            group: $group,
            summary: $summary,
            since: $since,
            run: $run,
            subcommands: &[],
            parent: "",
            find_keys: None,
            key_flags: &[],
        }
    };
}

/// Declares a container command (CONFIG, CLIENT ...) whose subcommands are dispatched by the table.
#[macro_export]
macro_rules! container {
    ($name:literal, $group:literal, $since:literal, $summary:literal, $subs:expr) => {
        $crate::commands::CommandSpec {
            name: $name,
            arity: -2,
            flags: 0,
            first_key: 0,
            last_key: 0,
            step: 0,
            group: $group,
            summary: $summary,
            since: $since,
            run: |_, _| {},
            subcommands: $subs,
            parent: $name,
            find_keys: None,
            key_flags: &[],
        }
    };
}

/// Every command family's table.
pub fn families() -> &'static [&'static [CommandSpec]] {
    static FAMILIES: &[&[CommandSpec]] = &[
        super::connection::COMMANDS,
        super::client::COMMANDS,
        super::introspection::COMMANDS,
        super::server::COMMANDS,
        super::keys::COMMANDS,
        super::strings::COMMANDS,
        super::bitmaps::COMMANDS,
        super::hyperloglog::COMMANDS,
        super::sets::COMMANDS,
        super::sort::COMMANDS,
        super::hashes::COMMANDS,
        super::lists::COMMANDS,
        super::pubsub::COMMANDS,
        super::transactions::COMMANDS,
        super::tenants::COMMANDS,
        super::tags::COMMANDS,
        super::zsets::COMMANDS,
        super::geo::COMMANDS,
        super::streams::COMMANDS,
        super::latency::COMMANDS,
        super::keyclass::COMMANDS,
        super::scripting::COMMANDS,
    ];
    FAMILIES
}

/// Name → spec, looked up for every command. A fast fixed hasher is safe here: the index is
/// built once at start and never grows, so no client input can crowd its buckets.
type Index = HashMap<&'static [u8], &'static CommandSpec, foldhash::fast::FixedState>;

/// Top-level commands by lowercase name.
fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m = Index::default();
        for family in families() {
            for spec in family.iter() {
                m.insert(spec.name.as_bytes(), spec);
            }
        }
        m
    })
}

/// All top-level commands.
pub fn all() -> impl Iterator<Item = &'static CommandSpec> {
    index().values().copied()
}

/// Where the first member or field a command reads from its key's set, hash or sorted set
/// sits in its arguments, for the commands a pipelined batch prefetches members for (the
/// connection's prefetch; a wrong or missing answer only costs speed: ZADD with flags names
/// its member later than the plain form guessed here).
pub fn member_position(name: &[u8]) -> Option<usize> {
    const AT_2: [&[u8]; 17] = [
        b"sadd",
        b"srem",
        b"sismember",
        b"smismember",
        b"hset",
        b"hsetnx",
        b"hget",
        b"hmget",
        b"hdel",
        b"hexists",
        b"hincrby",
        b"hincrbyfloat",
        b"hstrlen",
        b"zscore",
        b"zrem",
        b"zrank",
        b"zmscore",
    ];
    const AT_3: [&[u8]; 2] = [b"zadd", b"zincrby"];
    if !(4..=12).contains(&name.len()) || !matches!(name[0] | 0x20, b's' | b'h' | b'z') {
        return None;
    }
    if AT_2.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        Some(2)
    } else {
        AT_3.iter().any(|n| n.eq_ignore_ascii_case(name)).then_some(3)
    }
}

/// The top-level command named `name` (any case).
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 64];
    let lower = crate::util::lowercase(name, &mut buf)?;
    index().get(lower).copied()
}

/// The spec that runs `args`: the command, or its subcommand for containers.
pub fn lookup_command(args: &[Bytes]) -> Option<&'static CommandSpec> {
    let spec = lookup(&args[0])?;
    if spec.subcommands.is_empty() {
        return Some(spec);
    }
    // A container with arity -1 (COMMAND) also runs without a subcommand.
    let Some(sub) = args.get(1) else {
        return (spec.arity == -1).then_some(spec);
    };
    spec.subcommands.iter().find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
}

/// The spec for `name` or `container|sub`.
pub fn lookup_full_name(name: &str) -> Option<&'static CommandSpec> {
    match name.split_once('|') {
        Some((parent, sub)) => lookup(parent.as_bytes())?.subcommands.iter().find(|s| s.name.eq_ignore_ascii_case(sub)),
        None => lookup(name.as_bytes()),
    }
}

/// Declares a subcommand of a container command.
#[macro_export]
macro_rules! subcmd {
    ($parent:literal, $name:literal, $arity:expr, $flags:expr, ($first:expr, $last:expr, $step:expr), $summary:literal, $run:expr) => {
        $crate::commands::CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            group: "",
            summary: $summary,
            since: "",
            run: $run,
            subcommands: &[],
            parent: $parent,
            find_keys: None,
            key_flags: &[],
        }
    };
}
