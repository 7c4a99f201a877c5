//! RDB snapshots on disk: SAVE, BGSAVE in a forked child, save points and the cron schedule,
//! the save at shutdown, the load at startup, and what INFO persistence reports.
//!
//! Files are written atomically: into `temp-<pid>.rdb` in the target directory, flushed and
//! fsynced, renamed over `dir/dbfilename`, and the directory fsynced, so a crash leaves the
//! old snapshot or the new one, never half of one.
//!
//! BGSAVE forks, as Redis does: the child gets a copy-on-write image of the whole process, so
//! it serializes the keyspace exactly as it was at the fork while the parent goes on serving.
//! The fork happens in the thread holding the keyspace lock, so the child's copy is
//! consistent; the child then touches only its copy of the keyspace, the allocator and file
//! system calls (no runtime, no other lock, no logger), and leaves with `_exit`. The parent
//! reaps it from [`cron`] (`waitpid` with `WNOHANG`) and records the outcome.
//!
//! The child's copy-on-write memory (its `Private_Dirty`) is measured by the child itself and
//! sent through a pipe, as Redis's child info pipe does: reading `/proc/<pid>/smaps_rollup`
//! walks every page of the process (20 ms and more at 2M keys here), so the serving thread
//! never reads it; it only drains the pipe. The child keeps that walk to about 1% of its time.
//!
//! Lock order: the keyspace, then this module's state; never the other way round.

use crate::base::cron::CronSchedule;
use crate::commands::KeyspaceLock;
use crate::engine::persist::snapshot::{self, LoadTarget, SaveOptions};
use crate::server::Shared;
use crate::storage::Keyspace;
use parking_lot::Mutex;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Redis's `CONFIG_BGSAVE_RETRY_DELAY`: after a failed background save, save points wait
/// this long before trying again.
const BGSAVE_RETRY_DELAY_SECS: u64 = 5;

/// The persistence state of the server.
#[derive(Default)]
pub struct Persistence {
    state: Mutex<State>,
    /// Whether a snapshot is being loaded (INFO `loading`).
    pub loading: AtomicBool,
    /// Whether the dataset is being loaded at start while clients are served: commands
    /// without the `loading` flag are then refused with -LOADING, as Redis refuses them.
    pub loading_at_start: AtomicBool,
    /// Progress of the load at start, for INFO: the file's size, the bytes read so far, and
    /// when it started (Unix seconds).
    load_total_bytes: AtomicU64,
    load_loaded_bytes: AtomicU64,
    load_start_unix: AtomicU64,
    /// The last background save failed: a copy of the state's flag that the dispatcher reads
    /// before every write without the lock (see [`disk_error`]).
    bgsave_failing: AtomicBool,
}

#[derive(Default)]
struct State {
    child: Option<Child>,
    /// Unix seconds of the last successful save (LASTSAVE); the start time before any.
    last_save_unix: u64,
    /// The keyspace's change counter when the last successful save started.
    dirty_at_last_save: u64,
    last_bgsave_failed: bool,
    /// Unix seconds of the last background save attempt (for the retry delay).
    last_bgsave_try_unix: u64,
    last_bgsave_secs: Option<u64>,
    saves: u64,
    last_cow_bytes: u64,
    /// A BGSAVE asked for while one could not start (inside EXEC).
    scheduled: bool,
    last_load_keys_loaded: u64,
    last_load_keys_expired: u64,
    /// The snapshot-cron expression in use and its next firing time (Unix seconds).
    cron: Option<(String, CronSchedule, Option<u64>)>,
    /// The save of a SHUTDOWN command is done (SIGTERM then does not save again).
    shutdown_handled: bool,
    /// How long the last fork took, and how many forks there were (INFO stats).
    latest_fork_usec: u64,
    total_forks: u64,
}

