//! The append-only file, in Redis 7.0's multi-part layout: `dir/appenddirname/` holds a base
//! (`appendonly.aof.<n>.base.rdb`, an RDB snapshot), incremental files
//! (`appendonly.aof.<n>.incr.aof`, write commands in RESP) and the manifest
//! (`appendonly.aof.manifest`) naming them, so redis-server 7.0 loads our directory and we
//! load its.
//!
//! **Where propagation hooks in.** Commands are logged by the dispatcher, from the command's
//! arguments, as Redis's `propagate` does: a write-flagged command that changed the keyspace
//! (its change counter moved) is appended after it ran, rewritten by [`rewrite`] where
//! replaying it as sent would not give the same keyspace (relative expiries become absolute
//! `PXAT`/`PEXPIREAT`, SPOP becomes the SREM of what it removed, INCRBYFLOAT the SET of the
//! result with KEEPTTL, a blocking pop the pop that happened). Only changes no command names
//! come from the effect stream (see [`crate::storage::effect`]): keys removed by expiry or
//! eviction are logged as `DEL`, ahead of the command whose lookup removed them. A command's
//! arguments say what the client meant in a handful of bytes; rebuilding commands from
//! effects would need the whole new value of every collection it touched. A write refused
//! before it changed anything (quota, OOM, WRONGTYPE) leaves the counter alone and is not
//! logged; one undone for a `reject` tenant returns before the log.
//!
//! Writes go to an in-memory buffer, under this module's lock taken while the keyspace is
//! held (so the log's order is the keyspace's). The buffer is written to the file when a
//! batch of commands is done, before its replies go out ([`after_batch`]); with
//! `appendfsync always` it is fsynced there too. With `everysec` a background thread writes
//! and fsyncs once a second, never the serving threads; with `no` the OS decides.
//!
//! A rewrite (BGREWRITEAOF, the `auto-aof-rewrite-*` thresholds, `CONFIG SET appendonly
//! yes`) opens the next incremental file at once, and a forked child writes the dataset as
//! the new base (RDB, with the snapshot code); when it is done the manifest is swapped
//! atomically (temporary file, rename, fsync of the directory) and the old files deleted.
//!
//! While `appendonly` is `no` nothing here runs: the dispatcher reads one relaxed flag.
//!
//! Lock order: the keyspace, then this module's state.

use crate::commands::{self, Ctx};
use crate::server::Shared;
use crate::storage::{Change, Effect, Keyspace, Removal};
use bytes::Bytes;
use parking_lot::Mutex;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always = 0,
    EverySec = 1,
    No = 2,
}

impl Fsync {
    pub fn parse(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

/// The append-only file of the server.
#[derive(Default)]
pub struct Aof {
    /// Whether writes are logged (`appendonly yes`, once the file is open).
    enabled: AtomicBool,
    /// The server has loaded its data and serves: `appendonly` set from now on is a
    /// run-time change (before, the startup path decides).
    serving: AtomicBool,
    fsync: AtomicU8,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Bytes appended and not yet written to the file.
    buf: Vec<u8>,
    file: Option<Arc<File>>,
    /// The database the log last selected (`None`: nothing selected yet in this file).
    db: Option<usize>,
    /// Inside EXEC: whether the MULTI of the transaction was written.
    exec: Option<bool>,
    /// Bytes in the current incremental file and in the base.
    incr_size: u64,
    base_size: u64,
    /// The last write or fsync failed.
    write_failed: bool,
    /// Bytes in the incremental files before the current one.
    older_incr_size: u64,
    /// The directory, the file name prefix (`appendfilename`) and the manifest in force.
    dir: PathBuf,
    prefix: String,
    manifest: Manifest,
    /// The running rewrite, and what the last ones did.
    rewrite: Option<Rewrite>,
    /// A BGREWRITEAOF asked for while a background save ran.
    scheduled: bool,
    /// Turned on at run time: the manifest on disk is not ours until the first rewrite
    /// wrote a base.
    awaiting_base: bool,
    last_rewrite_secs: Option<u64>,
    last_rewrite_failed: bool,
    rewrites: u64,
    consecutive_failures: u64,
    /// The log's size when the last rewrite finished (or at start): auto rewrite measures
    /// growth from it, as Redis's `aof_rewrite_base_size`.
    rewrite_base_size: u64,
}

/// A rewrite in progress: its child writes the new base into `temp`.
struct Rewrite {
    pid: libc::pid_t,
    started: std::time::Instant,
    temp: PathBuf,
    /// The sequence number the new base takes, and the first incremental file that follows it.
    base_seq: u64,
    first_incr_seq: u64,
}

/// One file the manifest names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestFile {
    pub name: String,
    pub seq: u64,
    /// `b` (base), `i` (incremental) or `h` (history, to delete).
    pub kind: char,
}

/// `appendonly.aof.manifest`: one line per file, `file <name> seq <n> type <b|h|i>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub files: Vec<ManifestFile>,
}

