//! The keyspace: databases of per-tenant tables, lazy and active expiry, memory accounting,
//! the entry handle every keyed command works on ([`handle`]), the one path every removed key
//! takes ([`Keyspace::remove_slot`], so statistics, notifications and the tag index can never
//! miss a deletion) and the stream of effects every change is recorded in ([`effect`]).

pub mod compact_bytes;
pub mod dense;
pub mod effect;
pub mod entry;
pub mod evict;
pub mod handle;
pub mod hash;
pub mod list;
pub mod set;
pub mod stream;
pub mod table;
pub mod undo;
pub mod value;
pub mod watch;
pub mod words;
pub mod zset;

pub use effect::{events, Change, Effect, KeyEvent};
pub use entry::{Entry, ExpireAt, Kind};
pub use handle::{EntryHandle, ResolvedKey};
pub use table::{hash_key, Table};

use crate::keyclass::ClassId;
use crate::tenants::{LimitOverrides, Limits, TenantId, TenantRegistry, DEFAULT_TENANT};
use evict::{EvictionPool, Policy, PressureLeader};

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

/// Flags of [`Keyspace::read_with`], as Redis's `LOOKUP_*`.
pub mod lookup {
    /// Do not update the access clock.
    pub const NOTOUCH: u8 = 1 << 0;
    /// Do not count a hit or a miss.
    pub const NOSTATS: u8 = 1 << 1;
    /// Do not raise a `keymiss` event.
    pub const NONOTIFY: u8 = 1 << 2;
}

/// Size thresholds under which collections keep a compact encoding (Redis's
/// `*-max-listpack-*` / `set-max-intset-entries` directives).
#[derive(Clone, Copy, Debug)]
pub struct EncodingLimits {
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub list_max_listpack_size: i64,
    pub set_max_intset_entries: usize,
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    /// List elements this long or longer get a quicklist node of their own ("plain") in a
    /// snapshot, as Redis stores them (`DEBUG QUICKLIST-PACKED-THRESHOLD`; 1 GiB by default).
    pub list_packed_threshold: usize,
    /// Stream node sizes (`stream-node-max-bytes`, `stream-node-max-entries`).
    pub stream_nodes: stream::NodeLimits,
}

/// Redis's `packed_threshold`: elements of 1 GiB or more are plain quicklist nodes.
pub const DEFAULT_LIST_PACKED_THRESHOLD: usize = 1 << 30;

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_packed_threshold: DEFAULT_LIST_PACKED_THRESHOLD,
            stream_nodes: stream::NodeLimits::default(),
        }
    }
}

/// Limits on tags (`tag-max-per-key`, `tag-max-len`).
#[derive(Clone, Copy, Debug)]
pub struct TagLimits {
    pub max_per_key: usize,
    pub max_len: usize,
}

/// The key holds a value of another kind (the WRONGTYPE error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongType;

/// Why a key left the keyspace (see [`Keyspace::remove_slot`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Removal {
    /// Deleted by a command (DEL, GETDEL, an expiry set in the past ...): `del`.
    Deleted,
    /// A collection lost its last element: `del`, after the command's own event.
    Emptied,
    /// Written over, or removed so that a command can write it anew (RENAME's and COPY's
    /// destination, an undone write): no event.
    Overwritten,
    Expired,
    /// Evicted under global memory pressure.
    Evicted,
    /// Evicted to keep its tenant within the tenant's own quota.
    EvictedQuota,
    /// Moved to another name or database (RENAME, MOVE); the command names the move.
    Renamed,
    /// Deleted by TAG.INVALIDATE: `del`, counted as invalidated.
    Invalidated,
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

/// Counters per tenant, indexed by tenant id. The counters every command touches come first,
/// so that they share a cache line with the tenant's usage (see [`TenantState`]).
#[derive(Default, Clone)]
#[repr(C)]
pub struct TenantStats {
    pub commands: u64,
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    /// Evicted to keep the tenant within its own quota.
    pub evicted_quota: u64,
    /// Evicted because the server reached global `maxmemory`.
    pub evicted_pressure: u64,
    pub invalidated_keys: u64,
    pub rejected_writes: u64,
}

