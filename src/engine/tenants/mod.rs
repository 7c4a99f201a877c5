//! Tenants: which tenant owns a key, interned tenant ids, and per-tenant limits and statistics.
//!
//! Tenant lookup runs on every keyed command, so patterns are compiled once and tenant names
//! are interned to a small integer id that indexes the per-tenant tables of each database.

mod limits;
mod names;
mod pattern;

pub use limits::{parse_options, LimitOverrides, Limits, OnLimit};
use names::NameIndex;
pub use pattern::KeyPattern;

/// Interned tenant id; 0 is `default`, the owner of every key that matches no pattern.
pub type TenantId = u32;
pub const DEFAULT_TENANT: TenantId = 0;

/// Maps keys to tenants and tenant names to ids.
pub struct TenantRegistry {
    patterns: Vec<KeyPattern>,
    separator: u8,
    names: NameIndex,
}

impl TenantRegistry {
    pub fn new(patterns: Vec<KeyPattern>, separator: u8) -> Self {
        let mut r = TenantRegistry { patterns, separator, names: NameIndex::new() };
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
        self.patterns = patterns;
        self.separator = separator;
    }

    /// The name of the tenant that owns `key`.
    #[inline]
    pub fn tenant_name<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        self.captured_name(key).unwrap_or(b"default")
    }

    /// The tenant name a pattern captures from `key`; `None` for a key of `default`.
    #[inline]
    fn captured_name<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        self.patterns.iter().find_map(|p| p.capture(key, self.separator))
    }

    /// The id of `key`'s tenant if that tenant is known (has ever held a key or a limit).
    /// Inlined into its few callers on the hot path: as a call it costs a third more. A
    /// command resolves its key once, for its entry handle (see
    /// [`crate::storage::Keyspace::entry`]).
    #[inline(always)]
    pub fn lookup(&self, key: &[u8]) -> Option<TenantId> {
        match self.captured_name(key) {
            Some(name) => self.id_of(name),
            None => Some(DEFAULT_TENANT),
        }
    }

    /// The id of `key`'s tenant, interning a new tenant on first sight.
    #[inline]
    pub fn resolve(&mut self, key: &[u8]) -> TenantId {
        match self.lookup(key) {
            Some(id) => id,
            None => self.intern_owner(key),
        }
    }

    /// Interns the tenant of `key`, seen for the first time (rare: kept out of line).
    #[cold]
    #[inline(never)]
    fn intern_owner(&mut self, key: &[u8]) -> TenantId {
        let name = self.tenant_name(key).to_vec();
        self.intern(&name)
    }

    pub fn intern(&mut self, name: &[u8]) -> TenantId {
        self.names.intern(name)
    }

    /// The id of the tenant named `name`, if known.
    #[inline]
    pub fn id_of(&self, name: &[u8]) -> Option<TenantId> {
        self.names.get(name)
    }

    pub fn name(&self, id: TenantId) -> &[u8] {
        self.names.name(id)
    }

    pub fn count(&self) -> usize {
        self.names.len()
    }
}
