//! The keyspace: databases of per-tenant tables, lazy and active expiry, memory accounting,
//! and the one path every removed key takes (so statistics, notifications and the tag index
//! can never miss a deletion).

pub mod entry;
pub mod table;
pub mod value;

pub use entry::{Entry, Kind};
pub use table::{hash_key, Table};

use crate::tenants::{TenantId, TenantRegistry};

/// Notification classes of `notify-keyspace-events`.
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    pub const KEY_MISS: u32 = 1 << 11;
    pub const MODULE: u32 = 1 << 12;
    pub const NEW: u32 = 1 << 13;
    /// The `A` alias: every class but key-miss and new.
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

    /// Parses a flag string such as `KEA` (Redis's `keyspaceEventsStringToFlags`).
    pub fn parse(s: &str) -> Option<u32> {
        let mut flags = 0;
        for c in s.chars() {
            flags |= match c {
                'A' => ALL,
                'g' => GENERIC,
                '$' => STRING,
                'l' => LIST,
                's' => SET,
                'h' => HASH,
                'z' => ZSET,
                'x' => EXPIRED,
                'e' => EVICTED,
                'K' => KEYSPACE,
                'E' => KEYEVENT,
                't' => STREAM,
                'm' => KEY_MISS,
                'd' => MODULE,
                'n' => NEW,
                _ => return None,
            };
        }
        Some(flags)
    }

    /// The canonical flag string for `flags` (what CONFIG GET shows).
    pub fn format(flags: u32) -> String {
        let mut s = String::new();
        if flags & ALL == ALL {
            s.push('A');
        } else {
            for (bit, c) in [
                (GENERIC, 'g'),
                (STRING, '$'),
                (LIST, 'l'),
                (SET, 's'),
                (HASH, 'h'),
                (ZSET, 'z'),
                (EXPIRED, 'x'),
                (EVICTED, 'e'),
                (STREAM, 't'),
                (MODULE, 'd'),
            ] {
                if flags & bit != 0 {
                    s.push(c);
                }
            }
        }
        for (bit, c) in [(NEW, 'n'), (KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
        s
    }
}

/// A keyspace event waiting to be published by the command layer.
pub struct Event {
    pub class: u32,
    pub name: &'static str,
    pub db: usize,
    pub key: Vec<u8>,
}

/// Why a key left the keyspace.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Removal {
    Deleted,
    Overwritten,
    Expired,
    Evicted,
    Flushed,
}

/// Keyspace-wide counters for INFO stats. Updated under the keyspace lock, so plain integers.
#[derive(Default, Clone)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
}

/// Counters per tenant, indexed by tenant id.
#[derive(Default, Clone)]
pub struct TenantStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
}

/// One logical database (`SELECT n`): a table per tenant, indexed by tenant id.
#[derive(Default)]
pub struct Db {
    tables: Vec<Table>,
}

impl Db {
    pub fn len(&self) -> usize {
        self.tables.iter().map(Table::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(Table::is_empty)
    }

    pub fn volatile(&self) -> usize {
        self.tables.iter().map(Table::volatile).sum()
    }

    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    fn table_mut(&mut self, tenant: TenantId) -> &mut Table {
        let i = tenant as usize;
        if i >= self.tables.len() {
            self.tables.resize_with(i + 1, Table::new);
        }
        &mut self.tables[i]
    }

    fn table(&self, tenant: TenantId) -> Option<&Table> {
        self.tables.get(tenant as usize)
    }
}

/// Where the active expiry cycle stopped.
#[derive(Default)]
struct ExpireCursor {
    db: usize,
    tenant: usize,
    slot: usize,
}

pub struct Keyspace {
    dbs: Vec<Db>,
    pub tenants: TenantRegistry,
    pub stats: KeyspaceStats,
    pub tenant_stats: Vec<TenantStats>,
    /// Milliseconds since the epoch, set before each command so it sees one instant.
    pub now_ms: u64,
    /// Classes enabled by `notify-keyspace-events`; 0 = off, and no event is queued.
    pub notify_flags: u32,
    events: Vec<Event>,
    expire_cursor: ExpireCursor,
    /// Milliseconds the server started at; the LRU clock counts seconds from it.
    started_ms: u64,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Keyspace {
    pub fn new(databases: usize, tenants: TenantRegistry) -> Self {
        let now = now_ms();
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            tenants,
            stats: KeyspaceStats::default(),
            tenant_stats: vec![TenantStats::default()],
            now_ms: now,
            notify_flags: 0,
            events: Vec::new(),
            expire_cursor: ExpireCursor::default(),
            started_ms: now,
        }
    }

    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    pub fn db(&self, db: usize) -> &Db {
        &self.dbs[db]
    }

