//! Consumer groups of a stream: the last id delivered, the read counter, the pending entries
//! list (PEL) of entries delivered and not acknowledged, and the consumers, each with its own
//! share of the PEL (Redis's `streamCG`, `streamNACK`, `streamConsumer`).
//!
//! A pending entry names its consumer by a shared name (an `Arc`), as Redis's NACKs point at
//! their consumer: a consumer with many pending entries pays for its name once.

use super::{StreamId, StreamValue};
use crate::storage::entry::alloc_size;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What one pending entry costs: its key and value in the group's tree, its id in the
/// consumer's, with the trees' own nodes spread over them.
const PENDING_ENTRY_MEMORY: usize = 96;
/// What a consumer costs beyond its name and pending ids.
const CONSUMER_MEMORY: usize = 96;
/// What a group costs beyond its name, consumers and pending entries.
const GROUP_MEMORY: usize = 128;

/// An entry delivered to a consumer and not acknowledged yet.
#[derive(Clone, Debug)]
pub struct PendingEntry {
    /// Unix milliseconds of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
    pub consumer: Arc<[u8]>,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    /// Unix milliseconds the consumer was last seen (read, claimed, created).
    pub seen_time: u64,
    /// Unix milliseconds of its last successful interaction (an entry delivered to it by a
    /// group read, or claimed by it); `None` before the first (Redis 7.2's `active_time`, -1).
    pub active_time: Option<u64>,
    /// Its pending entries.
    pub pending: BTreeSet<StreamId>,
}

#[derive(Clone, Debug)]
pub struct ConsumerGroup {
    pub last_id: StreamId,
    /// Entries the group read, counted from the stream's first ever entry; `None` when not
    /// known (Redis's -1).
    pub entries_read: Option<u64>,
    pub pending: BTreeMap<StreamId, PendingEntry>,
    pub consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

impl ConsumerGroup {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> ConsumerGroup {
        ConsumerGroup { last_id, entries_read, pending: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    pub fn memory(&self) -> usize {
        let consumers: usize = self.consumers.keys().map(|name| alloc_size(name.len() + 16) + CONSUMER_MEMORY).sum();
        GROUP_MEMORY + consumers + self.pending.len() * PENDING_ENTRY_MEMORY
    }

    /// Creates a consumer seen at `now`; false if it exists.
    pub fn create_consumer(&mut self, name: &[u8], now: u64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers
            .insert(Arc::from(name), Consumer { seen_time: now, active_time: None, pending: BTreeSet::new() });
        true
    }

    /// The consumer's shared name, the consumer marked seen at `now` (`None`: no refresh);
    /// `None` if there is no such consumer.
    pub fn consumer_seen(&mut self, name: &[u8], now: Option<u64>) -> Option<Arc<[u8]>> {
        let key = self.consumers.get_key_value(name)?.0.clone();
        if let Some(now) = now {
            self.consumers.get_mut(name).expect("found above").seen_time = now;
        }
        Some(key)
    }

    /// Deletes a consumer and its pending entries; the number it had, `None` if none such.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pending {
            self.pending.remove(id);
        }
        Some(consumer.pending.len())
    }

    /// Moves the last delivered id forward to `id`, counting the read as Redis does: one more
    /// when the counter is known and no deleted entry lies ahead, else estimated afresh.
    pub fn advance(&mut self, stream: &StreamValue, id: StreamId) {
        if id <= self.last_id {
            return;
        }
        match self.entries_read {
            Some(read) if !stream.has_tombstones_from(id) => self.entries_read = Some(read + 1),
            _ if stream.entries_added > 0 => self.entries_read = stream.entries_read_at(id),
            _ => {}
        }
        self.last_id = id;
    }

    /// Records that `id` was delivered to `consumer` (an existing consumer's shared name) at
    /// `now`: a new pending entry, or one taken over from another consumer with its count
    /// back to 1.
    pub fn deliver(&mut self, id: StreamId, consumer: &Arc<[u8]>, now: u64) {
        if let Some(old) = self.pending.get(&id).map(|p| p.consumer.clone()) {
            if let Some(c) = self.consumers.get_mut(&old) {
                c.pending.remove(&id);
            }
        }
        self.pending.insert(id, PendingEntry { delivery_time: now, delivery_count: 1, consumer: consumer.clone() });
        let c = self.consumers.get_mut(consumer).expect("an existing consumer");
        c.pending.insert(id);
        c.active_time = Some(now);
    }

