//! The active expiry cycle: reclaims expired keys nobody reads, `hz` times a second, in short
//! slices so that no client waits long behind it.
//!
//! Like Redis's `activeExpireCycle`, a period keeps going only while it pays off: it stops
//! after a slice in which fewer than a tenth of the keys with a TTL had expired, and in any
//! case after a quarter of the period, so a keyspace full of long TTLs costs almost nothing
//! while a mass expiry is reclaimed at up to a quarter of one core.

use crate::server::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Slots examined per lock hold (tens of microseconds).
const SLICE: usize = 1024;
/// Old slots a resizing table migrates per cron tick besides what writes migrate (about a
/// millisecond at most, as Redis's `incrementallyRehash`).
const RESIZE_SLICE: usize = 16 * 1024;

pub async fn active_expire_cycle(shared: Arc<Shared>) {
    loop {
        let hz = shared.settings.hz.load(Ordering::Relaxed).clamp(1, 500);
        let period = Duration::from_millis(1000 / hz);
        tokio::time::sleep(period).await;
        let deadline = Instant::now() + period / 4;
        shared.lock_keyspace().resize_step(RESIZE_SLICE);
        if !shared.settings.active_expire.load(Ordering::Relaxed) {
            continue;
        }
        loop {
            let slice = {
                let mut ks = shared.lock_keyspace();
                ks.now_ms = crate::storage::now_ms();
                let slice = ks.expire_slice(SLICE);
                let effects = ks.take_effects();
                if shared.aof.enabled() {
                    crate::aof::log_removals(&shared, &effects);
                }
                let flags = ks.notify_flags;
                drop(ks);
                crate::pubsub::publish_events(&shared, &effects, flags, None);
                slice
            };
            let worth_another = slice.expired > 0 && slice.expired * 10 >= slice.volatile;
            if slice.wrapped || !worth_another || Instant::now() >= deadline {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}