impl Manifest {
    /// Parses a manifest as Redis 7.0 writes it; `#` lines are comments.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut files = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if !words.len().is_multiple_of(2) {
                return Err(format!("Invalid AOF manifest file format at line {}", n + 1));
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for pair in words.chunks_exact(2) {
                match pair[0] {
                    "file" => name = Some(pair[1].trim_matches('"').to_string()),
                    "seq" => seq = pair[1].parse::<u64>().ok(),
                    "type" => kind = pair[1].chars().next().filter(|c| matches!(c, 'b' | 'h' | 'i')),
                    _ => {}
                }
            }
            match (name, seq, kind) {
                (Some(name), Some(seq), Some(kind)) => files.push(ManifestFile { name, seq, kind }),
                _ => return Err(format!("Invalid AOF manifest file format at line {}", n + 1)),
            }
        }
        if files.iter().filter(|f| f.kind == 'b').count() > 1 {
            return Err("Found duplicate base file information in the AOF manifest".into());
        }
        Ok(Manifest { files })
    }

    /// The manifest's text, base first, then history, then the incremental files in order.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for kind in ['b', 'h', 'i'] {
            for f in self.files.iter().filter(|f| f.kind == kind) {
                out.push_str(&format!("file {} seq {} type {}\n", f.name, f.seq, f.kind));
            }
        }
        out
    }

    pub fn base(&self) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.kind == 'b')
    }

    pub fn incrs(&self) -> impl Iterator<Item = &ManifestFile> {
        self.files.iter().filter(|f| f.kind == 'i')
    }
}

/// (`dir/appenddirname`, `appendfilename`).
fn aof_dir(shared: &Shared) -> (PathBuf, String) {
    let config = shared.config.read();
    let dir = match config.get("dir") {
        "" => ".",
        d => d,
    };
    (Path::new(dir).join(config.get("appenddirname")), config.get("appendfilename").to_string())
}

fn manifest_name(prefix: &str) -> String {
    format!("{prefix}.manifest")
}

/// Writes the manifest atomically: temporary file, fsync, rename, fsync of the directory.
fn write_manifest(dir: &Path, prefix: &str, manifest: &Manifest) -> std::io::Result<()> {
    let temp = dir.join(format!("temp-{}", manifest_name(prefix)));
    let mut f = File::create(&temp)?;
    f.write_all(manifest.render().as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&temp, dir.join(manifest_name(prefix)))?;
    File::open(dir)?.sync_all()
}

/// Appends one command in RESP.
fn encode<A: AsRef<[u8]>>(buf: &mut Vec<u8>, args: &[A]) {
    header(buf, b'*', args.len());
    for a in args {
        let a = a.as_ref();
        header(buf, b'$', a.len());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
}

/// `*<n>\r\n` or `$<n>\r\n`, without the formatting machinery (it runs for every argument).
#[inline]
fn header(buf: &mut Vec<u8>, kind: u8, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.push(kind);
    buf.extend_from_slice(&digits[at..]);
    buf.extend_from_slice(b"\r\n");
}

impl State {
    /// Appends a command run in `db`: SELECT first when the log is in another database,
    /// MULTI first when it is the first of a transaction.
    fn emit<A: AsRef<[u8]>>(&mut self, db: usize, args: &[A]) {
        if self.db != Some(db) {
            encode::<&[u8]>(&mut self.buf, &[b"SELECT", db.to_string().as_bytes()]);
            self.db = Some(db);
        }
        if self.exec == Some(false) {
            encode::<&[u8]>(&mut self.buf, &[b"MULTI"]);
            self.exec = Some(true);
        }
        encode(&mut self.buf, args);
    }

    /// Writes the buffer to the file; returns the file to fsync.
    fn write_out(&mut self) -> Option<Arc<File>> {
        let file = self.file.clone()?;
        if !self.buf.is_empty() {
            match (&*file).write_all(&self.buf) {
                Ok(()) => {
                    self.incr_size += self.buf.len() as u64;
                    self.write_failed = false;
                }
                Err(e) => {
                    if !self.write_failed {
                        tracing::warn!("Error writing to the AOF file: {e}");
                    }
                    self.write_failed = true;
                    // Kept, to be written on the next try, as Redis keeps its buffer.
                    return None;
                }
            }
            self.buf.clear();
        }
        Some(file)
    }
}

impl Aof {
    /// Whether writes are logged: one relaxed load, all the hot path pays while off.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn set_serving(&self) {
        self.serving.store(true, Ordering::Relaxed);
    }

    pub fn serving(&self) -> bool {
        self.serving.load(Ordering::Relaxed)
    }

    pub fn set_fsync(&self, policy: Fsync) {
        self.fsync.store(policy as u8, Ordering::Relaxed);
    }

    fn fsync_policy(&self) -> Fsync {
        match self.fsync.load(Ordering::Relaxed) {
            0 => Fsync::Always,
            1 => Fsync::EverySec,
            _ => Fsync::No,
        }
    }

    /// Writes what is buffered, and fsyncs it when `sync` (outside the lock: a later writer
    /// need not wait for this fsync).
    fn flush(&self, sync: bool) {
        let file = self.state.lock().write_out();
        if let (true, Some(file)) = (sync, file) {
            if let Err(e) = file.sync_data() {
                tracing::warn!("Error fsyncing the AOF file: {e}");
                self.state.lock().write_failed = true;
            }
        }
    }
}

/// What the dispatcher remembers of a command to log it once it ran.
pub struct Pending<'a> {
    pub spec: &'static commands::CommandSpec,
    pub args: &'a [Bytes],
    pub dirty_before: u64,
    /// Where the command's reply starts in the reply buffer (SPOP and blocking pops log what
    /// they replied).
    pub reply_mark: usize,
}

/// Logs the removals by expiry and eviction among `effects` as DEL.
pub fn log_removals(shared: &Shared, effects: &[Effect]) {
    let mut removed = effects
        .iter()
        .filter(|e| matches!(e.change, Change::Removed(Removal::Expired | Removal::Evicted | Removal::EvictedQuota)));
    let Some(first) = removed.next() else { return };
    let mut st = shared.aof.state.lock();
    for e in std::iter::once(first).chain(removed) {
        st.emit::<&[u8]>(e.db, &[b"DEL", &e.key]);
    }
}

