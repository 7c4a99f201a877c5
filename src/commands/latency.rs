//! LATENCY (HISTOGRAM, LATEST, HISTORY, RESET, DOCTOR, HELP) and MONITOR.
//!
//! The histograms and the event log live in [`crate::latency`]; MONITOR clients are kept in
//! [`Monitors`] and receive every executed command, formatted as Redis does, through their
//! [`ClientHandle`] outbox (so a monitor that stops reading is cut off by the output buffer
//! limit of the replica class, as in Redis).

use super::args::text;
use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::client::ClientHandle;
use crate::latency::{self, Snapshot};
use crate::{cmd, container, subcmd};
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const ADMIN_CMD: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[
    container!(
        "latency",
        "server",
        "2.8.13",
        "A container for latency diagnostics commands.",
        &[
            subcmd!(
                "latency",
                "histogram",
                -2,
                ADMIN_CMD,
                (0, 0, 0),
                "Returns the cumulative distribution of latencies of a subset or all commands.",
                histogram
            ),
            subcmd!(
                "latency",
                "latest",
                2,
                ADMIN_CMD,
                (0, 0, 0),
                "Returns the latest latency samples for all events.",
                latest
            ),
            subcmd!(
                "latency",
                "history",
                3,
                ADMIN_CMD,
                (0, 0, 0),
                "Returns timestamp-latency samples for an event.",
                history
            ),
            subcmd!(
                "latency",
                "reset",
                -2,
                ADMIN_CMD,
                (0, 0, 0),
                "Resets the latency data for one or more events.",
                reset
            ),
            subcmd!(
                "latency",
                "doctor",
                2,
                ADMIN_CMD,
                (0, 0, 0),
                "Returns a human-readable latency analysis report.",
                doctor
            ),
            subcmd!(
                "latency",
                "help",
                2,
                LOADING | STALE,
                (0, 0, 0),
                "Returns helpful text about the different subcommands.",
                help
            ),
        ]
    ),
    cmd!(
        "monitor",
        1,
        ADMIN_CMD,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Listens for all requests received by the server in real-time.",
        monitor
    ),
];

/// `LATENCY HISTOGRAM [command ...]`: per command, its calls and the cumulative count of
/// calls under each power-of-two microsecond bound (Redis's `histogram_usec`).
fn histogram(ctx: &mut Ctx, args: &[Bytes]) {
    let all = latency::snapshot_all();
    let mut chosen: BTreeMap<String, &Snapshot> = BTreeMap::new();
    if args.len() == 2 {
        chosen.extend(all.iter().map(|(k, v)| (k.clone(), v)));
    }
    for arg in &args[2..] {
        let name = text(arg).to_ascii_lowercase();
        let Some(spec) = super::table::lookup_full_name(&name) else {
            continue;
        };
        // A container stands for all its subcommands.
        let names: Vec<String> = if spec.subcommands.is_empty() {
            vec![spec.full_name()]
        } else {
            spec.subcommands.iter().map(|s| format!("{}|{}", spec.name, s.name)).collect()
        };
        for n in names {
            if let Some(s) = all.get(&n) {
                chosen.insert(n, s);
            }
        }
    }
    ctx.out.map(chosen.len());
    for (name, snap) in chosen {
        ctx.out.bulk(name.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(snap.count as i64);
        ctx.out.bulk(b"histogram_usec");
        let cdf = cumulative_usec(snap);
        ctx.out.map(cdf.len());
        for (usec, count) in cdf {
            ctx.out.int(usec as i64);
            ctx.out.int(count as i64);
        }
    }
}

/// (bound in µs, calls under it) for bounds 1024 ns × 2^k, listing a bound only where the
/// count grows, as Redis's `fillCommandCDF` does.
fn cumulative_usec(snap: &Snapshot) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut previous = 0;
    for k in 0..=30 {
        let bound = 1024u64 << k;
        // The last bound holds everything, the calls clamped to the largest bucket included.
        let below = if bound >= 1 << 40 { snap.count } else { snap.count_below(bound) };
        if below > previous {
            out.push((bound / 1000, below));
            previous = below;
        }
        if previous == snap.count {
            break;
        }
    }
    out
}

/// `LATENCY LATEST`: per event, the time and latency of its latest sample and its maximum.
fn latest(ctx: &mut Ctx, _args: &[Bytes]) {
    let events = latency::events();
    ctx.out.array(events.len());
    for (name, h) in events {
        let (time, ms) = h.samples.back().copied().unwrap_or((0, 0));
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(time as i64);
        ctx.out.int(ms as i64);
        ctx.out.int(h.max_ms as i64);
    }
}

/// `LATENCY HISTORY event`: the event's (time, latency) samples, oldest first.
fn history(ctx: &mut Ctx, args: &[Bytes]) {
    let name = text(&args[2]);
    let events = latency::events();
    let Some(h) = events.get(name.as_str()) else {
        return ctx.out.array(0);
    };
    ctx.out.array(h.samples.len());
    for &(time, ms) in &h.samples {
        ctx.out.array(2);
        ctx.out.int(time as i64);
        ctx.out.int(ms as i64);
    }
}

