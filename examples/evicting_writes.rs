//! Writes fresh keys straight into a keyspace, optionally at `maxmemory` under allkeys-lru,
//! for counting what eviction costs per write under valgrind, without a network in between:
//!
//! ```sh
//! cargo build --release --example evicting_writes
//! for limit in 0 25165824; do for n in 300000 600000; do
//!   valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
//!     target/release/examples/evicting_writes $n $limit 2>&1 | grep 'I *refs'
//! done; done
//! ```
//!
//! The difference between the two runs of one limit, divided by 300,000, is the cost of one
//! write once the keyspace is full; with the limit, nearly every such write evicts a key. The
//! clock advances one millisecond per 400 writes (the third argument), as under a pipelined
//! benchmark, so that LRU ticks hold as many keys as they do in service.
//!
//! A fourth argument spreads the keys over that many tenants (`t<n>:...`, pattern
//! `{tenant}`) in turn; a fifth of 1 gives nine writes in ten to `t0` instead (one tenant
//! floods, the others write a little): `... evicting_writes $n $limit 400 100 1`.

use tenantcache::storage::{Entry, Keyspace};
use tenantcache::tenants::{KeyPattern, TenantRegistry};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (writes, maxmemory, per_ms) = (arg(1, 600_000), arg(2, 25_165_824), arg(3, 400).max(1));
    // Keys t<n>:... spread over this many tenants of equal size (pattern `{tenant}`).
    let tenants = arg(4, 1).max(1);
    // With a fifth argument of 1, tenant t0 floods: it takes nine writes in ten.
    let flood = arg(5, 0) == 1;
    let pattern = KeyPattern::compile("{tenant}", b':', "{tenant}").expect("valid pattern");
    let mut ks = Keyspace::new(16, TenantRegistry::new(vec![pattern], b':'));
    ks.apply_setting("maxmemory-policy", "allkeys-lru");
    ks.apply_setting("maxmemory", &maxmemory.to_string());
    ks.refresh_limits_active();
    let value = [b'x'; 64];
    let start = ks.now_ms;
    for i in 0..writes {
        ks.now_ms = start + i / per_ms;
        // Spread over a keyspace much larger than the writes, as redis-benchmark -r does.
        let tenant = if !flood {
            i % tenants
        } else if i % 10 == 0 {
            (i / 10) % tenants
        } else {
            0
        };
        let key = format!("t{tenant}:{:012}", i.wrapping_mul(2_654_435_761) % 100_000_000);
        if maxmemory > 0 {
            let tenant = ks.tenants.resolve(key.as_bytes());
            ks.make_room(tenant, key.len() + value.len() + 64, 1).expect("allkeys-lru makes room");
        }
        ks.insert(0, Entry::string(key.as_bytes(), &value, 0), &[]);
    }
    println!("keys {} used_memory {} evicted {}", ks.total_keys(), ks.used_memory(), ks.stats.evicted_keys);
}