/// What the keyspace keeps per tenant: memory and keys across all databases, and counters.
/// A command touches its tenant's usage and its first counters, which share the first of
/// two cache lines: with many tenants each command meets another tenant's state.
#[derive(Default, Clone)]
#[repr(C, align(64))]
struct TenantState {
    memory: usize,
    keys: usize,
    stats: TenantStats,
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

/// What one slice of the active expiry cycle did.
#[derive(Default, Debug)]
pub struct ExpireSlice {
    /// Slots looked at.
    pub looked: usize,
    /// Keys with a TTL among them (a key shifted back by a removal may count twice).
    pub volatile: usize,
    /// Keys removed because their time had passed.
    pub expired: usize,
    /// Whether the cycle went round every database and starts over.
    pub wrapped: bool,
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
    /// Key classes (`stats-key-pattern`); `None` when no pattern is set.
    pub classes: Option<crate::keyclass::KeyClasses>,
    /// Milliseconds since the epoch, set before each command so it sees one instant.
    pub now_ms: u64,
    /// The running command's first key (its address and length) with the tenant and hash
    /// admission resolved for it, so that the handler's entry handle does not resolve it
    /// again (see [`Keyspace::resolve_key`]). Set by admission, cleared when the command
    /// ends: the key's bytes stay alive and unchanged while it runs.
    first_key: Option<(usize, usize, ResolvedKey)>,
    /// Classes enabled by `notify-keyspace-events`; 0 = off, and no event is queued.
    pub notify_flags: u32,
    /// Changes waiting for the dispatcher (see [`effect`]).
    effects: effect::Stream,
    /// Entries TAG.INVALIDATE removed, freed together off the command path. They stay in the
    /// boxes the table held: unboxing would free each box on the command path.
    #[allow(clippy::vec_box)]
    garbage: Vec<Box<Entry>>,
    expire_cursor: ExpireCursor,
    /// Milliseconds the server started at; the LRU clock counts from it.
    started_ms: u64,
    /// Heap bytes of all tables, kept up to date by [`Keyspace::table_op`].
    used: usize,
    /// Per tenant, by id (grown on a tenant's first use).
    tenant_state: Vec<TenantState>,
    // Eviction settings (mirrored from the configuration).
    pub maxmemory: u64,
    pub policy: Policy,
    pub samples: usize,
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    pub default_limits: Limits,
    /// Compact-encoding thresholds for collections.
    pub encoding: EncodingLimits,
    pub tag_limits: TagLimits,
    tenant_limits: Vec<LimitOverrides>,
    /// Whether any limit exists, so that writes skip quota checks entirely when none does.
    limits_active: bool,
    /// A log is being replayed at start (the AOF): no limit applies to its commands.
    loading: bool,
    evict_pool: EvictionPool,
    pressure: PressureLeader,
    rng: crate::util::Rng,
    /// Clients blocked in list and sorted set pops, by key; see [`crate::engine::blocking`].
    pub blocking: crate::engine::blocking::Registry,
    /// Keys clients WATCH, told about every change by the write paths below.
    watches: watch::Watches,
    /// The keys of the running write to a `reject` tenant as they were (see [`undo`]).
    before_images: undo::BeforeImages,
    /// Memory held by client connections (query and output buffers, queued transactions,
    /// subscriptions), kept by the connections; it counts towards `used_memory` and
    /// `maxmemory`, as in Redis, but towards no tenant.
    pub client_memory: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Changes made since the server started (Redis's `server.dirty`): each stored key, change
    /// in place, deletion and flushed key counts one; expiry and eviction do not, as in Redis.
    /// Snapshots compare it with its value at their start (save points, INFO persistence).
    pub dirty: u64,
    /// A forked snapshot child shares the keyspace's pages with this process: while it runs,
    /// reads leave the access clocks alone, as Redis does while it has a child (each touched
    /// entry would cost a copied page and the child's memory).
    pub snapshot_child: bool,
}

/// Memory the server uses before any key is stored (code, runtime, buffers). INFO's
/// `used_memory` is the keyspace's accounting plus this, so an empty server does not report
/// zero (as in Redis), and `maxmemory` is compared against that same figure.
pub const BASELINE_MEMORY: usize = 1 << 20;

/// Resolution of the LRU clock kept in each entry: one second, Redis's
/// `LRU_CLOCK_RESOLUTION`, so that approximated LRU ranks keys as coarsely as Redis does and
/// single-tenant eviction keeps the hit ratio Redis keeps.
const LRU_TICK_MS: u64 = 1000;
/// Where the LRU clock starts: 2^24 ticks (194 days, the range of Redis's 24-bit clock), so
/// that an idle time that long can be given right after the start (RESTORE IDLETIME, the idle
/// times of a snapshot being loaded).
const LRU_CLOCK_START: u64 = 1 << 24;

pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Keyspace {
    pub fn new(databases: usize, tenants: TenantRegistry) -> Self {
        let now = now_ms();
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            tenants,
            stats: KeyspaceStats::default(),
            classes: None,
            now_ms: now,
            first_key: None,
            notify_flags: 0,
            effects: effect::Stream::default(),
            garbage: Vec::new(),
            expire_cursor: ExpireCursor::default(),
            started_ms: now,
            used: 0,
            tenant_state: vec![TenantState::default()],
            maxmemory: 0,
            policy: Policy::NoEviction,
            samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            default_limits: Limits::default(),
            encoding: EncodingLimits::default(),
            tag_limits: TagLimits { max_per_key: 64, max_len: 256 },
            tenant_limits: Vec::new(),
            limits_active: false,
            loading: false,
            evict_pool: EvictionPool::default(),
            pressure: PressureLeader::default(),
            rng: crate::util::Rng::new(),
            blocking: crate::engine::blocking::Registry::default(),
            watches: watch::Watches::default(),
            before_images: undo::BeforeImages::default(),
            client_memory: Default::default(),
            dirty: 0,
            snapshot_child: false,
        }
    }

    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    pub fn db(&self, db: usize) -> &Db {
        &self.dbs[db]
    }

    /// The LRU clock: seconds since start (`LRU_TICK_MS`), from `LRU_CLOCK_START`.
    pub fn lru_clock(&self) -> u32 {
        (LRU_CLOCK_START + self.now_ms.saturating_sub(self.started_ms) / LRU_TICK_MS) as u32
    }

    /// Milliseconds since `entry` was last accessed (LRU policies).
    pub fn idle_millis(&self, entry: &Entry) -> u64 {
        self.lru_clock().saturating_sub(entry.access()) as u64 * LRU_TICK_MS
    }

    /// Seconds since `entry` was last accessed.
    pub fn idle_seconds(&self, entry: &Entry) -> u64 {
        self.idle_millis(entry) / 1000
    }

    /// Seconds since an access clock value (an entry's `access` under an LRU policy).
    pub fn idle_seconds_since(&self, access: u32) -> u64 {
        self.lru_clock().saturating_sub(access) as u64 * LRU_TICK_MS / 1000
    }