/// A background save in progress.
struct Child {
    pid: libc::pid_t,
    started: Instant,
    /// The keyspace's change counter at the fork.
    dirty_at_start: u64,
    temp_path: PathBuf,
    /// The read end of the pipe the child reports its copy-on-write memory on (non-blocking).
    reports: std::fs::File,
    cow_bytes: u64,
    cow_peak: u64,
    /// When the last report arrived.
    cow_sampled: Option<Instant>,
    keys_total: u64,
}

fn unix_now() -> u64 {
    crate::storage::now_ms() / 1000
}

/// Where snapshots go: (`dir`, `dir/dbfilename`).
pub fn snapshot_path(shared: &Shared) -> (PathBuf, PathBuf) {
    let config = shared.config.read();
    let dir = PathBuf::from(match config.get("dir") {
        "" => ".",
        d => d,
    });
    let file = dir.join(config.get("dbfilename"));
    (dir, file)
}

/// How snapshots (and the AOF's RDB base) are written.
pub fn save_options(shared: &Shared) -> SaveOptions {
    SaveOptions {
        redis_ver: crate::REDIS_VERSION.to_string(),
        compress: shared.config.read().get_bool("rdbcompression"),
        functions: shared.scripting.library_codes(),
        key_delay_us: shared.config.read().get_i64("rdb-key-save-delay").max(0) as u64,
        timestamp: shared.config.read().get_bool("aof-timestamp-enabled"),
    }
}

/// The save points of `save`: (seconds, changes) pairs.
fn save_points(shared: &Shared) -> Vec<(u64, u64)> {
    let config = shared.config.read();
    let words: Vec<u64> = config.get("save").split_whitespace().filter_map(|w| w.parse().ok()).collect();
    words.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

/// Whether any save point is configured (saves at SHUTDOWN and SIGTERM then, as in Redis).
pub fn save_points_configured(shared: &Shared) -> bool {
    !save_points(shared).is_empty()
}

/// Writes a snapshot file atomically with `write`: temporary file in the same directory,
/// fsync, rename, fsync of the directory. The temporary file is removed on failure.
fn write_atomically(
    dir: &Path,
    target: &Path,
    temp: &Path,
    write: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<u64>,
) -> Result<u64, String> {
    let result = (|| {
        let file = std::fs::File::create(temp)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let keys = write(&mut out)?;
        out.flush()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(temp, target)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(keys)
    })();
    result.map_err(|e: std::io::Error| {
        let _ = std::fs::remove_file(temp);
        format!("Failed saving the DB to {}: {e}", target.display())
    })
}

fn temp_path(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("temp-{pid}.rdb"))
}

impl Persistence {
    /// Starts the bookkeeping: LASTSAVE is the start time until something is saved.
    pub fn new(started_unix: u64) -> Persistence {
        let p = Persistence::default();
        p.state.lock().last_save_unix = started_unix;
        p
    }

    fn set_bgsave_failed(&self, st: &mut State, failed: bool) {
        st.last_bgsave_failed = failed;
        self.bgsave_failing.store(failed, Ordering::Relaxed);
    }

    /// Counts a fork of the server (a background save or an AOF rewrite) for INFO stats.
    pub fn record_fork(&self, took: std::time::Duration) {
        let mut st = self.state.lock();
        st.latest_fork_usec = took.as_micros() as u64;
        st.total_forks += 1;
    }

    /// LASTSAVE.
    pub fn last_save(&self) -> u64 {
        self.state.lock().last_save_unix
    }

    /// (`latest_fork_usec`, `total_forks`) for INFO stats.
    pub fn fork_stats(&self) -> (u64, u64) {
        let st = self.state.lock();
        (st.latest_fork_usec, st.total_forks)
    }

    pub fn bgsave_in_progress(&self) -> bool {
        self.state.lock().child.is_some()
    }

    /// The AOF was loaded at start: what it loaded is not a change to save again.
    pub fn loaded_aof(&self, ks: &Keyspace) {
        self.state.lock().dirty_at_last_save = ks.dirty;
    }

