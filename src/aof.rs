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

use crate::commands::{self, Ctx, KeyspaceLock};
use crate::engine::persist::snapshot::SaveOptions;
use crate::server::Shared;
use crate::storage::{Change, Effect, Keyspace, Removal};
use bytes::Bytes;
use parking_lot::Mutex;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
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

/// `aof-timestamp-enabled`: a `#TS:<unix seconds>` annotation goes before the first command
/// of each second, as Redis writes them (`redis-check-aof --truncate-to-timestamp` cuts a log
/// there). Process-wide, as the directive is.
pub static TIMESTAMPS: AtomicBool = AtomicBool::new(false);

/// The append-only file of the server.
#[derive(Default)]
pub struct Aof {
    /// Whether writes are logged (`appendonly yes`, once the file is open).
    enabled: AtomicBool,
    /// The server has loaded its data and serves: `appendonly` set from now on is a
    /// run-time change (before, the startup path decides).
    serving: AtomicBool,
    fsync: AtomicU8,
    /// The `errno` of the last failed write (0: the last write succeeded), and of the last
    /// failed fsync (0: the last fsync succeeded). Either refuses writes with MISCONF (see
    /// [`crate::persistence::disk_error`]); read without the lock before every write.
    write_errno: AtomicI32,
    fsync_errno: AtomicI32,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds to wait before each write of the buffer (tests
    /// look at the file meanwhile).
    pub flush_sleep_us: std::sync::atomic::AtomicU64,
    /// `appendfsync always` as a group commit: the log position (bytes written since start,
    /// across files) the last fsync covered; clients hold their replies until it passes the
    /// end of the log they saw (see [`durable_target`]). The fsync thread is woken by
    /// `sync_needed` and wakes the waiters with `synced`, so one fsync covers the writes of
    /// every client that wrote meanwhile, as Redis's one fsync per event loop does.
    synced_pos: std::sync::atomic::AtomicU64,
    synced: tokio::sync::Notify,
    sync_needed: parking_lot::Condvar,
    state: Mutex<State>,
}

/// Whether the `appendfsync always` fsync thread runs (until then a waiting client fsyncs
/// itself).
static SYNC_THREAD: AtomicBool = AtomicBool::new(false);

#[derive(Default)]
struct State {
    /// Bytes appended and not yet written to the file.
    buf: Vec<u8>,
    file: Option<Arc<File>>,
    /// The database the log last selected (`None`: nothing selected yet in this file).
    db: Option<usize>,
    /// Inside EXEC: whether the MULTI of the transaction was written.
    exec: Option<bool>,
    /// The second the last `#TS` annotation named (0: none yet in this file).
    last_timestamp: u64,
    /// Bytes written to the log since start, across files (the position `synced_pos` counts).
    written_pos: u64,
    /// Bytes in the current incremental file and in the base.
    incr_size: u64,
    base_size: u64,
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
    /// After repeated failures automatic rewrites wait: the current delay, and until when
    /// (Unix seconds; 0: not waiting).
    limit_delay_minutes: u64,
    limited_until: u64,
}

/// Consecutive failed rewrites after which automatic ones are spaced out, and the longest
/// wait between them, as in Redis.
const REWRITE_LIMIT_THRESHOLD: u64 = 3;
const REWRITE_LIMIT_MAX_MINUTES: u64 = 60;

impl State {
    /// Whether an automatic rewrite must wait (Redis's `aofRewriteLimited`): after three
    /// failures in a row the next one waits a minute, then two, four ... up to an hour.
    fn rewrite_limited(&mut self) -> bool {
        if self.consecutive_failures < REWRITE_LIMIT_THRESHOLD {
            self.limit_delay_minutes = 0;
            self.limited_until = 0;
            return false;
        }
        let now = crate::storage::now_ms() / 1000;
        if self.limited_until != 0 {
            if now < self.limited_until {
                return true;
            }
            self.limited_until = 0;
            return false;
        }
        self.limit_delay_minutes = (self.limit_delay_minutes * 2).clamp(1, REWRITE_LIMIT_MAX_MINUTES);
        self.limited_until = now + self.limit_delay_minutes * 60;
        tracing::warn!(
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
            self.limit_delay_minutes
        );
        true
    }
}

/// A rewrite in progress: its child writes the new base into `temp`.
struct Rewrite {
    pid: libc::pid_t,
    started: std::time::Instant,
    temp: PathBuf,
    /// The sequence number the new base takes, and the first incremental file that follows it
    /// (0: none, the log is off).
    base_seq: u64,
    first_incr_seq: u64,
    /// What the log could not write before the fork was dropped: the new base holds it, and
    /// if this rewrite fails another one must.
    dropped_unwritten: bool,
    /// The first rewrite of a log turned on at run time: writes meanwhile go to a temporary
    /// incremental file, named in the manifest only once the base is there.
    temp_incr: bool,
    format: BaseFormat,
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
    /// The sequence numbers the last base and the last incremental file took, counted apart
    /// as Redis counts them: a failed rewrite leaves an incremental file behind, not a base.
    pub base_seq: u64,
    pub incr_seq: u64,
}

impl Manifest {
    /// Parses a manifest with Redis 7.0's checks (`aofLoadManifestFromFile`), so that a file
    /// loads in both servers or in neither: lines end in a newline and are shorter than 1024
    /// bytes, `#` starts a comment, every other line holds at least `file`, `seq` (not 0) and
    /// `type` (`b`, `h` or `i`) in pairs, file names are not paths, one base at most, and the
    /// incremental files' sequence numbers increase.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        const MAX_LINE: usize = 1024;
        if text.is_empty() {
            return Err("Found an empty AOF manifest".into());
        }
        let mut files: Vec<ManifestFile> = Vec::new();
        let mut last_incr_seq = 0;
        for (n, raw) in text.split_inclusive('\n').enumerate() {
            let bad = |what: &str| {
                let line = raw.trim_matches([' ', '\t', '\r', '\n']);
                format!(
                    "*** FATAL AOF MANIFEST FILE ERROR *** Reading the manifest file, at line {}: '{line}': {what}",
                    n + 1
                )
            };
            if raw.starts_with('#') {
                continue;
            }
            if !raw.ends_with('\n') || raw.len() > MAX_LINE {
                return Err(bad("The AOF manifest file contains too long line"));
            }
            let line = raw.trim_matches([' ', '\t', '\r', '\n']);
            let words = crate::protocol::split_inline_args(line.as_bytes())
                .filter(|w| w.len() >= 6 && w.len().is_multiple_of(2))
                .ok_or_else(|| bad("Invalid AOF manifest file format"))?;
            let (mut name, mut seq, mut kind) = (None, 0, None);
            for pair in words.chunks_exact(2) {
                let value = &pair[1];
                if pair[0].eq_ignore_ascii_case(b"file") {
                    if value.contains(&b'/') || value.contains(&b'\\') {
                        return Err(bad("File can't be a path, just a filename"));
                    }
                    name = Some(String::from_utf8_lossy(value).into_owned());
                } else if pair[0].eq_ignore_ascii_case(b"seq") {
                    seq = leading_number(value);
                } else if pair[0].eq_ignore_ascii_case(b"type") {
                    kind = value.first().copied();
                }
            }
            let (Some(name), true, Some(kind)) = (name, seq != 0, kind) else {
                return Err(bad("Invalid AOF manifest file format"));
            };
            let kind = match kind {
                b'b' if files.iter().any(|f| f.kind == 'b') => {
                    return Err(bad("Found duplicate base file information"))
                }
                b'b' => 'b',
                b'h' => 'h',
                b'i' if seq <= last_incr_seq => return Err(bad("Found a non-monotonic sequence number")),
                b'i' => {
                    last_incr_seq = seq;
                    'i'
                }
                _ => return Err(bad("Unknown AOF file type")),
            };
            files.push(ManifestFile { name, seq, kind });
        }
        let base_seq = files.iter().find(|f| f.kind == 'b').map_or(0, |f| f.seq);
        Ok(Manifest { files, base_seq, incr_seq: last_incr_seq })
    }