    /// Mirrors a directive that the keyspace uses (eviction, tenant defaults, encodings,
    /// tag limits); other directives are ignored.
    pub fn apply_setting(&mut self, name: &str, value: &str) {
        let n = || value.parse::<u64>().unwrap_or(0);
        let e = &mut self.encoding;
        match name {
            "maxmemory" => self.maxmemory = n(),
            "maxmemory-policy" => self.policy = Policy::parse(value).unwrap_or_default(),
            "maxmemory-samples" => self.samples = n() as usize,
            "lfu-log-factor" => self.lfu_log_factor = n(),
            "lfu-decay-time" => self.lfu_decay_time = n(),
            "tenant-default-maxmemory" => self.default_limits.maxmemory = n(),
            "tenant-default-maxkeys" => self.default_limits.maxkeys = n(),
            "tenant-default-reserve" => self.default_limits.reserve = n(),
            "tag-max-per-key" => self.tag_limits.max_per_key = n() as usize,
            "tag-max-len" => self.tag_limits.max_len = n() as usize,
            "hash-max-listpack-entries" => e.hash_max_listpack_entries = n() as usize,
            "hash-max-listpack-value" => e.hash_max_listpack_value = n() as usize,
            "list-max-listpack-size" => e.list_max_listpack_size = value.parse().unwrap_or(-2),
            "set-max-intset-entries" => e.set_max_intset_entries = n() as usize,
            "set-max-listpack-entries" => e.set_max_listpack_entries = n() as usize,
            "set-max-listpack-value" => e.set_max_listpack_value = n() as usize,
            "zset-max-listpack-entries" => e.zset_max_listpack_entries = n() as usize,
            "zset-max-listpack-value" => e.zset_max_listpack_value = n() as usize,
            "stream-node-max-bytes" => e.stream_nodes.max_bytes = n() as usize,
            "stream-node-max-entries" => e.stream_nodes.max_entries = n() as usize,
            _ => return,
        }
        self.refresh_limits_active();
    }

    /// Keys in all databases.
    pub fn total_keys(&self) -> usize {
        self.tenant_state.iter().map(|u| u.keys).sum()
    }

    // ----- tenants -----

    /// Runs a change on one tenant's table and keeps the memory and key counters in step.
    /// Every change to a table goes through here.
    fn table_op<R>(&mut self, db: usize, tenant: TenantId, op: impl FnOnce(&mut Table) -> R) -> R {
        let table = self.dbs[db].table_mut(tenant);
        let (mem_before, len_before) = (table.memory(), table.len());
        let r = op(table);
        let (mem_after, len_after) = (table.memory(), table.len());
        let u = self.tenant_state_mut(tenant);
        u.memory = u.memory + mem_after - mem_before;
        u.keys = u.keys + len_after - len_before;
        let memory = u.memory;
        self.pressure.holds(tenant, memory);
        self.used = self.used + mem_after - mem_before;
        r
    }

    /// Removes `key` of `tenant`'s table in `db` as it is stored, expired or not.
    fn remove_stored(&mut self, db: usize, tenant: TenantId, key: &[u8], why: Removal) {
        if let Some(slot) = self.dbs[db].table(tenant).and_then(|t| t.locate(key, hash_key(key))) {
            self.remove_slot(db, tenant, slot, why);
        }
    }

    /// Heap bytes of `tenant`'s keys in all databases.
    pub fn tenant_memory(&self, tenant: TenantId) -> usize {
        self.tenant_state.get(tenant as usize).map_or(0, |u| u.memory)
    }

    /// Keys of `tenant` in all databases.
    pub fn tenant_keys(&self, tenant: TenantId) -> usize {
        self.tenant_state.get(tenant as usize).map_or(0, |u| u.keys)
    }

    pub fn tenant_stats(&self, tenant: TenantId) -> TenantStats {
        self.tenant_state.get(tenant as usize).map(|u| u.stats.clone()).unwrap_or_default()
    }

    pub fn reset_tenant_stats(&mut self, tenant: Option<TenantId>) {
        match tenant {
            Some(t) => *self.tenant_stats_mut(t) = TenantStats::default(),
            None => self.tenant_state.iter_mut().for_each(|u| u.stats = TenantStats::default()),
        }
    }

    /// Limits set for `tenant` itself (without defaults).
    pub fn limit_overrides(&self, tenant: TenantId) -> LimitOverrides {
        self.tenant_limits.get(tenant as usize).copied().unwrap_or_default()
    }

    pub fn set_limit_overrides(&mut self, tenant: TenantId, limits: LimitOverrides) {
        let i = tenant as usize;
        if i >= self.tenant_limits.len() {
            self.tenant_limits.resize_with(i + 1, LimitOverrides::default);
        }
        self.tenant_limits[i] = limits;
        self.refresh_limits_active();
    }

    /// Follows a change of limits or eviction settings: recomputes whether writes need quota
    /// checks at all, and forgets rule 2's victim (reserves may have changed).
    pub fn refresh_limits_active(&mut self) {
        let d = &self.default_limits;
        self.pressure.forget(d.reserve > 0 || self.tenant_limits.iter().any(|o| o.reserve.unwrap_or(0) > 0));
        let any_limit = self.maxmemory > 0
            || d.maxmemory > 0
            || d.maxkeys > 0
            || self.tenant_limits.iter().any(|o| o.maxmemory.unwrap_or(0) > 0 || o.maxkeys.unwrap_or(0) > 0);
        self.limits_active = any_limit && !self.loading;
    }

    pub fn limits_active(&self) -> bool {
        self.limits_active
    }

    /// Whether a log is being replayed (see [`Keyspace::set_loading`]).
    pub fn is_loading(&self) -> bool {
        self.loading
    }

    /// While a log is replayed at start, no quota or `maxmemory` refuses or evicts for its
    /// commands, as Redis loads whatever the log holds: limits read as inactive.
    pub fn set_loading(&mut self, loading: bool) {
        self.loading = loading;
        self.refresh_limits_active();
    }

    /// Deletes every key of `tenant` in every database; returns how many there were.
    pub fn flush_tenant(&mut self, tenant: TenantId) -> usize {
        let mut n = 0;
        for db in 0..self.dbs.len() {
            if self.dbs[db].table(tenant).is_none_or(Table::is_empty) {
                continue;
            }
            self.touch_watched_db(db, None, Some(tenant));
            let table = self.table_op(db, tenant, Table::take_all);
            n += table.len();
            self.dirty += table.len() as u64;
            self.forget_classes_of(&table);
            drop_in_background(table);
            self.record(db, tenant, b"", Change::Flushed(Some(tenant)), None);
        }
        n
    }

    pub(crate) fn tenant_stats_mut(&mut self, tenant: TenantId) -> &mut TenantStats {
        &mut self.tenant_state_mut(tenant).stats
    }