    /// Changes since the last successful save.
    pub fn changes_since_save(&self, ks: &Keyspace) -> u64 {
        ks.dirty.saturating_sub(self.state.lock().dirty_at_last_save)
    }
}

/// Why write commands are refused with `MISCONF`, as Redis's `writeCommandsDeniedByDiskError`:
/// data acknowledged now could not be persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskError {
    /// The last background save failed, with `stop-writes-on-bgsave-error yes` and save points.
    Rdb,
    /// Writing or fsyncing the AOF failed, with this `errno`.
    Aof(i32),
}

impl DiskError {
    /// The refusal of a write command (and of PING).
    pub fn message(self) -> String {
        match self {
            DiskError::Rdb => {
                "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to \
                              disk. Commands that may modify the data set are disabled, because this instance is \
                              configured to report errors during writes if RDB snapshotting fails \
                              (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the \
                              RDB error."
                    .into()
            }
            DiskError::Aof(errno) => {
                format!("MISCONF Errors writing to the AOF file: {}", crate::base::util::strerror(errno))
            }
        }
    }

    /// The refusal of a script that may write (one without the `no-writes` flag).
    pub fn script_message(self) -> String {
        const BLOCKED: &str = "but it's currently unable to persist to disk. Writable scripts are blocked. Use \
                               'no-writes' flag for read only scripts.";
        match self {
            DiskError::Rdb => format!("MISCONF Redis is configured to save RDB snapshots, {BLOCKED}"),
            DiskError::Aof(errno) => format!(
                "MISCONF Redis is configured to persist data to AOF, {BLOCKED} AOF error: {}",
                crate::base::util::strerror(errno)
            ),
        }
    }
}

/// Whether writes are refused now, and why (see [`DiskError`]). Two relaxed loads while all
/// is well: the dispatcher asks before every write.
#[inline]
pub fn disk_error(shared: &Shared) -> Option<DiskError> {
    if shared.persistence.bgsave_failing.load(Ordering::Relaxed)
        && shared.config.read().get_bool("stop-writes-on-bgsave-error")
        && save_points_configured(shared)
    {
        return Some(DiskError::Rdb);
    }
    shared.aof.write_error().map(DiskError::Aof)
}

/// SAVE: writes the snapshot from this thread, holding the keyspace (no client is served
/// meanwhile, as in Redis). Refused while a background save runs.
pub fn save(shared: &Shared, ks: &Keyspace) -> Result<u64, String> {
    if shared.persistence.bgsave_in_progress() {
        return Err("Background save already in progress".into());
    }
    save_now(shared, ks)
}

/// Writes the snapshot now, whatever else runs.
fn save_now(shared: &Shared, ks: &Keyspace) -> Result<u64, String> {
    let (dir, target) = snapshot_path(shared);
    let options = save_options(shared);
    let started = Instant::now();
    let temp = temp_path(&dir, std::process::id());
    let result = write_atomically(&dir, &target, &temp, |out| snapshot::write_snapshot(ks, out, &options));
    match &result {
        Ok(keys) => {
            let mut st = shared.persistence.state.lock();
            st.last_save_unix = unix_now();
            st.dirty_at_last_save = ks.dirty;
            st.saves += 1;
            // As Redis: a good save clears a failed background save's MISCONF.
            shared.persistence.set_bgsave_failed(&mut st, false);
            drop(st);
            tracing::info!("DB saved on disk ({keys} keys, {} ms)", started.elapsed().as_millis());
        }
        Err(e) => tracing::warn!("{e}"),
    }
    result
}