/// Logs a command that ran in `db`, if it changed the keyspace.
pub fn log_command(shared: &Shared, ks: &Keyspace, db: usize, pending: &Pending, reply: &[u8]) {
    // PFCOUNT is a read that may store the cardinality it computed in the value, which
    // Redis propagates so that a reload gives the same bytes.
    let writes = pending.spec.flags & (commands::flags::WRITE | commands::flags::MAY_REPLICATE) != 0;
    if ks.dirty == pending.dirty_before || !writes || pending.spec.name == "exec" {
        return;
    }
    if !may_rewrite(pending.spec.name, pending.args) {
        // Most writes replay as sent.
        return shared.aof.state.lock().emit(db, pending.args);
    }
    let mut st = shared.aof.state.lock();
    for cmd in rewrite(ks, db, pending.spec.name, pending.args, reply) {
        st.emit(db, &cmd);
    }
}

/// Whether [`rewrite`] may log the command in another form (SET without options, the most
/// common write, never).
fn may_rewrite(name: &str, args: &[Bytes]) -> bool {
    match name {
        "set" | "tag.set" => args.len() > 3,
        "setex" | "psetex" | "expire" | "pexpire" | "expireat" | "pexpireat" | "getex" | "incrbyfloat" | "spop"
        | "restore" | "blpop" | "brpop" | "bzpopmin" | "bzpopmax" | "blmpop" | "bzmpop" | "blmove" | "brpoplpush" => {
            true
        }
        _ => false,
    }
}

/// Logs a blocked pop served by another client's write: `args` are the waiter's command,
/// `reply` what it was sent.
pub fn log_served_pop(shared: &Shared, ks: &Keyspace, db: usize, args: &[Bytes], reply: &[u8]) {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let mut st = shared.aof.state.lock();
    for cmd in rewrite(ks, db, &name, args, reply) {
        st.emit(db, &cmd);
    }
}

/// EXEC starts running its queued commands: the first one logged is preceded by MULTI.
pub fn begin_exec(shared: &Shared) {
    shared.aof.state.lock().exec = Some(false);
}

/// EXEC is done: EXEC closes the transaction if anything of it was logged.
pub fn end_exec(shared: &Shared) {
    let mut st = shared.aof.state.lock();
    if st.exec.take() == Some(true) {
        encode::<&[u8]>(&mut st.buf, &[b"EXEC"]);
    }
}

fn owned(parts: &[&[u8]]) -> Vec<Bytes> {
    parts.iter().map(|p| Bytes::copy_from_slice(p)).collect()
}

/// The commands that replay `args` deterministically (see the module doc), read from the
/// keyspace after the command ran and from its reply.
pub fn rewrite(ks: &Keyspace, db: usize, name: &str, args: &[Bytes], reply: &[u8]) -> Vec<Vec<Bytes>> {
    let key = || args[1].clone();
    let expire_at = |k: &[u8]| ks.peek(db, k).map(|e| e.expire_at());
    let del = |k: Bytes| vec![vec![Bytes::from_static(b"DEL"), k]];
    let is = |a: &Bytes, w: &str| a.eq_ignore_ascii_case(w.as_bytes());
    match name {
        // The expiry option is replaced where it stands (TAG.SET's tag list follows it).
        "set" | "tag.set" if args.len() > 3 => {
            let Some(at) = expire_at(&args[1]).filter(|&at| at > 0) else { return vec![args.to_vec()] };
            let mut out = args.to_vec();
            let option = (3..args.len() - 1).find(|&i| ["ex", "px", "exat", "pxat"].iter().any(|w| is(&args[i], w)));
            if let Some(i) = option {
                out[i] = Bytes::from_static(b"PXAT");
                out[i + 1] = Bytes::from(at.to_string());
            }
            vec![out]
        }
        "setex" | "psetex" => match expire_at(&args[1]).filter(|&at| at > 0) {
            Some(at) => vec![owned(&[b"SET", &args[1], &args[3], b"PXAT", at.to_string().as_bytes()])],
            None => vec![args.to_vec()],
        },
        "expire" | "pexpire" | "expireat" | "pexpireat" => match expire_at(&args[1]) {
            Some(at) if at > 0 => vec![owned(&[b"PEXPIREAT", &args[1], at.to_string().as_bytes()])],
            Some(_) => vec![args.to_vec()],
            None => del(key()),
        },
        "getex" => match expire_at(&args[1]) {
            Some(at) if at > 0 => vec![owned(&[b"PEXPIREAT", &args[1], at.to_string().as_bytes()])],
            Some(_) => vec![owned(&[b"PERSIST", &args[1]])],
            None => del(key()),
        },
        "incrbyfloat" => match ks.peek(db, &args[1]) {
            Some(e) if e.is_string() => vec![owned(&[b"SET", &args[1], e.str_value(), b"KEEPTTL"])],
            _ => vec![args.to_vec()],
        },
        "spop" => {
            if ks.peek(db, &args[1]).is_none() {
                return del(key());
            }
            let mut srem = owned(&[b"SREM", &args[1]]);
            srem.extend(bulk_strings(reply).into_iter().map(Bytes::from));
            if srem.len() == 2 {
                return Vec::new();
            }
            vec![srem]
        }
        "restore" if args.len() > 2 && args[2].as_ref() != b"0" && !args[4..].iter().any(|a| is(a, "absttl")) => {
            match expire_at(&args[1]).filter(|&at| at > 0) {
                Some(at) => {
                    let mut out = args.to_vec();
                    out[2] = Bytes::from(at.to_string());
                    out.push(Bytes::from_static(b"ABSTTL"));
                    vec![out]
                }
                None => vec![args.to_vec()],
            }
        }
        // A blocking pop that popped: the pop that happened, on the key that served it.
        "blpop" | "brpop" | "bzpopmin" | "bzpopmax" => {
            let popped = bulk_strings(reply);
            let Some(served) = popped.first() else { return Vec::new() };
            let pop: &[u8] = match name {
                "blpop" => b"LPOP",
                "brpop" => b"RPOP",
                "bzpopmin" => b"ZPOPMIN",
                _ => b"ZPOPMAX",
            };
            vec![owned(&[pop, served])]
        }
        "blmpop" | "bzmpop" => {
            // BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n]: the reply is [key, [items]].
            let popped = bulk_strings(reply);
            let Some(served) = popped.first() else { return Vec::new() };
            let numkeys: usize = std::str::from_utf8(&args[2]).ok().and_then(|n| n.parse().ok()).unwrap_or(0);
            let Some(dir) = args.get(3 + numkeys) else { return Vec::new() };
            let items = if name == "blmpop" { popped.len() - 1 } else { (popped.len() - 1) / 2 };
            let pop: &[u8] = match (name, is(dir, "left") || is(dir, "min")) {
                ("blmpop", true) => b"LPOP",
                ("blmpop", false) => b"RPOP",
                (_, true) => b"ZPOPMIN",
                _ => b"ZPOPMAX",
            };
            vec![owned(&[pop, served, items.to_string().as_bytes()])]
        }
        "blmove" if args.len() >= 5 => {
            if bulk_strings(reply).is_empty() {
                return Vec::new();
            }
            vec![owned(&[b"LMOVE", &args[1], &args[2], &args[3], &args[4]])]
        }
        "brpoplpush" => {
            if bulk_strings(reply).is_empty() {
                return Vec::new();
            }
            vec![owned(&[b"RPOPLPUSH", &args[1], &args[2]])]
        }
        _ => vec![args.to_vec()],
    }
}

