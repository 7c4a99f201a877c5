//! Command latency: per-command histograms (INFO latencystats, LATENCY HISTOGRAM, the
//! Prometheus `tenantcache_command_duration_seconds` histogram) and the latency monitor's
//! event log (LATENCY LATEST/HISTORY/RESET, `latency-monitor-threshold`).
//!
//! Recording runs after every command, so it must not contend: each thread owns one
//! histogram per command, registered once in a global list, and a command counts in its own
//! thread's buckets with a plain atomic load and store (no locked add: the thread is their
//! only writer). Readers (INFO, LATENCY, a scrape) sum the buckets of every thread; they never
//! block a recording thread.
//!
//! Buckets are log-linear over nanoseconds, as in an HDR histogram with 16 sub-buckets per
//! power of two (at most 6.25% relative error). Powers of two are exact bucket boundaries,
//! which is what the Prometheus buckets and LATENCY HISTOGRAM use.
//!
//! One process runs one server, so this state is process-wide.

use crate::commands::{table, CommandSpec};
use parking_lot::{Mutex, RwLock};
use std::cell::{Cell, OnceCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

/// Sub-buckets per power of two (as bits).
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Largest recordable value: 2^40 ns (about 18 minutes); longer calls count as that.
const MAX_EXP: u32 = 40;
/// Number of buckets: values below `SUB` have one bucket each, then `SUB` per power of two.
pub const BUCKETS: usize = (MAX_EXP as usize - SUB_BITS as usize + 1) * SUB;

/// The bucket of a value in nanoseconds.
#[inline]
pub fn bucket_of(ns: u64) -> usize {
    let v = ns.min((1u64 << MAX_EXP) - 1);
    if v < SUB as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let mantissa = (v >> (exp - SUB_BITS)) as usize & (SUB - 1);
    (exp - SUB_BITS + 1) as usize * SUB + mantissa
}

/// The smallest value (ns) that falls in bucket `i`.
pub fn bucket_low(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let exp = (i / SUB) as u32 + SUB_BITS - 1;
    ((SUB + i % SUB) as u64) << (exp - SUB_BITS)
}

/// The largest value (ns) that falls in bucket `i`.
pub fn bucket_high(i: usize) -> u64 {
    if i + 1 >= BUCKETS {
        return (1u64 << MAX_EXP) - 1;
    }
    bucket_low(i + 1) - 1
}

/// One command's histogram on one thread.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram { buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(), sum_ns: AtomicU64::new(0) }
    }

    #[inline]
    fn record(&self, ns: u64) {
        // The owning thread is the only writer, so a plain load and store suffice: no locked
        // read-modify-write on every command. The atomics only make concurrent reads safe; a
        // reset racing with a record can at worst lose that one call.
        let bucket = &self.buckets[bucket_of(ns)];
        bucket.store(bucket.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        self.sum_ns.store(self.sum_ns.load(Ordering::Relaxed) + ns, Ordering::Relaxed);
    }

    fn add_to(&self, snap: &mut Snapshot) {
        for (total, b) in snap.buckets.iter_mut().zip(self.buckets.iter()) {
            let n = b.load(Ordering::Relaxed);
            *total += n;
            snap.count += n;
        }
        snap.sum_ns += self.sum_ns.load(Ordering::Relaxed);
    }

    fn reset(&self) {
        for b in self.buckets.iter() {
            b.store(0, Ordering::Relaxed);
        }
        self.sum_ns.store(0, Ordering::Relaxed);
    }
}

/// A histogram summed over all threads.
#[derive(Clone)]
pub struct Snapshot {
    pub buckets: Vec<u64>,
    pub count: u64,
    pub sum_ns: u64,
}

impl Snapshot {
    fn empty() -> Snapshot {
        Snapshot { buckets: vec![0; BUCKETS], count: 0, sum_ns: 0 }
    }

    /// Calls that took less than `bound_ns`, which must be a power of two (an exact boundary).
    pub fn count_below(&self, bound_ns: u64) -> u64 {
        let end = bucket_of(bound_ns);
        self.buckets[..end].iter().sum()
    }

    /// The value (ns) at percentile `p` (0-100): the highest value of the bucket that holds
    /// it, as HDR histograms report. 0 for an empty histogram.
    pub fn percentile(&self, p: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let target = ((p / 100.0 * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= target {
                return bucket_high(i);
            }
        }
        bucket_high(BUCKETS - 1)
    }
}

/// Dense ids for every command spec (subcommands included), so a thread's histograms are a
/// plain array indexed by id.
struct CommandIds {
    by_spec: HashMap<usize, usize, foldhash::fast::RandomState>,
    specs: Vec<&'static CommandSpec>,
}

fn ids() -> &'static CommandIds {
    static IDS: OnceLock<CommandIds> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut specs: Vec<&'static CommandSpec> = Vec::new();
        for spec in table::all() {
            specs.push(spec);
            specs.extend(spec.subcommands.iter());
        }
        let by_spec = specs.iter().enumerate().map(|(i, s)| (*s as *const CommandSpec as usize, i)).collect();
        CommandIds { by_spec, specs }
    })
}