/// BGSAVE: forks a child that writes the snapshot; returns at once. `ks` must be the
/// keyspace under its lock, held by the calling thread.
pub fn bgsave(shared: &Shared, ks: &mut Keyspace) -> Result<libc::pid_t, String> {
    let mut st = shared.persistence.state.lock();
    if st.child.is_some() {
        return Err("Background save already in progress".into());
    }
    let (dir, target) = snapshot_path(shared);
    let options = save_options(shared);
    st.last_bgsave_try_unix = unix_now();
    let (reports, report_to) = report_pipe().map_err(|e| format!("Can't save in background: pipe: {e}"))?;
    let fork_started = Instant::now();
    // SAFETY: fork in a threaded process: the child runs only async-signal-safe calls,
    // the allocator (which stays usable in the forking thread) and file system calls on its
    // own copy of memory, and leaves with `_exit` (see the module doc).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = std::io::Error::last_os_error();
        shared.persistence.set_bgsave_failed(&mut st, true);
        tracing::warn!("Can't save in background: fork: {e}");
        return Err(format!("Can't save in background: fork: {e}"));
    }
    if pid == 0 {
        child_main(ks, &dir, &target, &options, report_to);
    }
    drop(report_to);
    ks.snapshot_child = true;
    let fork_usec = fork_started.elapsed().as_micros() as u64;
    st.latest_fork_usec = fork_usec;
    st.total_forks += 1;
    st.child = Some(Child {
        pid,
        started: Instant::now(),
        dirty_at_start: ks.dirty,
        temp_path: temp_path(&dir, pid as u32),
        reports,
        cow_bytes: 0,
        cow_peak: 0,
        cow_sampled: None,
        keys_total: ks.total_keys() as u64,
    });
    st.scheduled = false;
    drop(st);
    tracing::info!("Background saving started by pid {pid} (fork took {} us)", fork_usec);
    Ok(pid)
}

/// A pipe for the child's reports: (read end, write end), both non-blocking and closed on exec.
/// A report the parent has no room for is dropped, never waited for.
fn report_pipe() -> std::io::Result<(std::fs::File, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `pipe2` fills the two descriptors, which are then owned here.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and nothing else owns them.
    Ok(unsafe { (std::fs::File::from_raw_fd(fds[0]), std::os::fd::OwnedFd::from_raw_fd(fds[1])) })
}

/// One report of the child: its copy-on-write memory in bytes, little-endian (8 bytes, below
/// `PIPE_BUF`, so each write arrives whole).
fn send_report(fd: libc::c_int, cow_bytes: u64) {
    let bytes = cow_bytes.to_le_bytes();
    // SAFETY: writes a buffer we own to the pipe's write end.
    unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
}