    /// The LRU clock: seconds since start.
    pub fn lru_clock(&self) -> u32 {
        ((self.now_ms.saturating_sub(self.started_ms)) / 1000) as u32
    }

    /// Seconds since `entry` was last accessed.
    pub fn idle_seconds(&self, entry: &Entry) -> u64 {
        self.lru_clock().saturating_sub(entry.access) as u64
    }

    fn tenant_stats_mut(&mut self, tenant: TenantId) -> &mut TenantStats {
        let i = tenant as usize;
        if i >= self.tenant_stats.len() {
            self.tenant_stats.resize_with(i + 1, TenantStats::default);
        }
        &mut self.tenant_stats[i]
    }

    // ----- lookups -----

    /// The live entry for `key`, expiring it first if its time has passed. No statistics.
    pub fn get(&mut self, db: usize, key: &[u8]) -> Option<&Entry> {
        let tenant = self.tenants.lookup(key)?;
        let hash = hash_key(key);
        let expired = self.dbs[db].table(tenant)?.get(key, hash)?.is_expired(self.now_ms);
        if expired {
            self.expire_now(db, tenant, key, hash);
            return None;
        }
        self.dbs[db].tables[tenant as usize].get(key, hash)
    }

    /// Like [`Keyspace::get`] for a read by a client: counts a hit or miss and updates the
    /// access clock.
    pub fn read(&mut self, db: usize, key: &[u8]) -> Option<&Entry> {
        let clock = self.lru_clock();
        let tenant = self.tenants.lookup(key);
        let hash = hash_key(key);
        let found = match tenant {
            Some(t) => match self.dbs[db].tables.get_mut(t as usize).and_then(|tb| tb.get_mut(key, hash)) {
                Some(e) if e.is_expired(self.now_ms) => {
                    self.expire_now(db, t, key, hash);
                    false
                }
                Some(e) => {
                    e.access = clock;
                    true
                }
                None => false,
            },
            None => false,
        };
        let t = tenant.unwrap_or(crate::tenants::DEFAULT_TENANT);
        if found {
            self.stats.hits += 1;
            self.tenant_stats_mut(t).hits += 1;
            self.dbs[db].tables[t as usize].get(key, hash)
        } else {
            self.stats.misses += 1;
            self.tenant_stats_mut(t).misses += 1;
            self.notify(crate::storage::notify::KEY_MISS, "keymiss", db, key);
            None
        }
    }

    pub fn exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.get(db, key).is_some()
    }

    /// Changes a live entry in place, re-accounting its memory and expiry.
    pub fn modify<R>(&mut self, db: usize, key: &[u8], f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        self.get(db, key)?;
        let tenant = self.tenants.lookup(key)?;
        let hash = hash_key(key);
        let table = &mut self.dbs[db].tables[tenant as usize];
        let entry = table.get_mut(key, hash)?;
        let (before, was_volatile) = (entry.memory(), entry.expire_at != 0);
        let r = f(entry);
        let (after, is_volatile) = (entry.memory(), entry.expire_at != 0);
        table.account_change(before, after, was_volatile, is_volatile);
        Some(r)
    }

    // ----- writes -----

    /// Stores `entry` under its key, replacing (and discarding) any previous value.
    /// Returns whether a live key was replaced.
    pub fn insert(&mut self, db: usize, mut entry: Box<Entry>) -> bool {
        let tenant = self.tenants.resolve(entry.key());
        let hash = hash_key(entry.key());
        entry.access = self.lru_clock();
        // Copied only when the `n` class is on: the entry moves into the table.
        let new_key = (self.notify_flags & notify::NEW != 0).then(|| entry.key().to_vec());
        let old = self.dbs[db].table_mut(tenant).insert(entry, hash);
        let replaced_live = match old {
            Some(old) => {
                let live = !old.is_expired(self.now_ms);
                self.discard(db, tenant, old, Removal::Overwritten);
                live
            }
            None => false,
        };
        if let (false, Some(key)) = (replaced_live, new_key) {
            self.notify(notify::NEW, "new", db, &key);
        }
        replaced_live
    }