fn reset(ctx: &mut Ctx, args: &[Bytes]) {
    let names: Vec<String> = args[2..].iter().map(|a| text(a)).collect();
    ctx.out.int(latency::reset_events(&names) as i64);
}

fn doctor(ctx: &mut Ctx, _args: &[Bytes]) {
    let threshold = latency::monitor_threshold_ms();
    let events = latency::events();
    let mut report = String::new();
    if threshold == 0 && events.is_empty() {
        report.push_str(
            "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this server. \
             You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" if you want to enable it.\n",
        );
    } else if events.is_empty() {
        report.push_str(
            "Dave, no latency spike was observed during the lifetime of this server, not in the slightest bit.\n",
        );
    } else {
        report.push_str(
            "Dave, I have observed latency spikes in this server. You don't mind talking about it, do you Dave?\n\n",
        );
        for (i, (name, h)) in events.iter().enumerate() {
            let n = h.samples.len() as u64;
            let avg = h.samples.iter().map(|s| s.1).sum::<u64>() / n.max(1);
            let period = match (h.samples.front(), h.samples.back()) {
                (Some(first), Some(last)) if n > 1 => (last.0 - first.0) / (n - 1),
                _ => 0,
            };
            report.push_str(&format!(
                "{}. {name}: {n} latency spikes (average {avg}ms, period {period} sec). Worst all time event {}ms.\n",
                i + 1,
                h.max_ms
            ));
        }
        report.push_str(&format!(
            "\nEvents at or above the threshold of {threshold} milliseconds are logged; \
             'command' events are slow commands, see SLOWLOG GET and LATENCY HISTOGRAM for which.\n"
        ));
    }
    ctx.out.verbatim(report.as_bytes());
}

fn help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::introspection::help_reply(
        ctx,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
}

// ----- MONITOR -----

/// Clients in MONITOR mode.
#[derive(Default)]
pub struct Monitors {
    count: AtomicUsize,
    clients: Mutex<Vec<Arc<ClientHandle>>>,
}

impl Monitors {
    /// Whether any client monitors (one relaxed load on every command).
    #[inline]
    pub fn active(&self) -> bool {
        self.count.load(Ordering::Relaxed) > 0
    }

    fn add(&self, handle: Arc<ClientHandle>) {
        let mut clients = self.clients.lock();
        if !clients.iter().any(|c| c.id == handle.id) {
            clients.push(handle);
            self.count.store(clients.len(), Ordering::Relaxed);
        }
    }

    /// Whether client `id` is a monitor (its output limit is the replica class's).
    pub fn contains(&self, id: u64) -> bool {
        self.active() && self.clients.lock().iter().any(|c| c.id == id)
    }

    /// Stops feeding client `id` (it disconnected).
    pub fn remove(&self, id: u64) {
        if !self.active() {
            return;
        }
        let mut clients = self.clients.lock();
        clients.retain(|c| c.id != id);
        self.count.store(clients.len(), Ordering::Relaxed);
    }
}

fn monitor(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.shared.monitors.add(ctx.client.handle.clone());
    ctx.out.ok();
}

/// Sends an executed command to every monitor, as Redis's `replicationFeedMonitors`:
/// `+<unix time>.<µs> [<db> <addr>] "arg" "arg" ...`. Admin commands are not shown, and
/// passwords of AUTH and HELLO are redacted.
pub fn feed_monitors(ctx: &Ctx, spec: &CommandSpec, args: &[Bytes]) {
    if spec.flags & ADMIN != 0 {
        return;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    // A script's commands come from `lua`, as Redis names its script client.
    let source = if ctx.in_script { "lua" } else { ctx.client.handle.addr.as_str() };
    let mut line = format!("+{}.{:06} [{} {}]", now.as_secs(), now.subsec_micros(), ctx.client.db, source).into_bytes();
    let redact_from = match spec.name {
        "auth" => 1,
        "hello" => args.iter().position(|a| a.eq_ignore_ascii_case(b"auth")).map_or(args.len(), |p| p + 1),
        _ => args.len(),
    };
    for (i, arg) in args.iter().enumerate() {
        line.push(b' ');
        if i >= redact_from && i < redact_from + 2 {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            crate::util::push_repr(&mut line, arg);
        }
    }
    line.extend_from_slice(b"\r\n");
    let limit = ctx.shared.settings.output_limits.get(1);
    let now_ms = crate::storage::now_ms();
    let monitors = &ctx.shared.monitors;
    let mut clients = monitors.clients.lock();
    clients.retain(|c| c.push(&line, limit, now_ms));
    monitors.count.store(clients.len(), Ordering::Relaxed);
}
