//! Eviction: Redis's approximated LRU/LFU/TTL/random policies, applied inside one tenant.
//!
//! As in Redis, a few random keys (`maxmemory-samples`) are sampled per round into a small
//! pool of the best candidates seen so far, and the best one is evicted. Sampling draws only
//! from the victim tenant's own tables, so its cost does not depend on how many keys other
//! tenants hold. Which tenant is the victim is decided by [`Keyspace::make_room`]:
//! a tenant over its own quota pays for its own writes; under global pressure the tenant
//! furthest above its reserve pays; a tenant at or below its reserve is never evicted for
//! another tenant's writes.

use super::{Entry, Keyspace, Removal};
use crate::tenants::{Limits, OnLimit, TenantId};

/// `maxmemory-policy`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Policy {
    #[default]
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysLfu,
    VolatileLfu,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        Some(match s {
            "noeviction" => Policy::NoEviction,
            "allkeys-lru" => Policy::AllKeysLru,
            "volatile-lru" => Policy::VolatileLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "volatile-lfu" => Policy::VolatileLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Policy::NoEviction => "noeviction",
            Policy::AllKeysLru => "allkeys-lru",
            Policy::VolatileLru => "volatile-lru",
            Policy::AllKeysLfu => "allkeys-lfu",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::AllKeysRandom => "allkeys-random",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
        }
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::AllKeysLfu | Policy::VolatileLfu)
    }

    fn is_random(self) -> bool {
        matches!(self, Policy::AllKeysRandom | Policy::VolatileRandom)
    }

    fn volatile_only(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::VolatileLfu | Policy::VolatileRandom | Policy::VolatileTtl)
    }
}

/// Size of the candidate pool (Redis's EVPOOL_SIZE).
const POOL_SIZE: usize = 16;

/// A sampled eviction candidate: higher `score` = better to evict. It names its entry by
/// database, slot and the entry's address rather than by a copy of the key: sampling then
/// reads no key bytes and allocates nothing, and a candidate whose entry has since moved
/// (table growth, backward-shift deletion) or gone is simply dropped when it comes up.
#[derive(Clone, Copy)]
struct Candidate {
    score: u64,
    db: usize,
    slot: usize,
    entry: usize,
}

/// The candidate pool, kept between evictions of the same tenant under the same policy,
/// sorted by ascending score (see [`offer`]).
#[derive(Default)]
pub struct EvictionPool {
    /// The tenant and the policy the candidates were sampled for: another policy scores
    /// differently, and a volatile one may not take the keys without a TTL an allkeys one
    /// sampled.
    owner: Option<(TenantId, Policy)>,
    candidates: Vec<Candidate>,
    /// Where the next two rounds will sample, drawn in advance: `ahead[0]`'s entries and
    /// `ahead[1]`'s slots are already on their way into the cache when those rounds come.
    /// Under continuous writes at the limit every write evicts, and sampling random keys
    /// is a cache miss per key; drawn ahead, the misses overlap the writes in between.
    ahead: [Option<SamplePoint>; 2],
}

/// Rule 2's victim, kept between evictions. Finding the tenant furthest above its reserve reads
/// every tenant's counters; once per evicted key, with many tenants, that scan would cost more
/// than the eviction. The victim stays the answer while its excess (`used - reserve`) is at
/// least every other tenant's, which `others_max` bounds from above without a scan.
#[derive(Default)]
pub struct PressureLeader {
    /// The tenant the last scan chose; `None` before a scan and after limits change.
    tenant: Option<TenantId>,
    /// At least the excess of every other tenant: exact at the scan, then raised to a tenant's
    /// whole memory whenever another tenant grows past it (see [`PressureLeader::holds`]).
    others_max: u64,
    /// Whether any tenant has a reserve (a default one counts for all).
    reserves: bool,
}

impl PressureLeader {
    /// Tenant `tenant` now holds `memory` bytes (called on every change to a table).
    #[inline]
    pub fn holds(&mut self, tenant: TenantId, memory: usize) {
        if self.tenant.is_some_and(|leader| leader != tenant) && memory as u64 > self.others_max {
            self.others_max = memory as u64;
        }
    }

    /// Forgets the victim: reserves changed (`reserves` says whether any is set now), so the
    /// bound no longer holds.
    pub fn forget(&mut self, reserves: bool) {
        self.tenant = None;
        self.reserves = reserves;
    }
}