    /// Deletes `key`; returns the removed entry if it was live.
    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<Box<Entry>> {
        let tenant = self.tenants.lookup(key)?;
        let hash = hash_key(key);
        let entry = self.dbs[db].tables.get_mut(tenant as usize)?.remove(key, hash)?;
        if entry.is_expired(self.now_ms) {
            self.discard(db, tenant, entry, Removal::Expired);
            return None;
        }
        Some(entry)
    }

    /// Deletes `key` and drops its value; returns whether it existed.
    pub fn delete(&mut self, db: usize, key: &[u8]) -> bool {
        match self.remove(db, key) {
            Some(e) => {
                let tenant = self.tenants.lookup(key).unwrap_or_default();
                self.discard(db, tenant, e, Removal::Deleted);
                true
            }
            None => false,
        }
    }

    fn expire_now(&mut self, db: usize, tenant: TenantId, key: &[u8], hash: u64) {
        if let Some(e) = self.dbs[db].tables[tenant as usize].remove(key, hash) {
            self.discard(db, tenant, e, Removal::Expired);
        }
    }

    /// The single exit of every key: statistics, notifications, tag index, then the drop.
    pub fn discard(&mut self, db: usize, tenant: TenantId, entry: Box<Entry>, why: Removal) {
        match why {
            Removal::Expired => {
                self.stats.expired_keys += 1;
                self.tenant_stats_mut(tenant).expired_keys += 1;
                self.notify(notify::EXPIRED, "expired", db, entry.key());
            }
            Removal::Evicted => {
                self.stats.evicted_keys += 1;
                self.tenant_stats_mut(tenant).evicted_keys += 1;
                self.notify(notify::EVICTED, "evicted", db, entry.key());
            }
            Removal::Deleted | Removal::Overwritten | Removal::Flushed => {}
        }
        drop_entry(entry);
    }

    /// Removes every key of database `db`; returns how many there were.
    pub fn flush_db(&mut self, db: usize) -> usize {
        let tables = std::mem::take(&mut self.dbs[db].tables);
        let n = tables.iter().map(Table::len).sum();
        drop_in_background(tables);
        n
    }

    pub fn flush_all(&mut self) -> usize {
        (0..self.dbs.len()).map(|db| self.flush_db(db)).sum()
    }

    pub fn swap_db(&mut self, a: usize, b: usize) {
        self.dbs.swap(a, b);
    }

    // ----- iteration -----

    /// One SCAN step over database `db`. The cursor holds the tenant id in its high bits and
    /// the table's reverse-binary cursor in its low 40 bits.
    pub fn scan(&mut self, db: usize, cursor: u64, count: usize, mut visit: impl FnMut(&Entry)) -> u64 {
        const LOW: u32 = 40;
        let mut tenant = (cursor >> LOW) as usize;
        let mut inner = cursor & ((1 << LOW) - 1);
        let mut visited = 0;
        let tables = &self.dbs[db].tables;
        while tenant < tables.len() {
            let table = &tables[tenant];
            if table.is_empty() {
                tenant += 1;
                inner = 0;
                continue;
            }
            // Bound the work on sparse tables as Redis does (10 buckets per requested key).
            let mut steps = 0;
            loop {
                inner = table.scan_step(inner, |e| {
                    visited += 1;
                    visit(e);
                });
                steps += 1;
                if inner == 0 || visited >= count || steps >= count * 10 {
                    break;
                }
            }
            if inner == 0 {
                tenant += 1;
            }
            if visited >= count || steps >= count * 10 {
                break;
            }
        }
        if tenant >= tables.len() {
            0
        } else {
            ((tenant as u64) << LOW) | inner
        }
    }

    /// Every live key of database `db`, in table order.
    pub fn for_each(&self, db: usize, mut f: impl FnMut(&Entry)) {
        for t in &self.dbs[db].tables {
            for e in t.iter() {
                if !e.is_expired(self.now_ms) {
                    f(e);
                }
            }
        }
    }