/// One thread's histograms, indexed by command id; each is allocated on the command's first use.
/// A thread's set lives as long as the process (the registry lists it for readers), so it is
/// leaked once instead of reference-counted.
struct ThreadHistograms {
    by_command: Box<[OnceLock<Histogram>]>,
}

fn registry() -> &'static Mutex<Vec<&'static ThreadHistograms>> {
    static THREADS: Mutex<Vec<&'static ThreadHistograms>> = Mutex::new(Vec::new());
    &THREADS
}

thread_local! {
    static LOCAL: OnceCell<&'static ThreadHistograms> = const { OnceCell::new() };
    /// The spec recorded last on this thread and its histogram: pipelined commands usually
    /// repeat the one before, and then recording costs no lookup by spec.
    static LAST: Cell<Option<(*const CommandSpec, &'static Histogram)>> = const { Cell::new(None) };
}

/// `latency-tracking`.
static TRACKING: AtomicBool = AtomicBool::new(true);
/// `latency-tracking-info-percentiles`.
static PERCENTILES: RwLock<Vec<f64>> = RwLock::new(Vec::new());

/// Records one call of `spec` that took `ns` nanoseconds.
#[inline]
pub fn record(spec: &'static CommandSpec, ns: u64) {
    if !TRACKING.load(Ordering::Relaxed) {
        return;
    }
    let last = LAST.get();
    let histogram = match last {
        Some((s, h)) if std::ptr::eq(s, spec) => h,
        _ => {
            let Some(h) = own_histogram(spec) else {
                return;
            };
            LAST.set(Some((spec, h)));
            h
        }
    };
    histogram.record(ns);
}

/// This thread's histogram of `spec`, created on first use.
fn own_histogram(spec: &'static CommandSpec) -> Option<&'static Histogram> {
    let &id = ids().by_spec.get(&(spec as *const CommandSpec as usize))?;
    let mine = LOCAL.with(|cell| {
        *cell.get_or_init(|| {
            let hists: &'static ThreadHistograms = Box::leak(Box::new(ThreadHistograms {
                by_command: (0..ids().specs.len()).map(|_| OnceLock::new()).collect(),
            }));
            registry().lock().push(hists);
            hists
        })
    });
    Some(mine.by_command[id].get_or_init(Histogram::new))
}

/// Every command with at least one recorded call, by full name (`get`, `client|list`), with
/// its histogram summed over all threads.
pub fn snapshot_all() -> BTreeMap<String, Snapshot> {
    let threads: Vec<&'static ThreadHistograms> = registry().lock().clone();
    let ids = ids();
    let mut out = BTreeMap::new();
    for (id, spec) in ids.specs.iter().enumerate() {
        let mut snap: Option<Snapshot> = None;
        for t in &threads {
            if let Some(h) = t.by_command[id].get() {
                h.add_to(snap.get_or_insert_with(Snapshot::empty));
            }
        }
        if let Some(s) = snap.filter(|s| s.count > 0) {
            out.insert(spec.full_name(), s);
        }
    }
    out
}

/// CONFIG RESETSTAT: empties every histogram.
pub fn reset_histograms() {
    for t in registry().lock().iter() {
        for h in t.by_command.iter().filter_map(OnceLock::get) {
            h.reset();
        }
    }
}

/// Mirrors the latency directives from the configuration.
pub fn configure(name: &str, value: &str) {
    match name {
        "latency-tracking" => TRACKING.store(value == "yes", Ordering::Relaxed),
        "latency-tracking-info-percentiles" => {
            *PERCENTILES.write() = value.split_whitespace().filter_map(|p| p.parse().ok()).collect()
        }
        "latency-monitor-threshold" => MONITOR.threshold_ms.store(value.parse().unwrap_or(0), Ordering::Relaxed),
        _ => {}
    }
}

/// Parses and canonicalises `latency-tracking-info-percentiles` (numbers from 0 to 100,
/// printed as Redis prints them: `50 99 99.9`).
pub fn parse_percentiles(value: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for word in value.split_whitespace() {
        match word.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => out.push(format_percentile(p)),
            _ => return Err("latency-tracking-info-percentiles should be in range [0.0,100.0]".into()),
        }
    }
    Ok(out.join(" "))
}

