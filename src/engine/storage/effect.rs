//! The effect stream: every change the keyspace makes to a key, recorded once, by the engine,
//! as a typed [`Effect`].
//!
//! This is the single place a change is observed. A write, a deletion, an expiry, an eviction,
//! a flush, a rename, a collection emptied by its last removal and a key that now holds a value
//! blocked clients can pop each pass through [`Keyspace::record`], called by the engine call
//! that makes the change; command handlers never announce changes themselves, they pass the
//! keyspace-event name where Redis's is command-specific (`lpush`, `hincrby`, ...).
//!
//! Consumers:
//! * at the moment of the change, inside [`Keyspace::record`]: WATCH invalidation (a watcher
//!   of a key that had expired when watched must see the stale key go before the new one comes)
//!   and the expired/evicted statistics (exact also for changes no command makes, such as the
//!   active expiry cycle);
//! * after the command, from the queue the dispatcher (and the expiry cycle, eviction on
//!   `CONFIG SET maxmemory`) drains with [`Keyspace::take_effects`]: keyspace notifications and
//!   blocked pops; the AOF takes removals by expiry and eviction from here
//!   ([`Keyspace::subscribe_expiry_and_eviction`]). Replication and client tracking would
//!   subscribe here too: an effect is queued
//!   whenever any queued consumer wants it, so while none does (no notification class enabled,
//!   nobody blocked) recording costs a branch and allocates nothing.
//!
//! A write undone because it took a `reject` tenant over its quota drops its queued effects
//! ([`Keyspace::effects_mark`], [`Keyspace::drop_effects_since`]).

use super::{notify, Keyspace, Removal};
use crate::tenants::TenantId;

/// A keyspace notification: its class (`notify-keyspace-events`) and its event name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEvent {
    pub class: u32,
    pub name: &'static str,
}

impl KeyEvent {
    pub const fn new(class: u32, name: &'static str) -> Self {
        KeyEvent { class, name }
    }
}

/// The events the engine itself names (the others come from the command that writes).
pub mod events {
    use super::{notify, KeyEvent};
    pub const NEW: KeyEvent = KeyEvent::new(notify::NEW, "new");
    pub const DEL: KeyEvent = KeyEvent::new(notify::GENERIC, "del");
    pub const EXPIRED: KeyEvent = KeyEvent::new(notify::EXPIRED, "expired");
    pub const EVICTED: KeyEvent = KeyEvent::new(notify::EVICTED, "evicted");
    pub const KEYMISS: KeyEvent = KeyEvent::new(notify::KEY_MISS, "keymiss");
    pub const EXPIRE: KeyEvent = KeyEvent::new(notify::GENERIC, "expire");
    pub const PERSIST: KeyEvent = KeyEvent::new(notify::GENERIC, "persist");
    pub const SET: KeyEvent = KeyEvent::new(notify::STRING, "set");
}

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The key came into existence (it did not live before).
    Created,
    /// The key's value, expiry or tags changed, or it was written over.
    Written,
    /// The key left the keyspace, for this reason.
    Removed(Removal),
    /// The key was read and did not exist (only queued for the `keymiss` event).
    Missed,
    /// The key now holds a list or sorted set that blocked clients may pop, or its stream
    /// changed or went (blocked readers look again).
    Poppable,
    /// Every key of the database (of one tenant, or of all) left at once; `key` is empty.
    Flushed(Option<TenantId>),
}

/// One change of the keyspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    pub db: usize,
    pub key: Box<[u8]>,
    pub change: Change,
    /// The keyspace event Redis sends for this change, if any.
    pub event: Option<KeyEvent>,
}

/// The queue of effects waiting for the dispatcher.
#[derive(Default)]
pub struct Stream {
    queued: Vec<Effect>,
    /// A consumer wants every effect, with or without an event (see [`Keyspace::subscribe_all`]).
    all: bool,
    /// A consumer wants keys removed by expiry and eviction (see
    /// [`Keyspace::subscribe_expiry_and_eviction`]).
    expiry_and_eviction: bool,
}

impl Keyspace {
    /// Records one change of `key` in `db` (of `tenant`): applied at once to WATCH and the
    /// statistics, and queued for the consumers that want it (see the module doc).
    #[inline]
    pub(super) fn record(&mut self, db: usize, tenant: TenantId, key: &[u8], change: Change, event: Option<KeyEvent>) {
        match change {
            Change::Created | Change::Written => self.touch_watched(db, key, true),
            Change::Removed(why) => {
                self.touch_watched(db, key, false);
                self.count_removal(tenant, why);
            }
            Change::Missed | Change::Poppable | Change::Flushed(_) => {}
        }
        if self.wants(change, event) {
            self.effects.queued.push(Effect { db, key: key.into(), change, event });
        }
    }