/// What one sampling round of [`Keyspace::pick_victim`] found.
enum Pick {
    /// The key to evict.
    Victim { db: usize, slot: usize },
    /// Nothing this round (its candidates moved, or a volatile walk met no TTL).
    Missed,
    /// The tenant has no key the policy may evict.
    NoKeys,
}

/// A database and a slot to sample from (drawn before it is needed).
#[derive(Clone, Copy)]
struct SamplePoint {
    db: usize,
    start: usize,
}

/// Why a write could not be made to fit.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The tenant is at its own quota and may not (or cannot) evict.
    TenantQuota(String),
    /// Global `maxmemory` is reached and nothing may be evicted.
    MaxMemory,
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::TenantQuota(t) => {
                format!("OOM command not allowed when tenant '{t}' is over its quota")
            }
            Refusal::MaxMemory => "OOM command not allowed when used memory > 'maxmemory'.".into(),
        }
    }
}

/// LFU counter helpers (Redis's `LFULogIncr` / `LFUDecrAndReturn`). The access field holds
/// the last decrement time in minutes (16 bits) and a logarithmic counter (8 bits).
pub mod lfu {
    pub const INIT_VAL: u32 = 5;

    pub fn minutes(now_ms: u64) -> u32 {
        ((now_ms / 60_000) & 0xFFFF) as u32
    }

    pub fn pack(minutes: u32, counter: u32) -> u32 {
        (minutes << 8) | counter.min(255)
    }

    pub fn counter(access: u32) -> u32 {
        access & 0xFF
    }

    /// The counter after decay for the minutes elapsed since its last decrement.
    pub fn decayed(access: u32, now_ms: u64, decay_time: u64) -> u32 {
        let last = access >> 8;
        let now = minutes(now_ms);
        let elapsed = if now >= last { now - last } else { 65535 - last + now };
        let periods = (elapsed as u64).checked_div(decay_time).unwrap_or(0);
        counter(access).saturating_sub(periods.min(255) as u32)
    }

    /// Increments the counter with probability 1/((counter - INIT_VAL) * log_factor + 1).
    pub fn increment(counter: u32, log_factor: u64, random: f64) -> u32 {
        if counter >= 255 {
            return 255;
        }
        let base = counter.saturating_sub(INIT_VAL) as f64;
        let p = 1.0 / (base * log_factor as f64 + 1.0);
        if random < p {
            counter + 1
        } else {
            counter
        }
    }
}

impl Keyspace {
    /// The access field for a key touched now, under the current policy.
    pub fn touched_access(&mut self, previous: Option<u32>) -> u32 {
        if self.policy.is_lfu() {
            let now = self.now_ms;
            let counter = match previous {
                Some(a) => lfu::decayed(a, now, self.lfu_decay_time),
                None => lfu::INIT_VAL,
            };
            let r = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let counter = if previous.is_some() { lfu::increment(counter, self.lfu_log_factor, r) } else { counter };
            lfu::pack(lfu::minutes(now), counter)
        } else {
            self.lru_clock()
        }
    }

    /// Effective limits of `tenant`.
    pub fn limits(&self, tenant: TenantId) -> Limits {
        match self.tenant_limits.get(tenant as usize) {
            Some(o) => o.resolve(&self.default_limits),
            None => self.default_limits,
        }
    }