/// A percentile as Redis prints it: no trailing zeros (`99.9`, `50`).
pub fn format_percentile(p: f64) -> String {
    let s = format!("{p:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The `INFO latencystats` line values: `p50=1.003,p99=3.007,p99.9=8.031` (microseconds).
pub fn percentile_line(snap: &Snapshot) -> String {
    let percentiles = PERCENTILES.read();
    let parts: Vec<String> = percentiles
        .iter()
        .map(|&p| format!("p{}={:.3}", format_percentile(p), snap.percentile(p) as f64 / 1000.0))
        .collect();
    parts.join(",")
}

// ----- the latency monitor -----

/// Samples kept per event, as in Redis (`LATENCY_TS_LEN`).
const HISTORY_LEN: usize = 160;

/// One event's history: (unix seconds, milliseconds) samples, newest last, and the maximum.
#[derive(Default, Clone)]
pub struct EventHistory {
    pub samples: VecDeque<(u64, u64)>,
    pub max_ms: u64,
}

/// The latency monitor: events (`command`, `fast-command`, ...) slower than the threshold.
pub struct Monitor {
    threshold_ms: AtomicU64,
    events: Mutex<BTreeMap<&'static str, EventHistory>>,
}

static MONITOR: Monitor = Monitor { threshold_ms: AtomicU64::new(0), events: Mutex::new(BTreeMap::new()) };

/// The latency monitor's threshold in milliseconds; 0 = off.
#[inline]
pub fn monitor_threshold_ms() -> u64 {
    MONITOR.threshold_ms.load(Ordering::Relaxed)
}

/// Adds a sample for `event` if `ms` reaches the threshold (Redis's `latencyAddSampleIfNeeded`).
pub fn add_sample_if_needed(event: &'static str, ms: u64) {
    let threshold = monitor_threshold_ms();
    if threshold == 0 || ms < threshold {
        return;
    }
    let now = crate::storage::now_ms() / 1000;
    let mut events = MONITOR.events.lock();
    let h = events.entry(event).or_default();
    h.max_ms = h.max_ms.max(ms);
    // Samples in the same second merge, keeping the larger latency.
    if let Some(last) = h.samples.back_mut().filter(|s| s.0 == now) {
        last.1 = last.1.max(ms);
        return;
    }
    if h.samples.len() == HISTORY_LEN {
        h.samples.pop_front();
    }
    h.samples.push_back((now, ms));
}

/// Every event with samples.
pub fn events() -> BTreeMap<&'static str, EventHistory> {
    MONITOR.events.lock().clone()
}

/// Forgets `names` (every event if empty); returns how many existed.
pub fn reset_events(names: &[String]) -> usize {
    let mut events = MONITOR.events.lock();
    if names.is_empty() {
        let n = events.len();
        events.clear();
        return n;
    }
    let mut n = 0;
    for name in names {
        let key = events.keys().copied().find(|k| *k == name.as_str());
        if let Some(k) = key {
            events.remove(k);
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_in_order() {
        let mut last = 0;
        for v in [0u64, 1, 15, 16, 17, 31, 32, 100, 1000, 1023, 1024, 1025, 99_999, 1 << 30, u64::MAX] {
            let b = bucket_of(v);
            assert!(b >= last && b < BUCKETS, "{v}");
            assert!(bucket_low(b) <= v.min((1 << MAX_EXP) - 1) && v.min((1 << MAX_EXP) - 1) <= bucket_high(b));
            last = b;
        }
        for i in 0..BUCKETS - 1 {
            assert_eq!(bucket_high(i) + 1, bucket_low(i + 1));
            assert_eq!(bucket_of(bucket_low(i)), i);
        }
        // Powers of two are exact boundaries.
        for k in 4..MAX_EXP {
            assert_eq!(bucket_low(bucket_of(1 << k)), 1 << k);
        }
    }

    #[test]
    fn percentiles_and_counts() {
        let h = Histogram::new();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let mut s = Snapshot::empty();
        h.add_to(&mut s);
        assert_eq!(s.count, 1000);
        let p50 = s.percentile(50.0) as f64;
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.07, "{p50}");
        let p99 = s.percentile(99.0) as f64;
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.07, "{p99}");
        assert_eq!(s.count_below(1 << 9), 0);
        assert_eq!(s.count_below(1 << 10), 1);
        assert_eq!(s.count_below(1 << 30), 1000);
        assert_eq!(s.count_below(1 << 19), 524);
    }

    #[test]
    fn percentile_config() {
        assert_eq!(parse_percentiles("0.0 50.0 100.0").unwrap(), "0 50 100");
        assert_eq!(parse_percentiles("50 99 99.9").unwrap(), "50 99 99.9");
        assert!(parse_percentiles("10 a").is_err());
        assert!(parse_percentiles("101").is_err());
    }
}