    /// Whether a queued consumer wants this effect: notifications of an enabled class,
    /// blocked pops of a key that may serve a waiter.
    #[inline]
    fn wants(&self, change: Change, event: Option<KeyEvent>) -> bool {
        if self.effects.all {
            return true;
        }
        match change {
            Change::Poppable => !self.blocking.is_empty(),
            // Blocked stream group readers learn that their stream went with the rest.
            Change::Flushed(_) if !self.blocking.is_empty() => true,
            Change::Removed(Removal::Expired | Removal::Evicted | Removal::EvictedQuota)
                if self.effects.expiry_and_eviction =>
            {
                true
            }
            _ => event.is_some_and(|e| {
                self.notify_flags & e.class != 0 && self.notify_flags & (notify::KEYSPACE | notify::KEYEVENT) != 0
            }),
        }
    }

    fn count_removal(&mut self, tenant: TenantId, why: Removal) {
        match why {
            Removal::Expired => {
                self.stats.expired_keys += 1;
                self.tenant_stats_mut(tenant).expired_keys += 1;
            }
            Removal::Evicted | Removal::EvictedQuota => {
                self.stats.evicted_keys += 1;
                let stats = self.tenant_stats_mut(tenant);
                if why == Removal::Evicted {
                    stats.evicted_pressure += 1;
                } else {
                    stats.evicted_quota += 1;
                }
            }
            Removal::Invalidated => self.tenant_stats_mut(tenant).invalidated_keys += 1,
            Removal::Deleted | Removal::Emptied | Removal::Overwritten | Removal::Renamed | Removal::Flushed => {}
        }
    }

    /// Queues every effect from now on (`false`: only those the notifications and blocked
    /// pops want), for a consumer that follows every change, such as a log of writes.
    pub fn subscribe_all(&mut self, all: bool) {
        self.effects.all = all;
    }

    /// Queues the removals by expiry and eviction from now on, for a log of writes that
    /// records them (the changes commands make it takes from the commands).
    pub fn subscribe_expiry_and_eviction(&mut self, on: bool) {
        self.effects.expiry_and_eviction = on;
    }

    /// Whether every effect is queued.
    pub fn subscribed_all(&self) -> bool {
        self.effects.all
    }

    /// The effects queued since the last call, in the order they happened.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects.queued)
    }

    pub fn has_effects(&self) -> bool {
        !self.effects.queued.is_empty()
    }

    /// A mark in the queue, to drop the effects of a write that is undone.
    pub fn effects_mark(&self) -> usize {
        self.effects.queued.len()
    }

    pub fn drop_effects_since(&mut self, mark: usize) {
        self.effects.queued.truncate(mark);
    }
}