/// Every bulk string of a reply, in order, at any depth (null bulks and scalars skipped).
fn bulk_strings(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < reply.len() {
        let Some(eol) = reply[i..].windows(2).position(|w| w == b"\r\n").map(|p| i + p) else { break };
        let line = &reply[i..eol];
        i = eol + 2;
        if line.first() == Some(&b'$') {
            let Some(len) = std::str::from_utf8(&line[1..]).ok().and_then(|n| n.parse::<i64>().ok()) else { break };
            if len < 0 {
                continue;
            }
            let end = i + len as usize;
            if end > reply.len() {
                break;
            }
            out.push(reply[i..end].to_vec());
            i = end + 2;
        }
    }
    out
}

/// After a batch of commands, before its replies go out: writes the log, and with
/// `appendfsync always` fsyncs it.
#[inline]
pub fn after_batch(shared: &Shared) {
    if !shared.aof.enabled() {
        return;
    }
    let aof = &shared.aof;
    aof.flush(aof.fsync_policy() == Fsync::Always);
}

/// Starts logging at startup with `appendonly yes`, after [`load_at_start`]: opens the last
/// incremental file of the manifest for appending, creating the base, the file and the
/// manifest when the directory has none, and starts the once-a-second fsync thread.
pub fn start(shared: &Arc<Shared>) -> Result<(), String> {
    let (dir, prefix) = aof_dir(shared);
    let fail = |e: std::io::Error| format!("Can't open the append-only file in {}: {e}", dir.display());
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let mut manifest = read_manifest(&dir, &prefix)?.unwrap_or_default();
    let mut changed = false;
    if manifest.base().is_none() && manifest.incrs().next().is_none() {
        // A fresh directory: the base is the dataset as it is now (empty, unless loaded).
        let ks = shared.lock_keyspace();
        let name = format!("{prefix}.1.base.rdb");
        write_base(shared, &ks, &dir.join(&name)).map_err(fail)?;
        manifest.files.push(ManifestFile { name, seq: 1, kind: 'b' });
        changed = true;
    }
    if manifest.incrs().next().is_none() {
        let seq = manifest.files.iter().map(|f| f.seq).max().unwrap_or(0).max(1);
        manifest.files.push(ManifestFile { name: format!("{prefix}.{seq}.incr.aof"), seq, kind: 'i' });
        changed = true;
    }
    let incr = manifest.incrs().last().expect("an incremental file").name.clone();
    let file = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(&incr)).map_err(fail)?;
    if changed {
        file.sync_all().map_err(fail)?;
        write_manifest(&dir, &prefix, &manifest).map_err(fail)?;
    }
    let incr_size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let base_size = manifest.base().and_then(|b| std::fs::metadata(dir.join(&b.name)).ok()).map_or(0, |m| m.len());
    let aof = &shared.aof;
    aof.set_fsync(Fsync::parse(shared.config.read().get("appendfsync")));
    let mut ks = shared.lock_keyspace();
    let mut st = aof.state.lock();
    let older_incr_size = manifest
        .incrs()
        .filter(|f| f.name != incr)
        .filter_map(|f| std::fs::metadata(dir.join(&f.name)).ok())
        .map(|m| m.len())
        .sum();
    *st = State {
        file: Some(Arc::new(file)),
        incr_size,
        base_size,
        older_incr_size,
        rewrite_base_size: base_size + older_incr_size + incr_size,
        dir,
        prefix,
        manifest,
        ..State::default()
    };
    drop(st);
    ks.subscribe_expiry_and_eviction(true);
    aof.enabled.store(true, Ordering::Relaxed);
    Ok(())
}