/// `Private_Dirty` of this process in bytes, from `/proc/self/smaps_rollup` (the pages it
/// wrote since the fork: its copy-on-write memory).
fn own_private_dirty() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    let line = text.lines().find(|l| l.starts_with("Private_Dirty:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The child's output, which measures and reports the child's copy-on-write memory now and
/// then as the snapshot is written: at most once a second, and no more often than a hundred
/// times what the last measurement took (Redis's `CHILD_COW_DUTY_CYCLE`).
struct Reporting<W> {
    out: W,
    fd: libc::c_int,
    writes: u32,
    next_at: Instant,
}

impl<W> Reporting<W> {
    fn new(out: W, fd: libc::c_int) -> Reporting<W> {
        Reporting { out, fd, writes: 0, next_at: Instant::now() + std::time::Duration::from_secs(1) }
    }

    fn report(&mut self) {
        let started = Instant::now();
        if let Some(bytes) = own_private_dirty() {
            send_report(self.fd, bytes);
        }
        let cost = started.elapsed();
        self.next_at = Instant::now() + (cost * 100).max(std::time::Duration::from_secs(1));
    }
}

impl<W: Write> Write for Reporting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The clock is read every 4096 writes (most writes are a few bytes).
        self.writes = self.writes.wrapping_add(1);
        if self.writes.is_multiple_of(4096) && Instant::now() >= self.next_at {
            self.report();
        }
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The child of a background save: writes the snapshot, reports its copy-on-write memory on
/// `reports` along the way and at the end, and exits (0 on success).
fn child_main(ks: &Keyspace, dir: &Path, target: &Path, options: &SaveOptions, reports: std::os::fd::OwnedFd) -> ! {
    use std::os::fd::IntoRawFd;
    let fd = reports.into_raw_fd();
    // SAFETY: plain system calls on the child's own process.
    unsafe {
        // Die with the server; default signal handling (the runtime's handlers are not ours).
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        // Drop the inherited sockets and files but the report pipe: a listening socket or a
        // client connection the server closes must not stay open here.
        let keep = fd as u32;
        let below = keep == 3 || libc::syscall(libc::SYS_close_range, 3u32, keep - 1, 0u32) == 0;
        let above = libc::syscall(libc::SYS_close_range, keep + 1, u32::MAX, 0u32) == 0;
        if !(below && above) {
            for other in (3..4096).filter(|&other| other != fd) {
                libc::close(other);
            }
        }
    }
    let temp = temp_path(dir, std::process::id());
    let written =
        write_atomically(dir, target, &temp, |out| snapshot::write_snapshot(ks, Reporting::new(out, fd), options));
    if let Some(bytes) = own_private_dirty() {
        send_report(fd, bytes);
    }
    let code = match written {
        Ok(_) => 0,
        Err(e) => {
            let line = format!("{}:C Background save failed: {e}\n", std::process::id());
            // SAFETY: writing a buffer we own to standard error.
            unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
            1
        }
    };
    // SAFETY: ends the child without running the parent's destructors or atexit handlers.
    unsafe { libc::_exit(code) }
}

/// Stops a background save (SHUTDOWN, FLUSHALL with save points, SAVE at shutdown): kills
/// the child, reaps it and removes its temporary file.
pub fn kill_bgsave(shared: &Shared) {
    let Some(child) = shared.persistence.state.lock().child.take() else { return };
    // SAFETY: signals and reaps our own child.
    unsafe {
        libc::kill(child.pid, libc::SIGKILL);
        let mut status = 0;
        libc::waitpid(child.pid, &mut status, 0);
    }
    let _ = std::fs::remove_file(&child.temp_path);
    tracing::warn!("Background saving terminated (pid {})", child.pid);
}

impl Child {
    /// Takes in the reports the child sent since the last call (a non-blocking read).
    fn drain_reports(&mut self) {
        use std::io::Read;
        let mut buf = [0u8; 8 * 64];
        let mut pending = 0;
        // Bounded: the pipe holds what the child wrote at most once a second.
        for _ in 0..64 {
            match self.reports.read(&mut buf[pending..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => pending += n,
            }
            let whole = pending - pending % 8;
            for report in buf[..whole].chunks_exact(8) {
                let bytes = u64::from_le_bytes(report.try_into().expect("8 bytes"));
                self.cow_bytes = bytes;
                self.cow_peak = self.cow_peak.max(bytes);
                self.cow_sampled = Some(Instant::now());
            }
            buf.copy_within(whole..pending, 0);
            pending -= whole;
        }
    }
}

/// The persistence part of the server cron (ten times a second): takes in the child's
/// copy-on-write reports, reaps a finished child, and starts a background save when a save
/// point, the cron schedule or a scheduled BGSAVE asks for one.
pub fn cron(shared: &Shared) {
    reap_child(shared);
    let now = unix_now();
    let points = save_points(shared);
    let cron_text = shared.config.read().get("snapshot-cron").to_string();
    let mut ks = shared.lock_keyspace();
    let mut st = shared.persistence.state.lock();
    ks.snapshot_child = st.child.is_some();
    if st.child.is_some() || st.shutdown_handled {
        return;
    }
    let mut reason = None;
    if st.scheduled {
        reason = Some("Scheduled background save".to_string());
    }
    let changes = ks.dirty.saturating_sub(st.dirty_at_last_save);
    let retry_ok = !st.last_bgsave_failed || now.saturating_sub(st.last_bgsave_try_unix) >= BGSAVE_RETRY_DELAY_SECS;
    if reason.is_none() && retry_ok {
        if let Some((secs, n)) =
            points.iter().find(|(secs, n)| changes >= *n && now.saturating_sub(st.last_save_unix) >= *secs)
        {
            reason = Some(format!("{n} changes in {secs} seconds. Saving..."));
        }
    }
    // The cron schedule: recomputed when the expression changes, fired when its time comes.
    if cron_text.is_empty() {
        st.cron = None;
    } else if st.cron.as_ref().is_none_or(|(text, _, _)| *text != cron_text) {
        st.cron = CronSchedule::parse(&cron_text).ok().map(|s| {
            let next = s.next_after(now);
            (cron_text.clone(), s, next)
        });
    }
    if let Some((_, schedule, next)) = st.cron.as_mut() {
        if next.is_some_and(|t| now >= t) {
            *next = schedule.next_after(now);
            reason.get_or_insert_with(|| "Snapshot cron schedule reached. Saving...".to_string());
        }
    }
    drop(st);
    if let Some(reason) = reason {
        tracing::info!("{reason}");
        ks.now_ms = crate::storage::now_ms();
        let _ = bgsave(shared, &mut ks);
    }
    drop(ks);
}

/// Takes in the background save's reports and reaps its child if it has finished.
fn reap_child(shared: &Shared) {
    let mut st = shared.persistence.state.lock();
    let Some(child) = st.child.as_mut() else { return };
    let mut status = 0;
    // SAFETY: polls our own child without blocking.
    let done = unsafe { libc::waitpid(child.pid, &mut status, libc::WNOHANG) };
    child.drain_reports();
    if done == 0 {
        return;
    }
    let child = st.child.take().expect("checked above");
    let secs = child.started.elapsed().as_secs();
    st.last_bgsave_secs = Some(secs);
    st.last_cow_bytes = child.cow_peak;
    let ok = done == child.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if ok {
        shared.persistence.set_bgsave_failed(&mut st, false);
        st.last_save_unix = unix_now();
        st.dirty_at_last_save = child.dirty_at_start;
        st.saves += 1;
        drop(st);
        tracing::info!(
            "Background saving terminated with success ({} ms, copy-on-write {} MB)",
            child.started.elapsed().as_millis(),
            child.cow_peak >> 20
        );
    } else {
        shared.persistence.set_bgsave_failed(&mut st, true);
        drop(st);
        let _ = std::fs::remove_file(&child.temp_path);
        if libc::WIFSIGNALED(status) {
            tracing::warn!("Background saving terminated by signal {}", libc::WTERMSIG(status));
        } else {
            tracing::warn!("Background saving error");
        }
    }
}

/// BGSAVE inside EXEC (or SCHEDULE while one cannot start): the cron starts it.
pub fn schedule_bgsave(shared: &Shared) {
    shared.persistence.state.lock().scheduled = true;
}

/// The save of a shutdown (SHUTDOWN, SIGTERM): stops a background save, then saves if `save`
/// says so. A failed save is returned; the caller decides whether to stay up.
pub fn shutdown_save(shared: &Shared, ks: &Keyspace, save: bool) -> Result<(), String> {
    kill_bgsave(shared);
    crate::aof::flush_all(shared);
    if save {
        tracing::warn!("Saving the final RDB snapshot before exiting.");
        save_now(shared, ks)?;
    }
    shared.persistence.state.lock().shutdown_handled = true;
    Ok(())
}

/// Whether a SHUTDOWN command already did the shutdown's save (or decided not to).
pub fn shutdown_handled(shared: &Shared) -> bool {
    shared.persistence.state.lock().shutdown_handled
}

/// Loads `dir/dbfilename` at startup, if it exists. A file that cannot be read fails the
/// start with its name and the byte offset, unless `rdb-on-load-error start-empty`.
pub fn load_at_start(shared: &Shared) -> Result<(), String> {
    let (_, path) = snapshot_path(shared);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("Fatal error loading the DB from {}: {e}. Exiting.", path.display())),
    };
    let p = &shared.persistence;
    p.load_total_bytes.store(file.metadata().map_or(0, |m| m.len()), Ordering::Relaxed);
    p.load_loaded_bytes.store(0, Ordering::Relaxed);
    p.load_start_unix.store(crate::storage::now_ms() / 1000, Ordering::Relaxed);
    let delay = shared.config.read().get("key-load-delay").parse().unwrap_or(0);
    let mut target = StartupLoad { shared, lock: KeyspaceLock::new(&shared.keyspace), keys: 0, delay };
    match load_into(shared, &mut target, file, &path) {
        Ok(()) => Ok(()),
        Err(e) => {
            // Nothing half-loaded stays.
            let ks = target.keyspace();
            ks.flush_all();
            ks.dirty = 0;
            if shared.config.read().get("rdb-on-load-error") == "start-empty" {
                tracing::warn!("{e}; starting with an empty dataset (rdb-on-load-error start-empty)");
                Ok(())
            } else {
                Err(format!("{e}. Exiting (set 'rdb-on-load-error start-empty' to start empty instead)."))
            }
        }
    }
}

/// Loads a snapshot file into the keyspace and records the figures INFO reports.
fn load_into(shared: &Shared, target: &mut impl LoadTarget, file: std::fs::File, path: &Path) -> Result<(), String> {
    let started = Instant::now();
    shared.persistence.loading.store(true, Ordering::Relaxed);
    target.keyspace().now_ms = crate::storage::now_ms();
    let result = snapshot::load_snapshot_into(target, std::io::BufReader::with_capacity(1 << 16, file));
    shared.persistence.loading.store(false, Ordering::Relaxed);
    let stats = result.map_err(|e| format!("Bad RDB file {}: {e}", path.display()))?;
    shared
        .scripting
        .restore_saved_libraries(&stats.functions)
        .map_err(|e| format!("Bad RDB file {}: {e}", path.display()))?;
    // Loading is not a change to save again.
    let dirty = target.keyspace().dirty;
    let mut st = shared.persistence.state.lock();
    st.dirty_at_last_save = dirty;
    st.last_load_keys_loaded = stats.keys_loaded;
    st.last_load_keys_expired = stats.keys_expired;
    drop(st);
    tracing::info!("Done loading RDB, keys loaded: {}, keys expired: {}.", stats.keys_loaded, stats.keys_expired);
    tracing::info!("DB loaded from disk: {:.3} seconds", started.elapsed().as_secs_f64());
    Ok(())
}

/// The keyspace as the load at start writes it. Clients are served meanwhile (refused with
/// -LOADING but for INFO and the like), so the lock is handed over every few thousand keys,
/// and the bytes read are published for INFO. `key-load-delay` slows every key down, as in
/// Redis (tests use it to see the server while it loads): microseconds per key, or with a
/// negative value -N one microsecond for one key in N.
struct StartupLoad<'a> {
    shared: &'a Shared,
    lock: KeyspaceLock<'a>,
    keys: u64,
    delay: i64,
}