    /// The manifest's text as Redis writes it: base first, then history, then the
    /// incremental files in order; names that need it quoted as `sdscatrepr` quotes.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        for kind in ['b', 'h', 'i'] {
            for f in self.files.iter().filter(|f| f.kind == kind) {
                out.extend_from_slice(b"file ");
                let plain = f.name.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
                if plain && !f.name.is_empty() {
                    out.extend_from_slice(f.name.as_bytes());
                } else {
                    crate::util::push_repr(&mut out, f.name.as_bytes());
                }
                out.extend_from_slice(format!(" seq {} type {}\n", f.seq, f.kind).as_bytes());
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    pub fn base(&self) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.kind == 'b')
    }

    pub fn incrs(&self) -> impl Iterator<Item = &ManifestFile> {
        self.files.iter().filter(|f| f.kind == 'i')
    }

    /// Names the next incremental file.
    fn add_incr(&mut self, prefix: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{prefix}.{}.incr.aof", self.incr_seq);
        self.files.push(ManifestFile { name: name.clone(), seq: self.incr_seq, kind: 'i' });
        name
    }

    /// The base and incremental files, in load order.
    fn to_load(&self) -> impl Iterator<Item = &ManifestFile> {
        self.base().into_iter().chain(self.incrs())
    }
}