    #[inline]
    fn tenant_state_mut(&mut self, tenant: TenantId) -> &mut TenantState {
        let i = tenant as usize;
        if i >= self.tenant_state.len() {
            self.tenant_state.resize_with(i + 1, TenantState::default);
        }
        &mut self.tenant_state[i]
    }

    // ----- lookups -----

    /// The live entry for `key`, expiring it first if its time has passed. No statistics.
    pub fn get(&mut self, db: usize, key: &[u8]) -> Option<&Entry> {
        let tenant = self.tenants.lookup(key)?;
        self.entry_resolved(db, key, ResolvedKey { tenant, hash: hash_key(key) }).into_entry()
    }

    /// The live entry for `key` without expiring, counting or touching anything: for commands
    /// that read several keys at once after [`Keyspace::read`] did the bookkeeping for each.
    pub fn peek(&self, db: usize, key: &[u8]) -> Option<&Entry> {
        let tenant = self.tenants.lookup(key)?;
        let entry = self.dbs[db].table(tenant)?.get(key, hash_key(key))?;
        (!entry.is_expired(self.now_ms)).then_some(entry)
    }

    /// The entry for `key` even if its time has passed, leaving it in place (DEBUG OBJECT, as
    /// Redis's reads the dictionary directly).
    pub fn peek_stored(&self, db: usize, key: &[u8]) -> Option<&Entry> {
        let tenant = self.tenants.lookup(key)?;
        self.dbs[db].table(tenant)?.get(key, hash_key(key))
    }

    /// Like [`Keyspace::get`] for a read by a client: counts a hit or miss, updates the
    /// access clock and reports a miss as a `keymiss` event.
    pub fn read(&mut self, db: usize, key: &[u8]) -> Option<&Entry> {
        self.read_with(db, key, 0)
    }

    /// A client's read with Redis's lookup flags (see [`lookup`]): TTL, TYPE and EXISTS look
    /// without touching the access clock, OBJECT also without notifying a miss. Misses count
    /// for the key's tenant even before it holds any key.
    pub fn read_with(&mut self, db: usize, key: &[u8], flags: u8) -> Option<&Entry> {
        self.entry(db, key).into_read(flags)
    }

    pub fn exists(&mut self, db: usize, key: &[u8]) -> bool {
        self.get(db, key).is_some()
    }

    /// [`EntryHandle::modify`] of `key`: changes a live entry in place; a change (`f` says
    /// whether it made one) is recorded as `events`.
    pub fn modify<R>(
        &mut self,
        db: usize,
        key: &[u8],
        events: &[KeyEvent],
        f: impl FnOnce(&mut Box<Entry>) -> (R, bool),
    ) -> Option<R> {
        let tenant = self.tenants.lookup(key)?;
        self.entry_resolved(db, key, ResolvedKey { tenant, hash: hash_key(key) }).modify(events, f)
    }

    /// [`EntryHandle::with_collection`] of `key`.
    pub fn with_collection<R>(
        &mut self,
        db: usize,
        key: &[u8],
        kind: Kind,
        create: Option<fn() -> value::Collection>,
        events: &[KeyEvent],
        f: impl FnOnce(&mut value::Collection) -> (R, bool),
    ) -> Result<Option<R>, WrongType> {
        self.entry(db, key).with_collection(kind, create, events, f)
    }

    // ----- writes -----

    /// The access clock a newly written entry starts with.
    fn fresh_access(&mut self) -> u32 {
        if self.policy.is_lfu() {
            self.touched_access(None)
        } else {
            self.lru_clock()
        }
    }

    /// Stores `entry` under its key, replacing (and removing as overwritten) any previous
    /// value; records `new` for a key that did not live before (as Redis's `dbAdd`), then
    /// `events`. Returns whether a live key was replaced.
    pub fn insert(&mut self, db: usize, mut entry: Box<Entry>, events: &[KeyEvent]) -> bool {
        entry.set_access(self.fresh_access());
        self.put(db, entry, events)
    }

    /// [`Keyspace::insert`] that keeps the entry's access clock (RENAME and MOVE carry it).
    fn put(&mut self, db: usize, entry: Box<Entry>, events: &[KeyEvent]) -> bool {
        let at = self.resolve_key(entry.key());
        let probed = self.probe_live(db, entry.key(), at);
        self.put_probed(db, at, probed, entry, events)
    }

    /// Whether any consumer looks at the changes of live keys (the write paths skip copying
    /// the key's name otherwise).
    #[inline]
    fn observed(&self) -> bool {
        self.watching() || self.notify_flags != 0 || !self.blocking.is_empty() || self.subscribed_all()
    }

    /// The write every insert takes: puts `entry` where `probed` says its key is or goes.
    pub(super) fn put_probed(
        &mut self,
        db: usize,
        at: ResolvedKey,
        probed: Result<usize, usize>,
        mut entry: Box<Entry>,
        events: &[KeyEvent],
    ) -> bool {
        let tenant = at.tenant;
        // A new key is classified by its name before it is stored (the class takes room in
        // the entry); a replacing entry takes over the class of the one it replaces.
        if let (Err(_), Some(c)) = (probed, self.classes.as_mut()) {
            entry.set_class(c.resolve(entry.key()));
        }
        let poppable = crate::engine::blocking::wakes_waiters(entry.kind());
        let (slot, old, grown) = self.table_op(db, tenant, |t| {
            let before = t.entry_memory();
            let (slot, old) = t.insert_probed(entry, at.hash, probed);
            (slot, old, t.entry_memory() as i64 - before as i64)
        });
        // The class's memory changes by what the table's did.
        if let Some(c) = self.classes.as_mut() {
            c.stored(self.dbs[db].tables[tenant as usize].at(slot).class(), grown, old.is_none());
        }
        let replaced = old.is_some();
        if let Some(old) = old {
            self.retire(db, tenant, old, Removal::Overwritten);
        }
        self.record_store(db, tenant, slot, replaced, poppable, events);
        replaced
    }