/// Keys loaded between two hand-overs of the keyspace lock to clients waiting for it.
const LOAD_KEYS_PER_HOLD: u64 = 4096;

impl LoadTarget for StartupLoad<'_> {
    fn keyspace(&mut self) -> &mut Keyspace {
        self.lock.get()
    }

    fn between_keys(&mut self, offset: u64) {
        self.keys += 1;
        let sleep_us = match self.delay {
            0 => 0,
            d if d > 0 => d as u64,
            d => u64::from(self.keys.is_multiple_of(d.unsigned_abs())),
        };
        if sleep_us > 0 || self.keys.is_multiple_of(LOAD_KEYS_PER_HOLD) {
            self.shared.persistence.load_loaded_bytes.store(offset, Ordering::Relaxed);
            self.lock.release_fair();
        }
        if sleep_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(sleep_us));
        }
    }
}

/// DEBUG RELOAD: saves, empties the keyspace and loads the file back.
pub fn debug_reload(shared: &Shared, ks: &mut Keyspace) -> Result<(), String> {
    save(shared, ks)?;
    let (_, path) = snapshot_path(shared);
    let file = std::fs::File::open(&path).map_err(|e| format!("Error trying to load the RDB dump: {e}"))?;
    ks.flush_all();
    load_into(shared, ks, file, &path)
}