    /// Makes room for a write of about `incoming` bytes to keys of `tenant` (`new_keys` of
    /// which may be new). Evicts by policy as the rules allow, or refuses the write.
    pub fn make_room(&mut self, tenant: TenantId, incoming: usize, new_keys: usize) -> Result<(), Refusal> {
        let limits = self.limits(tenant);
        // Rule 1: the tenant's own quota.
        if limits.maxmemory > 0 || limits.maxkeys > 0 {
            loop {
                let used = self.tenant_memory(tenant) as u64;
                let keys = self.tenant_keys(tenant) as u64;
                let over_memory = limits.maxmemory > 0 && used + incoming as u64 > limits.maxmemory;
                let over_keys = limits.maxkeys > 0 && new_keys > 0 && keys + new_keys as u64 > limits.maxkeys;
                if !over_memory && !over_keys {
                    break;
                }
                let may_evict = limits.onlimit == OnLimit::Evict && self.policy != Policy::NoEviction;
                if !may_evict || !self.evict_one(tenant, Removal::EvictedQuota) {
                    self.tenant_stats_mut(tenant).rejected_writes += 1;
                    let name = String::from_utf8_lossy(self.tenants.name(tenant)).into_owned();
                    return Err(Refusal::TenantQuota(name));
                }
            }
        }
        // Rule 2: global maxmemory.
        if self.maxmemory > 0 {
            while self.server_memory() as u64 + incoming as u64 > self.maxmemory {
                if self.policy == Policy::NoEviction {
                    self.tenant_stats_mut(tenant).rejected_writes += 1;
                    return Err(Refusal::MaxMemory);
                }
                let evicted = match self.pressure_victim() {
                    Some(victim) => self.evict_one(victim, Removal::Evicted),
                    // Nobody is above their reserve: behave as Redis, from the writer's own keys.
                    None => self.evict_one(tenant, Removal::Evicted),
                };
                if !evicted {
                    self.tenant_stats_mut(tenant).rejected_writes += 1;
                    return Err(Refusal::MaxMemory);
                }
            }
        }
        Ok(())
    }

    /// Brings memory back under the limits after a write that grew more than estimated.
    pub fn enforce_limits(&mut self, tenant: TenantId) {
        if self.policy == Policy::NoEviction {
            return;
        }
        let limits = self.limits(tenant);
        if limits.onlimit == OnLimit::Evict {
            while (limits.maxmemory > 0 && self.tenant_memory(tenant) as u64 > limits.maxmemory)
                || (limits.maxkeys > 0 && self.tenant_keys(tenant) as u64 > limits.maxkeys)
            {
                if !self.evict_one(tenant, Removal::EvictedQuota) {
                    break;
                }
            }
        }
        while self.maxmemory > 0 && self.server_memory() as u64 > self.maxmemory {
            let victim = self.pressure_victim().unwrap_or(tenant);
            if !self.evict_one(victim, Removal::Evicted) {
                break;
            }
        }
    }

    /// Evicts until memory is back under `maxmemory` (after CONFIG SET lowered it), taking
    /// from the tenants furthest above their reserves, then from the largest tenants.
    pub fn evict_to_maxmemory(&mut self) {
        if self.policy == Policy::NoEviction {
            return;
        }
        while self.maxmemory > 0 && self.server_memory() as u64 > self.maxmemory {
            let victim = self.pressure_victim().or_else(|| {
                (0..self.tenants.count() as TenantId)
                    .filter(|&t| self.evictable_keys(t) > 0)
                    .max_by_key(|&t| self.tenant_memory(t))
            });
            match victim {
                Some(t) if self.evict_one(t, Removal::Evicted) => {}
                _ => break,
            }
        }
    }

    /// The tenant furthest above its reserve (largest `used - reserve`) that has keys the
    /// policy may evict; `None` if every tenant is at or below its reserve. The last answer
    /// stands while no other tenant can have overtaken it (see [`PressureLeader`]).
    fn pressure_victim(&mut self) -> Option<TenantId> {
        if let Some(t) = self.pressure.tenant {
            let excess = (self.tenant_memory(t) as u64).saturating_sub(self.limits(t).reserve);
            if excess > 0 && excess >= self.pressure.others_max && self.evictable_keys(t) > 0 {
                return Some(t);
            }
        }
        let mut best: Option<(u64, TenantId)> = None;
        // The largest excess of the others, evictable or not: the bound the answer keeps.
        let mut others_max = 0;
        // Tenants past the end of the counters hold nothing. Without reserves (the common
        // case) a tenant's excess is its memory, and the scan reads the counters alone.
        for (t, state) in self.tenant_state.iter().enumerate() {
            let t = t as TenantId;
            let used = state.memory as u64;
            let reserve = if self.pressure.reserves { self.limits(t).reserve } else { 0 };
            if used <= reserve {
                continue;
            }
            let excess = used - reserve;
            if best.is_none_or(|(b, _)| excess > b) && self.evictable_keys(t) > 0 {
                // The one it replaces joins the others.
                others_max = others_max.max(best.map_or(0, |(b, _)| b));
                best = Some((excess, t));
            } else {
                others_max = others_max.max(excess);
            }
        }
        self.pressure.tenant = best.map(|(_, t)| t);
        self.pressure.others_max = others_max;
        best.map(|(_, t)| t)
    }

