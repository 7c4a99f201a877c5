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
    /// The key argument resolved last and its tenant: the quota check, the lookup and the
    /// write of one command resolve the same key (the write from the entry's own copy of it),
    /// and this answers the second and third time without matching patterns. A key's tenant
    /// depends only on the patterns and on ids that are never taken back, so the memo stays
    /// true until the patterns change.
    recent: KeyMemo,
}

/// Keys up to this length are remembered by [`TenantRegistry::resolve_argument`].
const MEMO_KEY_MAX: usize = 48;

/// One remembered key (its bytes, copied) and its tenant; empty while `len` exceeds the buffer.
struct KeyMemo {
    len: usize,
    bytes: [u8; MEMO_KEY_MAX],
    id: TenantId,
}

impl KeyMemo {
    const EMPTY: KeyMemo = KeyMemo { len: usize::MAX, bytes: [0; MEMO_KEY_MAX], id: DEFAULT_TENANT };

    #[inline]
    fn get(&self, key: &[u8]) -> Option<TenantId> {
        (key.len() == self.len && crate::util::bytes_eq(key, &self.bytes[..self.len])).then_some(self.id)
    }

    #[inline]
    fn set(&mut self, key: &[u8], id: TenantId) {
        if let Some(buf) = self.bytes.get_mut(..key.len()) {
            buf.copy_from_slice(key);
            self.len = key.len();
            self.id = id;
        }
    }
}

impl TenantRegistry {
    pub fn new(patterns: Vec<KeyPattern>, separator: u8) -> Self {
        let mut r = TenantRegistry { patterns, separator, names: NameIndex::new(), recent: KeyMemo::EMPTY };
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
        self.recent = KeyMemo::EMPTY;
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
    /// Inlined into its few callers on the hot path: as a call it costs a third more.
    #[inline(always)]
    pub fn lookup(&self, key: &[u8]) -> Option<TenantId> {
        if let Some(id) = self.recent.get(key) {
            return Some(id);
        }
        self.lookup_by_patterns(key)
    }

    /// [`TenantRegistry::lookup`] without the memo, for a registry that never sets one (key
    /// classes: each key is classified once per command).
    #[inline(always)]
    pub fn lookup_by_patterns(&self, key: &[u8]) -> Option<TenantId> {
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

    /// [`TenantRegistry::resolve`] for the key argument of a command, remembered (see
    /// `recent`) for the lookups and the write that follow.
    #[inline]
    pub fn resolve_argument(&mut self, key: &[u8]) -> TenantId {
        if let Some(id) = self.recent.get(key) {
            return id;
        }
        let id = self.lookup_by_patterns(key).unwrap_or_else(|| self.intern_owner(key));
        self.recent.set(key, id);
        id
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The remembered key answers only for the same bytes, and patterns changing forget it.
    #[test]
    fn key_memo_follows_content() {
        let pattern = KeyPattern::compile("{tenant}", b':', "{tenant}").unwrap();
        let mut r = TenantRegistry::new(vec![pattern], b':');
        let a = r.resolve_argument(b"acme:1");
        let copy = b"acme:1".to_vec();
        assert_eq!(r.lookup(&copy), Some(a));
        let b = r.resolve(b"beta:1");
        assert_ne!(a, b);
        assert_eq!(r.lookup(b"beta:1"), Some(b));
        r.set_patterns(Vec::new(), b':');
        assert_eq!(r.lookup(&copy), Some(DEFAULT_TENANT));
    }
}
