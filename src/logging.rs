//! Logging setup: `loglevel` (debug, verbose, notice, warning, nothing) maps onto tracing levels
//! and can be changed at run time with CONFIG SET.

use std::sync::OnceLock;
use tracing_subscriber::{filter::LevelFilter, reload, Registry};

static HANDLE: OnceLock<reload::Handle<LevelFilter, Registry>> = OnceLock::new();

fn filter(level: &str) -> LevelFilter {
    match level {
        "debug" => LevelFilter::DEBUG,
        "verbose" => LevelFilter::INFO,
        "notice" => LevelFilter::INFO,
        "warning" => LevelFilter::WARN,
        "nothing" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

pub fn init(level: &str) {
    use tracing_subscriber::prelude::*;
    let (layer, handle) = reload::Layer::new(filter(level));
    let fmt = tracing_subscriber::fmt::layer().with_target(false).with_writer(std::io::stdout);
    if tracing_subscriber::registry().with(layer).with(fmt).try_init().is_ok() {
        let _ = HANDLE.set(handle);
    }
}

pub fn set_level(level: &str) {
    if let Some(h) = HANDLE.get() {
        let _ = h.modify(|f| *f = filter(level));
    }
}
