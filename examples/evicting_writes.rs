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
//! clock advances one millisecond per 400 writes, as under a pipelined benchmark, so that LRU
//! ticks hold as many keys as they do in service.

use tenantcache::storage::{Entry, Keyspace};
use tenantcache::tenants::TenantRegistry;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (writes, maxmemory, per_ms) = (arg(1, 600_000), arg(2, 25_165_824), arg(3, 400).max(1));
    let mut ks = Keyspace::new(16, TenantRegistry::new(Vec::new(), b':'));
    ks.apply_setting("maxmemory-policy", "allkeys-lru");
    ks.apply_setting("maxmemory", &maxmemory.to_string());
    ks.refresh_limits_active();
    let value = [b'x'; 64];
    let start = ks.now_ms;
    for i in 0..writes {
        ks.now_ms = start + i / per_ms;
        // Spread over a keyspace much larger than the writes, as redis-benchmark -r does.
        let key = format!("key:{:012}", i.wrapping_mul(2_654_435_761) % 100_000_000);
        if maxmemory > 0 {
            ks.make_room(0, key.len() + value.len() + 64, 1).expect("allkeys-lru makes room");
        }
        ks.insert(0, Entry::string(key.as_bytes(), &value, 0));
    }
    println!("keys {} used_memory {} evicted {}", ks.total_keys(), ks.used_memory(), ks.stats.evicted_keys);
}
