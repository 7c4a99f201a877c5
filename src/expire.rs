//! The active expiry cycle: reclaims expired keys nobody reads, `hz` times a second, in short
//! slices so that no client waits long behind it.

use crate::server::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Slots examined per lock hold (tens of microseconds).
const SLICE: usize = 1024;

pub async fn active_expire_cycle(shared: Arc<Shared>) {
    loop {
        let hz = shared.settings.hz.load(Ordering::Relaxed).clamp(1, 500);
        let period = Duration::from_millis(1000 / hz);
        tokio::time::sleep(period).await;
        // Like Redis, spend at most a quarter of each period on expiry.
        let deadline = Instant::now() + period / 4;
        loop {
            let (looked, _, wrapped) = {
                let mut ks = shared.keyspace.lock();
                ks.now_ms = crate::storage::now_ms();
                let r = ks.expire_slice(SLICE);
                let events = ks.take_events();
                let flags = ks.notify_flags;
                drop(ks);
                crate::pubsub::publish_events(&shared, events, flags, None);
                r
            };
            if wrapped || looked == 0 || Instant::now() >= deadline {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}