    /// Marks `consumer` (an existing consumer's shared name) active at `now`: it claimed an
    /// entry (XCLAIM, XAUTOCLAIM).
    pub fn mark_active(&mut self, consumer: &Arc<[u8]>, now: u64) {
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.active_time = Some(now);
        }
    }

    /// Gives the pending entry `id` to `consumer` (XCLAIM): its time and count as given, the
    /// entry created first when it is not pending (with FORCE).
    pub fn claim(&mut self, id: StreamId, consumer: &Arc<[u8]>, delivery_time: u64, delivery_count: u64) {
        if let Some(old) = self.pending.get(&id).map(|p| p.consumer.clone()) {
            if let Some(c) = self.consumers.get_mut(&old) {
                c.pending.remove(&id);
            }
        }
        self.pending.insert(id, PendingEntry { delivery_time, delivery_count, consumer: consumer.clone() });
        self.consumers.get_mut(consumer).expect("an existing consumer").pending.insert(id);
    }

    /// The XCLAIM that recreates the pending entry `id` as it is, whatever the clock says
    /// when it is replayed: `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID
    /// LASTID last` (the form Redis propagates; a log of writes keeps it).
    pub fn claim_command(&self, key: &[u8], group: &[u8], id: StreamId) -> Vec<Vec<u8>> {
        let (consumer, time, count) = match self.pending.get(&id) {
            Some(p) => (p.consumer.to_vec(), p.delivery_time, p.delivery_count),
            None => (Vec::new(), 0, 0),
        };
        let text = |s: String| s.into_bytes();
        vec![
            b"XCLAIM".to_vec(),
            key.to_vec(),
            group.to_vec(),
            consumer,
            b"0".to_vec(),
            text(id.to_string()),
            b"TIME".to_vec(),
            text(time.to_string()),
            b"RETRYCOUNT".to_vec(),
            text(count.to_string()),
            b"FORCE".to_vec(),
            b"JUSTID".to_vec(),
            b"LASTID".to_vec(),
            text(self.last_id.to_string()),
        ]
    }

    /// Acknowledges `id`; false if it was not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(p) = self.pending.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&p.consumer) {
            c.pending.remove(&id);
        }
        true
    }
}

impl StreamValue {
    /// Creates a group; false if one of that name exists.
    pub fn create_group(&mut self, name: &[u8], last_id: StreamId, entries_read: Option<u64>) -> bool {
        if self.groups.contains_key(name) {
            return false;
        }
        self.groups.insert(name.into(), ConsumerGroup::new(last_id, entries_read));
        true
    }

    /// Runs `f` on the group `name` with the stream beside it (without the group in its list
    /// while `f` runs); `None` if there is no such group.
    pub fn with_group<R>(&mut self, name: &[u8], f: impl FnOnce(&StreamValue, &mut ConsumerGroup) -> R) -> Option<R> {
        let (key, mut group) = self.groups.remove_entry(name)?;
        let r = f(self, &mut group);
        self.groups.insert(key, group);
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::stream::NodeLimits;

    #[test]
    fn pending_entries_follow_their_consumer() {
        let mut s = StreamValue::new();
        for ms in 1..=3 {
            s.append(StreamId::new(ms, 0), &[b"f", b"v"], NodeLimits::default()).unwrap();
        }
        assert!(s.create_group(b"g", StreamId::MIN, Some(0)));
        assert!(!s.create_group(b"g", StreamId::MIN, None));
        s.with_group(b"g", |s, g| {
            assert!(g.create_consumer(b"alice", 10));
            assert!(g.create_consumer(b"bob", 10));
            let alice = g.consumer_seen(b"alice", Some(20)).unwrap();
            let bob = g.consumer_seen(b"bob", None).unwrap();
            for ms in 1..=3 {
                let id = StreamId::new(ms, 0);
                g.advance(s, id);
                g.deliver(id, &alice, 20);
            }
            assert_eq!((g.last_id, g.entries_read), (StreamId::new(3, 0), Some(3)));
            g.deliver(StreamId::new(2, 0), &bob, 30);
            assert_eq!(g.consumers[&b"alice"[..]].pending.len(), 2);
            assert!(g.ack(StreamId::new(1, 0)));
            assert!(!g.ack(StreamId::new(1, 0)));
            assert_eq!(g.delete_consumer(b"bob"), Some(1));
            assert_eq!(g.pending.len(), 1);
            assert_eq!(s.lag(g), Some(0));
        });
        assert_eq!(s.groups.len(), 1);
    }
}