    /// How many keys of `tenant`, in all databases, the policy may evict.
    fn evictable_keys(&self, tenant: TenantId) -> usize {
        if self.policy.volatile_only() {
            self.dbs.iter().filter_map(|d| d.table(tenant)).map(super::Table::volatile).sum()
        } else {
            self.tenant_keys(tenant)
        }
    }

    /// Evicts one key of `tenant` chosen by the policy. Returns false if it has none to evict.
    pub fn evict_one(&mut self, tenant: TenantId, why: Removal) -> bool {
        // A round can come up empty (its candidates moved, or a volatile walk met no TTL):
        // a few more rounds then sample elsewhere.
        for _round in 0..8 {
            match self.pick_victim(tenant) {
                Pick::Victim { db, slot } => {
                    self.remove_slot(db, tenant, slot, why);
                    return true;
                }
                Pick::NoKeys => return false,
                Pick::Missed => {}
            }
        }
        false
    }

    /// Samples the tenant's tables and picks the best candidate by policy.
    fn pick_victim(&mut self, tenant: TenantId) -> Pick {
        let volatile_only = self.policy.volatile_only();
        let samples = self.sample_size();
        let random_policy = self.policy.is_random();
        let owner = Some((tenant, self.policy));
        if self.evict_pool.owner != owner {
            let pool = &mut self.evict_pool;
            pool.owner = owner;
            pool.candidates.clear();
            pool.candidates.reserve(POOL_SIZE);
            pool.ahead = [None; 2];
        }
        let point = match self.evict_pool.ahead[0].take() {
            Some(p) if self.dbs[p.db].table(tenant).is_some_and(|t| weight(volatile_only, t) > 0) => p,
            _ => match self.draw_sample_point(tenant) {
                Some(p) => p,
                None => return Pick::NoKeys,
            },
        };
        let db = point.db;
        let table = &self.dbs[db].tables[tenant as usize];
        // Volatile policies skip keys without a TTL; bound the walk when those are rare.
        let max_steps = if volatile_only { self.samples.max(1) * 64 } else { usize::MAX };
        let (policy, now_ms, decay) = (self.policy, self.now_ms, self.lfu_decay_time);
        let pool = &mut self.evict_pool.candidates;
        let mut chosen = None;
        table.sample(point.start, samples, max_steps, |slot, e| {
            if volatile_only && e.expire_at() == 0 {
                return false;
            }
            if random_policy {
                chosen.get_or_insert((db, slot));
                return true;
            }
            let entry = std::ptr::from_ref(e).cast::<u8>() as usize;
            offer(pool, Candidate { score: eviction_score(policy, e, now_ms, decay), db, slot, entry });
            true
        });
        self.prepare_ahead(tenant);
        if let Some((db, slot)) = chosen {
            return Pick::Victim { db, slot };
        }
        // Take the best candidate that is still where it was sampled.
        while let Some(c) = self.evict_pool.candidates.pop() {
            if self.dbs[c.db].table(tenant).is_some_and(|t| t.holds_at(c.slot, c.entry)) {
                // The next best is the next victim unless a better sample comes: start
                // loading its slot and entry, which it was sampled too long ago to find cached.
                if let Some(next) = self.evict_pool.candidates.last() {
                    if let Some(t) = self.dbs[next.db].table(tenant) {
                        t.prefetch_slots(next.slot);
                        super::table::prefetch_address(next.entry);
                    }
                }
                return Pick::Victim { db: c.db, slot: c.slot };
            }
        }
        Pick::Missed
    }
}

/// Offers a sampled candidate to the pool, which is kept sorted by ascending score (as
/// Redis's `evictionPoolPopulate` keeps it): the best victim is the last, and a full pool
/// turns away a candidate no better than its first with one comparison.
#[inline]
fn offer(pool: &mut Vec<Candidate>, candidate: Candidate) {
    let full = pool.len() >= POOL_SIZE;
    if full && pool.first().is_some_and(|worst| candidate.score <= worst.score) {
        return;
    }
    // A live entry's address names it in every database.
    if pool.iter().any(|c| c.entry == candidate.entry) {
        return;
    }
    let at = pool.partition_point(|c| c.score < candidate.score);
    if full {
        // The worst candidate makes way; everything below `at` moves down one place.
        pool.copy_within(1..at, 0);
        pool[at - 1] = candidate;
    } else {
        pool.insert(at, candidate);
    }
}

