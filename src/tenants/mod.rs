//! Tenants: which tenant owns a key, interned tenant ids, and per-tenant limits and statistics.
//!
//! Tenant lookup runs on every keyed command, so patterns are compiled once and tenant names
//! are interned to a small integer id that indexes the per-tenant tables of each database.

mod limits;
mod pattern;

pub use limits::{parse_options, LimitOverrides, Limits, OnLimit};
pub use pattern::KeyPattern;
use std::collections::HashMap;

/// Interned tenant id; 0 is `default`, the owner of every key that matches no pattern.
pub type TenantId = u32;
pub const DEFAULT_TENANT: TenantId = 0;

/// Up to this many names, a lookup compares them one by one instead of hashing.
const LINEAR_LOOKUP_MAX: usize = 8;

/// Maps keys to tenants and tenant names to ids.
pub struct TenantRegistry {
    patterns: Vec<KeyPattern>,
    separator: u8,
    names: Vec<Box<[u8]>>,
    ids: HashMap<Box<[u8]>, TenantId, foldhash::fast::RandomState>,
    /// The key argument resolved last in the running command (its address and length) and its
    /// tenant: the quota check, the lookup and the write of one command resolve the same key
    /// argument, and this answers the second and third time. Cleared after every command,
    /// while the argument is still alive, so an address can never be mistaken for another key.
    recent: Option<(usize, usize, TenantId)>,
}

impl TenantRegistry {
    pub fn new(patterns: Vec<KeyPattern>, separator: u8) -> Self {
        let mut r = TenantRegistry { patterns, separator, names: Vec::new(), ids: HashMap::default(), recent: None };
        r.intern(b"default");
        r
    }

    pub fn patterns(&self) -> &[KeyPattern] {
        &self.patterns
    }

    pub fn separator(&self) -> u8 {
        self.separator
    }

    /// Replaces the patterns (only allowed by callers while no keys exist).
    pub fn set_patterns(&mut self, patterns: Vec<KeyPattern>, separator: u8) {
        self.recent = None;
        self.patterns = patterns;
        self.separator = separator;
    }

    /// The name of the tenant that owns `key`.
    #[inline]
    pub fn tenant_name<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        for p in &self.patterns {
            if let Some(t) = p.capture(key, self.separator) {
                return t;
            }
        }
        b"default"
    }

    /// The id of `key`'s tenant if that tenant is known (has ever held a key or a limit).
    #[inline]
    pub fn lookup(&self, key: &[u8]) -> Option<TenantId> {
        if let Some((ptr, len, id)) = self.recent {
            if ptr == key.as_ptr() as usize && len == key.len() {
                return Some(id);
            }
        }
        let name = self.tenant_name(key);
        if name == b"default" {
            return Some(DEFAULT_TENANT);
        }
        self.id_of(name)
    }

    /// The id of `key`'s tenant, interning a new tenant on first sight.
    #[inline]
    pub fn resolve(&mut self, key: &[u8]) -> TenantId {
        match self.lookup(key) {
            Some(id) => id,
            None => {
                let name = self.tenant_name(key).to_vec();
                self.intern(&name)
            }
        }
    }

    /// [`TenantRegistry::resolve`] for a key argument of the running command, remembered
    /// until [`TenantRegistry::forget_recent`]. Only arguments are remembered: they stay alive
    /// for the whole command, so their address cannot be reused by another key meanwhile.
    #[inline]
    pub fn resolve_argument(&mut self, key: &[u8]) -> TenantId {
        let id = self.resolve(key);
        self.recent = Some((key.as_ptr() as usize, key.len(), id));
        id
    }

    /// Ends the running command's memo (see `recent`).
    #[inline]
    pub fn forget_recent(&mut self) {
        self.recent = None;
    }

    pub fn intern(&mut self, name: &[u8]) -> TenantId {
        if let Some(id) = self.id_of(name) {
            return id;
        }
        let id = self.names.len() as TenantId;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    /// The id of the tenant named `name`, if known.
    #[inline]
    pub fn id_of(&self, name: &[u8]) -> Option<TenantId> {
        // A handful of names (the usual number of tenants on a small server) are found
        // faster by comparing than by hashing.
        if self.names.len() <= LINEAR_LOOKUP_MAX {
            return self.names.iter().position(|n| **n == *name).map(|i| i as TenantId);
        }
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: TenantId) -> &[u8] {
        &self.names[id as usize]
    }

    pub fn count(&self) -> usize {
        self.names.len()
    }
}