/// `CONFIG SET appendonly yes`: as Redis, logging starts at once into a new incremental file
/// and a rewrite writes the base; the manifest on disk changes only when that rewrite is
/// done (files of an earlier log in the directory are then deleted). `ks` is the keyspace
/// under its lock.
pub fn enable_at_runtime(shared: &Shared, ks: &mut Keyspace) -> Result<(), String> {
    let aof = &shared.aof;
    if aof.enabled() {
        return Ok(());
    }
    let (dir, prefix) = aof_dir(shared);
    std::fs::create_dir_all(&dir).map_err(|e| format!("Can't create the AOF directory {}: {e}", dir.display()))?;
    // What the directory held is history once the new base is written.
    let mut old = read_manifest(&dir, &prefix).ok().flatten().unwrap_or_default();
    for f in &mut old.files {
        f.kind = 'h';
    }
    aof.set_fsync(Fsync::parse(shared.config.read().get("appendfsync")));
    let mut st = aof.state.lock();
    *st = State { dir, prefix, manifest: old, awaiting_base: true, ..State::default() };
    start_rewrite(shared, ks, &mut st)?;
    drop(st);
    ks.subscribe_expiry_and_eviction(true);
    aof.enabled.store(true, Ordering::Relaxed);
    Ok(())
}

/// `CONFIG SET appendonly no`: what is buffered is written and fsynced, a running rewrite
/// is stopped, and nothing is logged from now on.
pub fn disable_at_runtime(shared: &Shared, ks: &mut Keyspace) {
    let aof = &shared.aof;
    if !aof.enabled() {
        return;
    }
    aof.flush(true);
    aof.enabled.store(false, Ordering::Relaxed);
    ks.subscribe_expiry_and_eviction(false);
    let mut st = aof.state.lock();
    if let Some(rewrite) = st.rewrite.take() {
        // SAFETY: signals and reaps our own child.
        unsafe {
            libc::kill(rewrite.pid, libc::SIGKILL);
            libc::waitpid(rewrite.pid, std::ptr::null_mut(), 0);
        }
        let _ = std::fs::remove_file(&rewrite.temp);
    }
    st.file = None;
    st.buf.clear();
}

/// `appendfsync everysec`: writes and fsyncs once a second, off the serving threads.
fn fsync_loop(shared: &Shared) {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        if !shared.aof.enabled() {
            continue;
        }
        if shared.aof.fsync_policy() == Fsync::EverySec {
            shared.aof.flush(true);
        }
    }
}

/// Writes everything buffered and fsyncs it (at shutdown).
pub fn flush_all(shared: &Shared) {
    if shared.aof.enabled() {
        shared.aof.flush(true);
    }
}

fn write_base(shared: &Shared, ks: &Keyspace, path: &Path) -> std::io::Result<()> {
    let options = crate::persistence::save_options(shared);
    let mut out = std::io::BufWriter::new(File::create(path)?);
    crate::engine::persist::snapshot::write_snapshot(ks, &mut out, &options)?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn read_manifest(dir: &Path, prefix: &str) -> Result<Option<Manifest>, String> {
    let path = dir.join(manifest_name(prefix));
    match std::fs::read_to_string(&path) {
        Ok(text) => Manifest::parse(&text).map(Some).map_err(|e| format!("{e} ({})", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("Can't read the AOF manifest {}: {e}", path.display())),
    }
}

/// Whether the AOF decides what is loaded at start (`appendonly yes`: it wins over the RDB
/// file, as in Redis).
pub fn configured(shared: &Shared) -> bool {
    shared.config.read().get_bool("appendonly")
}

/// Loads the AOF directory at startup: the base (RDB, or commands), then each incremental
/// file replayed through the command path. A torn last command of the last file is cut off
/// with `aof-load-truncated yes`; anything else wrong refuses the start, naming the file
/// and the offset.
pub fn load_at_start(shared: &Shared) -> Result<(), String> {
    let (dir, prefix) = aof_dir(shared);
    let Some(manifest) = read_manifest(&dir, &prefix)? else { return Ok(()) };
    let started = std::time::Instant::now();
    let truncated_ok = shared.config.read().get_bool("aof-load-truncated");
    let mut keys_loaded = 0;
    if let Some(base) = manifest.base() {
        let path = dir.join(&base.name);
        let data = std::fs::read(&path).map_err(|e| format!("Can't open the AOF base {}: {e}", path.display()))?;
        if data.starts_with(b"REDIS") {
            let mut ks = shared.lock_keyspace();
            ks.now_ms = crate::storage::now_ms();
            let stats = crate::engine::persist::snapshot::load_snapshot(&mut ks, &data[..])
                .map_err(|e| format!("Bad RDB base file {}: {e}", path.display()))?;
            drop(ks);
            shared
                .scripting
                .restore_saved_libraries(&stats.functions)
                .map_err(|e| format!("Bad RDB base file {}: {e}", path.display()))?;
            keys_loaded = stats.keys_loaded;
        } else {
            replay(shared, &path, &data, false)?;
        }
        tracing::info!("DB loaded from base file {}: {:.3} seconds", base.name, started.elapsed().as_secs_f64());
    }
    let incrs: Vec<&ManifestFile> = manifest.incrs().collect();
    for (n, incr) in incrs.iter().enumerate() {
        let path = dir.join(&incr.name);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            // Redis 7.0 creates the last incremental file lazily: a missing one is empty.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("Can't open the AOF file {}: {e}", path.display())),
        };
        let last = n + 1 == incrs.len();
        replay(shared, &path, &data, last && truncated_ok)?;
        tracing::info!("DB loaded from incr file {}: {:.3} seconds", incr.name, started.elapsed().as_secs_f64());
    }
    let mut ks = shared.lock_keyspace();
    // Loading is not a change to save again.
    shared.persistence.loaded_aof(&ks);
    ks.now_ms = crate::storage::now_ms();
    tracing::info!(
        "DB loaded from append only file: {:.3} seconds ({} keys, {keys_loaded} from the base)",
        started.elapsed().as_secs_f64(),
        ks.total_keys()
    );
    Ok(())
}

/// One command parsed from a log: `Ok(None)` when the data ends inside it.
fn parse_command(data: &[u8], mut at: usize) -> Result<Option<(Vec<Bytes>, usize)>, ()> {
    fn line(data: &[u8], at: usize) -> Option<(&[u8], usize)> {
        let eol = data[at..].windows(2).position(|w| w == b"\r\n")? + at;
        Some((&data[at..eol], eol + 2))
    }
    fn number(digits: &[u8]) -> Result<usize, ()> {
        std::str::from_utf8(digits).ok().and_then(|n| n.parse().ok()).ok_or(())
    }
    let Some((header, next)) = line(data, at) else { return Ok(None) };
    if header.first() != Some(&b'*') {
        return Err(());
    }
    let n = number(&header[1..])?;
    if n == 0 {
        return Err(());
    }
    at = next;
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        let Some((len, next)) = line(data, at) else { return Ok(None) };
        if len.first() != Some(&b'$') {
            return Err(());
        }
        let len = number(&len[1..])?;
        if next + len + 2 > data.len() {
            return Ok(None);
        }
        if &data[next + len..next + len + 2] != b"\r\n" {
            return Err(());
        }
        args.push(Bytes::copy_from_slice(&data[next..next + len]));
        at = next + len + 2;
    }
    Ok(Some((args, at)))
}