    /// The effects of a store into `slot`: one change for snapshots, `new` for a created key,
    /// then `events` (or a plain change), and a poppable value's arrival. Every store ends
    /// here, whether it put a new entry or wrote over one in place.
    pub(super) fn record_store(
        &mut self,
        db: usize,
        tenant: TenantId,
        slot: usize,
        replaced: bool,
        poppable: bool,
        events: &[KeyEvent],
    ) {
        self.dirty += 1;
        if self.observed() {
            let key: Box<[u8]> = self.dbs[db].tables[tenant as usize].at(slot).key().into();
            if !replaced {
                self.record(db, tenant, &key, Change::Created, Some(events::NEW));
            } else if events.is_empty() {
                self.record(db, tenant, &key, Change::Written, None);
            }
            for &event in events {
                self.record(db, tenant, &key, Change::Written, Some(event));
            }
            // A list or sorted set arriving under a key that clients block on (push, ZADD, the
            // STORE forms, RENAME, COPY, MOVE ...), as Redis's `dbAdd` signals it.
            if poppable {
                self.record(db, tenant, &key, Change::Poppable, None);
            }
        }
    }

    /// Moves the live key `key` of `db` to `new_key` in `to_db` (RENAME, MOVE), with its
    /// value, expiry, access clock and tags; a key at the destination is replaced. The new
    /// name may belong to another tenant: the entry then moves to that tenant's table.
    /// Records the source's removal as `from` after the destination's write, then `to`, in
    /// Redis's order. Returns false if `key` does not exist.
    pub fn relocate(
        &mut self,
        db: usize,
        key: &[u8],
        to_db: usize,
        new_key: &[u8],
        from: KeyEvent,
        to: KeyEvent,
    ) -> bool {
        let at = self.resolve_key(key);
        let Ok(slot) = self.probe_live(db, key, at) else {
            return false;
        };
        let entry = self.unlink(db, at.tenant, slot);
        let entry = if key == new_key { entry } else { entry.into_renamed(new_key) };
        self.put(to_db, entry, &[]);
        self.record(db, at.tenant, key, Change::Removed(Removal::Renamed), Some(from));
        let to_tenant = self.tenants.resolve(new_key);
        self.record(to_db, to_tenant, new_key, Change::Written, Some(to));
        true
    }

    /// Removes the live key `key` for `why`; returns whether it existed (a key whose time had
    /// passed is removed as expired, and did not exist).
    pub fn remove(&mut self, db: usize, key: &[u8], why: Removal) -> bool {
        let Some(tenant) = self.tenants.lookup(key) else {
            return false;
        };
        self.entry_resolved(db, key, ResolvedKey { tenant, hash: hash_key(key) }).remove(why)
    }

    /// Stores the result of a STORE form (SORT, ZUNIONSTORE, SINTERSTORE ...) at `dst`,
    /// replacing any value, recorded as `event`. An empty result (`None`) deletes `dst`
    /// instead (a `del`), as Redis's STORE variants do.
    pub fn store_result(&mut self, db: usize, dst: &[u8], result: Option<value::Collection>, event: KeyEvent) {
        match result {
            Some(collection) => {
                self.insert(db, Entry::new_collection(dst, collection, 0), &[event]);
            }
            None => {
                self.remove(db, dst, Removal::Deleted);
            }
        }
    }

    /// The one removal path: takes the entry in `slot` out of the tenant's table and retires
    /// it for `why` (accounting, key classes, tag index, watches, statistics, the effect and
    /// the lazy free).
    pub(super) fn remove_slot(&mut self, db: usize, tenant: TenantId, slot: usize, why: Removal) {
        let entry = self.unlink(db, tenant, slot);
        self.retire(db, tenant, entry, why);
    }

    /// Takes the entry in `slot` out of its table (memory, key counts, tag index and key
    /// classes follow); the caller retires it or moves it on.
    fn unlink(&mut self, db: usize, tenant: TenantId, slot: usize) -> Box<Entry> {
        let entry = self.table_op(db, tenant, |t| t.remove_at(slot));
        self.unclassify(&entry);
        entry
    }

    /// Takes an entry that left its table out of the key class figures.
    fn unclassify(&mut self, entry: &Entry) {
        if let Some(c) = self.classes.as_mut() {
            c.removed(entry.class(), entry.memory());
        }
    }

    /// The last step of every removal: the effect (watches, statistics, the event of `why`),
    /// then the drop, off the command path for large values.
    fn retire(&mut self, db: usize, tenant: TenantId, entry: Box<Entry>, why: Removal) {
        if matches!(why, Removal::Deleted | Removal::Invalidated) {
            self.dirty += 1;
        }
        self.record(db, tenant, entry.key(), Change::Removed(why), why.event());
        // A group reader blocked on a stream learns that the stream is gone.
        if entry.kind() == Kind::Stream {
            self.record(db, tenant, entry.key(), Change::Poppable, None);
        }
        if why == Removal::Invalidated {
            // TAG.INVALIDATE frees all its keys in one batch, off the command path.
            self.garbage.push(entry);
        } else {
            drop_entry(entry);
        }
    }

    /// Removes every key of database `db`; returns how many there were.
    pub fn flush_db(&mut self, db: usize) -> usize {
        self.touch_watched_db(db, None, None);
        let mut n = 0;
        for tenant in 0..self.dbs[db].tables.len() {
            if self.dbs[db].tables[tenant].is_empty() {
                continue;
            }
            let table = self.table_op(db, tenant as TenantId, Table::take_all);
            n += table.len();
            self.forget_classes_of(&table);
            drop_in_background(table);
        }
        self.dirty += n as u64;
        if n > 0 {
            self.record(db, DEFAULT_TENANT, b"", Change::Flushed(None), None);
        }
        n
    }

    pub fn flush_all(&mut self) -> usize {
        (0..self.dbs.len()).map(|db| self.flush_db(db)).sum()
    }