impl Removal {
    /// The keyspace event Redis sends when a key leaves for this reason.
    pub fn event(self) -> Option<KeyEvent> {
        match self {
            Removal::Deleted | Removal::Emptied | Removal::Invalidated => Some(events::DEL),
            Removal::Expired => Some(events::EXPIRED),
            Removal::Evicted | Removal::EvictedQuota => Some(events::EVICTED),
            // Written over, moved away (the command names the move) or flushed: no event.
            Removal::Overwritten | Removal::Renamed | Removal::Flushed => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::list::ListValue;
    use crate::storage::value::Collection;
    use crate::storage::{Entry, Kind};
    use crate::tenants::{KeyPattern, TenantRegistry};

    fn keyspace() -> Keyspace {
        let pattern = KeyPattern::compile("{tenant}", b':', "{tenant}").unwrap();
        let mut ks = Keyspace::new(16, TenantRegistry::new(vec![pattern], b':'));
        ks.subscribe_all(true);
        ks
    }

    /// The queued effects as `change key event` lines, and the queue emptied.
    fn drained(ks: &mut Keyspace) -> Vec<String> {
        ks.take_effects()
            .iter()
            .map(|e| {
                let event = e.event.map_or("-", |ev| ev.name);
                format!("{:?} {}@{} {}", e.change, String::from_utf8_lossy(&e.key), e.db, event)
            })
            .collect()
    }

    fn set(ks: &mut Keyspace, db: usize, key: &str, expire_at: u64) {
        let mut value = Entry::string(key.as_bytes(), b"v", 0);
        value.set_expire_at(expire_at);
        ks.entry(db, key.as_bytes()).upsert(value, &[events::SET]);
    }

    #[test]
    fn set_creates_then_writes_over() {
        let mut ks = keyspace();
        set(&mut ks, 0, "k", 0);
        assert_eq!(drained(&mut ks), ["Created k@0 new", "Written k@0 set"]);
        set(&mut ks, 0, "k", 0);
        assert_eq!(drained(&mut ks), ["Removed(Overwritten) k@0 -", "Written k@0 set"]);
    }

    #[test]
    fn delete_records_del_once_and_a_missing_key_nothing() {
        let mut ks = keyspace();
        set(&mut ks, 0, "k", 0);
        ks.take_effects();
        assert!(ks.remove(0, b"k", Removal::Deleted));
        assert!(!ks.remove(0, b"k", Removal::Deleted));
        assert_eq!(drained(&mut ks), ["Removed(Deleted) k@0 del"]);
    }

    /// Lazy expiry (a lookup) and the active cycle record the same effect, and count it.
    #[test]
    fn expiry_records_expired() {
        let mut ks = keyspace();
        let now = ks.now_ms;
        set(&mut ks, 0, "lazy", now + 10);
        set(&mut ks, 1, "active", now + 10);
        ks.take_effects();
        ks.now_ms = now + 11;
        assert!(ks.get(0, b"lazy").is_none());
        while !ks.db(1).is_empty() {
            ks.expire_slice(64);
        }
        assert_eq!(drained(&mut ks), ["Removed(Expired) lazy@0 expired", "Removed(Expired) active@1 expired"]);
        assert_eq!(ks.stats.expired_keys, 2);
        assert_eq!(ks.tenant_stats(0).expired_keys, 2);
    }

    #[test]
    fn eviction_records_evicted() {
        let mut ks = keyspace();
        set(&mut ks, 0, "k", 0);
        ks.take_effects();
        assert!(ks.evict_one(0, Removal::Evicted));
        assert_eq!(drained(&mut ks), ["Removed(Evicted) k@0 evicted"]);
        assert_eq!(ks.stats.evicted_keys, 1);
        assert_eq!(ks.tenant_stats(0).evicted_pressure, 1);
    }

    /// RENAME over an existing key: the destination goes silently, the new name is created,
    /// then the source's removal and the destination's write carry the command's events.
    #[test]
    fn rename_records_in_redis_order() {
        let mut ks = keyspace();
        set(&mut ks, 0, "a", 0);
        set(&mut ks, 0, "b", 0);
        ks.take_effects();
        assert!(ks.remove(0, b"b", Removal::Overwritten));
        let (from, to) = (KeyEvent::new(notify::GENERIC, "rename_from"), KeyEvent::new(notify::GENERIC, "rename_to"));
        assert!(ks.relocate(0, b"a", 0, b"b", from, to));
        assert_eq!(
            drained(&mut ks),
            [
                "Removed(Overwritten) b@0 -",
                "Created b@0 new",
                "Removed(Renamed) a@0 rename_from",
                "Written b@0 rename_to"
            ]
        );
    }

    /// A pop that takes the last element records the pop, then the removal of the emptied
    /// list; the push that created it recorded that the key became poppable.
    #[test]
    fn pop_to_empty_records_pop_then_del() {
        let mut ks = keyspace();
        let push = KeyEvent::new(notify::LIST, "lpush");
        let pop = KeyEvent::new(notify::LIST, "lpop");
        let new_list = || Collection::List(Box::new(ListValue::new()));
        let pushed = ks.with_collection(0, b"l", Kind::List, Some(new_list), &[push], |c| {
            let Collection::List(l) = c else { unreachable!() };
            l.push_front(b"x");
            (l.len(), true)
        });
        assert_eq!(pushed, Ok(Some(1)));
        assert_eq!(drained(&mut ks), ["Created l@0 new", "Written l@0 lpush", "Poppable l@0 -"]);
        let popped = ks.with_collection(0, b"l", Kind::List, None, &[pop], |c| {
            let Collection::List(l) = c else { unreachable!() };
            (l.pop(true), true)
        });
        assert_eq!(popped, Ok(Some(Some(b"x"[..].into()))));
        assert!(!ks.exists(0, b"l"));
        assert_eq!(drained(&mut ks), ["Written l@0 lpop", "Removed(Emptied) l@0 del"]);
    }

    /// Without a consumer that wants them, effects with no enabled event are not queued.
    #[test]
    fn nothing_is_queued_without_a_consumer() {
        let mut ks = keyspace();
        ks.subscribe_all(false);
        set(&mut ks, 0, "k", 0);
        ks.remove(0, b"k", Removal::Deleted);
        assert!(!ks.has_effects());
        ks.notify_flags = notify::parse("Kg").unwrap();
        set(&mut ks, 0, "k", 0);
        ks.remove(0, b"k", Removal::Deleted);
        assert_eq!(drained(&mut ks), ["Removed(Deleted) k@0 del"]);
    }
}