/// The number a manifest's `seq` starts with, as C's `atoll` reads it (0 when none).
fn leading_number(value: &[u8]) -> u64 {
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&value[..digits]).ok().and_then(|d| d.parse().ok()).unwrap_or(0)
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
        // The log is being turned on and its first rewrite waits for a background save: there
        // is no file yet, and that rewrite's base will hold this change.
        if self.file.is_none() {
            return;
        }
        if TIMESTAMPS.load(Ordering::Relaxed) {
            let now = crate::storage::now_ms() / 1000;
            if now > self.last_timestamp {
                self.buf.extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
                self.last_timestamp = now;
            }
        }
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

    /// Writes the buffer to the file; returns the file and the log position written up to
    /// when it holds bytes no fsync covered yet (`synced_pos` behind), for the caller to
    /// fsync. Or returns the `errno` of a failed write. On failure the buffer is kept, to be written on the next try (as Redis keeps
    /// its buffer), and a partial write is cut off the file again so that the log never ends
    /// in half a command; `errno` is recorded in `aof` until a write succeeds.
    fn write_out(&mut self, aof: &Aof) -> Result<Option<(Arc<File>, u64)>, i32> {
        let Some(file) = self.file.clone() else { return Ok(None) };
        let sleep_us = aof.flush_sleep_us.load(Ordering::Relaxed);
        if sleep_us > 0 && !self.buf.is_empty() {
            std::thread::sleep(std::time::Duration::from_micros(sleep_us));
        }
        let mut written = 0;
        let failure = loop {
            if written == self.buf.len() {
                break None;
            }
            match (&*file).write(&self.buf[written..]) {
                Ok(0) => break Some(libc::ENOSPC),
                Ok(n) => written += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Some(e.raw_os_error().unwrap_or(libc::EIO)),
            }
        };
        let Some(errno) = failure else {
            self.incr_size += written as u64;
            self.written_pos += written as u64;
            self.buf.clear();
            if aof.write_errno.swap(0, Ordering::Relaxed) != 0 {
                tracing::warn!("AOF write error looks solved, Redis can write again.");
            }
            let unsynced = self.written_pos > aof.synced_pos.load(Ordering::Acquire);
            return Ok(unsynced.then_some((file, self.written_pos)));
        };
        if written > 0 && file.set_len(self.incr_size).is_err() {
            // The part written stays in the file: it is logged, not to be written again.
            self.incr_size += written as u64;
            self.written_pos += written as u64;
            self.buf.drain(..written);
        }
        if aof.write_errno.swap(errno, Ordering::Relaxed) == 0 {
            tracing::warn!("Error writing to the AOF file: {}", crate::base::util::strerror(errno));
        }
        Err(errno)
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

    /// The `errno` that refuses writes: the last write or the last fsync of the log failed.
    #[inline]
    pub fn write_error(&self) -> Option<i32> {
        if !self.enabled() {
            return None;
        }
        match self.write_errno.load(Ordering::Relaxed) {
            0 => Some(self.fsync_errno.load(Ordering::Relaxed)).filter(|&e| e != 0),
            errno => Some(errno),
        }
    }

    /// Writes what is buffered, and fsyncs it when `sync` (outside the lock: a later writer
    /// need not wait for this fsync).
    ///
    /// With `appendfsync always` a failed write ends the server, as in Redis: the replies of
    /// the batch are not sent yet, but its changes cannot be taken back, and every
    /// acknowledged write must be on disk.
    fn flush(&self, sync: bool) {
        let unsynced = match self.state.lock().write_out(self) {
            Ok(unsynced) => unsynced,
            Err(_) if self.fsync_policy() == Fsync::Always => {
                tracing::error!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                std::process::exit(1);
            }
            Err(_) => return,
        };
        if let (true, Some((file, upto))) = (sync, unsynced) {
            self.fsync(&file, upto);
        }
    }

    /// Fsyncs `file`, which holds the log up to position `upto`. A failure is tried again at
    /// the next fsync (the position stays behind) and refuses writes meanwhile; with
    /// `appendfsync always` it ends the server, as in Redis.
    fn fsync(&self, file: &File, upto: u64) {
        match file.sync_data() {
            Ok(()) => {
                self.fsync_errno.store(0, Ordering::Relaxed);
                self.synced_pos.fetch_max(upto, Ordering::AcqRel);
            }
            Err(e) if self.fsync_policy() == Fsync::Always => {
                tracing::error!(
                    "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                    crate::base::util::strerror(e.raw_os_error().unwrap_or(libc::EIO))
                );
                std::process::exit(1);
            }
            Err(e) => {
                let errno = e.raw_os_error().unwrap_or(libc::EIO);
                if self.fsync_errno.swap(errno, Ordering::Relaxed) == 0 {
                    tracing::warn!("Error fsyncing the AOF file: {e}");
                }
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
    // FLUSHDB and FLUSHALL are logged even over empty databases, as Redis forces them.
    let changed = ks.dirty != pending.dirty_before || matches!(pending.spec.name, "flushdb" | "flushall");
    if !changed || !writes || pending.spec.name == "exec" {
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

/// Logs commands a handler chose to be logged as (see `Client::log_as`).
pub fn log_commands(shared: &Shared, db: usize, commands: &[Vec<Bytes>]) {
    if commands.is_empty() {
        return;
    }
    let mut st = shared.aof.state.lock();
    for cmd in commands {
        st.emit(db, cmd);
    }
}

/// Whether [`rewrite`] may log the command in another form (SET without options, the most
/// common write, never).
fn may_rewrite(name: &str, args: &[Bytes]) -> bool {
    match name {
        "set" | "tag.set" => args.len() > 3,
        "setex" | "psetex" | "expire" | "pexpire" | "expireat" | "pexpireat" | "getex" | "incrbyfloat" | "spop"
        | "restore" | "blpop" | "brpop" | "bzpopmin" | "bzpopmax" | "blmpop" | "bzmpop" | "blmove" | "brpoplpush"
        | "xadd" | "xtrim" => true,
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
        // The id that was given, the trim that happened (see commands::streams).
        "xadd" | "xtrim" => vec![crate::commands::streams::logged_add_or_trim(ks, db, args, reply)],
        // Served to a blocked reader: what it delivered is logged on its own.
        "xread" | "xreadgroup" => Vec::new(),
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

/// After a batch of commands: writes the log. With `appendfsync always` the fsync thread is
/// woken, and the batch's replies wait for it (see [`wait_durable`]).
#[inline]
pub fn after_batch(shared: &Shared) {
    if !shared.aof.enabled() {
        return;
    }
    let aof = &shared.aof;
    aof.flush(false);
    if aof.fsync_policy() == Fsync::Always {
        aof.sync_needed.notify_one();
    }
}

/// With `appendfsync always`, the log position replies must wait for: the end of the log as
/// it is now, buffered bytes of a batch still running included (so a reply that another
/// client's write caused, such as a served blocking pop, waits too). `None` otherwise.
#[inline]
pub fn durable_target(shared: &Shared) -> Option<u64> {
    let aof = &shared.aof;
    if !aof.enabled() || aof.fsync_policy() != Fsync::Always {
        return None;
    }
    let st = aof.state.lock();
    let end = st.written_pos + st.buf.len() as u64;
    (end > aof.synced_pos.load(Ordering::Acquire)).then_some(end)
}

/// Waits until an fsync covered the log up to `target` (or the log was turned off).
pub async fn wait_durable(shared: &Shared, target: u64) {
    let aof = &shared.aof;
    if !SYNC_THREAD.load(Ordering::Acquire) {
        // Before the thread runs (the first moments after start): fsync here.
        aof.flush(true);
        return;
    }
    loop {
        let notified = aof.synced.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if aof.synced_pos.load(Ordering::Acquire) >= target || !aof.enabled() {
            return;
        }
        aof.sync_needed.notify_one();
        notified.await;
    }
}

/// `appendfsync always`: fsyncs whatever was written since the last fsync, as soon as there
/// is some, and wakes the clients waiting for it. A failed fsync ends the server, as Redis.
fn always_sync_loop(shared: &Shared) {
    let aof = &shared.aof;
    loop {
        let (file, target) = {
            let mut st = aof.state.lock();
            loop {
                let due = aof.enabled()
                    && aof.fsync_policy() == Fsync::Always
                    && st.written_pos > aof.synced_pos.load(Ordering::Acquire);
                if due {
                    break;
                }
                aof.sync_needed.wait_for(&mut st, std::time::Duration::from_millis(100));
            }
            (st.file.clone(), st.written_pos)
        };
        match file {
            Some(file) => aof.fsync(&file, target),
            None => {
                aof.synced_pos.fetch_max(target, Ordering::AcqRel);
            }
        }
        aof.synced.notify_waiters();
    }
}

/// Starts logging at startup with `appendonly yes`, after [`load_at_start`]: opens the last
/// incremental file of the manifest for appending, creating the base, the file and the
/// manifest when the directory has none, and starts the once-a-second fsync thread.
pub fn start(shared: &Arc<Shared>) -> Result<(), String> {
    let (dir, prefix) = aof_dir(shared);
    let fail = |e: std::io::Error| format!("Can't open the append-only file in {}: {e}", dir.display());
    std::fs::create_dir_all(&dir).map_err(fail)?;
    let mut manifest = read_manifest(&dir, &prefix)?.unwrap_or_default();
    // History a finished rewrite did not get to delete (Redis's aofDelHistoryFiles).
    let mut changed = false;
    manifest.files.retain(|f| {
        if f.kind != 'h' {
            return true;
        }
        tracing::info!("Removing the history file {} in the background", f.name);
        let _ = std::fs::remove_file(dir.join(&f.name));
        changed = true;
        false
    });
    if manifest.base().is_none() && manifest.incrs().next().is_none() {
        // A fresh directory: the base is the dataset as it is now (empty, unless loaded).
        let ks = shared.lock_keyspace();
        manifest.base_seq += 1;
        let format = BaseFormat::configured(shared);
        let (name, seq) = (format.name(&prefix, manifest.base_seq), manifest.base_seq);
        format.write(&ks, &dir.join(&name), &crate::persistence::save_options(shared)).map_err(fail)?;
        manifest.files.push(ManifestFile { name, seq, kind: 'b' });
        changed = true;
    }
    if manifest.incrs().next().is_none() {
        manifest.add_incr(&prefix);
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
    // A BGREWRITEAOF of the log off is superseded by the rewrite that starts the log.
    kill_rewrite(&mut st);
    *st = State { dir, prefix, manifest: old, awaiting_base: true, ..State::default() };
    if shared.persistence.bgsave_in_progress() {
        // As Redis: the rewrite waits for the save; nothing is logged meanwhile.
        st.scheduled = true;
    } else {
        start_rewrite(shared, ks, &mut st)?;
    }
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
    kill_rewrite(&mut st);
    st.file = None;
    st.buf.clear();
    // Nothing more will be fsynced for replies to wait for.
    aof.synced_pos.fetch_max(st.written_pos, Ordering::AcqRel);
    aof.synced.notify_waiters();
    aof.write_errno.store(0, Ordering::Relaxed);
    aof.fsync_errno.store(0, Ordering::Relaxed);
}

/// `CONFIG SET aof-disable-auto-gc no`: the history files kept meanwhile are deleted.
pub fn delete_history(shared: &Shared) {
    let mut st = shared.aof.state.lock();
    if !st.manifest.files.iter().any(|f| f.kind == 'h') {
        return;
    }
    let st = &mut *st;
    st.manifest.files.retain(|f| {
        if f.kind != 'h' {
            return true;
        }
        tracing::info!("Removing the history file {} in the background", f.name);
        let _ = std::fs::remove_file(st.dir.join(&f.name));
        false
    });
    if let Err(e) = write_manifest(&st.dir, &st.prefix, &st.manifest) {
        tracing::warn!("Can't write the AOF manifest: {e}");
    }
}

/// Stops a running rewrite and removes its temporary file.
fn kill_rewrite(st: &mut State) {
    if let Some(rewrite) = st.rewrite.take() {
        // SAFETY: signals and reaps our own child.
        unsafe {
            libc::kill(rewrite.pid, libc::SIGKILL);
            libc::waitpid(rewrite.pid, std::ptr::null_mut(), 0);
        }
        let _ = std::fs::remove_file(&rewrite.temp);
    }
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

/// How a base is written: an RDB snapshot (`aof-use-rdb-preamble yes`, the default) or
/// the commands that rebuild the dataset.
#[derive(Clone, Copy)]
enum BaseFormat {
    Rdb,
    Commands,
}

impl BaseFormat {
    fn configured(shared: &Shared) -> BaseFormat {
        if shared.config.read().get_bool("aof-use-rdb-preamble") {
            BaseFormat::Rdb
        } else {
            BaseFormat::Commands
        }
    }

    /// The base's file name, as Redis names it.
    fn name(self, prefix: &str, seq: u64) -> String {
        match self {
            BaseFormat::Rdb => format!("{prefix}.{seq}.base.rdb"),
            BaseFormat::Commands => format!("{prefix}.{seq}.base.aof"),
        }
    }

    /// Writes the dataset into `path` and fsyncs it.
    fn write(self, ks: &Keyspace, path: &Path, options: &SaveOptions) -> std::io::Result<()> {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, File::create(path)?);
        match self {
            BaseFormat::Rdb => crate::engine::persist::snapshot::write_snapshot(ks, &mut out, options)?,
            BaseFormat::Commands => crate::engine::persist::commands_form::write_commands(ks, &mut out, options)?,
        };
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    }
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

/// Loads the AOF directory at startup, as Redis 7.0 does: temporary files a killed rewrite
/// left are removed, a Redis 6 single-file AOF (`dir/appendonly.aof`) is moved into the
/// directory as its base, then the files the manifest names are loaded (see [`load_files`]).
pub fn load_at_start(shared: &Shared) -> Result<(), String> {
    let (dir, prefix) = aof_dir(shared);
    remove_leftovers(&dir, &prefix);
    let mut manifest = read_manifest(&dir, &prefix)?.unwrap_or_default();
    upgrade_single_file(&dir, &prefix, &mut manifest)?;
    let mut ks = KeyspaceLock::new(&shared.keyspace);
    load_files(shared, &mut ks, &dir, &manifest)
}

/// Removes what a rewrite killed with the server leaves behind: its child's temporary base
/// (`temp-rewriteaof-bg-<pid>.aof`, in the directory, or in `dir` from Redis) and the
/// temporary manifest.
fn remove_leftovers(dir: &Path, prefix: &str) {
    let temp_manifest = format!("temp-{}", manifest_name(prefix));
    for folder in [Some(dir), dir.parent()].into_iter().flatten() {
        let Ok(entries) = std::fs::read_dir(folder) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let leftover = (name.starts_with("temp-rewriteaof-") && name.ends_with(".aof"))
                || (folder == dir && name == temp_manifest);
            if leftover && std::fs::remove_file(entry.path()).is_ok() {
                tracing::info!("Removed the leftover temporary AOF file {name}");
            }
        }
    }
}

/// Redis 7.0's upgrade of a Redis 6 single-file AOF (`aofUpgradePrepare`): when
/// `dir/<appendfilename>` exists and the directory has no log of its own (no directory, no
/// manifest, or only the manifest an interrupted upgrade wrote), the manifest names that file
/// as the base (seq 1) and the file is moved into the directory. Each step can be cut short
/// by a crash and is taken again at the next start.
fn upgrade_single_file(dir: &Path, prefix: &str, manifest: &mut Manifest) -> Result<(), String> {
    let Some(server_dir) = dir.parent() else { return Ok(()) };
    let old = server_dir.join(prefix);
    if !old.is_file() {
        return Ok(());
    }
    let interrupted = manifest.incrs().next().is_none()
        && manifest.base().is_some_and(|b| b.name == prefix)
        && !dir.join(prefix).exists();
    let nothing = manifest.base().is_none() && manifest.incrs().next().is_none();
    if dir.is_dir() && !nothing && !interrupted {
        return Ok(());
    }
    let fail = |e: std::io::Error| format!("Can't upgrade the old-style AOF file {}: {e}", old.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    manifest.files.retain(|f| f.kind != 'b');
    manifest.files.push(ManifestFile { name: prefix.to_string(), seq: 1, kind: 'b' });
    manifest.base_seq = 1;
    write_manifest(dir, prefix, manifest).map_err(fail)?;
    std::fs::rename(&old, dir.join(prefix)).map_err(fail)?;
    tracing::info!(
        "Successfully migrated an old-style AOF file ({prefix}) into the AOF directory ({}).",
        dir.file_name().map_or_else(String::new, |d| d.to_string_lossy().into_owned())
    );
    Ok(())
}

/// Loads the base and then each incremental file the manifest names, as Redis's
/// `loadAppendOnlyFiles`: a file the manifest names that is missing refuses the start; a
/// file in RDB format (a base, or a Redis 6 AOF with its RDB preamble) is loaded as a
/// snapshot and the commands after it replayed; a torn last command is cut off only in the
/// last file and with `aof-load-truncated yes`; anything else wrong refuses the start, naming
/// the file and the offset. `ks` stays locked throughout: nothing else runs meanwhile.
fn load_files<'k>(
    shared: &'k Shared,
    ks: &mut KeyspaceLock<'k>,
    dir: &Path,
    manifest: &Manifest,
) -> Result<(), String> {
    let files: Vec<&ManifestFile> = manifest.to_load().collect();
    let mut total = 0;
    for f in &files {
        let size = std::fs::metadata(dir.join(&f.name)).map_err(|e| {
            let e = crate::util::strerror(e.raw_os_error().unwrap_or(libc::ENOENT));
            format!("Unable to obtain the AOF file {} length. stat: {e}", f.name)
        })?;
        total += size.len();
    }
    if total == 0 {
        return Ok(());
    }
    shared.persistence.loading.store(true, Ordering::Relaxed);
    let loaded = load_nonempty_files(shared, ks, dir, &files);
    shared.persistence.loading.store(false, Ordering::Relaxed);
    loaded
}

fn load_nonempty_files<'k>(
    shared: &'k Shared,
    ks: &mut KeyspaceLock<'k>,
    dir: &Path,
    files: &[&ManifestFile],
) -> Result<(), String> {
    let started = std::time::Instant::now();
    let truncated_ok = shared.config.read().get_bool("aof-load-truncated");
    let mut from_base = 0;
    for (n, f) in files.iter().enumerate() {
        let path = dir.join(&f.name);
        let data = std::fs::read(&path)
            .map_err(|e| format!("Fatal error: can't open the append log file {} for reading: {e}", f.name))?;
        let mut commands_at = 0;
        if data.starts_with(b"REDIS") {
            let keyspace = ks.get();
            keyspace.now_ms = crate::storage::now_ms();
            let stats = crate::engine::persist::snapshot::load_snapshot(keyspace, &data[..])
                .map_err(|e| format!("Error reading the RDB part of the AOF file {}: {e}", path.display()))?;
            shared
                .scripting
                .restore_saved_libraries(&stats.functions)
                .map_err(|e| format!("Error reading the RDB part of the AOF file {}: {e}", path.display()))?;
            from_base += stats.keys_loaded;
            commands_at = stats.bytes as usize;
        }
        let last = n + 1 == files.len();
        replay(ks, shared, &path, &data, commands_at, last && truncated_ok)?;
        let kind = if f.kind == 'b' { "base" } else { "incr" };
        tracing::info!("DB loaded from {kind} file {}: {:.3} seconds", f.name, started.elapsed().as_secs_f64());
    }
    let keyspace = ks.get();
    // Loading is not a change to save again.
    shared.persistence.loaded_aof(keyspace);
    keyspace.now_ms = crate::storage::now_ms();
    tracing::info!(
        "DB loaded from append only file: {:.3} seconds ({} keys, {from_base} from RDB)",
        started.elapsed().as_secs_f64(),
        keyspace.total_keys()
    );
    Ok(())
}

/// DEBUG LOADAOF: writes out the log, empties the keyspace and loads the directory back, all
/// under one hold of the keyspace (nothing else runs meanwhile, as in Redis). What is
/// replayed is not logged again.
pub fn debug_loadaof(shared: &Shared) -> Result<(), String> {
    let aof = &shared.aof;
    let enabled = aof.enabled();
    if enabled {
        aof.flush(true);
    }
    let (dir, prefix) = aof_dir(shared);
    let mut ks = KeyspaceLock::new(&shared.keyspace);
    ks.get().flush_all();
    let manifest = read_manifest(&dir, &prefix)?.unwrap_or_default();
    aof.enabled.store(false, Ordering::Relaxed);
    let loaded = load_files(shared, &mut ks, &dir, &manifest);
    aof.enabled.store(enabled, Ordering::Relaxed);
    loaded
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

/// Commands replayed between two hand-overs of the keyspace lock.
const REPLAYED_PER_HOLD: u64 = 4096;

/// Replays the commands of one log file from `at` through the dispatcher, as a client of its
/// own, with the keyspace's limits set aside meanwhile.
fn replay<'k>(
    ks: &mut KeyspaceLock<'k>,
    shared: &'k Shared,
    path: &Path,
    data: &[u8],
    at: usize,
    may_truncate: bool,
) -> Result<(), String> {
    ks.get().set_loading(true);
    let replayed = replay_commands(ks, shared, path, data, at, may_truncate);
    ks.get().set_loading(false);
    replayed
}

fn replay_commands<'k>(
    ks: &mut KeyspaceLock<'k>,
    shared: &'k Shared,
    path: &Path,
    data: &[u8],
    mut at: usize,
    may_truncate: bool,
) -> Result<(), String> {
    let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    let handle = crate::client::ClientHandle::new(0, "aof".into(), String::new(), -1);
    let mut client = crate::client::Client::new(handle, true);
    client.replaying_log = true;
    let mut out = crate::protocol::ReplyBuf::new();
    // Where the open MULTI started: a transaction cut off by the end is not applied.
    let mut multi_at = None;
    let mut replayed = 0u64;
    while at < data.len() {
        // Annotations (`#TS:...`, Redis's aof-timestamp-enabled) are skipped, as Redis does.
        if data[at] == b'#' {
            at = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |eol| at + eol + 1);
            continue;
        }
        match parse_command(data, at) {
            Ok(Some((args, next))) => {
                if commands::table::lookup_command(&args).is_none() {
                    return Err(format!(
                        "Unknown command '{}' reading the append only file {name}",
                        String::from_utf8_lossy(&args[0])
                    ));
                }
                if args[0].eq_ignore_ascii_case(b"multi") {
                    multi_at = Some(at);
                } else if args[0].eq_ignore_ascii_case(b"exec") {
                    multi_at = None;
                }
                let mut ctx = Ctx::new(shared, &mut client, &mut out);
                // The same hold of the keyspace for every command.
                ctx.ks = std::mem::replace(ks, KeyspaceLock::new(&shared.keyspace));
                commands::execute(&mut ctx, &args);
                *ks = std::mem::replace(&mut ctx.ks, KeyspaceLock::new(&shared.keyspace));
                drop(ctx);
                out.buf.clear();
                at = next;
                replayed += 1;
                if multi_at.is_none() && replayed.is_multiple_of(REPLAYED_PER_HOLD) {
                    // Clients connected while the server loads get their -LOADING replies.
                    ks.release_fair();
                }
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
    let write_ok =
        shared.aof.write_errno.load(Ordering::Relaxed) == 0 && shared.aof.fsync_errno.load(Ordering::Relaxed) == 0;
    field("aof_last_write_status", &if write_ok { "ok" } else { "err" });
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
///
/// With `appendonly no` it writes a new base of the dataset into the AOF directory, and the
/// manifest then names only that base (as Redis 7.0): a later `appendonly yes` at startup
/// loads it.
pub fn bgrewriteaof(shared: &Shared, ks: &Keyspace) -> Result<&'static str, String> {
    let mut st = shared.aof.state.lock();
    if !shared.aof.enabled() && st.rewrite.is_none() {
        let (dir, prefix) = aof_dir(shared);
        let manifest = read_manifest(&dir, &prefix).map_err(|e| format!("ERR {e}"))?.unwrap_or_default();
        let kept = State {
            last_rewrite_secs: st.last_rewrite_secs,
            last_rewrite_failed: st.last_rewrite_failed,
            rewrites: st.rewrites,
            consecutive_failures: st.consecutive_failures,
            ..State::default()
        };
        *st = State { dir, prefix, manifest, ..kept };
    }
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
/// manifest when the child is done. With the log off only the base is written.
fn start_rewrite(shared: &Shared, ks: &Keyspace, st: &mut State) -> Result<(), String> {
    std::fs::create_dir_all(&st.dir).map_err(rewrite_failed)?;
    // The log is on, or being turned on (its first rewrite): writes go on in the next file.
    let logging = shared.aof.enabled() || st.awaiting_base;
    let unwritten = if logging { switch_incr_file(&shared.aof, st)? } else { false };
    let options = crate::persistence::save_options(shared);
    let format = BaseFormat::configured(shared);
    let dir = st.dir.clone();
    let fork_started = std::time::Instant::now();
    // SAFETY: fork in a threaded process, as BGSAVE does (see crate::persistence): the child
    // only reads its copy of the keyspace, allocates and writes one file, and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        st.last_rewrite_failed = true;
        return Err(rewrite_failed(std::io::Error::last_os_error()));
    }
    if pid == 0 {
        rewrite_child(ks, &dir, format, &options);
    }
    shared.persistence.record_fork(fork_started.elapsed());
    // What could not be written (MISCONF) is in the dataset the child writes: it is dropped
    // rather than written into the new incremental file too, which would apply it twice at
    // the next load.
    if unwritten {
        st.buf.clear();
        shared.aof.write_errno.store(0, Ordering::Relaxed);
        tracing::warn!("AOF reopen, just ignore the last error.");
    }
    st.rewrite = Some(Rewrite {
        pid,
        started: std::time::Instant::now(),
        temp: rewrite_temp(&dir, pid as u32),
        base_seq: st.manifest.base_seq + 1,
        first_incr_seq: if logging { st.manifest.incr_seq } else { 0 },
        dropped_unwritten: unwritten,
        temp_incr: st.awaiting_base,
        format,
    });
    st.scheduled = false;
    tracing::info!("Background append only file rewriting started by pid {pid}");
    Ok(())
}

fn rewrite_failed(e: std::io::Error) -> String {
    tracing::warn!("Can't rewrite the append only file: {e}");
    format!("ERR Can't rewrite the append only file: {e}")
}

/// Writes out and fsyncs the current incremental file and opens the next, named in the
/// manifest at once. Returns whether the buffer could not be written (it stays, for the
/// caller to drop once the new base holds it).
fn switch_incr_file(aof: &Aof, st: &mut State) -> Result<bool, String> {
    let unwritten = match st.write_out(aof) {
        Ok(Some((file, upto))) => {
            file.sync_data().map_err(rewrite_failed)?;
            aof.synced_pos.fetch_max(upto, Ordering::AcqRel);
            false
        }
        Ok(None) => false,
        Err(_) => true,
    };
    let name = if st.awaiting_base {
        // Started fresh: what a failed first rewrite left there is in the next one's base.
        let name = temp_incr_name(&st.prefix);
        File::create(st.dir.join(&name)).map_err(rewrite_failed)?;
        name
    } else {
        let mut manifest = st.manifest.clone();
        let name = manifest.add_incr(&st.prefix);
        std::fs::OpenOptions::new().create(true).append(true).open(st.dir.join(&name)).map_err(rewrite_failed)?;
        write_manifest(&st.dir, &st.prefix, &manifest).map_err(rewrite_failed)?;
        st.manifest = manifest;
        name
    };
    let file = std::fs::OpenOptions::new().append(true).open(st.dir.join(&name)).map_err(rewrite_failed)?;
    st.older_incr_size += st.incr_size;
    st.incr_size = 0;
    st.file = Some(Arc::new(file));
    // The new file starts without a database selected, and with its own first annotation.
    st.db = None;
    st.last_timestamp = 0;
    tracing::info!("Creating AOF incr file {name} on background rewrite");
    Ok(unwritten)
}

/// The temporary incremental file of a log turned on at run time (Redis's name).
fn temp_incr_name(prefix: &str) -> String {
    format!("temp-{prefix}.incr")
}

fn rewrite_temp(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("temp-rewriteaof-bg-{pid}.aof"))
}

/// The rewrite child: writes the base into its temporary file, fsyncs it and exits (0 on
/// success).
fn rewrite_child(ks: &Keyspace, dir: &Path, format: BaseFormat, options: &SaveOptions) -> ! {
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
    let code = match format.write(ks, &temp, options) {
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
        // A BGREWRITEAOF with the log off: only its child to reap.
        let keep_history = shared.config.read().get_bool("aof-disable-auto-gc");
        let mut st = shared.aof.state.lock();
        if st.rewrite.is_some() {
            reap_rewrite(&mut st, keep_history);
        }
        return;
    }
    static FSYNC_THREAD: std::sync::Once = std::sync::Once::new();
    FSYNC_THREAD.call_once(|| {
        let everysec = shared.clone();
        if let Err(e) = std::thread::Builder::new().name("aof-fsync".into()).spawn(move || fsync_loop(&everysec)) {
            tracing::warn!("Can't start the AOF fsync thread: {e}");
        }
        let always = shared.clone();
        match std::thread::Builder::new().name("aof-always".into()).spawn(move || always_sync_loop(&always)) {
            Ok(_) => SYNC_THREAD.store(true, Ordering::Release),
            Err(e) => tracing::warn!("Can't start the AOF fsync thread: {e}"),
        }
    });
    // A failed write is tried again here whatever `appendfsync` says (with `no`, nothing
    // else would while writes are refused), so that writes resume once the disk has room.
    if shared.aof.write_errno.load(Ordering::Relaxed) != 0 {
        shared.aof.flush(false);
    }
    let keep_history = shared.config.read().get_bool("aof-disable-auto-gc");
    let ks = shared.lock_keyspace();
    let mut st = shared.aof.state.lock();
    if st.rewrite.is_some() {
        reap_rewrite(&mut st, keep_history);
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
    let grown = percentage > 0
        && size >= min_size
        && size.saturating_sub(base) * 100 / base >= percentage
        && !st.scheduled
        && !st.rewrite_limited();
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
fn reap_rewrite(st: &mut State, keep_history: bool) {
    let Some(rewrite) = st.rewrite.as_ref() else { return };
    let mut status = 0;
    // SAFETY: waits for our own child without blocking.
    let done = unsafe { libc::waitpid(rewrite.pid, &mut status, libc::WNOHANG) };
    if done == 0 {
        return;
    }
    let rewrite = st.rewrite.take().expect("checked above");
    let exited_ok = done == rewrite.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let swapped = if exited_ok { swap_base(st, &rewrite, keep_history) } else { Err("the child failed".into()) };
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
            if rewrite.temp_incr {
                // The next rewrite's base will hold these writes; it opens a new temporary file.
                let name = temp_incr_name(&st.prefix);
                tracing::info!("Removing the temp incr aof file {name} in the background");
                let _ = std::fs::remove_file(st.dir.join(&name));
                st.file = None;
                st.buf.clear();
            }
            st.last_rewrite_failed = true;
            st.consecutive_failures += 1;
            // Without a base there is no log on disk yet, or the log lacks what could not be
            // written before the fork: try again.
            st.scheduled |= st.awaiting_base || rewrite.dropped_unwritten;
            tracing::warn!("Background AOF rewrite failed: {e}");
        }
    }
}

/// Names the rewrite's base in the manifest, with the incremental files opened since its
/// fork; the files it replaces become history, deleted at once unless `keep_history`
/// (`aof-disable-auto-gc yes`).
fn swap_base(st: &mut State, rewrite: &Rewrite, keep_history: bool) -> Result<(), String> {
    let base = rewrite.format.name(&st.prefix, rewrite.base_seq);
    std::fs::rename(&rewrite.temp, st.dir.join(&base)).map_err(|e| e.to_string())?;
    let mut manifest = Manifest {
        files: vec![ManifestFile { name: base.clone(), seq: rewrite.base_seq, kind: 'b' }],
        base_seq: rewrite.base_seq,
        incr_seq: st.manifest.incr_seq,
    };
    if rewrite.temp_incr {
        // The writes since the log was turned on: the first incremental file.
        let mut named = st.manifest.clone();
        let name = named.add_incr(&st.prefix);
        std::fs::rename(st.dir.join(temp_incr_name(&st.prefix)), st.dir.join(&name)).map_err(|e| e.to_string())?;
        manifest.incr_seq = named.incr_seq;
        manifest.files.push(ManifestFile { name, seq: named.incr_seq, kind: 'i' });
    }
    let old = &st.manifest;
    let (kept, replaced): (Vec<&ManifestFile>, Vec<&ManifestFile>) =
        old.incrs().partition(|f| !rewrite.temp_incr && f.seq >= rewrite.first_incr_seq && rewrite.first_incr_seq > 0);
    // Newest first, in Redis's order: the replaced incremental files, the old base, then
    // what was history already.
    let history: Vec<ManifestFile> = replaced
        .into_iter()
        .chain(old.base())
        .chain(old.files.iter().filter(|f| f.kind == 'h'))
        .map(|f| ManifestFile { kind: 'h', ..f.clone() })
        .collect();
    let kept: Vec<ManifestFile> = kept.into_iter().cloned().collect();
    if keep_history {
        manifest.files.extend(history.iter().cloned());
    }
    manifest.files.extend(kept);
    write_manifest(&st.dir, &st.prefix, &manifest).map_err(|e| e.to_string())?;
    st.awaiting_base = false;
    st.manifest = manifest;
    if !keep_history {
        for f in history {
            tracing::info!("Removing the history file {} in the background", f.name);
            let _ = std::fs::remove_file(st.dir.join(&f.name));
        }
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