    pub fn swap_db(&mut self, a: usize, b: usize) {
        self.touch_watched_db(a, Some(b), None);
        self.touch_watched_db(b, Some(a), None);
        self.dbs.swap(a, b);
        self.dirty += 1;
        // Clients blocked in either database may now find their list or sorted set.
        for db in [a, b] {
            for key in self.blocking.keys_in_db(db) {
                // Every waited key: a list may have come in, and a stream may have come or
                // gone (a group reader learns it lost its key).
                let tenant = self.tenants.lookup(&key).unwrap_or_default();
                self.record(db, tenant, &key, Change::Poppable, None);
            }
        }
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
    pub fn for_each(&self, db: usize, f: impl FnMut(&Entry)) {
        self.live_entries(db).for_each(f);
    }

    /// Every entry of database `db`, expired ones not yet reclaimed included, in table order:
    /// an RDB snapshot holds them as Redis's does, and loading counts them as expired.
    pub fn stored_entries(&self, db: usize) -> impl Iterator<Item = &Entry> {
        self.dbs[db].tables.iter().flat_map(Table::iter)
    }

    /// The live entries of database `db`, in table order (KEYS).
    pub fn live_entries(&self, db: usize) -> impl Iterator<Item = &Entry> {
        let now = self.now_ms;
        self.dbs[db].tables.iter().flat_map(Table::iter).filter(move |e| !e.is_expired(now))
    }

    /// A random live key of database `db`. Expired keys it lands on are reclaimed on the way,
    /// so the loop ends: every round either answers or removes a key.
    pub fn random_key(&mut self, db: usize, rng: &mut crate::util::Rng) -> Option<Vec<u8>> {
        loop {
            let total = self.dbs[db].len();
            if total == 0 {
                return None;
            }
            // Pick a table weighted by its size, then a random slot in it.
            let n = rng.below(total as u64) as usize;
            let tables = &self.dbs[db].tables;
            let tenant = weighted_position(tables.iter().map(Table::len), n).expect("a table holds the n-th key");
            let table = &tables[tenant];
            let (_, e) = table.occupied_from(rng.below(table.capacity() as u64) as usize).next()?;
            if !e.is_expired(self.now_ms) {
                return Some(e.key().to_vec());
            }
            let key = e.key().to_vec();
            self.remove_stored(db, tenant as TenantId, &key, Removal::Expired);
        }
    }

    /// Moves resizing tables on by up to `budget` old slots in all (the cron's share of the
    /// migration, so a resize ends even when writes stop).
    pub fn resize_step(&mut self, budget: usize) {
        let resizing = self.dbs.iter().flat_map(|db| &db.tables).filter(|t| t.is_resizing()).count();
        if resizing == 0 {
            return;
        }
        let share = (budget / resizing).max(64);
        for db in 0..self.dbs.len() {
            for tenant in 0..self.dbs[db].tables.len() {
                if self.dbs[db].tables[tenant].is_resizing() {
                    self.table_op(db, tenant as TenantId, |t| t.migrate(share));
                }
            }
        }
    }

    /// One slice of the active expiry cycle: looks at up to `budget` slots of tables that hold
    /// keys with a TTL, from where the previous slice stopped, and removes the expired keys
    /// there. Tables without volatile keys are skipped at no cost.
    pub fn expire_slice(&mut self, budget: usize) -> ExpireSlice {
        let mut report = ExpireSlice::default();
        let now = self.now_ms;
        let mut removed = Vec::new();
        while report.looked < budget {
            let ExpireCursor { db, tenant, slot } = self.expire_cursor;
            if db >= self.dbs.len() {
                self.expire_cursor = ExpireCursor::default();
                report.wrapped = true;
                break;
            }
            let Some(table) = self.dbs[db].tables.get(tenant) else {
                self.expire_cursor = ExpireCursor { db: db + 1, tenant: 0, slot: 0 };
                continue;
            };
            if table.volatile() == 0 {
                self.expire_cursor = ExpireCursor { db, tenant: tenant + 1, slot: 0 };
                continue;
            }
            let step = (budget - report.looked).min(table.capacity());
            let mut volatile = 0;
            let next = self.table_op(db, tenant as TenantId, |t| {
                t.sweep(
                    slot,
                    step,
                    |e| {
                        volatile += (e.expire_at() != 0) as usize;
                        e.is_expired(now)
                    },
                    |e| removed.push(e),
                )
            });
            report.looked += step;
            report.volatile += volatile;
            self.expire_cursor = if next == 0 {
                ExpireCursor { db, tenant: tenant + 1, slot: 0 }
            } else {
                ExpireCursor { db, tenant, slot: next }
            };
            for e in removed.drain(..) {
                report.expired += 1;
                self.unclassify(&e);
                self.retire(db, tenant as TenantId, e, Removal::Expired);
            }
        }
        report
    }

    /// Keys with a TTL in database `db`.
    pub fn volatile(&self, db: usize) -> usize {
        self.dbs[db].volatile()
    }

    /// What INFO reports as `used_memory` and `maxmemory` is compared against: the keyspace's
    /// accounting, the clients' memory and the fixed baseline.
    pub fn server_memory(&self) -> usize {
        self.used + BASELINE_MEMORY + self.clients_memory()
    }

    /// Memory held by client connections (INFO `mem_clients_normal`).
    pub fn clients_memory(&self) -> usize {
        self.client_memory.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Heap bytes held by keys and values, tables and tag indexes included.
    pub fn used_memory(&self) -> usize {
        self.used
    }

    // ----- key classes -----

    /// Installs key classes (or removes them with `None`) and counts the keys and memory of
    /// every entry already stored, so the class figures are exact from the start.
    pub fn set_key_classes(&mut self, classes: Option<crate::keyclass::KeyClasses>) {
        let Some(mut c) = classes else {
            self.classes = None;
            return;
        };
        for db in 0..self.dbs.len() {
            for tenant in 0..self.dbs[db].tables.len() {
                // A class id takes room in the entry: the tenant's memory changes with it.
                self.table_op(db, tenant as TenantId, |table| {
                    table.classify(|e| {
                        let id = c.resolve(e.key());
                        e.set_class(id);
                        c.added(id, e.memory());
                    })
                });
            }
        }
        self.classes = Some(c);
    }

    /// Takes the entries of a table that left the keyspace whole out of the class figures.
    fn forget_classes_of(&mut self, table: &Table) {
        if let Some(c) = self.classes.as_mut() {
            for e in table.iter() {
                c.removed(e.class(), e.memory());
            }
        }
    }

    /// Memory and class of the entry under `key` (when key classes are on).
    fn class_memory_of(&self, db: usize, tenant: TenantId, key: &[u8], hash: u64) -> Option<(usize, ClassId)> {
        self.classes.as_ref()?;
        self.dbs[db].table(tenant)?.get(key, hash).map(|e| (e.memory(), e.class()))
    }

    /// Re-accounts the class memory of an entry that changed from `before` bytes.
    fn class_resized(&mut self, db: usize, tenant: TenantId, key: &[u8], hash: u64, before: Option<(usize, ClassId)>) {
        if let (Some((before, _)), Some((after, class))) = (before, self.class_memory_of(db, tenant, key, hash)) {
            if let Some(c) = self.classes.as_mut() {
                c.resized(class, before, after);
            }
        }
    }

    // ----- tags -----

    /// Attaches tags to a live key; `None` if the key does not exist.
    pub fn add_tags(&mut self, db: usize, key: &[u8], tags: &[&[u8]]) -> Option<usize> {
        self.change_tags(db, key, |t, hash| t.add_tags(key, hash, tags))
    }

    /// Detaches tags from a live key; `None` if the key does not exist.
    pub fn remove_tags(&mut self, db: usize, key: &[u8], tags: &[&[u8]]) -> Option<usize> {
        self.change_tags(db, key, |t, hash| t.remove_tags(key, hash, tags))
    }

    /// Runs a tag change on a live key's table (`change` returns how many tags it changed),
    /// keeping the key class's memory in step; a change is seen by the key's watchers.
    fn change_tags(
        &mut self,
        db: usize,
        key: &[u8],
        change: impl FnOnce(&mut Table, u64) -> Option<usize>,
    ) -> Option<usize> {
        self.get(db, key)?;
        let tenant = self.tenants.lookup(key)?;
        let hash = hash_key(key);
        let before = self.class_memory_of(db, tenant, key, hash);
        let changed = self.table_op(db, tenant, |t| change(t, hash));
        self.class_resized(db, tenant, key, hash, before);
        if changed.is_some_and(|n| n > 0) {
            self.dirty += 1;
            self.record(db, tenant, key, Change::Written, None);
        }
        changed
    }

    /// Tenants of database `db` whose index knows `tag`.
    fn tenants_with_tag(&self, db: usize, tag: &[u8]) -> Vec<TenantId> {
        self.dbs[db]
            .tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.tag_index().is_some_and(|i| i.count(tag) > 0))
            .map(|(i, _)| i as TenantId)
            .collect()
    }

    /// Expires the members of `tag` in one tenant's table whose time has passed, so counts
    /// and scans see only live keys.
    fn purge_expired_members(&mut self, db: usize, tenant: TenantId, tag: &[u8]) {
        let now = self.now_ms;
        let table = &self.dbs[db].tables[tenant as usize];
        if table.volatile() == 0 {
            return;
        }
        let Some(members) = table.tag_index().and_then(|i| i.members(tag)) else {
            return;
        };
        let expired: Vec<Box<[u8]>> =
            members.iter().filter(|k| table.get(k, hash_key(k)).is_some_and(|e| e.is_expired(now))).cloned().collect();
        for k in expired {
            self.remove_stored(db, tenant, &k, Removal::Expired);
        }
    }

    /// Live keys of database `db` carrying `tag`, across tenants.
    pub fn tag_count(&mut self, db: usize, tag: &[u8]) -> usize {
        let mut n = 0;
        for t in self.tenants_with_tag(db, tag) {
            self.purge_expired_members(db, t, tag);
            n += self.dbs[db].tables[t as usize].tag_index().map_or(0, |i| i.count(tag));
        }
        n
    }

    /// One TAG.SCAN step. The cursor holds the tenant id in its high bits and, in the low 40
    /// bits, how many members of that tenant's list are still to visit (0 = start the tenant).
    /// Members are visited from the end of the list backwards, see [`crate::tags::TagIndex`].
    pub fn tag_scan(&mut self, db: usize, tag: &[u8], cursor: u64, count: usize) -> (u64, Vec<Vec<u8>>) {
        const LOW: u32 = 40;
        let mut tenant = (cursor >> LOW) as usize;
        let mut remaining = (cursor & ((1 << LOW) - 1)) as usize;
        let mut out = Vec::new();
        let tenants = self.tenants_with_tag(db, tag);
        while out.len() < count {
            let Some(&t) = tenants.iter().find(|&&t| t as usize >= tenant) else {
                return (0, out);
            };
            if t as usize != tenant {
                tenant = t as usize;
                remaining = 0;
            }
            self.purge_expired_members(db, t, tag);
            let members = self.dbs[db].tables[tenant].tag_index().and_then(|i| i.members(tag));
            let len = members.map_or(0, |m| m.len());
            let start = if remaining == 0 { len } else { remaining.min(len) };
            let take = (count - out.len()).min(start);
            if let Some(m) = members {
                for i in (start - take..start).rev() {
                    out.push(m[i].to_vec());
                }
            }
            remaining = start - take;
            if remaining == 0 {
                tenant += 1;
            }
        }
        if tenants.iter().all(|&t| (t as usize) < tenant) {
            (0, out)
        } else {
            (((tenant as u64) << LOW) | remaining as u64, out)
        }
    }

    /// Deletes every live key of database `db` carrying `tag`, across tenants, in one step;
    /// returns the deleted keys. Values are freed off the command path.
    pub fn invalidate_tag(&mut self, db: usize, tag: &[u8]) -> usize {
        let mut deleted = 0;
        for tenant in self.tenants_with_tag(db, tag) {
            let keys: Vec<Box<[u8]>> = self.dbs[db].tables[tenant as usize]
                .tag_index()
                .and_then(|i| i.members(tag))
                .map(|m| m.iter().cloned().collect())
                .unwrap_or_default();
            for key in keys {
                let table = &self.dbs[db].tables[tenant as usize];
                let Some(slot) = table.locate(&key, hash_key(&key)) else {
                    continue;
                };
                let why = if table.at(slot).is_expired(self.now_ms) {
                    Removal::Expired
                } else {
                    deleted += 1;
                    Removal::Invalidated
                };
                self.remove_slot(db, tenant, slot, why);
            }
        }
        if !self.garbage.is_empty() {
            drop_in_background(std::mem::take(&mut self.garbage));
        }
        deleted
    }
}

/// Which item the `n`-th unit falls in, the items weighing `weights` in turn (`n` below
/// their sum): for a uniform `n`, each item is picked with the probability of its weight.
fn weighted_position(mut weights: impl Iterator<Item = usize>, mut n: usize) -> Option<usize> {
    weights.position(|w| {
        if n < w {
            true
        } else {
            n -= w;
            false
        }
    })
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
            .spawn(move || {
                for item in rx {
                    drop(item)
                }
            })
            .expect("spawn lazyfree thread");
        tx
    });
    let _ = tx.send(Box::new(value));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenants::KeyPattern;