/// Replays the commands of one log file through the dispatcher, as a client of its own, with
/// the keyspace's limits set aside meanwhile.
fn replay(shared: &Shared, path: &Path, data: &[u8], may_truncate: bool) -> Result<(), String> {
    shared.lock_keyspace().set_loading(true);
    let replayed = replay_commands(shared, path, data, may_truncate);
    shared.lock_keyspace().set_loading(false);
    replayed
}

fn replay_commands(shared: &Shared, path: &Path, data: &[u8], may_truncate: bool) -> Result<(), String> {
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let handle = crate::client::ClientHandle::new(0, "aof".into(), String::new(), -1);
    let mut client = crate::client::Client::new(handle, true);
    let mut out = crate::protocol::ReplyBuf::new();
    let mut at = 0;
    // Where the open MULTI started: a transaction cut off by the end is not applied.
    let mut multi_at = None;
    while at < data.len() {
        match parse_command(data, at) {
            Ok(Some((args, next))) => {
                if args[0].eq_ignore_ascii_case(b"multi") {
                    multi_at = Some(at);
                } else if args[0].eq_ignore_ascii_case(b"exec") {
                    multi_at = None;
                }
                let mut ctx = Ctx::new(shared, &mut client, &mut out);
                commands::execute(&mut ctx, &args);
                drop(ctx);
                out.buf.clear();
                at = next;
            }
            Ok(None) => {
                let valid = multi_at.unwrap_or(at);
                if !may_truncate {
                    return Err(format!(
                        "Unexpected end of file reading the append only file {name} at offset {at}. You can: 1) Make a \
                         backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively \
                         you can set the 'aof-load-truncated' configuration option to yes and restart the server."
                    ));
                }
                tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
                tracing::warn!("!!! Truncating the AOF {name} at offset {valid} !!!");
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|f| f.set_len(valid as u64).and_then(|()| f.sync_all()))
                    .map_err(|e| format!("Error truncating the AOF file {name}: {e}"))?;
                tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
                return Ok(());
            }
            Err(()) => {
                return Err(format!(
                    "Bad file format reading the append only file {name} at offset {at}: make a backup of your AOF \
                     file, then use ./redis-check-aof --fix <filename.manifest>"
                ));
            }
        }
    }
    if let Some(start) = multi_at {
        if !may_truncate {
            return Err(format!(
                "Unexpected end of file reading the append only file {name} at offset {start} (unfinished MULTI)"
            ));
        }
        tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(start as u64))
            .map_err(|e| format!("Error truncating the AOF file {name}: {e}"))?;
    }
    Ok(())
}

/// The aof_* fields of INFO persistence, as Redis 7.0.
pub fn info(shared: &Shared, out: &mut String) {
    let enabled = shared.aof.enabled();
    let st = shared.aof.state.lock();
    let mut field = |name: &str, value: &dyn std::fmt::Display| {
        out.push_str(&format!("{name}:{value}\r\n"));
    };
    field("aof_enabled", &u8::from(enabled));
    field("aof_rewrite_in_progress", &u8::from(st.rewrite.is_some()));
    field("aof_rewrite_scheduled", &u8::from(st.scheduled));
    field("aof_last_rewrite_time_sec", &st.last_rewrite_secs.map_or(-1, |s| s as i64));
    field("aof_current_rewrite_time_sec", &st.rewrite.as_ref().map_or(-1, |r| r.started.elapsed().as_secs() as i64));
    field("aof_last_bgrewrite_status", &if st.last_rewrite_failed { "err" } else { "ok" });
    field("aof_rewrites", &st.rewrites);
    field("aof_rewrites_consecutive_failures", &st.consecutive_failures);
    field("aof_last_write_status", &if st.write_failed { "err" } else { "ok" });
    field("aof_last_cow_size", &0);
    field("module_fork_in_progress", &0);
    field("module_fork_last_cow_size", &0);
    if enabled {
        field("aof_current_size", &(st.base_size + st.older_incr_size + st.incr_size + st.buf.len() as u64));
        field("aof_base_size", &st.base_size);
        field("aof_pending_rewrite", &0);
        field("aof_buffer_length", &st.buf.len());
        field("aof_pending_bio_fsync", &0);
        field("aof_delayed_fsync", &0);
    }
}

