//! The server log, in Redis's format: `pid:role dd Mon yyyy hh:mm:ss.mmm level message`, with
//! role `C` while the configuration loads and `M` once the server runs, and level `.` debug,
//! `-` verbose, `*` notice, `#` warning. Tools that watch a Redis log (the Redis test suite,
//! container health scripts) read it unchanged.
//!
//! `loglevel` (debug, verbose, notice, warning, nothing) maps onto tracing levels (TRACE,
//! DEBUG, INFO, WARN) and can be changed at run time with CONFIG SET. `logfile` chooses the
//! destination: empty for standard output, `/dev/stderr`, or a file appended to.

use parking_lot::Mutex;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use tracing::{field::Field, Event, Level, Subscriber};
use tracing_subscriber::{filter::LevelFilter, layer::Context, reload, Layer, Registry};

static HANDLE: OnceLock<reload::Handle<LevelFilter, Registry>> = OnceLock::new();
static TARGET: Mutex<Target> = Mutex::new(Target::Stdout);
/// The current `loglevel` as a tracing filter, kept for [`enabled`].
static CURRENT: Mutex<LevelFilter> = Mutex::new(LevelFilter::INFO);
/// `C` (starting) or `M` (running), as the second field of every line.
static ROLE: AtomicU8 = AtomicU8::new(b'C');

enum Target {
    Stdout,
    Stderr,
    File(std::fs::File),
}

fn filter(level: &str) -> LevelFilter {
    match level {
        "debug" => LevelFilter::TRACE,
        "verbose" => LevelFilter::DEBUG,
        "notice" => LevelFilter::INFO,
        "warning" => LevelFilter::WARN,
        "nothing" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

/// Redis's level mark for a tracing level.
fn mark(level: Level) -> char {
    match level {
        Level::TRACE => '.',
        Level::DEBUG => '-',
        Level::INFO => '*',
        _ => '#',
    }
}

/// Sets up logging at `level` to `logfile` (see the module doc); fails like Redis when the
/// file cannot be opened.
pub fn init(level: &str, logfile: &str) -> Result<(), String> {
    use tracing_subscriber::prelude::*;
    let target = match logfile {
        "" | "/dev/stdout" => Target::Stdout,
        "/dev/stderr" => Target::Stderr,
        path => Target::File(std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
            format!("Can't open the log file: {}", e.to_string().split(" (os error").next().unwrap_or(""))
        })?),
    };
    *TARGET.lock() = target;
    *CURRENT.lock() = filter(level);
    let (layer, handle) = reload::Layer::new(filter(level));
    if tracing_subscriber::registry().with(layer).with(RedisFormat).try_init().is_ok() {
        let _ = HANDLE.set(handle);
    }
    Ok(())
}

pub fn set_level(level: &str) {
    *CURRENT.lock() = filter(level);
    if let Some(h) = HANDLE.get() {
        let _ = h.modify(|f| *f = filter(level));
    }
}

/// Whether lines of `level` are written at the current `loglevel`.
pub fn enabled(level: Level) -> bool {
    *CURRENT.lock() >= level
}

/// From now on lines carry role `M`: the server is running.
pub fn set_running() {
    ROLE.store(b'M', Ordering::Relaxed);
}

/// Writes one line at `level` whatever `loglevel` says (the ready line, which scripts wait for).
pub fn always(level: Level, message: &str) {
    write_line(mark(level), message);
}

/// Writes text as it is, without the line prefix (the startup banner).
pub fn raw(text: &str) {
    write_bytes(text.as_bytes());
}

fn write_line(mark: char, message: &str) {
    let line = format!(
        "{}:{} {} {} {}\n",
        std::process::id(),
        ROLE.load(Ordering::Relaxed) as char,
        timestamp(),
        mark,
        message
    );
    write_bytes(line.as_bytes());
}

fn write_bytes(bytes: &[u8]) {
    let mut target = TARGET.lock();
    let _ = match &mut *target {
        Target::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|_| out.flush())
        }
        Target::Stderr => std::io::stderr().lock().write_all(bytes),
        Target::File(f) => f.write_all(bytes),
    };
}

/// Local time as Redis prints it: `02 Dec 2026 13:38:00.123`.
fn timestamp() -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which lives on this stack frame.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&secs, &mut tm) };
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

/// Formats tracing events as Redis log lines.
struct RedisFormat;

impl<S: Subscriber> Layer<S> for RedisFormat {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut message = String::new();
        event.record(&mut MessageVisitor(&mut message));
        write_line(mark(*event.metadata().level()), &message);
    }
}

/// Collects an event's message, then any other fields as `name=value`.
struct MessageVisitor<'a>(&'a mut String);

impl tracing::field::Visit for MessageVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_shape() {
        let t = super::timestamp();
        // "02 Dec 2026 13:38:00.123"
        assert_eq!(t.len(), 24, "{t}");
        assert_eq!(&t[2..3], " ");
        assert_eq!(&t[20..21], ".");
    }
}