impl Keyspace {
    /// Keys a sampling round takes: `maxmemory-samples`, or the first one for the random
    /// policies, which evict whichever key comes up.
    fn sample_size(&self) -> usize {
        if self.policy.is_random() {
            1
        } else {
            self.samples.max(1)
        }
    }

    /// A database drawn by its share of the tenant's keys and a random slot in it; `None` if
    /// the tenant has no key the policy may evict.
    fn draw_sample_point(&mut self, tenant: TenantId) -> Option<SamplePoint> {
        let total = self.evictable_keys(tenant);
        if total == 0 {
            return None;
        }
        let volatile_only = self.policy.volatile_only();
        let n = self.rng.below(total as u64) as usize;
        let weights = self.dbs.iter().map(|d| d.table(tenant).map_or(0, |t| weight(volatile_only, t)));
        let db = super::weighted_position(weights, n).expect("a database holds the n-th evictable key");
        let capacity = self.dbs[db].tables[tenant as usize].capacity();
        Some(SamplePoint { db, start: self.rng.below(capacity as u64) as usize })
    }

    /// Moves the sampling points one round ahead and starts loading what they will read.
    fn prepare_ahead(&mut self, tenant: TenantId) {
        let next = self.evict_pool.ahead[1].take().or_else(|| self.draw_sample_point(tenant));
        let after = self.draw_sample_point(tenant);
        let samples = self.sample_size();
        let table = |p: SamplePoint| self.dbs[p.db].table(tenant).map(|t| (t, p.start));
        if let Some((t, start)) = next.and_then(table) {
            t.prefetch_entries(start, samples);
        }
        if let Some((t, start)) = after.and_then(table) {
            t.prefetch_slots(start);
        }
        self.evict_pool.ahead = [next, after];
    }
}

/// How many keys of `table` a policy may evict.
fn weight(volatile_only: bool, table: &super::Table) -> usize {
    if volatile_only {
        table.volatile()
    } else {
        table.len()
    }
}