/// BGREWRITEAOF: starts a rewrite (see [`start_rewrite`]), or schedules it while a
/// background save runs; returns the status reply. `ks` is the keyspace under its lock.
pub fn bgrewriteaof(shared: &Shared, ks: &Keyspace) -> Result<&'static str, String> {
    if !shared.aof.enabled() {
        return Err("ERR Background append only file rewriting needs appendonly yes at startup".into());
    }
    let mut st = shared.aof.state.lock();
    if st.rewrite.is_some() {
        return Err("ERR Background append only file rewriting already in progress".into());
    }
    if shared.persistence.bgsave_in_progress() {
        st.scheduled = true;
        return Ok("Background append only file rewriting scheduled");
    }
    start_rewrite(shared, ks, &mut st)?;
    Ok("Background append only file rewriting started")
}

/// Starts a rewrite, as Redis 7.0: the current incremental file is written out and fsynced,
/// a new one is opened at once (and named in the manifest) for the writes from now on, and a
/// forked child writes the dataset as it is now as the new base (RDB). [`cron`] swaps the
/// manifest when the child is done.
fn start_rewrite(shared: &Shared, ks: &Keyspace, st: &mut State) -> Result<(), String> {
    let fail = |e: std::io::Error| {
        tracing::warn!("Can't rewrite the append only file: {e}");
        format!("ERR Can't rewrite the append only file: {e}")
    };
    if let Some(file) = st.write_out() {
        file.sync_data().map_err(fail)?;
    }
    // Past every file named, history included, so no new name is an old file's.
    let next_seq = st.manifest.files.iter().map(|f| f.seq).max().unwrap_or(0) + 1;
    let (base_seq, incr_seq) = (next_seq, next_seq);
    let name = format!("{}.{incr_seq}.incr.aof", st.prefix);
    let file = std::fs::OpenOptions::new().create(true).append(true).open(st.dir.join(&name)).map_err(fail)?;
    let mut manifest = st.manifest.clone();
    manifest.files.push(ManifestFile { name: name.clone(), seq: incr_seq, kind: 'i' });
    if !st.awaiting_base {
        write_manifest(&st.dir, &st.prefix, &manifest).map_err(fail)?;
    }
    st.manifest = manifest;
    st.older_incr_size += st.incr_size;
    st.incr_size = 0;
    st.file = Some(Arc::new(file));
    // The new file starts without a database selected.
    st.db = None;
    tracing::info!("Creating AOF incr file {name} on background rewrite");
    let options = crate::persistence::save_options(shared);
    let dir = st.dir.clone();
    // SAFETY: fork in a threaded process, as BGSAVE does (see crate::persistence): the child
    // only reads its copy of the keyspace, allocates and writes one file, and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        st.last_rewrite_failed = true;
        return Err(fail(std::io::Error::last_os_error()));
    }
    if pid == 0 {
        rewrite_child(ks, &dir, &options);
    }
    st.rewrite = Some(Rewrite {
        pid,
        started: std::time::Instant::now(),
        temp: rewrite_temp(&dir, pid as u32),
        base_seq,
        first_incr_seq: incr_seq,
    });
    st.scheduled = false;
    tracing::info!("Background append only file rewriting started by pid {pid}");
    Ok(())
}

fn rewrite_temp(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("temp-rewriteaof-bg-{pid}.aof"))
}

/// The rewrite child: writes the base into its temporary file, fsyncs it and exits (0 on
/// success).
fn rewrite_child(ks: &Keyspace, dir: &Path, options: &crate::engine::persist::snapshot::SaveOptions) -> ! {
    // SAFETY: plain system calls on the child's own process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        // No inherited socket or file stays open here: the child opens what it writes.
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
            for fd in 3..4096 {
                libc::close(fd);
            }
        }
    }
    let temp = rewrite_temp(dir, std::process::id());
    let written = (|| {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, File::create(&temp)?);
        crate::engine::persist::snapshot::write_snapshot(ks, &mut out, options)?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    let code = match written {
        Ok(()) => 0,
        Err(e) => {
            let line = format!("{}:C Background AOF rewrite failed: {e}\n", std::process::id());
            // SAFETY: writing a buffer we own to standard error.
            unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
            1
        }
    };
    // SAFETY: ends the child without running the parent's destructors or atexit handlers.
    unsafe { libc::_exit(code) }
}