/// After FLUSHALL: a background save of the old dataset is stopped, and with save points
/// configured the empty dataset is saved at once, as Redis does.
pub fn after_flushall(shared: &Shared, ks: &Keyspace) {
    // A background save of the old dataset is of no use any more (Redis stops it whatever
    // the save points; it was stopped, not failed, so no MISCONF follows).
    kill_bgsave(shared);
    if save_points_configured(shared) {
        let _ = save_now(shared, ks);
    }
}

/// The INFO persistence section, with Redis 7.0's fields.
pub fn info(shared: &Shared, ks: &Keyspace, out: &mut String) {
    let p = &shared.persistence;
    let st = p.state.lock();
    let mut field = |name: &str, value: &dyn std::fmt::Display| {
        out.push_str(&format!("{name}:{value}\r\n"));
    };
    let child = st.child.as_ref();
    field("loading", &u8::from(p.loading.load(Ordering::Relaxed)));
    field("async_loading", &0);
    if p.loading_at_start.load(Ordering::Relaxed) {
        // As Redis reports a load in progress.
        let start = p.load_start_unix.load(Ordering::Relaxed);
        let (total, loaded) = (p.load_total_bytes.load(Ordering::Relaxed), p.load_loaded_bytes.load(Ordering::Relaxed));
        let elapsed = (crate::storage::now_ms() / 1000).saturating_sub(start);
        let perc = if total == 0 { 0.0 } else { loaded as f64 * 100.0 / total as f64 };
        let eta =
            if loaded == 0 { 1 } else { (total.saturating_sub(loaded) as f64 * elapsed as f64 / loaded as f64) as u64 };
        field("loading_start_time", &start);
        field("loading_total_bytes", &total);
        field("loading_rdb_used_mem", &0);
        field("loading_loaded_bytes", &loaded);
        field("loading_loaded_perc", &format!("{perc:.2}"));
        field("loading_eta_seconds", &eta);
    }
    field("current_cow_peak", &child.map_or(0, |c| c.cow_peak));
    field("current_cow_size", &child.map_or(0, |c| c.cow_bytes));
    field("current_cow_size_age", &child.and_then(|c| c.cow_sampled).map_or(0, |t| t.elapsed().as_secs()));
    field("current_fork_perc", &"0.00");
    field("current_save_keys_processed", &0);
    field("current_save_keys_total", &child.map_or(0, |c| c.keys_total));
    field("rdb_changes_since_last_save", &ks.dirty.saturating_sub(st.dirty_at_last_save));
    field("rdb_bgsave_in_progress", &u8::from(child.is_some()));
    field("rdb_last_save_time", &st.last_save_unix);
    field("rdb_last_bgsave_status", &if st.last_bgsave_failed { "err" } else { "ok" });
    field("rdb_last_bgsave_time_sec", &st.last_bgsave_secs.map_or(-1, |s| s as i64));
    field("rdb_current_bgsave_time_sec", &child.map_or(-1, |c| c.started.elapsed().as_secs() as i64));
    field("rdb_saves", &st.saves);
    field("rdb_last_cow_size", &st.last_cow_bytes);
    field("rdb_last_load_keys_expired", &st.last_load_keys_expired);
    field("rdb_last_load_keys_loaded", &st.last_load_keys_loaded);
}