    /// A table header is one cache line, and a tenant's usage and its per-command counters
    /// share one (see [`TenantState`]).
    #[test]
    fn per_tenant_state_is_cache_line_sized() {
        assert_eq!(std::mem::size_of::<Table>(), 64);
        assert_eq!(std::mem::align_of::<Table>(), 64);
        assert_eq!(std::mem::align_of::<TenantState>(), 64);
        let misses_end = std::mem::offset_of!(TenantState, stats) + std::mem::offset_of!(TenantStats, misses) + 8;
        assert!(misses_end <= 64);
    }

    fn keyspace() -> Keyspace {
        let pattern = KeyPattern::compile("{tenant}", b':', "{tenant}").unwrap();
        Keyspace::new(16, TenantRegistry::new(vec![pattern], b':'))
    }

    fn string(key: &str, expire_at: u64) -> Box<Entry> {
        let mut e = Entry::string(key.as_bytes(), b"value", 0);
        e.set_expire_at(expire_at);
        e
    }

    /// 100,000 expired keys nobody reads leave the key count and the memory figure through
    /// bounded slices alone.
    #[test]
    fn active_expiry_reclaims_keys_and_memory() {
        let mut ks = keyspace();
        let empty = ks.used_memory();
        let now = ks.now_ms;
        ks.insert(0, string("persistent", 0), &[]);
        ks.insert(0, string("acme:far", now + 1_000_000), &[]);
        let baseline = ks.used_memory();
        for i in 0..100_000 {
            // Two tenants and two databases, so the cycle has to walk all of them.
            let key = if i % 2 == 0 { format!("k:{i}") } else { format!("acme:{i}") };
            ks.insert(i % 2, string(&key, now + 1000), &[]);
        }
        assert_eq!(ks.db(0).len() + ks.db(1).len(), 100_002);
        assert!(ks.used_memory() > baseline + 100_000 * 48);

        ks.now_ms = now + 1001;
        let mut slices = 0;
        while ks.db(0).len() + ks.db(1).len() > 2 {
            let slice = ks.expire_slice(1024);
            assert!(slice.looked <= 1024);
            slices += 1;
            assert!(slices < 10_000, "expiry does not converge");
        }
        assert_eq!(ks.stats.expired_keys, 100_000);
        assert_eq!(ks.db(0).volatile(), 1);
        // Tables shrink back as they empty: only the survivors and small tables remain.
        assert!(ks.used_memory() <= baseline + 2 * 8 * 12, "{} > {}", ks.used_memory(), baseline);
        assert!(ks.used_memory() > empty);
        assert!(ks.exists(0, b"persistent") && ks.exists(0, b"acme:far"));
    }