/// Ten times a second: reaps a finished rewrite (and swaps the manifest), starts a scheduled
/// one once no background save runs, and starts one when the log grew past
/// `auto-aof-rewrite-percentage` of its size after the last rewrite (and past
/// `auto-aof-rewrite-min-size`). Starts the fsync thread the first time the log is on.
pub fn cron(shared: &Arc<Shared>) {
    if !shared.aof.enabled() {
        return;
    }
    static FSYNC_THREAD: std::sync::Once = std::sync::Once::new();
    FSYNC_THREAD.call_once(|| {
        let shared = shared.clone();
        if let Err(e) = std::thread::Builder::new().name("aof-fsync".into()).spawn(move || fsync_loop(&shared)) {
            tracing::warn!("Can't start the AOF fsync thread: {e}");
        }
    });
    let ks = shared.lock_keyspace();
    let mut st = shared.aof.state.lock();
    if st.rewrite.is_some() {
        reap_rewrite(&mut st);
        return;
    }
    if shared.persistence.bgsave_in_progress() {
        return;
    }
    let size = st.base_size + st.older_incr_size + st.incr_size + st.buf.len() as u64;
    let (percentage, min_size) = {
        let config = shared.config.read();
        (config.get_u64("auto-aof-rewrite-percentage"), config.get_u64("auto-aof-rewrite-min-size"))
    };
    let base = st.rewrite_base_size.max(1);
    let grown = percentage > 0 && size >= min_size && size.saturating_sub(base) * 100 / base >= percentage;
    if st.scheduled || grown {
        if grown {
            tracing::info!("Starting automatic rewriting of AOF on {}% growth", size.saturating_sub(base) * 100 / base);
        }
        let _ = start_rewrite(shared, &ks, &mut st);
    }
}

/// Reaps the rewrite child if it finished. On success the new base takes its name, the
/// manifest names it and the incremental files opened since the fork (written atomically),
/// and the old base and incremental files are deleted. On failure the old manifest, which
/// still names every file written, stays in force.
fn reap_rewrite(st: &mut State) {
    let Some(rewrite) = st.rewrite.as_ref() else { return };
    let mut status = 0;
    // SAFETY: waits for our own child without blocking.
    let done = unsafe { libc::waitpid(rewrite.pid, &mut status, libc::WNOHANG) };
    if done == 0 {
        return;
    }
    let rewrite = st.rewrite.take().expect("checked above");
    let exited_ok = done == rewrite.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let swapped = if exited_ok { swap_base(st, &rewrite) } else { Err("the child failed".into()) };
    match swapped {
        Ok(()) => {
            st.last_rewrite_failed = false;
            st.consecutive_failures = 0;
            st.rewrites += 1;
            st.last_rewrite_secs = Some(rewrite.started.elapsed().as_secs());
            st.rewrite_base_size = st.base_size + st.older_incr_size + st.incr_size;
            tracing::info!("Background AOF rewrite finished successfully");
        }
        Err(e) => {
            let _ = std::fs::remove_file(&rewrite.temp);
            st.last_rewrite_failed = true;
            st.consecutive_failures += 1;
            // Without a base there is no log on disk yet: try again.
            st.scheduled |= st.awaiting_base;
            tracing::warn!("Background AOF rewrite failed: {e}");
        }
    }
}

fn swap_base(st: &mut State, rewrite: &Rewrite) -> Result<(), String> {
    let base = format!("{}.{}.base.rdb", st.prefix, rewrite.base_seq);
    std::fs::rename(&rewrite.temp, st.dir.join(&base)).map_err(|e| e.to_string())?;
    let mut manifest = Manifest { files: vec![ManifestFile { name: base.clone(), seq: rewrite.base_seq, kind: 'b' }] };
    manifest.files.extend(st.manifest.incrs().filter(|f| f.seq >= rewrite.first_incr_seq).cloned());
    write_manifest(&st.dir, &st.prefix, &manifest).map_err(|e| e.to_string())?;
    st.awaiting_base = false;
    let old = std::mem::replace(&mut st.manifest, manifest);
    for f in old.files.iter().filter(|f| !st.manifest.files.contains(f)) {
        let _ = std::fs::remove_file(st.dir.join(&f.name));
    }
    st.base_size = std::fs::metadata(st.dir.join(&base)).map_or(0, |m| m.len());
    st.older_incr_size = st
        .manifest
        .incrs()
        .filter(|f| f.seq != st.manifest.incrs().map(|f| f.seq).max().unwrap_or(0))
        .filter_map(|f| std::fs::metadata(st.dir.join(&f.name)).ok())
        .map(|m| m.len())
        .sum();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips_redis_format() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!(m.incrs().count(), 1);
        assert_eq!(m.render(), text);
        assert!(Manifest::parse("file x seq\n").is_err());
    }

    #[test]
    fn parse_command_tells_torn_from_corrupt() {
        let data = b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n*2\r\n$4\r\nIN";
        let (args, next) = parse_command(data, 0).unwrap().unwrap();
        assert_eq!(args, vec![Bytes::from_static(b"INCR"), Bytes::from_static(b"k")]);
        assert_eq!(parse_command(data, next), Ok(None));
        assert_eq!(parse_command(b"+OK\r\n", 0), Err(()));
        assert_eq!(parse_command(b"*1\r\n$2\r\nabcd\r\n", 0), Err(()));
    }

    #[test]
    fn commands_are_encoded_in_resp() {
        let mut buf = Vec::new();
        encode(&mut buf, &[&b"SET"[..], b"k", &[b'v'; 10]]);
        assert_eq!(buf, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nvvvvvvvvvv\r\n");
        let mut empty = Vec::new();
        encode(&mut empty, &[&b""[..]]);
        assert_eq!(empty, b"*1\r\n$0\r\n\r\n");
    }

    #[test]
    fn bulk_strings_of_nested_replies() {
        assert_eq!(bulk_strings(b"*2\r\n$1\r\nk\r\n$2\r\nv1\r\n"), vec![b"k".to_vec(), b"v1".to_vec()]);
        assert_eq!(bulk_strings(b"*-1\r\n"), Vec::<Vec<u8>>::new());
        assert_eq!(bulk_strings(b"~1\r\n$1\r\na\r\n"), vec![b"a".to_vec()]);
    }
}
