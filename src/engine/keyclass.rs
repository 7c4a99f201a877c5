//! Key classes: `stats-key-pattern` groups keys into classes (`cache:{class}` puts
//! `cache:user:42` in class `user`) with their own hits, misses, keys and memory, reported by
//! `INFO keyclasses`, `KEYCLASS INFO` (`commands::keyclass`) and the metrics endpoint.
//!
//! Patterns have the syntax of `tenant-key-pattern` with `{class}` as the placeholder and
//! share `tenant-key-separator`; class names are interned like tenant names, and keys that
//! match no pattern count for the class `default`. With no pattern configured the keyspace
//! holds no [`KeyClasses`] at all, so the feature costs nothing when it is off.

use crate::engine::tenants::{KeyPattern, TenantRegistry};

/// Interned class id; 0 is `default`.
pub type ClassId = u32;

/// Counters of one key class. Keys and memory follow every entry that enters, changes or
/// leaves the keyspace; memory is the entries' own bytes (key, value, tags), without the
/// table slots that [`crate::storage::Keyspace`] adds for tenants.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyClassStats {
    pub hits: u64,
    pub misses: u64,
    pub keys: u64,
    pub memory: u64,
}

/// The compiled patterns, the class names and each class's counters.
pub struct KeyClasses {
    names: TenantRegistry,
    stats: Vec<KeyClassStats>,
}

impl KeyClasses {
    /// Compiles `stats-key-pattern` (space-separated patterns); `None` when it is empty.
    pub fn compile(patterns: &str, separator: u8) -> Result<Option<KeyClasses>, String> {
        let compiled = compile_patterns(patterns, separator)?;
        if compiled.is_empty() {
            return Ok(None);
        }
        Ok(Some(KeyClasses { names: TenantRegistry::new(compiled, separator), stats: vec![KeyClassStats::default()] }))
    }

    /// The class of `key`, interning a new class on first sight.
    #[inline]
    pub fn resolve(&mut self, key: &[u8]) -> ClassId {
        match self.names.lookup(key) {
            Some(id) => id,
            None => self.intern_class_of(key),
        }
    }

    /// Interns the class of `key`, seen for the first time, with its counters.
    #[cold]
    #[inline(never)]
    fn intern_class_of(&mut self, key: &[u8]) -> ClassId {
        let id = self.names.resolve(key);
        if id as usize >= self.stats.len() {
            self.stats.resize(id as usize + 1, KeyClassStats::default());
        }
        id
    }

    /// The name of the class `key` belongs to (whether or not it was seen before).
    pub fn class_name<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        self.names.tenant_name(key)
    }

    /// Counts a read of a key of class `id`.
    #[inline]
    pub fn count_read(&mut self, id: ClassId, hit: bool) {
        let s = &mut self.stats[id as usize];
        if hit {
            s.hits += 1;
        } else {
            s.misses += 1;
        }
    }

    /// An entry of `memory` bytes in class `id` entered the keyspace.
    #[inline]
    pub fn added(&mut self, id: ClassId, memory: usize) {
        self.stats[id as usize].keys += 1;
        self.stats[id as usize].memory += memory as u64;
    }

    /// An entry was stored in class `id`: a new key if `new`, else a replaced value; the
    /// class's memory changed by `grown` bytes.
    #[inline]
    pub fn stored(&mut self, id: ClassId, grown: i64, new: bool) {
        let s = &mut self.stats[id as usize];
        s.keys += new as u64;
        // The class holds the old entry's bytes, so it cannot shrink below zero.
        s.memory = s.memory.wrapping_add_signed(grown);
    }

    /// An entry of `memory` bytes in class `id` left the keyspace.
    #[inline]
    pub fn removed(&mut self, id: ClassId, memory: usize) {
        let s = &mut self.stats[id as usize];
        s.keys = s.keys.saturating_sub(1);
        s.memory = s.memory.saturating_sub(memory as u64);
    }

    /// An entry of class `id` changed size in place.
    #[inline]
    pub fn resized(&mut self, id: ClassId, before: usize, after: usize) {
        let s = &mut self.stats[id as usize];
        s.memory = (s.memory + after as u64).saturating_sub(before as u64);
    }

    pub fn count(&self) -> usize {
        self.stats.len()
    }

    pub fn name(&self, id: ClassId) -> &[u8] {
        self.names.name(id)
    }

    pub fn id_of(&self, name: &[u8]) -> Option<ClassId> {
        self.names.id_of(name)
    }

    pub fn stats(&self, id: ClassId) -> KeyClassStats {
        self.stats.get(id as usize).copied().unwrap_or_default()
    }

    /// Zeroes hits and misses of one class or of all (keys and memory are state, not counters).
    pub fn reset_stats(&mut self, id: Option<ClassId>) {
        for (i, s) in self.stats.iter_mut().enumerate() {
            if id.is_none_or(|id| id as usize == i) {
                s.hits = 0;
                s.misses = 0;
            }
        }
    }

    /// Classes that hold keys or were read, with their counters.
    pub fn active(&self) -> impl Iterator<Item = (&[u8], KeyClassStats)> {
        self.stats
            .iter()
            .enumerate()
            .filter(|(_, s)| s.keys > 0 || s.hits + s.misses > 0)
            .map(|(i, s)| (self.names.name(i as ClassId), *s))
    }
}

/// Compiles space-separated `{class}` patterns.
pub fn compile_patterns(patterns: &str, separator: u8) -> Result<Vec<KeyPattern>, String> {
    patterns.split_whitespace().map(|p| KeyPattern::compile(p, separator, "{class}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_from_patterns() {
        let mut c = KeyClasses::compile("cache:{class} session:{class}", b':').unwrap().unwrap();
        assert_eq!(c.class_name(b"cache:user:42"), b"user");
        assert_eq!(c.class_name(b"session:web:1"), b"web");
        assert_eq!(c.class_name(b"plain"), b"default");
        let user = c.resolve(b"cache:user:1");
        assert_eq!(c.resolve(b"cache:user:2"), user);
        assert_ne!(c.resolve(b"session:web:1"), user);
        assert_eq!(c.id_of(b"user"), Some(user));
        c.added(user, 100);
        c.added(user, 50);
        c.resized(user, 50, 70);
        c.removed(user, 100);
        c.count_read(user, true);
        c.count_read(user, false);
        assert_eq!(c.stats(user), KeyClassStats { hits: 1, misses: 1, keys: 1, memory: 70 });
        c.stored(user, -40, false);
        c.stored(user, 10, true);
        assert_eq!((c.stats(user).keys, c.stats(user).memory), (2, 40));
        assert!(KeyClasses::compile("", b':').unwrap().is_none());
        assert!(KeyClasses::compile("cache:{tenant}", b':').is_err());
    }
}