    #[test]
    fn lazy_expiry_and_new_events() {
        let mut ks = keyspace();
        ks.notify_flags = notify::parse("KEA").unwrap() | notify::NEW;
        let now = ks.now_ms;
        assert!(!ks.insert(0, string("a", now + 10), &[]));
        assert!(ks.insert(0, string("a", now + 10), &[]), "a live key is replaced");
        ks.now_ms = now + 11;
        assert!(ks.read(0, b"a").is_none());
        assert!(!ks.insert(0, string("a", 0), &[]), "an expired key is not replaced, it expired");
        let events: Vec<&str> = ks.take_effects().iter().filter_map(|e| e.event).map(|e| e.name).collect();
        assert_eq!(events, ["new", "expired", "new"]);
        assert_eq!(ks.stats.expired_keys, 1);
        assert_eq!(ks.stats.misses, 1);
    }

    #[test]
    fn relocate_moves_between_tenants_and_databases() {
        let mut ks = keyspace();
        let now = ks.now_ms;
        let mut e = string("acme:k", now + 5000);
        let tags: Vec<crate::tags::TagName> = vec![b"plan"[..].into(), b"org"[..].into()];
        e.set_tags(tags.clone());
        ks.insert(0, e, &[]);
        let before = ks.used_memory();
        assert!(ks.relocate(0, b"acme:k", 3, b"globex:k", events::DEL, events::SET));
        assert!(!ks.exists(0, b"acme:k"));
        let moved = ks.get(3, b"globex:k").unwrap();
        assert_eq!(moved.expire_at(), now + 5000);
        assert_eq!(moved.tags(), &tags[..]);
        assert_eq!(ks.volatile(0), 0);
        assert_eq!(ks.volatile(3), 1);
        let globex = ks.tenants.id_of(b"globex").unwrap();
        assert_eq!(ks.db(3).tables()[globex as usize].len(), 1);
        assert!(ks.used_memory() >= before - 64);
        assert!(!ks.relocate(0, b"acme:k", 1, b"x", events::DEL, events::SET));
    }
}