    /// A random live key of database `db`.
    pub fn random_key(&mut self, db: usize, rng: &mut crate::util::Rng) -> Option<Vec<u8>> {
        for _ in 0..100 {
            let total = self.dbs[db].len();
            if total == 0 {
                return None;
            }
            // Pick a table weighted by its size, then a random slot in it.
            let mut n = rng.below(total as u64) as usize;
            let tables = &self.dbs[db].tables;
            let (tenant, table) = tables
                .iter()
                .enumerate()
                .find(|(_, t)| {
                    if n < t.len() {
                        true
                    } else {
                        n -= t.len();
                        false
                    }
                })
                .expect("a table holds the n-th key");
            let (_, e) = table.occupied_from(rng.below(table.capacity() as u64) as usize)?;
            if !e.is_expired(self.now_ms) {
                return Some(e.key().to_vec());
            }
            let key = e.key().to_vec();
            self.expire_now(db, tenant as TenantId, &key, hash_key(&key));
        }
        None
    }

    /// One slice of the active expiry cycle: looks at up to `budget` slots of tables that hold
    /// keys with a TTL and removes the expired keys there. Returns (slots looked at, keys
    /// expired, whether the cycle went round every database).
    pub fn expire_slice(&mut self, budget: usize) -> (usize, usize, bool) {
        let mut looked = 0;
        let mut expired = 0;
        let mut wrapped = false;
        let now = self.now_ms;
        let mut removed = Vec::new();
        while looked < budget {
            let ExpireCursor { db, tenant, slot } = self.expire_cursor;
            if db >= self.dbs.len() {
                self.expire_cursor = ExpireCursor::default();
                wrapped = true;
                break;
            }
            let Some(table) = self.dbs[db].tables.get_mut(tenant) else {
                self.expire_cursor = ExpireCursor { db: db + 1, tenant: 0, slot: 0 };
                continue;
            };
            if table.volatile() == 0 {
                self.expire_cursor = ExpireCursor { db, tenant: tenant + 1, slot: 0 };
                continue;
            }
            let step = (budget - looked).min(table.capacity());
            let next = table.sweep(slot, step, |e| e.is_expired(now), |e| removed.push(e));
            looked += step;
            self.expire_cursor =
                if next == 0 { ExpireCursor { db, tenant: tenant + 1, slot: 0 } } else { ExpireCursor { db, tenant, slot: next } };
            for e in removed.drain(..) {
                expired += 1;
                self.discard(db, tenant as TenantId, e, Removal::Expired);
            }
        }
        (looked, expired, wrapped)
    }

    /// Keys with a TTL in database `db`.
    pub fn volatile(&self, db: usize) -> usize {
        self.dbs[db].volatile()
    }

    /// Heap bytes held by keys and values, tables included.
    pub fn used_memory(&self) -> usize {
        self.dbs.iter().flat_map(|d| d.tables.iter()).map(Table::memory).sum()
    }

    // ----- notifications -----

    /// Queues a keyspace notification if its class is enabled.
    #[inline]
    pub fn notify(&mut self, class: u32, name: &'static str, db: usize, key: &[u8]) {
        if self.notify_flags & class != 0 && self.notify_flags & (notify::KEYSPACE | notify::KEYEVENT) != 0 {
            self.events.push(Event { class, name, db, key: key.to_vec() });
        }
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }
}

/// Values at least this large are freed on a background thread, as Redis's lazyfree does.
const LAZY_FREE_THRESHOLD: usize = 64 * 1024;

fn drop_entry(entry: Box<Entry>) {
    if entry.memory() >= LAZY_FREE_THRESHOLD {
        drop_in_background(entry);
    }
}

/// Frees `value` off the command path.
pub fn drop_in_background<T: Send + 'static>(value: T) {
    static FREER: std::sync::OnceLock<std::sync::mpsc::Sender<Box<dyn Send>>> = std::sync::OnceLock::new();
    let tx = FREER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn Send>>();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || for item in rx { drop(item) })
            .expect("spawn lazyfree thread");
        tx
    });
    let _ = tx.send(Box::new(value));
}
