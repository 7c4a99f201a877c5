//! Before-images of the keys a write names, so that a write which took a `reject` tenant over
//! its quota is undone as a whole: the tenant's quota then holds for every write, however
//! much it grows a value (SETRANGE far out, a STORE destination, a COPY or RENAME into the
//! tenant), without each command estimating its own growth.
//!
//! The dispatcher takes the images from the command table's key specs (every key a write
//! may change, in every database, so that MOVE and COPY ... DB are covered too), runs the
//! command, and asks [`Keyspace::over_refused_quota`]; if a guarded tenant grew past a limit,
//! [`Keyspace::restore_before_images`] puts every key back as it was.

use super::entry::Entry;
use super::table::hash_key;
use super::Keyspace;
use crate::tenants::{OnLimit, TenantId};

/// The state of the keys one write may change, taken before it runs. Reused between writes
/// (the vectors keep their capacity).
#[derive(Default)]
pub struct BeforeImages {
    /// The keys, by name: after an undo they exist only where an image puts them back.
    names: Vec<Vec<u8>>,
    /// (database, the entry as it was) for each database a key existed in; the table holds a
    /// copy while the write runs.
    entries: Vec<(usize, Box<Entry>)>,
    /// (database, tenant, slot capacity) of the tables those keys live in.
    tables: Vec<(usize, TenantId, usize)>,
    /// Tenants that refuse writes over their limits, with their memory and key count before.
    guarded: Vec<(TenantId, usize, usize)>,
}

impl BeforeImages {
    pub fn clear(&mut self) {
        self.names.clear();
        self.entries.clear();
        self.tables.clear();
        self.guarded.clear();
    }

    /// Whether any tenant of the keys is guarded (otherwise nothing needs undoing).
    pub fn is_empty(&self) -> bool {
        self.guarded.is_empty()
    }
}

impl Keyspace {
    /// Whether `tenant` has a memory or key limit that writes may not pass: `onlimit reject`,
    /// or `onlimit evict` with `maxmemory-policy noeviction` (nothing may be evicted).
    pub fn refuses_over_limit(&self, tenant: TenantId) -> bool {
        let limits = self.limits(tenant);
        (limits.maxmemory > 0 || limits.maxkeys > 0)
            && (limits.onlimit == OnLimit::Reject || self.policy == super::evict::Policy::NoEviction)
    }

    /// Before a write to `keys`: records their state (in every database) if any of them
    /// belongs to a tenant that refuses writes over its limits, so that
    /// [`Keyspace::undo_if_over_quota`] can undo the write. Returns whether it did; writes to
    /// other tenants copy nothing.
    pub fn guard_write<'k>(&mut self, keys: impl Iterator<Item = &'k [u8]> + Clone) -> bool {
        let mut images = std::mem::take(&mut self.before_images);
        self.take_before_images(keys, &mut images);
        let guarded = !images.is_empty();
        self.before_images = images;
        guarded
    }

    /// After a write guarded by [`Keyspace::guard_write`]: if it took a guarded tenant over a
    /// limit, puts every key back as it was and returns that tenant (the caller drops the
    /// write's effects and replies with the refusal).
    pub fn undo_if_over_quota(&mut self) -> Option<TenantId> {
        let mut images = std::mem::take(&mut self.before_images);
        let over = self.over_refused_quota(&images);
        if let Some(t) = over {
            self.restore_before_images(&mut images, t);
        }
        for (_, original) in images.entries.drain(..) {
            super::drop_entry(original);
        }
        images.clear();
        self.before_images = images;
        over
    }

    fn take_before_images<'k>(&mut self, keys: impl Iterator<Item = &'k [u8]> + Clone, images: &mut BeforeImages) {
        images.clear();
        for key in keys.clone() {
            let t = self.tenants.resolve(key);
            if self.refuses_over_limit(t) {
                images.guarded.push((t, 0, 0));
            }
        }
        if images.guarded.is_empty() {
            return;
        }
        // Sorted rather than searched: a write may name a million keys of as many tenants.
        images.guarded.sort_unstable_by_key(|g| g.0);
        images.guarded.dedup_by_key(|g| g.0);
        for g in images.guarded.iter_mut() {
            (g.1, g.2) = (self.tenant_memory(g.0), self.tenant_keys(g.0));
        }
        for key in keys {
            images.names.push(key.to_vec());
            let t = self.tenants.resolve(key);
            let hash = hash_key(key);
            for db in 0..self.dbs.len() {
                let Some(table) = self.dbs[db].table(t) else { continue };
                images.tables.push((db, t, table.capacity()));
                let Some(slot) = table.locate(key, hash) else { continue };
                // The write works on a copy; the original is kept aside untouched, so that an
                // undo puts back exactly what was there (a copy of a collection may hold more
                // or less spare capacity than the original). A key named twice is copied
                // twice; the undo puts the images back last first, so the original wins.
                let (original, before, after) = self.table_op(db, t, |table| {
                    let mut entry = table.at_box_mut(slot);
                    let copy = entry.duplicate();
                    let (before, after) = (entry.memory(), copy.memory());
                    let volatile = entry.expire_at() != 0;
                    let original = std::mem::replace(&mut *entry, copy);
                    drop(entry);
                    table.account_change(before, after, volatile, volatile);
                    (original, before, after)
                });
                if let Some(c) = self.classes.as_mut() {
                    c.resized(original.class(), before, after);
                }
                images.entries.push((db, original));
            }
        }
        // Copies do not change slot capacities: any record of a table will do.
        images.tables.sort_unstable();
        images.tables.dedup_by_key(|&mut (db, t, _)| (db, t));
    }

    /// The first guarded tenant the write took over a limit it did not pass before.
    fn over_refused_quota(&self, images: &BeforeImages) -> Option<TenantId> {
        images.guarded.iter().find_map(|&(t, memory_before, keys_before)| {
            let limits = self.limits(t);
            let memory = self.tenant_memory(t);
            let keys = self.tenant_keys(t);
            let over_memory = limits.maxmemory > 0 && memory as u64 > limits.maxmemory && memory > memory_before;
            let over_keys = limits.maxkeys > 0 && keys as u64 > limits.maxkeys && keys > keys_before;
            (over_memory || over_keys).then_some(t)
        })
    }

    /// Puts every recorded key back as it was (deleting the ones that did not exist) and
    /// gives the tables the slot capacity they had, so the tenants' memory is what it was. Counts the refusal for `refused`. The caller drops the write's events.
    fn restore_before_images(&mut self, images: &mut BeforeImages, refused: TenantId) {
        for key in &images.names {
            let t = self.tenants.resolve(key);
            for db in 0..self.dbs.len() {
                self.remove_stored(db, t, key, super::Removal::Overwritten);
            }
        }
        for (db, before) in images.entries.drain(..).rev() {
            self.put(db, before, &[]);
        }
        for &(db, t, capacity) in &images.tables {
            if self.dbs[db].table(t).is_some_and(|table| table.capacity() != capacity) {
                self.table_op(db, t, |table| table.restore_capacity(capacity));
            }
        }
        self.tenant_stats_mut(refused).rejected_writes += 1;
        images.clear();
    }
}