/// How good a victim `e` is under `policy`: higher is evicted first.
///
/// LRU scores by the access time itself (earlier is better), not by the idle time when
/// sampled: candidates wait in the pool while the clock moves, and an idle time taken then
/// would rank them below every later sample, so that each tick of the clock flooded the pool.
fn eviction_score(policy: Policy, e: &Entry, now_ms: u64, decay_time: u64) -> u64 {
    match policy {
        Policy::AllKeysLfu | Policy::VolatileLfu => 255 - lfu::decayed(e.access(), now_ms, decay_time) as u64,
        Policy::VolatileTtl => u64::MAX - e.expire_at(),
        _ => (u32::MAX - e.access()) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::{lfu, Removal};
    use crate::storage::{Entry, Keyspace};
    use crate::tenants::TenantRegistry;

    /// The pool keeps the best POOL_SIZE distinct candidates offered, sorted, best last.
    #[test]
    fn pool_keeps_the_best_candidates_sorted() {
        let mut rng = crate::util::Rng::new();
        let mut pool = Vec::new();
        let mut offered = Vec::new();
        for i in 0..500usize {
            let score = rng.below(1000);
            // Every third offer repeats an earlier entry, which must not enter twice.
            let entry = if i % 3 == 2 { offered.last().map_or(i, |&(_, e)| e) } else { 0x1000 + i * 8 };
            if i % 3 != 2 {
                offered.push((score, entry));
            }
            let score = if i % 3 == 2 { offered.last().map_or(score, |&(s, _)| s) } else { score };
            super::offer(&mut pool, super::Candidate { score, db: 0, slot: i, entry });
            assert!(pool.windows(2).all(|w| w[0].score <= w[1].score), "sorted after offer {i}");
            assert!(pool.len() <= super::POOL_SIZE);
        }
        let mut best: Vec<u64> = offered.iter().map(|&(s, _)| s).collect();
        best.sort_unstable();
        let kept: Vec<u64> = pool.iter().map(|c| c.score).collect();
        assert_eq!(kept, best[best.len() - super::POOL_SIZE..]);
        let mut entries: Vec<usize> = pool.iter().map(|c| c.entry).collect();
        entries.sort_unstable();
        entries.dedup();
        assert_eq!(entries.len(), super::POOL_SIZE);
    }

    /// Candidates an allkeys policy left in the pool are not evicted once the policy is a
    /// volatile one: only the key with a TTL may go.
    #[test]
    fn policy_change_empties_the_pool() {
        let mut ks = Keyspace::new(1, TenantRegistry::new(Vec::new(), b':'));
        ks.apply_setting("maxmemory-policy", "allkeys-lru");
        for i in 0..100 {
            ks.insert(0, Entry::string(format!("old:{i}").as_bytes(), b"v", 0), &[]);
        }
        // A minute later the pool holds candidates idle for a minute.
        ks.now_ms += 60_000;
        assert!(ks.evict_one(0, Removal::Evicted));
        // Newer than every other key, so the worst LRU candidate of them all.
        let mut volatile = Entry::string(b"ttl", b"v", 0);
        volatile.set_expire_at(ks.now_ms + 3_600_000);
        ks.insert(0, volatile, &[]);
        ks.apply_setting("maxmemory-policy", "volatile-lru");
        assert!(ks.evict_one(0, Removal::Evicted));
        assert!(ks.peek(0, b"ttl").is_none(), "the only key with a TTL is the victim");
        assert_eq!(ks.total_keys(), 99);
        assert!(!ks.evict_one(0, Removal::Evicted), "no key with a TTL is left");
    }

    /// Rule 2's victim, remembered between evictions, always has the largest excess over its
    /// reserve, whatever the tenants write, delete, evict or change in their reserves.
    #[test]
    fn pressure_victim_is_always_furthest_above_its_reserve() {
        use crate::tenants::{KeyPattern, LimitOverrides};
        let pattern = KeyPattern::compile("{tenant}", b':', "{tenant}").unwrap();
        let mut ks = Keyspace::new(2, TenantRegistry::new(vec![pattern], b':'));
        ks.apply_setting("maxmemory-policy", "allkeys-lru");
        let names = ["a", "b", "c", "d"];
        let ids: Vec<_> = names.iter().map(|n| ks.tenants.intern(n.as_bytes())).collect();
        let excess = |ks: &Keyspace, t| (ks.tenant_memory(t) as u64).saturating_sub(ks.limits(t).reserve);
        let mut rng = crate::util::Rng::new();
        for step in 0..5000 {
            let who = rng.below(names.len() as u64) as usize;
            let key = format!("{}:{}", names[who], rng.below(300));
            match rng.below(20) {
                0..=11 => {
                    let value = vec![b'v'; rng.below(200) as usize];
                    ks.insert(rng.below(2) as usize, Entry::string(key.as_bytes(), &value, 0), &[]);
                }
                12..=14 => {
                    ks.remove(rng.below(2) as usize, key.as_bytes(), Removal::Deleted);
                }
                15..=17 => {
                    if let Some(t) = ks.pressure_victim() {
                        ks.evict_one(t, Removal::Evicted);
                    }
                }
                _ => {
                    // Often none at all, so that the scan without reserves runs too.
                    let reserve = if rng.below(2) == 0 { None } else { Some(rng.below(40_000)) };
                    ks.set_limit_overrides(ids[who], LimitOverrides { reserve, ..Default::default() });
                }
            }
            let best = ids.iter().map(|&t| excess(&ks, t)).max().unwrap();
            match ks.pressure_victim() {
                Some(t) => assert_eq!(excess(&ks, t), best, "step {step}: victim {t} is not the furthest above"),
                None => assert_eq!(best, 0, "step {step}: a tenant above its reserve was missed"),
            }
        }
    }

    #[test]
    fn lfu_counter() {
        assert_eq!(lfu::increment(lfu::INIT_VAL, 10, 0.5), lfu::INIT_VAL + 1);
        assert_eq!(lfu::increment(255, 10, 0.0), 255);
        let a = lfu::pack(lfu::minutes(10 * 60_000), 20);
        assert_eq!(lfu::decayed(a, 15 * 60_000, 1), 15);
        assert_eq!(lfu::decayed(a, 15 * 60_000, 0), 20);
    }
}
